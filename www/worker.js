// The page's heavy work, off the main thread: the WASM scattering front end
// and the tagging model (burn: CPU in WebAssembly, or WebGPU). Module worker.
//
// The worker the page starts coordinates helpers, one per core (this same
// script, each its own WASM instance and copy of the model): the audio is
// resampled once, into shared memory that the helpers read as it fills, and
// each helper scatters every n-th 29 s window — one
// scattering per window gives both the pictures' coefficients and the model
// input — and, on the CPU backend, scores its windows. This worker then
// stitches the pictures, keeps the model input (WebGPU, a backend switch)
// and averages the scores, exactly as one instance would.
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
import init, { Analyzer, MonoStream, TagModel } from './pkg/scatterbrain.js';

let analyzer = null;
let gotModule;
const moduleMsg = new Promise((resolve) => (gotModule = resolve));
let isHelper = false;

// The page compiles the WASM once and hands the module to each worker it
// starts, so restarting the worker (cancel, crash) fetches nothing.
const ready = (async () => {
  const module = await moduleMsg;
  const t0 = performance.now();
  await init({ module_or_path: module });
  if (!isHelper) {
    analyzer = new Analyzer();
    startHelpers(module);
  }
  return performance.now() - t0;
})();

ready.then(
  (ms) => postMessage({ type: 'ready', initMs: ms }),
  (e) => postMessage({ type: 'error', fatal: true, message: `The analysis engine (WebAssembly) failed to start: ${messageOf(e)}` }),
);

// ------------------------------------------------------------ helpers
// Both cores of a 2-core machine; more than 4 gains little for a song of a
// few windows and costs a model copy each.
const HELPERS = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
const helpers = [];
let nextCall = 1;

function startHelpers(module) {
  for (let k = 0; k < HELPERS; k++) {
    const w = new Worker(new URL(import.meta.url), { type: 'module' });
    const h = { worker: w, pending: new Map() };
    w.onmessage = (ev) => {
      const m = ev.data;
      const p = h.pending.get(m.call);
      if (!p) return;
      if (m.type === 'progress') p.onProgress(m.done, m.stage);
      else if (m.type === 'error') {
        h.pending.delete(m.call);
        const err = m.crashed ? new WebAssembly.RuntimeError(m.message) : new Error(m.message);
        p.reject(err);
      } else {
        h.pending.delete(m.call);
        p.resolve(m);
      }
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      for (const p of h.pending.values()) p.reject(new WebAssembly.RuntimeError(ev.message || 'a helper stopped'));
      h.pending.clear();
    };
    w.postMessage({ type: 'init', module, helper: true });
    helpers.push(h);
  }
}

function callHelper(h, msg, onProgress = () => {}, transfer = []) {
  const call = nextCall++;
  return new Promise((resolve, reject) => {
    h.pending.set(call, { resolve, reject, onProgress });
    h.worker.postMessage({ ...msg, call }, transfer);
  });
}

// In a helper: this instance's share of a job (see TagModel.job_*).
const SLICE = 16000 * 5; // mono samples per push, to keep the WASM copy small
async function helperCall(msg) {
  const progress = (done) => postMessage({ type: 'progress', call: msg.call, done });
  try {
    await modelLoading;
    if (!tagModel) throw new Error('no model is loaded');
    if (msg.type === 'job') {
      const { mono, filled, part, parts } = msg;
      const t0 = performance.now();
      tagModel.job_start(mono.length, part, parts);
      // Streamed: `filled[0]` counts the samples written so far (-1: the
      // coordinator failed); wait for more until all are there. Otherwise
      // all of `mono` is there from the start.
      for (let at = 0; at < mono.length; ) {
        const ready = filled ? Atomics.load(filled, 0) : mono.length;
        if (ready < 0) throw new Error('the audio could not be converted');
        if (ready === at) {
          Atomics.wait(filled, 0, at, 1000);
          continue;
        }
        const end = Math.min(ready, at + SLICE);
        tagModel.job_push(mono.subarray(at, end), progress);
        at = end;
      }
      const r = tagModel.job_finish(progress);
      const transfer = [r.raw.buffer, r.input.buffer];
      const reply = { type: 'job', call: msg.call, result: r, featuresMs: performance.now() - t0 };
      if (msg.scores) {
        // Score at once, while other helpers may still be scattering. A
        // scoring failure loses the tags, not the pictures.
        const t1 = performance.now();
        try {
          reply.scores = tagModel.job_scores((done) => postMessage({ type: 'progress', call: msg.call, done, stage: 'model' }));
          transfer.push(reply.scores.buffer);
        } catch (e) {
          if (e instanceof WebAssembly.RuntimeError) throw e;
          reply.scoresError = messageOf(e);
        }
        reply.scoresMs = performance.now() - t1;
      }
      postMessage(reply, transfer);
    } else if (msg.type === 'job-scores') {
      const scores = tagModel.job_scores(progress);
      postMessage({ type: 'job-scores', call: msg.call, scores }, [scores.buffer]);
    }
  } catch (e) {
    postMessage({ type: 'error', call: msg.call, message: messageOf(e), crashed: e instanceof WebAssembly.RuntimeError });
  }
}

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
let modelInfo = null;
let sameFrontEnd = false;
let modelLoading = null; // settles when the model sent last has loaded or failed
// Whether the helpers hold the windows of the last audio (they can score it again).
let helpersHoldInput = false;

