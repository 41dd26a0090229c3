// scatterbrain-tagger/engine: the tagger off the main thread, for pages. A
// coordinating module worker (worker/coordinator.js) runs the front end and
// the model, with one helper per core scattering windows in parallel (when
// the page is cross-origin isolated), the model on the CPU or on WebGPU
// (a second WASM build, fetched on first use), pictures and tags from one
// pass, and a live view of a microphone. The Scatterbrain page is built on it.
//
// One job at a time per engine; cancelling replaces the worker (a WASM call
// cannot be interrupted), which keeps the compiled module and the model bytes
// and so fetches nothing.
import { MSG } from './worker/protocol.js';

const COORDINATOR = new URL('./worker/coordinator.js', import.meta.url);
const CPU_WASM = new URL('./pkg/scatterbrain_bg.wasm', import.meta.url);
const WEBGPU_WASM = new URL('./pkg-webgpu/scatterbrain_bg.wasm', import.meta.url);

/** A job that failed in the engine; `crashed`: the WASM trapped (the engine has been restarted). */
export class EngineError extends Error {
  constructor(message, crashed = false) {
    super(message);
    this.name = 'EngineError';
    this.crashed = crashed;
  }
}

/** Start an engine (see engine.d.ts for the options). */
export function createEngine(options = {}) {
  return new Engine(options);
}

export class Engine extends EventTarget {
  #cpuSource;
  #cpu = null; // promise of the compiled CPU build (a failure is tried again by the next worker)
  #webgpuSource;
  #webgpu = null; // promise of the compiled WebGPU build, once asked for
  #worker = null;
  #pending = new Map(); // job id → {resolve, reject, onProgress}
  #nextId = 1;
  #model = Promise.resolve(null); // the model file's bytes (null: none)
  #gpu = null; // {worker, promise} of the WebGPU start on the current worker
  #live = null; // the live view's sample rate while it runs (a new worker resumes it)

  constructor({ wasm, webgpuWasm } = {}) {
    super();
    this.#cpuSource = wasm ?? CPU_WASM;
    this.#webgpuSource = webgpuWasm ?? WEBGPU_WASM;
    /** Workers started so far: a restart (cancel, crash) makes a new one, which holds no audio. */
    this.generation = 0;
    /** The core's values once `ready` has resolved: `{ sampleRate, minSeconds }` of the front end. */
    this.core = null;
    this.restart();
  }

  /** Resolves when the current worker's WASM has started: `{ initMs, sampleRate, minSeconds }`. */
  get ready() {
    return this.#worker.ready;
  }

  /** Settles when the current worker has loaded the model given last (or failed to; or there is none). */
  get modelReady() {
    return this.#worker.modelReady;
  }

  /**
   * Load a model file (an ArrayBuffer, or a promise of one; null for none)
   * into the current worker and every later one. Resolves with
   * `{ info, sameFrontEnd, workers, ms }`; rejects when the file is not a model.
   */
  loadModel(bytes) {
    this.#model = Promise.resolve(bytes);
    this.#model.catch(() => {});
    return this.#sendModel(this.#worker);
  }

  /**
   * Scatter and tag audio given as planar channels (Float32Arrays, which are
   * transferred to the worker: copy them first to keep them). Resolves with
   * `{ scatter, tags, tagError, timings }`: the pictures' coefficients, the
   * tags (null without a model; `tagError` says why they failed while the
   * pictures are still there). `fileRate`: the audio's rate in its file when
   * it was resampled before (`decode`'s, after a `monoRate`): below the
   * core's rate, its bands above the file's Nyquist are known to be empty.
   */
  analyse(channels, sampleRate, { backend = 'cpu', fileRate, onProgress, signal } = {}) {
    const wrong = badAudio(channels, sampleRate) ?? badRate(fileRate);
    if (wrong) return Promise.reject(new TypeError(`engine.analyse: ${wrong}`));
    const buffers = [...new Set(channels.map((c) => c.buffer))]; // views of one buffer transfer it once
    return this.#job({ type: MSG.SCATTER, channels, sampleRate, fileRate, backend }, buffers, onProgress, signal);
  }

