// The live microphone view, in the coordinating worker: a second Analyzer
// with a short window and first order only scatters the last LIVE_WINDOW
// seconds every LIVE_STEP seconds and sends the S1 frames that lie well
// inside that window (away from its edges) to the page.
import { Analyzer } from '../pkg/scatterbrain.js';
import { LIVE_CONFIG, LIVE_LAG, LIVE_STEP, LIVE_WINDOW } from '../constants.js';
import { MSG } from './protocol.js';

let live = null;

export function liveStart({ sampleRate }) {
  const ring = new Float32Array(Math.round(LIVE_WINDOW * sampleRate)); // starts as silence
  live = { rate: sampleRate, ring, total: 0, nextUpdate: LIVE_STEP * sampleRate, lastTime: -Infinity, analyzer: null };
}

export function liveStop() {
  live = null;
}

/** Append microphone samples; scatter and post frames when an update is due. `engineUp`: the WASM has started. */
export function livePush({ pcm }, engineUp) {
  if (!live) return;
  const { ring } = live;
  if (pcm.length >= ring.length) ring.set(pcm.subarray(pcm.length - ring.length));
  else {
    ring.copyWithin(0, pcm.length);
    ring.set(pcm, ring.length - pcm.length);
  }
  live.total += pcm.length;
  if (live.total < live.nextUpdate || !engineUp) return;
  live.nextUpdate = live.total + LIVE_STEP * live.rate;
  if (!live.analyzer) live.analyzer = new Analyzer(JSON.stringify(LIVE_CONFIG));
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
