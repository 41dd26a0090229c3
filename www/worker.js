// The page's heavy work, off the main thread: the WASM scattering front end
// and the tagging model (burn: CPU in WebAssembly, or WebGPU). Module worker.
//
// Messages in:  {type: 'init', module}            compiled WASM module
//               {type: 'model', bytes}            model file (ArrayBuffer)
//               {type: 'webgpu-init'}             start WebGPU early (optional)
//               {type: 'scatter', id, channels: [Float32Array…], sampleRate, backend}
//               {type: 'retag', id, backend}      the last audio's tags on another backend
// Messages out: {type: 'ready'} | {type: 'error', id?, message}
//               {type: 'model-ready', info, sameFrontEnd} | {type: 'model-error', message}
//               {type: 'webgpu', ok, message?, ms}
//               {type: 'progress', id, stage, done, total}
//               {type: 'result', id, scatter: {rows, frames, data, times, paths, windows}, tags, timings}
//               {type: 'tags', id, tags, timings}
import init, { Analyzer, TagModel } from './pkg/scatterbrain.js';

let analyzer = null;
let gotModule;
const moduleMsg = new Promise((resolve) => (gotModule = resolve));

// The page compiles the WASM once and hands the module to each worker it
// starts, so restarting the worker (cancel, crash) fetches nothing.
const ready = (async () => {
  const module = await moduleMsg;
  const t0 = performance.now();
  await init({ module_or_path: module });
  analyzer = new Analyzer();
  return performance.now() - t0;
})();

ready.then(
  (ms) => postMessage({ type: 'ready', initMs: ms }),
  (e) => postMessage({ type: 'error', fatal: true, message: `The analysis engine (WebAssembly) failed to start: ${messageOf(e)}` }),
);

