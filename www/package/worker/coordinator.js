// The engine's heavy work, off the main thread (module worker, started by
// ../engine.js): the WASM scattering front end and the tagging model (burn:
// CPU in WebAssembly, or WebGPU). This worker coordinates helpers (pool.js,
// one per core), keeps the model input of the last audio for WebGPU and
// backend switches, and runs the live microphone view (live.js). Messages:
// protocol.js.
//
// Two WASM builds: the CPU one (../pkg/, everything) and, only once WebGPU is
// chosen, the WebGPU one (../pkg-webgpu/: only the model, on burn's wgpu
// backend), whose TagModel scores the model input the CPU build made.
import init, { Analyzer, TagModel, decode_audio } from '../pkg/scatterbrain.js';
import { HelperPool } from './pool.js';
import { liveStart, livePush, liveStop } from './live.js';
import { MSG, messageOf, crashed } from './protocol.js';
import { decodeBytes } from '../audio.js';

let analyzer = null;
let pool = null;
let gotModule;
const moduleMsg = new Promise((resolve) => (gotModule = resolve));

// The engine compiles the WASM once and hands the module to each worker it
// starts, so restarting the worker (cancel, crash) fetches nothing.
const ready = (async () => {
  const module = await moduleMsg;
  const t0 = performance.now();
  await init({ module_or_path: module });
  analyzer = new Analyzer();
  pool = new HelperPool(module);
  return performance.now() - t0;
})();

ready.then(
  // The core's values the caller needs (copied nowhere): the front end's rate and the shortest input.
  (ms) => postMessage({ type: MSG.READY, initMs: ms, core: { sampleRate: analyzer.sample_rate, minSeconds: analyzer.min_seconds } }),
  (e) => postMessage({ type: MSG.ERROR, fatal: true, message: `The analysis engine (WebAssembly) failed to start: ${messageOf(e)}` }),
);

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
let modelBytes = null; // the model file, for the WebGPU build's copy
let gpuModel = null; // the WebGPU build's TagModel, once WebGPU has started
let webgpu = null; // promise of the WebGPU start, made once per model (again after a failure)
let modelInfo = null;
let sameFrontEnd = false;
let modelLoading = null; // settles when the model sent last has loaded or failed
let modelError = null; // why the model sent last could not be loaded
let featureWindows = null; // windows of the last model input made by this instance (not the helpers)

/** Why there are no tags to compute: no model, or it failed to load (a message; null when there is one). */
function noModel() {
  if (tagModel) return null;
  return modelError ? `the model could not be loaded: ${modelError}` : 'no model is loaded';
}

async function loadModel({ bytes }) {
  await ready;
  if (tagModel) tagModel.free();
  if (gpuModel) gpuModel.free();
  tagModel = gpuModel = null;
  webgpu = null;
  modelBytes = bytes;
  modelError = null;
  featureWindows = null; // the new model holds no input
  // Each helper loads its own copy, at the same time as this one.
  const helpersLoaded = pool.loadModel(bytes);
  for (const p of helpersLoaded) p.catch(() => {}); // awaited below, or moot when this copy fails
  try {
    const t0 = performance.now();
    // This copy loads its CPU weights lazily: the helpers score on the CPU,
    // so it needs them only to score itself (another front end).
    tagModel = new TagModel(new Uint8Array(bytes), true);
    modelInfo = JSON.parse(tagModel.info());
    sameFrontEnd = tagModel.same_front_end(analyzer);
    // Ready when every copy is (a helper's failure fails the model).
    await Promise.all(helpersLoaded);
    postMessage({ type: MSG.MODEL_READY, info: modelInfo, sameFrontEnd, workers: pool.size, ms: performance.now() - t0 });
  } catch (e) {
    if (tagModel) tagModel.free();
    tagModel = null;
    modelError = messageOf(e);
    postMessage({ type: MSG.MODEL_ERROR, message: modelError });
  }
}

/** Start WebGPU and put the weights on it (once; again after a failure); resolves to the time it took. */
function startWebgpu() {
  if (!tagModel) return Promise.reject(new Error(noModel()));
  if (!webgpu) {
    const t0 = performance.now();
    const bytes = modelBytes;
    webgpu = (async () => {
      if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU');
      const glue = await gpuBuild();
      const m = new glue.TagModel(new Uint8Array(bytes), true); // lazy: no CPU weights
      try {
        await m.init_webgpu();
      } catch (e) {
        m.free();
        throw e;
      }
      if (bytes === modelBytes) gpuModel = m;
      else m.free(); // another model arrived meanwhile
      return performance.now() - t0;
    })();
    const started = webgpu;
    started.catch(() => {
      if (webgpu === started) webgpu = null; // tried again when asked again
    });
  }
  return webgpu;
}

