// The engine client: starts the coordinating worker (worker/coordinator.js)
// with the WASM compiled once, hands it the model, and turns its messages
// into promises (one per job, with progress) and events (live frames, model
// state, WebGPU failures). A cancel or a crash replaces the worker.
import { WASM_URL, WEBGPU_GLUE_URL, WEBGPU_WASM_URL } from '../constants.js';
import { COORDINATOR_URL, MSG } from '../worker/protocol.js';
import { model, modelFetched, modelLoaded, modelFailed } from './model.js';
import { backendChosen, currentBackend, describeBackend, webgpuFailed } from './backend.js';
import { plain } from './status.js';
import { compiled, download } from './downloads.js';

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}
export class UserError extends Error {}
export class AnalysisError extends Error {}

let worker = null;
let gpuSentTo = null; // the worker that has been sent the WebGPU build
let gpuGlue = null; // the WebGPU build's JS glue, downloaded once (so that it is cached offline)
const pending = new Map(); // job id → {resolve, reject, onProgress}
const handlers = { live: () => {}, liveError: () => {}, liveTags: () => {} };

/**
 * The state of the current worker: `ready` (started), `modelReady` (model
 * loaded or none), `gen`; `core`: the core's values the page needs
 * ({sampleRate, minSeconds} of the front end), known once `ready` resolves.
 */
export const engine = { ready: null, modelReady: null, gen: 0, core: null };

/** Live microphone frames, failures and tags go to these (mic.js). */
export function onLive(frames, error, tags) {
  handlers.live = frames;
  handlers.liveError = error;
  handlers.liveTags = tags;
}

export function post(msg, transfer) {
  worker.postMessage(msg, transfer);
}

export function startWorker() {
  const wasmModule = compiled(WASM_URL); // once per page (a failure is tried again)
  if (worker) worker.terminate();
  for (const p of pending.values()) p.reject(new Cancelled());
  pending.clear();
  worker = new Worker(COORDINATOR_URL, { type: 'module' });
  engine.gen++;
  const w = worker;
  wasmModule.then(
    (module) => {
      performance.mark('sb:wasm-compiled'); // benches/ready.mjs reports these marks
      w.postMessage({ type: MSG.INIT, module });
    },
    () => {}, // reported through engine.ready; the next worker tries again
  );
  let loaded;
  engine.modelReady = new Promise((resolve) => (loaded = resolve));
  modelFetched.then(() => {
    if (w !== worker) return;
    if (!model.bytes) return loaded();
    // A copy: the page keeps the file for the next worker (after a cancel).
    const copy = model.bytes.slice(0);
    w.postMessage({ type: MSG.MODEL, bytes: copy }, [copy]);
  });
  engine.ready = new Promise((resolve, reject) => {
    wasmModule.catch((e) => reject(new Error(`The analysis engine (WebAssembly) could not be loaded: ${e.message}`)));
    w.onmessage = (ev) => {
      const m = ev.data;
      switch (m.type) {
        case MSG.READY:
          performance.mark('sb:engine-ready');
          engine.core = m.core;
          return resolve(m.initMs);
        case MSG.LIVE:
          return handlers.live(m);
        case MSG.LIVE_ERROR:
          return handlers.liveError(m.message);
        case MSG.LIVE_TAGS:
          return handlers.liveTags(m);
        case MSG.MODEL_READY:
          performance.mark('sb:model-ready', { detail: { loadMs: m.ms } }); // load: from the bytes to every copy ready
          modelLoaded(m.info, m.sameFrontEnd);
          describeBackend();
          // Start WebGPU now rather than at the first file.
          backendChosen.then(() => currentBackend() === 'webgpu' && w === worker && useWebgpu());
          return loaded();
        case MSG.MODEL_ERROR:
          modelFailed(`The model file could not be loaded: ${plain(m.message)}`);
          describeBackend();
          return loaded();
        case MSG.WEBGPU:
          if (!m.ok) webgpuFailed(m.message);
          // For tests: WebGPU has started (its build is downloaded and the weights are on it).
          else document.body.dataset.webgpu = 'ready';
          return;
        case MSG.ERROR:
          if (m.fatal) return reject(new Error(m.message));
      }
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === MSG.PROGRESS) p.onProgress(m);
      else if (m.type === MSG.RESULT || m.type === MSG.TAGS) {
        pending.delete(m.id);
        p.resolve(m);
      } else if (m.type === MSG.ERROR) {
        pending.delete(m.id);
        const err = new AnalysisError(m.message);
        err.crashed = !!m.crashed;
        p.reject(err);
      }
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      const err = new Error(`The analysis engine stopped: ${ev.message || 'unknown error'}`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
  });
  engine.ready.catch(() => {}); // reported when a job awaits it
}

/**
 * Give the current worker the WebGPU build (downloaded and compiled once per
 * page, on first use: a visit that never chooses WebGPU never fetches it) and
 * have it start WebGPU. Idempotent per worker; a WebGPU job waits for it.
 */
export function useWebgpu() {
  const w = worker;
  if (!w || gpuSentTo === w) return;
  gpuSentTo = w;
  // The glue too, so that it is cached for offline use like the rest (the
  // worker's import of it is then answered from a cache).
  gpuGlue ??= download(WEBGPU_GLUE_URL, false).then(({ resp }) => {
    if (!resp.ok) throw new Error(`${resp.url}: the server answered ${resp.status}`);
  });
  const glue = gpuGlue.catch((e) => {
    gpuGlue = null;
    throw e;
  });
  Promise.all([compiled(WEBGPU_WASM_URL), glue]).then(
    ([module]) => w.postMessage({ type: MSG.WEBGPU_INIT, module }),
    (e) => {
      if (gpuSentTo === w) gpuSentTo = null; // try again next time
      w.postMessage({ type: MSG.WEBGPU_INIT, error: `the WebGPU engine could not be loaded: ${e.message}` });
    },
  );
}

/** Send a job (`msg.id` set) and resolve with its reply; `onProgress(m)` for its progress messages. */
export function runInWorker(msg, transfer, onProgress) {
  if (msg.backend === 'webgpu') useWebgpu();
  return new Promise((resolve, reject) => {
    pending.set(msg.id, { resolve, reject, onProgress });
    worker.postMessage(msg, transfer);
  });
}