  /**
   * Decode a file's bytes (an ArrayBuffer, transferred: copy it first to keep
   * it) with the core's decoder, as the native CLI decodes: MP3, WAV, AIFF,
   * FLAC, Ogg/Vorbis. `extension` hints at the format; `monoRate` (0: keep the
   * file's rate and channels) mixes to mono and resamples as the core does,
   * slice by slice, to bound memory; past `maxSeconds` it fails. Resolves
   * with `{ channels, sampleRate, fileRate, fileChannels, frames, seconds,
   * earlyEnd, nonFinite, ms }` (`channels`: planar Float32Arrays, ready for
   * `analyse`; `earlyEnd`: why the file ended before its end, the CLI's
   * warning, or null). Rejects with the core's reason, e.g. for a format it
   * does not read (M4A, Opus…: the browser's `browserDecode` may). Does not wait
   * for the model.
   */
  decode(bytes, { extension, monoRate = 0, maxSeconds = Infinity, onProgress, signal } = {}) {
    if (!(bytes instanceof ArrayBuffer)) return Promise.reject(new TypeError('engine.decode: bytes must be an ArrayBuffer'));
    const msg = { type: MSG.DECODE, bytes, extension, monoRate, maxSeconds };
    return this.#job(msg, [bytes], onProgress, signal, { model: false });
  }

  /** The last analysed audio's tags again, on `backend` (this worker keeps its model input). */
  retag(backend, { onProgress, signal } = {}) {
    return this.#job({ type: MSG.RETAG, backend }, [], onProgress, signal);
  }