function loadModel(msg) {
  modelLoading = loadModelNow(msg);
  return modelLoading;
}

async function loadModelNow({ bytes }) {
  await ready;
  if (tagModel) tagModel.free();
  tagModel = null;
  webgpu = null;
  helpersHoldInput = false;
  // Each helper loads its own copy, at the same time as this one.
  const helpersLoaded = helpers.map((h) => {
    const copy = bytes.slice(0);
    return callHelper(h, { type: 'model', bytes: copy }, undefined, [copy]);
  });
  for (const p of helpersLoaded) p.catch(() => {}); // awaited below, or moot when this copy fails
  try {
    const t0 = performance.now();
    // This worker's copy loads its CPU weights only if it has to score
    // itself (no helpers, another front end): the helpers score on the CPU.
    tagModel = new TagModel(new Uint8Array(bytes), !isHelper);
    modelInfo = JSON.parse(tagModel.info());
    sameFrontEnd = !isHelper && tagModel.same_front_end(analyzer);
    if (isHelper) return;
    // Ready when every copy is (a helper's failure fails the model).
    await Promise.all(helpersLoaded);
    postMessage({ type: 'model-ready', info: modelInfo, sameFrontEnd, workers: helpers.length, ms: performance.now() - t0 });
  } catch (e) {
    if (tagModel) tagModel.free();
    tagModel = null;
    if (!isHelper) postMessage({ type: 'model-error', message: messageOf(e) });
    else throw e;
  }
}

