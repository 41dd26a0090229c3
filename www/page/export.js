// Export: the shown result as a JSON download (tags, taggram, coefficients),
// and the download of any blob (the pictures' PNGs, page/pictures.js).
import { MODEL_URL } from '../constants.js';
import { ui } from './ui.js';
import { model, trained } from './model.js';
import { inputNotes, rowView } from './results.js';
import { frameTaggram } from './pictures.js';

// Above this many values the JSON keeps orders 0 and 1 only (a 1-hour file has
// ~9 million coefficients: a few hundred MB of JSON).
const JSON_MAX_VALUES = 4_000_000;

function resultJson(r) {
  const sc = r.scatter;
  const round = (v) => Number(v.toPrecision(7));
  return {
    generator: 'Scatterbrain web page',
    created: new Date().toISOString(),
    file: { name: r.name, bytes: r.size, type: r.type || null },
    audio: {
      duration_s: r.duration,
      channels: r.channels,
      decoded_sample_rate_hz: r.sampleRate,
      header_sample_rate_hz: r.sniffedRate ?? null,
      decoder: r.decodedBy === 'browser' ? 'browser' : 'core',
      warnings: inputNotes(r),
    },
    ...tagsJson(r, round),
    timings_ms: r.timings,
    scattering: scatteringJson(sc, round),
  };
}

function tagsJson(r, round) {
  const t = r.tags;
  if (!t) {
    return {
      model: null,
      backend: null,
      tags: null,
      taggram: null,
      note: r.tagError
        ? `The tags could not be computed: ${r.tagError}`
        : model.state === 'absent'
          ? 'No tagging model is shipped with this build: tags and taggram are absent.'
          : `No tags: ${model.message}`,
    };
  }
  const i = model.info;
  // Silent audio: the scores are what the model says of nothing, not tags (as the CLI's JSON).
  const silent = !!t.silent;
  return {
    model: {
      name: i.name,
      file: MODEL_URL,
      precision: i.precision,
      trained: trained(i),
      provenance: i.provenance,
      metrics: i.metrics,
    },
    backend: t.backend,
    webgpu_fallback_reason: t.fallback,
    silent,
    peak: t.peak,
    ...(silent ? { note: `No tags: ${t.silence_note}.` } : {}),
    // Clip scores (the windows' mean, weighted by the audio each adds), best first, in the
    // CLI's `top` rows: a tag's spelling variants ("no vocal" of "no vocals") in its `also`.
    // `uncertain`: the model met the tag in too few clips (`support` says how many, as the CLI's JSON).
    tags: silent ? [] : t.top.map((row) => ({ ...scored(t, row.index, round), ...(row.also.length ? { also: row.also.map((k) => scored(t, k, round)) } : {}) })),
    support: t.support,
    taggram: {
      tags: t.tags,
      layout: 'windows[w].scores[k] is the score of tags[k] in window w',
      window_s: (i.front_end && i.front_end.window && i.front_end.window.seconds) || null,
      windows: t.windows.map((w) => ({ start_s: w.start_s, end_s: w.end_s, scores: w.scores.map(round) })),
      ...framesJson(r, round),
    },
  };
}

/** One tag's entry in the download's list. */
function scored(t, k, round) {
  return { tag: t.tags[k], score: round(t.clip[k]), uncertain: t.support.tags[k].uncertain };
}

/** The frame-level taggram (a column every few seconds), when the result has one. */
function framesJson(r, round) {
  const frames = frameTaggram(r);
  if (!frames) return {};
  return {
    frames_layout: 'frames[f].scores[k] is the score of tags[k] in the frame from start_s to end_s',
    frames: frames.map((f) => ({ start_s: f.start_s, end_s: f.end_s, scores: Array.from(f.scores, round), ...(f.warm_up ? { warm_up: true } : {}) })),
  };
}

function scatteringJson(sc, round) {
  const all = sc.rows * sc.frames <= JSON_MAX_VALUES;
  const keep = sc.paths.map((p, i) => i).filter((i) => all || sc.paths[i].order < 2);
  return {
    form: 'raw (un-normalised S0, S1, S2)',
    layout: 'data[row][frame]; paths[row] says what each row is',
    omitted: all ? null : 'second-order rows, to keep the file small (long input)',
    rows: keep.length,
    frames: sc.frames,
    times_s: Array.from(sc.times, round),
    windows_start_s: sc.windows,
    paths: keep.map((i) => sc.paths[i]),
    data: keep.map((i) => Array.from(rowView(sc, i), round)),
  };
}

/** The file name a download of `r` starts with: the audio's name without its extension. */
export function baseName(r) {
  return r.name.replace(/\.[^.]+$/, '') || 'scatterbrain';
}

/** Save `blob` as a file called `name` (the browser's download). */
export function saveBlob(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Download `r` as JSON. A long file's takes seconds to build (1.7 s for 25 min), and the page freezes meanwhile: the button says so first. */
export async function download(r) {
  const button = ui.download;
  if (!r || button.getAttribute('aria-disabled') === 'true') return;
  const label = button.textContent;
  button.textContent = 'Preparing the JSON…';
  // Not `disabled`: a disabled button drops the keyboard focus.
  button.setAttribute('aria-disabled', 'true');
  try {
    // A frame, then a task: the words are painted before the build holds the page.
    await new Promise((painted) => requestAnimationFrame(() => setTimeout(painted)));
    saveBlob(new Blob([JSON.stringify(resultJson(r))], { type: 'application/json' }), `${baseName(r)}.scatterbrain.json`);
  } finally {
    button.textContent = label;
    button.setAttribute('aria-disabled', 'false');
  }
}