function messageOf(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Interleave planar channels into one buffer, as the core expects. */
function interleave(channels) {
  const n = channels.length;
  if (n === 1) return channels[0];
  const len = channels[0].length;
  const out = new Float32Array(len * n);
  for (let c = 0; c < n; c++) {
    const ch = channels[c];
    for (let i = 0, j = c; i < len; i++, j += n) out[j] = ch[i];
  }
  return out;
}

// ------------------------------------------------------------ tagging model
let tagModel = null;
let webgpu = null; // promise of the WebGPU start, made once

async function loadModel({ bytes }) {
  await ready;
  if (tagModel) tagModel.free();
  tagModel = null;
  webgpu = null;
  try {
    const t0 = performance.now();
    tagModel = new TagModel(new Uint8Array(bytes));
    const info = JSON.parse(tagModel.info());
    postMessage({ type: 'model-ready', info, sameFrontEnd: tagModel.same_front_end(analyzer), ms: performance.now() - t0 });
  } catch (e) {
    postMessage({ type: 'model-error', message: messageOf(e) });
  }
}

/** Start WebGPU and put the weights on it (once); resolves to the time it took. */
function startWebgpu() {
  if (!tagModel) return Promise.reject(new Error('no model is loaded'));
  if (!webgpu) {
    const t0 = performance.now();
    webgpu = (async () => {
      if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU');
      await tagModel.init_webgpu();
      return performance.now() - t0;
    })();
  }
  return webgpu;
}

/**
 * Tags of the model input computed last, on `backend` ('webgpu' or 'cpu').
 * WebGPU falls back to the CPU with the reason when it cannot start.
 */
async function predict(id, backend, timings) {
  const progress = (done, total) => postMessage({ type: 'progress', id, stage: 'model', done, total });
  let fallback = null;
  if (backend === 'webgpu') {
    try {
      const first = !tagModel.webgpu_ready();
      const ms = await startWebgpu();
      if (first) timings.webgpuInitMs = ms;
    } catch (e) {
      fallback = messageOf(e);
      backend = 'cpu';
    }
  }
  const t0 = performance.now();
  const r = backend === 'webgpu' ? await tagModel.predict_webgpu(progress) : tagModel.predict_cpu(progress);
  timings.modelMs = performance.now() - t0;
  return { backend: r.backend, tags: r.tags, clip: r.clip, windows: r.windows, fallback };
}

async function scatter({ id, channels, sampleRate, backend }) {
  await ready;
  const t0 = performance.now();
  const pcm = interleave(channels);
  const progress = (done, total) => postMessage({ type: 'progress', id, stage: 'transform', done, total });
  const r = analyzer.scatter(pcm, sampleRate, channels.length, false, progress);
  const t1 = performance.now();
  // `data` arrives as bytes; view them as f32 (copy if unaligned).
  let bytes = r.data;
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const paths = r.paths.map((p) => ({ order: p.order, freq1_hz: p.freq1_hz ?? null, freq2_hz: p.freq2_hz ?? null }));
  const result = {
    rows: r.rows,
    frames: r.frames,
    data,
    times: Float64Array.from(r.times),
    paths,
    windows: Array.from(r.windows),
  };
  const timings = { transformMs: t1 - t0 };
  let tags = null;
  let tagError = null;
  if (tagModel) {
    try {
      // The model's own front end and normalisation, window by window.
      const fprog = (done, total) => postMessage({ type: 'progress', id, stage: 'features', done, total });
      const t2 = performance.now();
      tagModel.features(pcm, sampleRate, channels.length, fprog);
      timings.featuresMs = performance.now() - t2;
      tags = await predict(id, backend, timings);
    } catch (e) {
      // The pictures are still worth showing; a trap is not (the instance is gone).
      if (e instanceof WebAssembly.RuntimeError) throw e;
      tagError = messageOf(e);
    }
  }
  postMessage({ type: 'result', id, scatter: result, tags, tagError, timings }, [data.buffer]);
}

async function retag({ id, backend }) {
  await ready;
  if (!tagModel) throw new Error('no model is loaded');
  const timings = {};
  const tags = await predict(id, backend, timings);
  postMessage({ type: 'tags', id, tags, timings });
}

// ------------------------------------------------------------ live microphone
// A second Analyzer with a short window and first order only: every
// LIVE_STEP seconds it scatters the last LIVE_WINDOW seconds and sends the S1
// frames that lie well inside that window (away from its edges).
const LIVE_WINDOW = 4.096; // s: 65 536 samples at 16 kHz
const LIVE_STEP = 0.5; // s between updates
const LIVE_LAG = 1.0; // s: frames closer than this to the newest sample are not final yet
const LIVE_CONFIG = {
  front_end: { kind: 'scattering', sample_rate: 16000, q1: 8, q2: 1, j: 13, t: 8192, oversampling: 1, max_order: 1 },
  normaliser: { eps1: 1e-4, eps2: 1e-6, log_eps: 1e-4, standardise_orders: [0, 1] },
  window: { seconds: LIVE_WINDOW, min_seconds: 1.0 },
};
let live = null;

function liveStart({ sampleRate }) {
  const ring = new Float32Array(Math.round(LIVE_WINDOW * sampleRate)); // starts as silence
  live = { rate: sampleRate, ring, total: 0, nextUpdate: LIVE_STEP * sampleRate, lastTime: -Infinity, analyzer: null };
}

function livePush({ pcm }) {
  if (!live) return;
  const { ring } = live;
  if (pcm.length >= ring.length) ring.set(pcm.subarray(pcm.length - ring.length));
  else {
    ring.copyWithin(0, pcm.length);
    ring.set(pcm, ring.length - pcm.length);
  }
  live.total += pcm.length;
  if (live.total < live.nextUpdate || !analyzer) return;
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
  if (frames.length) postMessage({ type: 'live', hop, freqs: bands.map((b) => b.freq), frames });
}

self.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === 'init') gotModule(msg.module);
  else if (msg.type === 'live-start') liveStart(msg);
  else if (msg.type === 'live-push') {
    try {
      livePush(msg);
    } catch (e) {
      live = null;
      postMessage({ type: 'live-error', message: messageOf(e) });
    }
  } else if (msg.type === 'live-stop') live = null;
  else if (msg.type === 'model') loadModel(msg);
  else if (msg.type === 'webgpu-init') {
    ready
      .then(startWebgpu)
      .then(
        (ms) => postMessage({ type: 'webgpu', ok: true, ms }),
        (e) => postMessage({ type: 'webgpu', ok: false, message: messageOf(e) }),
      );
  } else if (msg.type === 'scatter' || msg.type === 'retag') {
    (msg.type === 'scatter' ? scatter(msg) : retag(msg)).catch((e) =>
      // A trap (panic) leaves the instance unusable: the page then starts a new worker.
      postMessage({ type: 'error', id: msg.id, message: messageOf(e), crashed: e instanceof WebAssembly.RuntimeError }),
    );
  }
};
