// Results: the tag bars, the pictures (page/pictures.js), the timings
// table. `shown.result` is the result on screen.
import { MODEL_URL } from '../constants.js';
import { ui } from './ui.js';
import { gpu } from './env.js';
import { BACKEND_NAMES } from './backend.js';
import { model, trained } from './model.js';
import { fmtHz, fmtSeconds, namedFiles, plain } from './status.js';
import { BEAT_MAX_HZ, drawAll, preparePictures, S1_MIN_HZ } from './pictures.js';

export { drawAll };

export const shown = { result: null };

const TOP_TAGS = 10;

export function rowsOf(scatter, order) {
  const out = [];
  scatter.paths.forEach((p, i) => {
    if (p.order === order) out.push({ index: i, ...p });
  });
  return out;
}

export function rowView(scatter, index) {
  return scatter.data.subarray(index * scatter.frames, (index + 1) * scatter.frames);
}

/**
 * Every tag index in the core's ranking (`tags.top`): rows by clip score,
 * best first, each tag's spelling variants ("no vocal" of "no vocals") right
 * after it — the taggram's row order.
 */
export function ranked(tags) {
  return tags.top.flatMap((r) => [r.index, ...r.also]);
}

/** `tag 0.42`, and ` (uncertain)` where the model file's counts say so: the text alternatives' words. */
function said(t, i) {
  return `${t.tags[i]} ${t.clip[i].toFixed(2)}${t.support.tags[i].uncertain ? ' (uncertain)' : ''}`;
}

/** What the user should know of how the file was read (as the CLI's `warning:` lines). */
export function inputNotes(r) {
  const notes = [];
  // The core's words (the CLI's warning), or the page's after the browser's decoder.
  if (r.earlyEnd) notes.push(`${r.earlyEnd[0].toUpperCase()}${r.earlyEnd.slice(1)}.`);
  if (r.left?.length) {
    const n = r.left.length;
    notes.push(`Only this file is analysed: ${n} more ${n > 1 ? 'were' : 'was'} dropped with it (${namedFiles(r.left)}); drop ${n > 1 ? 'them' : 'it'} one at a time.`);
  }
  const bad = r.tags?.non_finite ?? 0;
  if (bad > 0) notes.push(`${bad.toLocaleString('en')} samples were not numbers (NaN or infinite) and were read as silence.`);
  if (r.tags?.silent) notes.push(`${plain(r.tags.silence_note)} There is nothing to tag.`);
  return notes;
}

export function showResults(r) {
  ui.results.hidden = false;
  ui.resultName.textContent = r.name;
  ui.resultMeta.textContent =
    `${fmtSeconds(r.duration)} · ${r.channels} channel${r.channels > 1 ? 's' : ''} · decoded at ${r.sampleRate} Hz` +
    (r.decodedBy !== 'browser'
      ? ''
      : r.recording
        ? ' by the browser, which recorded it'
        : ' by the browser (Scatterbrain’s own decoder does not read this format)') +
    (r.long ? ` (long file: mixed to mono at ${r.sampleRate / 1000} kHz while decoding, to save memory)` : '') +
    ' · ' +
    `${r.scatter.rows} scattering coefficients × ${r.scatter.frames} frames`;
  const notes = inputNotes(r);
  ui.inputNote.textContent = notes.join(' ');
  ui.inputNote.hidden = notes.length === 0;
  if (ui.player.src) URL.revokeObjectURL(ui.player.src);
  ui.player.src = URL.createObjectURL(r.playable ?? r.blob);
  ui.player.setAttribute('aria-label', `Audio player: “${r.name}”`);

  preparePictures(r);
  showTags(r);
  drawAll();
}

/** In place of the tags and the taggram: why there are none. */
function noTags(r, why, taggramWhy) {
  const div = document.createElement('div');
  div.className = 'placeholder';
  div.textContent = why;
  ui.tags.replaceChildren(div);
  ui.backendUsed.textContent = '';
  ui.taggramEmpty.textContent = taggramWhy;
  ui.taggramEmpty.hidden = false;
  ui.taggramPlot.hidden = true;
  describePictures(r);
}