// The WebGPU build, from the module the engine sends (WEBGPU_INIT) when WebGPU
// is chosen; a WebGPU job that comes first waits for it.
let gpuGlue = null; // promise of the initialised glue module
let gpuError = null; // why the engine could not send it (until it sends it after all)
let gpuWaiters = [];
function gpuBuild() {
  if (gpuGlue) return gpuGlue;
  if (gpuError) return Promise.reject(new Error(gpuError));
  return new Promise((resolve, reject) => gpuWaiters.push({ resolve, reject }));
}
function receiveGpuBuild({ module, error }) {
  gpuError = module ? null : error || gpuError;
  if (module && !gpuGlue) {
    const loading = (async () => {
      const glue = await import(new URL('../pkg-webgpu/scatterbrain.js', import.meta.url).href);
      await glue.default({ module_or_path: module });
      return glue;
    })();
    gpuGlue = loading;
    loading.catch(() => {
      if (gpuGlue === loading) gpuGlue = null; // the next module tries again
    });
  }
  if (!module && !error) return; // a plain "start WebGPU"
  const waiters = gpuWaiters;
  gpuWaiters = [];
  for (const w of waiters) (gpuGlue && !error ? gpuGlue.then(w.resolve, w.reject) : w.reject(new Error(error)));
}

/** Tags of the last model input on WebGPU, in the WebGPU build (which gets the input from the CPU build). */
function predictOnGpu(progress) {
  const p = tagModel.input_parts();
  gpuModel.set_input(p.indices, p.starts, p.valids, p.rows, p.frames, p.data, p.total, p.non_finite, p.peak);
  return gpuModel.predict_webgpu(progress);
}

/**
 * Tags of the model input computed last, on `backend` ('webgpu' or 'cpu').
 * WebGPU falls back to the CPU with the reason when it cannot start.
 */