async function helperLoadModel(msg) {
  try {
    await loadModel(msg);
    if (!tagModel) throw new Error('the model could not be loaded');
    postMessage({ type: 'model-ready', call: msg.call });
  } catch (e) {
    postMessage({ type: 'error', call: msg.call, message: messageOf(e) });
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
  const r =
    backend === 'webgpu'
      ? await tagModel.predict_webgpu(progress)
      : helpersHoldInput
        ? await predictOnHelpers(progress)
        : tagModel.predict_cpu(progress);
  timings.modelMs = performance.now() - t0;
  return { backend: r.backend, tags: r.tags, clip: r.clip, windows: r.windows, fallback };
}

/** CPU scores of the last audio, each helper scoring its own windows. */
async function predictOnHelpers(progress) {
  const total = lastJob.indices.length;
  const done = helpers.map(() => 0);
  const parts = await Promise.all(
    helpers.map((h, k) =>
      callHelper(h, { type: 'job-scores' }, (n) => {
        done[k] = n;
        progress(done.reduce((a, b) => a + b, 0), total);
      }),
    ),
  );
  return tagModel.prediction_cpu(gatherScores(parts.map((p) => p.scores)));
}

/** The helpers' scores (each in its windows' order) in stream order. */
function gatherScores(parts) {
  const k0 = lastJob.counts.findIndex((n) => n > 0);
  const tags = parts[k0].length / lastJob.counts[k0];
  const scores = new Float32Array(lastJob.indices.length * tags);
  parts.forEach((p, k) => {
    lastJob.byHelper[k].forEach((index, j) => scores.set(p.subarray(j * tags, (j + 1) * tags), index * tags));
  });
  return scores;
}

let lastJob = null; // {indices, counts, byHelper}: which helper holds which window

/**
 * The parallel path: resample once, each helper scatters its share of the
 * windows; returns the pictures' coefficients (stitched) and sets the model
 * input of every window. Progress as one 'transform' stage.
 */
async function scatterOnHelpers(id, pcm, sampleRate, nChannels, timings, scores) {
  const t0 = performance.now();
  const fe = modelInfo.front_end;
  const rate = fe.front_end.sample_rate;
  // Already mono at the front end's rate (long files): resampling is the identity.
  const identity = sampleRate === rate && nChannels === 1;
  let shared;
  let filled = null;
  let stream = null;
  if (globalThis.crossOriginIsolated && !identity) {
    // Streamed into shared memory: the helpers start on the first windows
    // while the rest is being resampled.
    stream = new MonoStream(sampleRate, nChannels, rate);
    const length = stream.output_len(pcm.length / nChannels);
    shared = new Float32Array(new SharedArrayBuffer(length * 4));
    filled = new Int32Array(new SharedArrayBuffer(4));
  } else {
    const mono = identity ? pcm : tagModel.mono(pcm, sampleRate, nChannels);
    shared = mono;
    if (globalThis.crossOriginIsolated) {
      // One copy every helper reads, instead of a copy each.
      shared = new Float32Array(new SharedArrayBuffer(mono.byteLength));
      shared.set(mono);
    }
    timings.resampleMs = performance.now() - t0;
  }
  const total = Math.max(1, Math.ceil(shared.length / Math.round(fe.window.seconds * rate)));
  const done = helpers.map(() => 0);
  const scored = helpers.map(() => 0);
  const parts = helpers.length;
  const tJobs = performance.now();
  const jobs = Promise.all(
    helpers.map((h, k) =>
      callHelper(h, { type: 'job', mono: shared, filled, part: k, parts, scores }, (n, stage) => {
        const sum = (a) => a.reduce((x, y) => x + y, 0);
        if (stage === 'model') scored[k] = n;
        else done[k] = n;
        // The model stage shows once every window is scattered.
        if (sum(done) < total) postMessage({ type: 'progress', id, stage: 'transform', done: sum(done), total, passes: 1 });
        else postMessage({ type: 'progress', id, stage: 'model', done: sum(scored), total });
      }),
    ),
  );
  if (stream) {
    try {
      timings.resampleMs = streamMono(stream, pcm, nChannels, shared, filled);
    } catch (e) {
      Atomics.store(filled, 0, -1);
      Atomics.notify(filled, 0);
      jobs.catch(() => {}); // the helpers fail too; this error is the one to report
      throw e;
    } finally {
      stream.free();
    }
  }
  const results = await jobs;
  // The front end ends with the slowest helper's scattering; any scoring
  // after that is the model's time (the rest overlapped the scattering).
  timings.transformEnd = tJobs + Math.max(...results.map((x) => x.featuresMs));
  timings.resultsAt = performance.now();
  timings.scoresCpuMs = scores ? results.reduce((a, x) => a + (x.scoresMs || 0), 0) : undefined;
  // Windows back in stream order.
  const windows = [];
  results.forEach(({ result: r }, k) => {
    const rawSize = r.raw_rows * r.frames;
    const inputSize = r.input_rows * r.frames;
    r.indices.forEach((index, j) =>
      windows.push({
        index,
        helper: k,
        start: r.starts[j],
        valid: r.valids[j],
        raw: r.raw.subarray(j * rawSize, (j + 1) * rawSize),
        input: r.input.subarray(j * inputSize, (j + 1) * inputSize),
      }),
    );
  });
  windows.sort((a, b) => a.index - b.index);
  if (!windows.length || windows.some((w, i) => w.index !== i)) throw new Error('the workers lost a window');
  const { raw_rows: rawRows, input_rows: inputRows, frames } = results.find((x) => x.result.indices.length).result;
  const concat = (key, size) => {
    const out = new Float32Array(windows.length * size);
    windows.forEach((w, i) => out.set(w[key], i * size));
    return out;
  };
  const starts = Float64Array.from(windows, (w) => w.start);
  const valids = Uint32Array.from(windows, (w) => w.valid);
  tagModel.set_input(starts, valids, inputRows, frames, concat('input', inputRows * frames));
  lastJob = {
    indices: windows.map((w) => w.index),
    counts: results.map((x) => x.result.indices.length),
    byHelper: results.map((x) => Array.from(x.result.indices)),
  };
  helpersHoldInput = true;
  const picture = analyzer.stitch(starts, valids, rawRows, frames, concat('raw', rawRows * frames));
  let prediction = null;
  if (scores) {
    const failed = results.find((x) => x.scoresError);
    prediction = failed
      ? { error: failed.scoresError }
      : { value: tagModel.prediction_cpu(gatherScores(results.map((x) => x.scores))) };
  }
  return { picture, prediction };
}

/**
 * Resample `pcm` into `shared` slice by slice, publishing the count written
 * in `filled[0]` after each; returns the milliseconds it took.
 */
function streamMono(stream, pcm, nChannels, shared, filled) {
  const t0 = performance.now();
  let at = 0;
  const put = (out) => {
    if (at + out.length > shared.length) throw new Error('the resampler gave more samples than expected');
    shared.set(out, at);
    at += out.length;
    Atomics.store(filled, 0, at);
    Atomics.notify(filled, 0);
  };
  // ~2 s of input per slice: small next to a 29 s window, large enough that
  // the calls cost nothing.
  const step = STREAM_FRAMES * nChannels;
  for (let i = 0; i < pcm.length; i += step) put(stream.push(pcm.subarray(i, i + step)));
  put(stream.finish());
  if (at !== shared.length) throw new Error(`the resampler gave ${at} samples, not ${shared.length}`);
  return performance.now() - t0;
}
const STREAM_FRAMES = 1 << 16;

async function scatter({ id, channels, sampleRate, backend }) {
  await ready;
  await modelLoading;
  helpersHoldInput = false;
  if (tagModel && sameFrontEnd && helpers.length) return scatterParallel({ id, channels, sampleRate, backend });
  const t0 = performance.now();
  const pcm = interleave(channels);
  const progress = (done, total) => postMessage({ type: 'progress', id, stage: 'transform', done, total });
  const r = analyzer.scatter(pcm, sampleRate, channels.length, false, progress);
  const t1 = performance.now();
  const result = scatterResult(r);
  const data = result.data;
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

/** The pictures' coefficients as the page wants them (from Analyzer.scatter or .stitch). */
function scatterResult(r) {
  // `data` arrives as bytes; view them as f32 (copy if unaligned).
  let bytes = r.data;
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const paths = r.paths.map((p) => ({ order: p.order, freq1_hz: p.freq1_hz ?? null, freq2_hz: p.freq2_hz ?? null }));
  return {
    rows: r.rows,
    frames: r.frames,
    data,
    times: Float64Array.from(r.times),
    paths,
    windows: Array.from(r.windows),
  };
}

async function scatterParallel({ id, channels, sampleRate, backend }) {
  const t0 = performance.now();
  const pcm = interleave(channels);
  // A failure here is the transform's (the pictures'): the job fails.
  const timings = { workers: helpers.length };
  // On the CPU the helpers score their windows as soon as they have them.
  const cpu = backend === 'cpu';
  const { picture, prediction } = await scatterOnHelpers(id, pcm, sampleRate, channels.length, timings, cpu);
  const result = scatterResult(picture);
  let tags = null;
  let tagError = null;
  if (cpu) {
    // Stitching and gathering after the helpers replied count as front end.
    const assembly = performance.now() - timings.resultsAt;
    timings.transformMs = timings.transformEnd - t0 + assembly;
    timings.modelMs = timings.resultsAt - timings.transformEnd;
    if (prediction.error) tagError = prediction.error;
    else {
      const r = prediction.value;
      tags = { backend: r.backend, tags: r.tags, clip: r.clip, windows: r.windows, fallback: null };
    }
  } else {
    timings.transformMs = performance.now() - t0;
    try {
      tags = await predict(id, backend, timings);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw e;
      tagError = messageOf(e);
    }
  }
  delete timings.transformEnd;
  delete timings.resultsAt;
  postMessage({ type: 'result', id, scatter: result, tags, tagError, timings }, [result.data.buffer]);
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
  if (msg.type === 'init') {
    isHelper = !!msg.helper;
    gotModule(msg.module);
  } else if (isHelper) {
    if (msg.type === 'model') helperLoadModel(msg);
    else helperCall(msg);
  } else if (msg.type === 'live-start') liveStart(msg);
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
