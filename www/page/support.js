// How much the model saw each tag, from the counts its file records: a score
// for a tag the model met a handful of times is a guess, and a "no vocals"
// from a model that barely heard a voice says nothing about the song.
//
// Counts, best first (the model's metadata, TagModel.info()):
//   metrics.per_tag[i].train_positives      training clips with the tag
//   metrics.extra.train_positives           the same, as an array in tag order or {tag: n}
//   metrics.per_tag[i].positives            clips with the tag in the split the
//                                           metrics were measured on (metrics.split,
//                                           its size in metrics.extra.clips[split])
// The training counts are what the question is about; the held-out split's
// are a smaller sample of the same corpus, so they get a smaller threshold.

/** Fewer training clips with a tag than this: its score is shown as uncertain. */
export const MIN_TRAIN_POSITIVES = 30;
/** The same for the held-out split's counts (about a tenth of the corpus). */
export const MIN_HELD_OUT_POSITIVES = 5;

/** "no vocals", "no voice", "no singer"…: a tag that says something is absent. */
export const isNegative = (tag) => /^no\s/i.test(tag);

// Tags that say a voice is there: what a "no voice" tag needs to have been
// learnt from.
const VOICE = /\b(vocals?|voices?|sing(?:ing|er|ers)?|choir|choral|opera|rap)\b|^(male|female|man|woman)$/i;

/** The positive tags an absence tag ("no vocals") is the absence of. */
function presentTags(negative, tags) {
  const what = negative.replace(/^no\s+/i, '');
  if (VOICE.test(what)) return tags.filter((t) => !isNegative(t) && VOICE.test(t));
  return tags.filter((t) => !isNegative(t) && t.toLowerCase().includes(what.toLowerCase()));
}

const count = (v) => (Number.isFinite(v) && v >= 0 ? v : null);

/** The per-tag counts the metadata records, as {counts, split, clips}, or null. */
function recordedCounts(info) {
  const metrics = info && info.metrics;
  if (!metrics || !Array.isArray(info.tags)) return null;
  const perTag = new Map((metrics.per_tag || []).map((m) => [m.tag, m]));
  const extra = metrics.extra && typeof metrics.extra === 'object' ? metrics.extra : {};
  const clips = extra.clips && typeof extra.clips === 'object' ? extra.clips : {};
  const train = extra.train_positives;
  const fromTrain = info.tags.map((tag, i) =>
    count(perTag.get(tag)?.train_positives ?? (Array.isArray(train) ? train[i] : train && typeof train === 'object' ? train[tag] : undefined)),
  );
  if (fromTrain.every((c) => c != null)) return { counts: fromTrain, split: 'train', clips: count(clips.train) };
  const held = info.tags.map((tag) => count(perTag.get(tag)?.positives));
  if (held.every((c) => c != null)) return { counts: held, split: metrics.split || 'held-out', clips: count(clips[metrics.split]) };
  return null;
}

/** "only 3 of the 350 test clips had this tag" / "the model saw this tag in only 3 training clips". */
function few(split, n, clips, what, atMost) {
  const only = atMost ? 'at most' : n === 0 ? '' : 'only';
  if (split === 'train') {
    return n === 0 && !atMost ? `the model saw ${what} in no training clip` : `the model saw ${what} in ${only} ${n} training clip${n === 1 ? '' : 's'}`;
  }
  const of = clips != null ? ` of the ${clips}` : '';
  if (n === 0 && !atMost) return `none${of} ${split} clips had ${what}`;
  return `${only} ${n}${of} ${split} clip${n === 1 && !of ? '' : 's'} had ${what}`;
}

/**
 * For each tag of the model (in its output order): {uncertain, negative, why}
 * (`why` a short sentence, '' when nothing needs saying), and `legend`, one
 * line explaining the marks; `known` says whether the file records counts.
 */
export function tagSupport(info) {
  const tags = (info && info.tags) || [];
  const rec = recordedCounts(info);
  const min = rec && rec.split === 'train' ? MIN_TRAIN_POSITIVES : MIN_HELD_OUT_POSITIVES;
  const index = new Map(tags.map((t, i) => [t, i]));
  const perTag = tags.map((tag, i) => {
    const negative = isNegative(tag);
    if (!rec) {
      return { negative, uncertain: false, why: negative ? `An absence: the model heard no ${tag.replace(/^no\s+/i, '')} here.` : '' };
    }
    if (negative) {
      // An absence is learnt from the presence: the clips with any of the
      // tags it negates number at most the sum of their counts.
      const present = presentTags(tag, tags);
      const most = present.reduce((a, t) => a + rec.counts[index.get(t)], 0);
      const absent = tag.replace(/^no\s+/i, '');
      const what = VOICE.test(absent) ? 'voices' : absent;
      const uncertain = present.length > 0 && most < min;
      const why = uncertain
        ? `Uncertain: an absence, and ${few(rec.split, most, rec.clips, what, true)}: too few to tell.`
        : `An absence: the model heard no ${absent} here.`;
      return { negative, uncertain, why, count: present.length ? most : null };
    }
    const n = rec.counts[i];
    const uncertain = n < min;
    return { negative, uncertain,  why: uncertain ? `Uncertain: ${few(rec.split, n, rec.clips, 'this tag', false)}.` : '', count: n };
  });
  const legend = !rec
    ? '“No\u00a0…” tags say what the model did not hear, not what the music is. This model file records no per-tag counts, so how well it knows each tag is not shown.'
    : rec.split === 'train'
      ? `? marks an uncertain tag: the model saw it in fewer than ${min} training clips, so its score is a guess. “No\u00a0…” tags say what the model did not hear.`
      : `? marks an uncertain tag: fewer than ${min}${rec.clips != null ? ` of the ${rec.clips}` : ''} ${rec.split} clips (a sample of the music the model learnt from) had it, so its score is a guess. “No\u00a0…” tags say what the model did not hear.`;
  return { known: !!rec, min, split: rec ? rec.split : null, tags: perTag, legend };
}
