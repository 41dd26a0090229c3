// The live microphone view, in the coordinating worker: a second Analyzer
// with a short window and first order only scatters the last LIVE_WINDOW
// seconds every LIVE_STEP seconds and sends the S1 frames that lie well
// inside that window (away from its edges) to the engine's caller. Every TAG_STEP
// seconds the loaded model tags the last TAG_SPAN seconds (one analysis
// window: the core's session, on the CPU) — live tags beside the picture.
import { Analyzer } from '../pkg/scatterbrain.js';
import { MSG } from './protocol.js';

// The live front end is the core's (Analyzer.live: first order only).
const LIVE_WINDOW = 4.096; // s: 65 536 samples at 16 kHz
const LIVE_STEP = 0.5; // s between updates
const LIVE_LAG = 1.0; // s: frames closer than this to the newest sample are not final yet

// One model window of the latest audio; refreshed every few seconds (a
// 5-layer GRU over 29 s costs a few hundred ms here, so the view stays live).
const TAG_SPAN = 29;
const TAG_STEP = 3;
// Tags need some music first (shorter input is looped to fill the window).
const TAG_MIN = 3;

let live = null;

export function liveStart({ sampleRate }) {
  const ring = new Float32Array(Math.round(LIVE_WINDOW * sampleRate)); // starts as silence
  live = {
    rate: sampleRate,
    ring,
    total: 0,
    nextUpdate: LIVE_STEP * sampleRate,
    lastTime: -Infinity,
    analyzer: null,
    // A circular buffer of the last TAG_SPAN seconds (copying 29 s on every
    // push would cost more than the tags).
    tagRing: new Float32Array(Math.round(TAG_SPAN * sampleRate)),
    tagAt: 0,
    nextTags: TAG_MIN * sampleRate,
  };
}

/** Keep `pcm` in the tag ring. */
function keepForTags(pcm) {
  const { tagRing } = live;
  const src = pcm.length > tagRing.length ? pcm.subarray(pcm.length - tagRing.length) : pcm;
  const first = Math.min(src.length, tagRing.length - live.tagAt);
  tagRing.set(src.subarray(0, first), live.tagAt);
  tagRing.set(src.subarray(first), 0);
  live.tagAt = (live.tagAt + src.length) % tagRing.length;
}

/** Tags of the latest audio with `tagModel` (a TagModel), posted to the engine. */
function liveTags(tagModel) {
  const { tagRing, rate } = live;
  const n = Math.min(live.total, tagRing.length);
  const pcm = new Float32Array(n);
  // Oldest first: the n samples before tagAt, wrapping around.
  const start = (live.tagAt - n + tagRing.length) % tagRing.length;
  const first = Math.min(n, tagRing.length - start);
  pcm.set(tagRing.subarray(start, start + first));
  pcm.set(tagRing.subarray(0, n - first), first);
  const t0 = performance.now();
  // In one call that leaves the model input of the last file as it was
  // (a change of backend re-tags that file, not the microphone).
  const r = tagModel.tag_cpu(pcm, rate, 1);
  postMessage({ type: MSG.LIVE_TAGS, tags: r.tags, clip: r.clip, top: r.top, silent: r.silent, support: r.support, seconds: n / rate, ms: performance.now() - t0 });
}

export function liveStop() {
  live = null;
}

/**
 * Append microphone samples; scatter and post frames when an update is due,
 * and tags with `tagModel` (null: no model) when those are due.
 * `engineUp`: the WASM has started.
 */
export function livePush({ pcm }, engineUp, tagModel) {
  if (!live) return;
  keepForTags(pcm);
  const { ring } = live;
  if (pcm.length >= ring.length) ring.set(pcm.subarray(pcm.length - ring.length));
  else {
    ring.copyWithin(0, pcm.length);
    ring.set(pcm, ring.length - pcm.length);
  }
  live.total += pcm.length;
  if (engineUp && tagModel && live.total >= live.nextTags) {
    live.nextTags = live.total + TAG_STEP * live.rate;
    liveTags(tagModel);
  }
  if (live.total < live.nextUpdate || !engineUp) return;
  live.nextUpdate = live.total + LIVE_STEP * live.rate;
  if (!live.analyzer) live.analyzer = Analyzer.live(LIVE_WINDOW); // the core's live front end
  const r = live.analyzer.scatter(ring, live.rate, 1, false);
  let bytes = r.data;
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const bands = [];
  r.paths.forEach((p, i) => p.order === 1 && bands.push({ i, freq: p.freq1_hz }));
  const windowStart = (live.total - ring.length) / live.rate; // s since recording began
  const newest = live.total / live.rate - LIVE_LAG;
  const hop = r.frames > 1 ? r.times[1] - r.times[0] : 0.256;
  const frames = [];
  for (let f = 0; f < r.frames; f++) {
    const t = windowStart + r.times[f];
    if (t < 0 || t > newest || t <= live.lastTime + hop / 2 || r.times[f] < LIVE_LAG) continue;
    const col = new Float32Array(bands.length);
    bands.forEach((b, k) => (col[k] = data[b.i * r.frames + f]));
    frames.push({ t, values: col });
    live.lastTime = t;
  }
  if (frames.length) postMessage({ type: MSG.LIVE, hop, freqs: bands.map((b) => b.freq), frames });
}
