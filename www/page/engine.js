// The page's use of the package's engine (package/engine.js: the workers,
// the jobs, cancelling, WebGPU, the live view): it hands the engine the
// WASM and the model as the page downloads them (page/downloads.js: progress
// in bytes, cached for offline use) and turns the engine's events into the
// page's state (model, backend).
import { createEngine, EngineError } from '../package/engine.js';
import { WEBGPU_GLUE_URL, WEBGPU_WASM_URL, WASM_URL } from '../constants.js';
import { model, modelFetched, modelLoaded, modelFailed } from './model.js';
import { backendChosen, currentBackend, describeBackend, webgpuFailed, webgpuStarted } from './backend.js';
import { plain } from './status.js';
import { compiled, download } from './downloads.js';

/** A job's failure in the engine (`crashed`: the engine has replaced its worker). */
export { EngineError as AnalysisError };
export class UserError extends Error {}
/** A job ended by a cancel (the engine's restart) rather than a failure. */
export const cancelled = (e) => e?.name === 'AbortError';

let core = null; // the package's Engine, made by the first startWorker()
let gpuGlue = null; // the WebGPU build's JS glue, downloaded once (so that it is cached offline)

/**
 * The state of the current worker: `ready`, `modelReady`, `gen` (a new one
 * after each restart: it no longer holds the last audio), and `core`, the
 * core's values the page needs ({sampleRate, minSeconds}), once `ready` resolves.
 */
export const engine = {
  get ready() {
    return core.ready;
  },
  get modelReady() {
    return core.modelReady;
  },
  get gen() {
    return core ? core.generation : 0;
  },
  get core() {
    return core.core;
  },
};

/** Start the engine, or replace its worker (a cancel, a stopped engine). */
export function startWorker() {
  if (core) return core.restart();
  core = createEngine({
    wasm: () => compiled(WASM_URL),
    // The glue too, so that it is cached for offline use like the rest (the
    // worker's import of it is then answered from a cache).
    webgpuWasm: async () => {
      gpuGlue ??= download(WEBGPU_GLUE_URL, false).then(({ resp }) => {
        if (!resp.ok) throw new Error(`${resp.url}: the server answered ${resp.status}`);
      });
      const glue = gpuGlue.catch((e) => {
        gpuGlue = null;
        throw e;
      });
      return (await Promise.all([compiled(WEBGPU_WASM_URL), glue]))[0];
    },
  });
  core.loadModel(modelFetched.then(() => model.bytes)).catch(() => {}); // the 'model' event says it
  core.addEventListener('model', ({ detail: d }) => {
    if (d.error) modelFailed(`The model file could not be loaded: ${plain(d.error)}`);
    else {
      modelLoaded(d.info, d.sameFrontEnd);
      // Start WebGPU now rather than at the first file.
      backendChosen.then(() => currentBackend() === 'webgpu' && d.generation === core.generation && useWebgpu());
    }
    describeBackend();
  });
  core.addEventListener('webgpu', ({ detail: d }) => {
    if (!d.ok) return webgpuFailed(d.message);
    webgpuStarted();
    // For tests: WebGPU has started (its build is downloaded and the weights are on it).
    document.body.dataset.webgpu = 'ready';
  });
}

/** Start WebGPU in the current worker (its build is downloaded on first use); idempotent. */
export function useWebgpu() {
  core.startWebgpu().catch(() => {}); // the 'webgpu' event says it
}

/** Pictures and tags of planar `channels` (transferred) on `backend`; `onProgress({stage, done, total, passes})`. */
export function analyseInWorker(channels, sampleRate, fileRate, backend, onProgress) {
  return core.analyse(channels, sampleRate, { backend, fileRate, onProgress });
}

/** A file's bytes (transferred) decoded by the core in the worker: `{channels, sampleRate, fileChannels, seconds, earlyEnd…}`. */
export function decodeInWorker(bytes, options) {
  return core.decode(bytes, options);
}

/** The last audio's tags on `backend`. */
export function retagInWorker(backend, onProgress) {
  return core.retag(backend, { onProgress });
}

/** The live view: frames, failures and tags go to these (mic.js). */
export function startLive(sampleRate, { frames, error, tags }) {
  const on = (type, f) => {
    const h = ({ detail }) => f(detail);
    core.addEventListener(type, h);
    return () => core.removeEventListener(type, h);
  };
  const off = [on('live', frames), on('live-error', (d) => error(d.message)), on('live-tags', tags)];
  core.startLive(sampleRate);
  return {
    push: (pcm) => core.pushLive(pcm),
    stop() {
      core.stopLive();
      for (const f of off) f();
    },
  };
}