async function predict(id, backend, timings) {
  const progress = (done, total) => postMessage({ type: MSG.PROGRESS, id, stage: 'model', done, total });
  // Issue 12 item 2 (backend): the model stage starts now, before WebGPU
  // starts and scores (minutes on a software adapter): say so with the
  // window count, so a page can show "window 1 of n" rather than the last
  // scattering message.
  progress(0, pool.holdsInput ? pool.windows : featureWindows);
  let fallback = null;
  if (backend === 'webgpu') {
    try {
      const first = !gpuModel;
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
      ? await predictOnGpu(progress)
      : pool.holdsInput
        ? pool.predict(tagModel, await pool.scoresAgain(progress))
        : tagModel.predict_cpu(progress);
  timings.modelMs = performance.now() - t0;
  return pageTags(r, fallback);
}

/** The core's tags (clip, windows, taggram…) as the page keeps them. */
function pageTags(r, fallback) {
  return { ...r, fallback };
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

async function scatter({ id, channels, sampleRate, fileRate, backend }) {
  await ready;
  await modelLoading;
  pool.forget();
  featureWindows = null;
  if (tagModel && sameFrontEnd && pool.size) return scatterParallel({ id, channels, sampleRate, fileRate, backend });
  // One instance, two passes: the pictures' scattering, then the model's own front end.
  const t0 = performance.now();
  const pcm = interleave(channels);
  const progress = (done, total) => postMessage({ type: MSG.PROGRESS, id, stage: 'transform', done, total });
  const r = analyzer.scatter(pcm, sampleRate, channels.length, false, progress, fileRate);
  const t1 = performance.now();
  const result = scatterResult(r);
  const timings = { transformMs: t1 - t0 };
  let tags = null;
  // A model that failed to load says so (tags null, tagError null: there is none).
  let tagError = modelError && noModel();
  if (tagModel) {
    try {
      const fprog = (done, total) => postMessage({ type: MSG.PROGRESS, id, stage: 'features', done, total });
      const t2 = performance.now();
      featureWindows = tagModel.analyse(pcm, sampleRate, channels.length, fprog, fileRate);
      timings.featuresMs = performance.now() - t2;
      tags = await predict(id, backend, timings);
    } catch (e) {
      // The pictures are still worth showing; a trap is not (the instance is gone).
      if (crashed(e)) throw e;
      tagError = messageOf(e);
    }
  }
  postMessage({ type: MSG.RESULT, id, scatter: result, tags, tagError, timings }, [result.data.buffer]);
}

async function scatterParallel({ id, channels, sampleRate, fileRate, backend }) {
  const t0 = performance.now();
  const pcm = interleave(channels);
  // A failure here is the transform's (the pictures'): the job fails.
  const timings = { workers: pool.size };
  // On the CPU the helpers score their windows as soon as they have them.
  const cpu = backend === 'cpu';
  const post = (stage, done, total, passes) => postMessage({ type: MSG.PROGRESS, id, stage, done, total, ...(passes ? { passes } : {}) });
  const { picture, prediction } = await pool.scatter({
    pcm,
    sampleRate,
    fileRate,
    nChannels: channels.length,
    scores: cpu,
    tagModel,
    analyzer,
    frontEnd: modelInfo.front_end,
    timings,
    post,
  });
  const result = scatterResult(picture);
  let tags = null;
  let tagError = null;
  if (cpu) {
    // Stitching and gathering after the helpers replied count as front end.
    const assembly = performance.now() - timings.resultsAt;
    timings.transformMs = timings.transformEnd - t0 + assembly;
    if (prediction.error) tagError = prediction.error;
    else {
      // The model's time only when it gave tags (a failure has none to time).
      timings.modelMs = timings.resultsAt - timings.transformEnd;
      tags = pageTags(prediction.value, null);
    }
  } else {
    timings.transformMs = performance.now() - t0;
    try {
      tags = await predict(id, backend, timings);
    } catch (e) {
      if (crashed(e)) throw e;
      tagError = messageOf(e);
    }
  }
  delete timings.transformEnd;
  delete timings.resultsAt;
  postMessage({ type: MSG.RESULT, id, scatter: result, tags, tagError, timings }, [result.data.buffer]);
}

/**
 * A file's bytes to planar PCM with the core's decoder (the CLI's): at the
 * file's rate and channels, or mixed to mono at `monoRate` (a long file).
 * Slices come out as they are decoded and are joined here, outside the WASM
 * instance's memory.
 */
async function decode({ id, bytes, extension, monoRate, maxSeconds }) {
  await ready;
  const t0 = performance.now();
  const progress = (done, total) => postMessage({ type: MSG.PROGRESS, id, stage: 'decode', done, total });
  const d = decodeBytes(decode_audio, new Uint8Array(bytes), { extension: extension ?? undefined, monoRate, maxSeconds, progress });
  const audio = { ...d, ms: performance.now() - t0 };
  postMessage({ type: MSG.DECODED, id, audio }, audio.channels.map((c) => c.buffer));
}

async function retag({ id, backend }) {
  await ready;
  await modelLoading;
  if (!tagModel) throw new Error(noModel());
  // A new worker (after a restart or a cancel) holds no audio yet.
  if (!pool.holdsInput && featureWindows == null) throw new Error('no audio has been analysed by this worker yet (a restart or a cancel forgets it): analyse it first');
  const timings = {};
  const tags = await predict(id, backend, timings);
  postMessage({ type: MSG.TAGS, id, tags, timings });
}

self.onmessage = (ev) => {
  const msg = ev.data;
  switch (msg.type) {
    case MSG.INIT:
      return gotModule(msg.module);
    case MSG.LIVE_START:
      return liveStart(msg);
    case MSG.LIVE_PUSH:
      try {
        livePush(msg, analyzer != null, tagModel);
      } catch (e) {
        liveStop();
        postMessage({ type: MSG.LIVE_ERROR, message: messageOf(e) });
      }
      return;
    case MSG.LIVE_STOP:
      return liveStop();
    case MSG.MODEL:
      modelLoading = loadModel(msg);
      return;
    case MSG.WEBGPU_INIT:
      if (msg.pending) {
        gpuError = null; // a new try: WebGPU jobs wait for its module (or its error)
        return;
      }
      receiveGpuBuild(msg);
      ready
        .then(() => modelLoading)
        .then(startWebgpu)
        .then(
          (ms) => postMessage({ type: MSG.WEBGPU, ok: true, ms, attempt: msg.attempt }),
          (e) => postMessage({ type: MSG.WEBGPU, ok: false, message: messageOf(e), attempt: msg.attempt }),
        );
      return;
    case MSG.DECODE:
    case MSG.SCATTER:
    case MSG.RETAG:
      ({ [MSG.DECODE]: decode, [MSG.SCATTER]: scatter, [MSG.RETAG]: retag })[msg.type](msg).catch((e) =>
        // A trap (panic) leaves the instance unusable: the engine then starts a new worker.
        postMessage({ type: MSG.ERROR, id: msg.id, message: messageOf(e), crashed: crashed(e) }),
      );
  }
};