export function showTags(r) {
  const tags = r.tags;
  ui.tagsNote.hidden = true;
  ui.tagsLegend.hidden = true;
  if (!tags) {
    return noTags(
      r,
      r.tagError
        ? `The tags could not be computed: ${plain(r.tagError)} The scattering transform below is computed for real.`
        : model.state === 'absent'
          ? `No tagging model is shipped with this build (${MODEL_URL} is missing), so no tags are shown. The scattering transform below is computed for real.`
          : model.state === 'error'
            ? `${model.message} No tags are shown; the scattering transform below is computed for real.`
            : 'No tags: the model was not ready.',
      r.tagError ? 'The tags could not be computed: no taggram.' : 'No model: no taggram.',
    );
  }
  // The model's scores for nothing (the shipped one says "guitar 0.55"): not
  // tags. The core's words, as the CLI's.
  if (tags.silent) return noTags(r, `No tags: ${tags.silence_note}.`, 'Silent audio: no taggram.');
  if (!trained(model.info)) {
    ui.tagsNote.textContent = `The model ${model.info.name} is untrained (random weights, for testing): these scores mean nothing yet.`;
    ui.tagsNote.hidden = false;
  }
  const support = tags.support; // the core's reading of the model file's per-tag counts (the CLI's `?` marks and words)
  const list = document.createElement('ol');
  list.className = 'tagbars';
  list.setAttribute('aria-label', `Top ${TOP_TAGS} tags with their scores`);
  let explained = false;
  for (const { index: i, also } of tags.top.slice(0, TOP_TAGS)) {
    const li = document.createElement('li');
    const s = support.tags[i] || {};
    const name = document.createElement('span');
    name.className = 'name';
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = tags.tags[i];
    name.append(tag);
    if (s.uncertain) {
      // Muted, marked and said in words: the colour alone would not tell everyone.
      li.classList.add('uncertain');
      const flag = document.createElement('span');
      flag.className = 'flag';
      flag.setAttribute('aria-hidden', 'true');
      flag.textContent = '?';
      const words = document.createElement('span');
      words.className = 'visually-hidden';
      words.textContent = ' (uncertain)';
      name.append(flag, words);
    }
    if (s.negative) li.classList.add('negative');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${(Math.max(0, Math.min(1, tags.clip[i])) * 100).toFixed(1)}%`;
    bar.append(fill);
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = tags.clip[i].toFixed(2);
    li.append(name, bar, score);
    if (s.why) {
      const why = document.createElement('span');
      why.className = 'why';
      why.textContent = s.why;
      li.append(why);
      explained = true;
    }
    if (also.length) {
      // MagnaTagATune's other spelling of the same tag (scored apart): one row, as the CLI's.
      const other = document.createElement('span');
      other.className = 'also';
      other.textContent = `also ${also.map((k) => said(tags, k)).join(', ')}`;
      li.append(other);
    }
    list.append(li);
  }
  ui.tags.replaceChildren(list);
  if (explained) {
    ui.tagsLegend.textContent = support.legend;
    ui.tagsLegend.hidden = false;
  }
  const ms = r.timings.model;
  ui.backendUsed.textContent =
    `The model ran on ${BACKEND_NAMES[tags.backend]}${tags.backend === 'webgpu' && gpu.name ? ` (${gpu.name})` : ''}` +
    (ms != null ? ` in ${ms.toFixed(0)} ms` : '') +
    ` over ${tags.windows.length} window${tags.windows.length > 1 ? 's' : ''} of 29 s.` +
    (tags.fallback ? ` WebGPU could not be used (${plain(tags.fallback)}), so the CPU ran it.` : '') +
    (model.sameFrontEnd ? '' : ' (The model reads its own front end, not the one pictured below.)');
  ui.taggramEmpty.hidden = true;
  ui.taggramPlot.hidden = false;
  describePictures(r);
}

/** Tag names as the pictures show them: uncertain ones marked with “?”, as in the list. */
export function markedTagNames(tags) {
  const support = tags.support;
  return tags.tags.map((t, i) => (support.tags[i].uncertain ? `${t} ?` : t));
}

// ------------------------------------------------------------ text alternatives
// Each picture is an image (role="img") whose name says what it shows for
// this file: for screen readers, and for anyone who cannot tell the colours.

/** The band of `rows` ({freq, values}) with the most energy, and the time of its peak. */
function loudest(rows, times) {
  let best = null;
  let bestE = 0;
  for (const r of rows) {
    let e = 0;
    for (let i = 0; i < r.values.length; i++) if (r.values[i] > 0) e += r.values[i];
    if (e > bestE) {
      bestE = e;
      best = r;
    }
  }
  if (!best) return null;
  let at = 0;
  for (let i = 1; i < best.values.length; i++) if (best.values[i] > best.values[at]) at = i;
  return { freq: best.freq, time: times[at] };
}

function bandsOf(r, order, keep) {
  return rowsOf(r.scatter, order)
    .filter(keep)
    .map((p) => ({ freq: order === 1 ? p.freq1_hz : p.freq2_hz, values: rowView(r.scatter, p.index) }))
    .filter((b) => b.freq > 0);
}

const span = (rows) => `${fmtHz(Math.min(...rows.map((b) => b.freq)))} to ${fmtHz(Math.max(...rows.map((b) => b.freq)))}`;

// How to use each picture, as index.html says it (the sentence from "Click"),
// kept after the description of what it shows.
const HOW = Object.fromEntries(
  ['s1', 's2', 'taggram'].map((id) => {
    const label = ui[id].getAttribute('aria-label') || '';
    const at = label.indexOf('Click');
    return [id, at >= 0 ? ` ${label.slice(at)}` : ''];
  }),
);

/** Say what each picture shows for result `r` (after drawing, and when the S2 band changes). */
export function describePictures(r = shown.result) {
  if (!r) return;
  const file = `“${r.name}” (${fmtSeconds(r.duration)})`;
  const s1 = bandsOf(r, 1, (p) => p.freq1_hz >= S1_MIN_HZ);
  const p1 = loudest(s1, r.scatter.times);
  ui.s1.setAttribute(
    'aria-label',
    s1.length
      ? `Scattergram of ${file}: how loud ${s1.length} frequency bands from ${span(s1)} are over time` +
          (p1 ? `; the loudest band is ${fmtHz(p1.freq)}, strongest at ${fmtSeconds(p1.time)}.` : '.') +
          HOW.s1
      : `Scattergram of ${file}: no frequency bands to show.`,
  );
  const f1 = Number(ui.band.value);
  const s2 = bandsOf(r, 2, (p) => p.freq1_hz === f1);
  const p2 = loudest(s2, r.scatter.times);
  ui.s2.setAttribute(
    'aria-label',
    s2.length
      ? `Second-order scattering of ${file} for the ${fmtHz(f1)} band: how fast its loudness pulses, ${s2.length} rates from ${span(s2)}, over time` +
          (p2
            ? `; the strongest pulsing is ${fmtHz(p2.freq)}` +
              (p2.freq <= BEAT_MAX_HZ ? ` (about ${Math.round(p2.freq * 60)} pulses a minute, within an octave).` : ' (too fast to be heard as a beat).')
            : '.') +
          HOW.s2
      : `Second-order scattering of ${file}: no coefficients for this band.`,
  );
  const t = r.tags;
  if (!t || t.silent) {
    const why = t ? 'the audio is silent' : r.tagError ? 'they could not be computed' : 'no model';
    ui.taggram.setAttribute('aria-label', `Taggram of ${file}: no tags (${why}).`);
    return;
  }
  const top = t.top.slice(0, 3).map((row) => [row.index, ...row.also].map((k) => said(t, k)).join(', also '));
  ui.taggram.setAttribute(
    'aria-label',
    `Taggram of ${file}: the score of each of ${t.tags.length} tags over time, best first: ${top.join('; ')}.` + HOW.taggram,
  );
}
// The S2 band is chosen after the results are shown.
ui.band.addEventListener('change', () => describePictures());

/** The timings of result `r` (`shown.result`): each stage, and where it ran. */
export function renderTimings(r) {
  const { timings: tm, tags, workers, tagError } = r;
  const rows = [
    ['Read file', tm.read],
    [r.decodedBy === 'browser' ? 'Decode (browser)' : 'Decode (WASM, worker)', tm.decode],
  ];
  if (workers != null) {
    // One scattering per window gives the pictures and the model input.
    rows.push([`Scattering for the pictures and the model (WASM, ${workers} worker${workers > 1 ? 's' : ''})`, tm.transform]);
  } else rows.push(['Scattering for the pictures (WASM, worker)', tm.transform]);
  if (tags) {
    if (workers == null) rows.push(['Model input: scattering + normalisation (WASM)', tm.features]);
    if (tm.webgpuInit != null) rows.push(['Starting WebGPU and loading the weights (first use)', tm.webgpuInit]);
    rows.push([`Tags: the model on ${BACKEND_NAMES[tags.backend]}`, tm.model]);
  } else rows.push(['Tags (model)', tagError ? 'failed' : 'no model']);
  rows.push(['Draw', tm.draw]);
  ui.timings.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = typeof v === 'string' ? v : v == null ? '–' : `${v.toFixed(0)} ms`;
      return [dt, dd];
    }),
  );
}