  /**
   * Start WebGPU in the current worker (downloading the WebGPU build once).
   * Resolves with the milliseconds it took; rejects with the reason WebGPU
   * cannot be used. A WebGPU job starts it itself.
   */
  startWebgpu() {
    const w = this.#worker;
    if (this.#gpu?.worker === w) return this.#gpu.promise;
    // Each try has a number, which the worker's answer carries: a late
    // answer to an earlier try does not settle this one.
    const attempt = (w.webgpu?.attempt ?? 0) + 1;
    const promise = new Promise((resolve, reject) => (w.webgpu = { resolve, reject, attempt }));
    // A failed start is tried again at the next call (a failed download, a lost device).
    promise.catch(() => {
      if (this.#gpu?.promise === promise) this.#gpu = null;
    });
    this.#gpu = { worker: w, promise };
    // A new try: the worker's jobs wait for its module rather than fail with the last try's error.
    w.worker.postMessage({ type: MSG.WEBGPU_INIT, pending: true, attempt });
    this.#webgpu ??= compile(this.#webgpuSource);
    this.#webgpu.then(
      (module) => w.worker.postMessage({ type: MSG.WEBGPU_INIT, module, attempt }),
      (e) => {
        this.#webgpu = null; // tried again next time
        w.worker.postMessage({ type: MSG.WEBGPU_INIT, error: `the WebGPU engine could not be loaded: ${e.message}`, attempt });
      },
    );
    return promise;
  }

  /** Start the live view of a microphone at `sampleRate`: 'live' and 'live-tags' events follow pushLive(). */
  startLive(sampleRate) {
    this.#live = sampleRate;
    this.#worker.worker.postMessage({ type: MSG.LIVE_START, sampleRate });
  }

  /** Samples of the live input (a Float32Array, transferred). */
  pushLive(pcm) {
    this.#worker.worker.postMessage({ type: MSG.LIVE_PUSH, pcm }, [pcm.buffer]);
  }

  stopLive() {
    this.#live = null;
    this.#worker.worker.postMessage({ type: MSG.LIVE_STOP });
  }

  /** Replace the worker: jobs in progress reject with an AbortError; the module and the model carry over. */
  restart() {
    this.#stop(new DOMException('The engine was restarted.', 'AbortError'));
    this.generation++;
    this.#worker = this.#start();
  }

  /** Stop for good. */
  terminate() {
    this.#stop(new DOMException('The engine was terminated.', 'AbortError'));
    this.#worker = null;
  }

  #stop(reason) {
    if (this.#worker) this.#worker.worker.terminate();
    for (const p of this.#pending.values()) p.reject(reason);
    this.#pending.clear();
    this.#gpu = null;
  }

  #start() {
    const worker = new Worker(COORDINATOR, { type: 'module' });
    // A live view survives a restart (a cancel, or a newer file replacing a
    // job, while recording): the new worker starts it afresh.
    if (this.#live != null) worker.postMessage({ type: MSG.LIVE_START, sampleRate: this.#live });
    const generation = this.generation;
    const w = { worker, generation, webgpu: null, ready: null, modelReady: null, modelSent: null, onModel: null };
    if (!this.#cpu) {
      const cpu = compile(this.#cpuSource);
      cpu.catch(() => this.#cpu === cpu && (this.#cpu = null));
      this.#cpu = cpu;
    }
    const cpu = this.#cpu;
    cpu.then(
      (module) => {
        performance.mark('sb:wasm-compiled'); // benches/ready.mjs reports these marks
        worker.postMessage({ type: MSG.INIT, module });
      },
      () => {}, // reported through `ready`; the next worker tries again
    );
    w.ready = new Promise((resolve, reject) => {
      cpu.catch((e) => reject(new Error(`The analysis engine (WebAssembly) could not be loaded: ${e.message}`)));
      worker.onmessage = (ev) => this.#receive(w, ev.data, resolve, reject);
      worker.onerror = (ev) => {
        ev.preventDefault();
        const err = new Error(`The analysis engine stopped: ${ev.message || 'unknown error'}`);
        reject(err);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
      };
    });
    w.ready.catch(() => {}); // reported to whoever awaits it
    this.#sendModel(w).catch(() => {});
    return w;
  }

  /** Give worker `w` the model (when there is one); resolves with its MODEL_READY. */
  #sendModel(w) {
    const posted = this.#model.then((bytes) => {
      if (!bytes) return false;
      // A copy: the engine keeps the file for the next worker.
      const copy = bytes.slice(0);
      w.worker.postMessage({ type: MSG.MODEL, bytes: copy }, [copy]);
      return true;
    });
    // Jobs are posted after the model (or once there is none), so that a new
    // worker's first job waits for it rather than running without.
    w.modelSent = posted.catch(() => {});
    const result = posted.then((sent) => (sent ? new Promise((resolve, reject) => (w.onModel = { resolve, reject })) : null));
    w.modelReady = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  #receive(w, m, resolve, reject) {
    if (w !== this.#worker) return; // a replaced worker's late message
    const event = (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail: { ...detail, generation: w.generation } }));
    switch (m.type) {
      case MSG.READY:
        performance.mark('sb:engine-ready');
        this.core = m.core;
        return resolve({ initMs: m.initMs, ...m.core });
      case MSG.LIVE:
        return event('live', m);
      case MSG.LIVE_ERROR:
        return event('live-error', { message: m.message });
      case MSG.LIVE_TAGS:
        return event('live-tags', m);
      case MSG.MODEL_READY: {
        performance.mark('sb:model-ready', { detail: { loadMs: m.ms } }); // load: from the bytes to every copy ready
        const info = { info: m.info, sameFrontEnd: m.sameFrontEnd, workers: m.workers, ms: m.ms };
        w.onModel?.resolve(info);
        return event('model', info);
      }
      case MSG.MODEL_ERROR:
        w.onModel?.reject(new EngineError(m.message));
        return event('model', { error: m.message });
      case MSG.WEBGPU:
        // An answer to an earlier try (a new one is under way) is stale.
        if (m.attempt !== w.webgpu?.attempt) return;
        if (m.ok) w.webgpu.resolve(m.ms);
        else w.webgpu.reject(new EngineError(m.message));
        return event('webgpu', { ok: m.ok, message: m.message, ms: m.ms });
      case MSG.ERROR:
        if (m.fatal) return reject(new Error(m.message));
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    if (m.type === MSG.PROGRESS) p.onProgress?.({ stage: m.stage, done: m.done, total: m.total, passes: m.passes });
    else if (m.type === MSG.RESULT) {
      this.#pending.delete(m.id);
      p.resolve({ scatter: m.scatter, tags: m.tags, tagError: m.tagError, timings: m.timings });
    } else if (m.type === MSG.DECODED) {
      this.#pending.delete(m.id);
      p.resolve(m.audio);
    } else if (m.type === MSG.TAGS) {
      this.#pending.delete(m.id);
      p.resolve({ tags: m.tags, timings: m.timings });
    } else if (m.type === MSG.ERROR) {
      this.#pending.delete(m.id);
      p.reject(new EngineError(m.message, !!m.crashed));
      // The instance trapped: its worker is of no further use.
      if (m.crashed) this.restart();
    }
  }

  /** Post `msg` as a job; it waits for the model to be sent unless `model` is false. */
  #job(msg, transfer, onProgress, signal, { model = true } = {}) {
    if (!this.#worker) return Promise.reject(new Error('this engine has been terminated'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (msg.backend === 'webgpu') this.startWebgpu();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      let posted = false;
      const abort = () => {
        if (!this.#pending.has(id)) return;
        this.#pending.delete(id);
        reject(signal.reason);
        // A job still waiting for the model never reached the worker, whose
        // audio (for a retag) is then kept.
        if (posted) this.restart();
      };
      const done = (f) => (v) => {
        signal?.removeEventListener('abort', abort);
        f(v);
      };
      this.#pending.set(id, { resolve: done(resolve), reject: done(reject), onProgress });
      signal?.addEventListener('abort', abort, { once: true });
      const w = this.#worker;
      (model ? w.modelSent : Promise.resolve()).then(() => {
        if (!this.#pending.has(id)) return;
        try {
          w.worker.postMessage({ ...msg, id }, transfer);
          posted = true;
        } catch (e) {
          // Channels that cannot be sent (a buffer already transferred by an
          // earlier call, or shared memory): this job's error, not a hang.
          this.#pending.get(id)?.reject(e);
          this.#pending.delete(id);
        }
      });
    });
  }
}

/** What is wrong with `analyse`'s arguments (null: nothing). */
function badAudio(channels, sampleRate) {
  if (!Array.isArray(channels) || channels.length === 0) return 'channels must be a non-empty array of Float32Arrays, one per channel';
  const i = channels.findIndex((c) => !(c instanceof Float32Array));
  if (i >= 0) return `channel ${i} is not a Float32Array (${Object.prototype.toString.call(channels[i]).slice(8, -1)})`;
  const j = channels.findIndex((c) => c.length !== channels[0].length);
  if (j >= 0) return `the channels differ in length (channel 0 has ${channels[0].length} samples, channel ${j} ${channels[j].length})`;
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) return `sampleRate must be a positive number of Hz, not ${sampleRate}`;
  return null;
}

/** What is wrong with `analyse`'s `fileRate` (null: nothing; it may be left out). */
function badRate(fileRate) {
  if (fileRate == null || (Number.isInteger(fileRate) && fileRate > 0 && fileRate < 2 ** 32)) return null;
  return `fileRate must be a whole positive number of Hz, not ${fileRate}`;
}

/** A compiled module from a module, a promise of one, bytes, a URL, or a function giving any of these. */
async function compile(source) {
  const s = await (typeof source === 'function' ? source() : source);
  if (s instanceof WebAssembly.Module) return s;
  if (s instanceof ArrayBuffer || ArrayBuffer.isView(s)) return WebAssembly.compile(s);
  const resp = await fetch(s);
  if (!resp.ok) throw new Error(`${resp.url}: the server answered ${resp.status}`);
  return WebAssembly.compileStreaming(resp);
}
