// scatterbrain-tagger: Scatterbrain's music tagger (a scattering transform
// and a recurrent model, Rust compiled to WebAssembly) for browsers and Node.
// The work runs on the calling thread in ~5 s slices and yields to the event
// loop between them, so progress can be shown and an AbortSignal can cancel.
// It drives the core's analysis session through the WASM's sharded-session
// calls with a single part (TagModel.job_* / set_input / prediction_cpu), the
// same road the Scatterbrain page's workers take.
import init, { Analyzer, MonoStream, TagModel, decode_audio } from './pkg/scatterbrain.js';
import { audioSource, decodeBytes, extensionOf, fromFile, fromPlanes } from './audio.js';
// The browser's decoding of a File/Blob, at the file's own rate (for formats the core does not read).
export { browserDecode, decodeFile } from './audio.js';

/** Seconds of input per slice: long enough that the calls cost nothing, short enough to stay responsive. */
const SLICE_SECONDS = 5;
const NODE = typeof process === 'object' && process.versions?.node != null;

let started = null; // the WASM's start, shared by every loadTagger()
function start(wasm) {
  started ??= init({ module_or_path: wasmInput(wasm) }).catch((e) => {
    started = null; // a failed start may be retried (another URL, the network back)
    throw e;
  });
  return started;
}

/**
 * Start the WASM (once per page, worker or process: later calls reuse the
 * first instance) and load a model file.
 * @param {{ wasm?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module, model: string | URL | ArrayBuffer | ArrayBufferView }} options
 * @returns {Promise<Tagger>}
 */
export async function loadTagger({ wasm, model } = {}) {
  if (model == null) throw new TypeError('loadTagger needs `model`: a URL, a path (in Node) or the model file’s bytes');
  const [, bytes] = await Promise.all([start(wasm), bytesOf(model, 'model file')]);
  // Weights now (lazy = false): this instance scores on the CPU itself.
  return new Tagger(new TagModel(bytes, false));
}

/**
 * The top `n` rows of a `tag()` result, best first: `[{ tag, score, uncertain, also? }]`
 * (`uncertain`: the model met the tag in too few clips for its score to mean much;
 * `result.support.tags[i].why` says so in words; `also`: the tag's spelling variants).
 */
export function topTags(result, n = 5) {
  // slice() would read -1 as "all but the last", 2.5 as 2, NaN as none.
  if (!(Number.isInteger(n) && n >= 0)) throw new TypeError(`topTags: n must be a non-negative integer, not ${n}`);
  // Silent audio: the scores are what the model says of nothing (`result.silence_note` says why).
  if (result.silent) return [];
  const one = (i) => ({ tag: result.tags[i], score: result.clip[i], uncertain: !!result.support?.tags[i]?.uncertain });
  // The core's ranking (`result.top`: spelling variants such as "no vocal"
  // beside "no vocals" share a row, as in the CLI); a result made by hand
  // without it is ranked by score alone, NaN last as the core ranks it.
  const key = (i) => (Number.isNaN(result.clip[i]) ? -Infinity : result.clip[i]);
  const rows = result.top ?? result.clip.map((_, i) => ({ index: i, also: [] })).sort((a, b) => key(b.index) - key(a.index) || 0);
  return rows.slice(0, n).map((r) => (r.also.length ? { ...one(r.index), also: r.also.map(one) } : one(r.index)));
}

export class Tagger {
  #model;
  #analyzer = null; // made on the first scatter(): filter banks are built once
  #queue = Promise.resolve(); // one job at a time: the model holds one job's state

  constructor(model) {
    this.#model = model;
    /** The model file's metadata (name, tags, front end, provenance, metrics…). */
    this.info = JSON.parse(model.info());
    /** Tag names, in the order of every score list. */
    this.tags = this.info.tags;
    /** The front end's sample rate in Hz (audio is resampled to it). */
    this.sampleRate = this.info.front_end?.front_end?.sample_rate;
    if (!Number.isInteger(this.sampleRate)) throw new Error('the model file does not state its front end’s sample rate');
  }

  /** The audio's tags: `{ tags, clip, windows, taggram, duration_s, … }` (see index.d.ts). */
  tag(audio, { onProgress, signal } = {}) {
    return this.#exclusive(async (model) => {
      const w = await this.#analyse(model, audio, onProgress, signal);
      const n = w.indices.length;
      onProgress?.({ stage: 'model', done: 0, total: n });
      await pause(signal);
      const s = model.job_scores();
      onProgress?.({ stage: 'model', done: n, total: n });
      model.set_input(
        Uint32Array.from(w.indices),
        Float64Array.from(w.starts),
        Uint32Array.from(w.valids),
        w.input_rows,
        w.frames,
        w.input,
        w.samples,
        w.nonFinite,
        w.peak,
      );
      const result = model.prediction_cpu(Uint32Array.from(s.indices), s.scores, s.logits, s.logit_frames);
      // The decoder's warning for a file that ended early (the CLI's), else null.
      return { ...result, early_end: w.earlyEnd };
    });
  }

  /** The raw scattering coefficients of the model's front end, for pictures (see index.d.ts). */
  scatter(audio, { onProgress, signal } = {}) {
    return this.#exclusive(async (model) => {
      const w = await this.#analyse(model, audio, onProgress, signal);
      this.#analyzer ??= new Analyzer(JSON.stringify(this.info.front_end));
      const r = this.#analyzer.stitch(Uint32Array.from(w.indices), Float64Array.from(w.starts), Uint32Array.from(w.valids), w.raw_rows, w.frames, w.raw);
      return picture(r);
    });
  }

  /** Release the WASM memory once the jobs already asked for have ended; later calls reject. */
  free() {
    const model = this.#model;
    const analyzer = this.#analyzer;
    this.#model = this.#analyzer = null;
    this.#queue.then(() => {
      model?.free();
      analyzer?.free();
    });
  }

  #exclusive(job) {
    const model = this.#model;
    if (!model) return Promise.reject(new Error('this tagger has been freed'));
    const run = this.#queue.then(async () => {
      try {
        return await job(model);
      } finally {
        try {
          model.clear(); // the job's windows and model input
        } catch {
          // The instance trapped: the job's own error says why.
        }
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Mono at the front end's rate, slice by slice, into the model's session; the session's windows. */
  async #analyse(model, audio, onProgress, signal) {
    await pause(signal);
    const decoding = isFile(audio);
    if (decoding) onProgress?.({ stage: 'decode', done: 0, total: 1 });
    const src = decoding ? await decoded(audio, this.sampleRate) : await audioSource(audio);
    if (decoding) onProgress?.({ stage: 'decode', done: 1, total: 1 });
    const stream = new MonoStream(src.sampleRate, src.channels, this.sampleRate);
    try {
      // Below the core's rate, the file's rate says which bands are empty (as the CLI, which reads it at that rate).
      model.job_start(stream.output_len(src.frames), 0, 1, Math.min(src.sampleRate, src.fileRate ?? src.sampleRate));
      const step = Math.max(1, Math.round(src.sampleRate * SLICE_SECONDS));
      // One step per slice, and one for the end (where a file's last window is computed).
      const total = Math.ceil(src.frames / step) + 1;
      let done = 0;
      let samples = 0;
      const push = (mono) => {
        samples += mono.length;
        model.job_push(mono);
        onProgress?.({ stage: 'analyse', done: ++done, total });
      };
      onProgress?.({ stage: 'analyse', done, total });
      for (let at = 0; at < src.frames; at += step) {
        await pause(signal);
        push(stream.push(src.slice(at, Math.min(src.frames, at + step))));
      }
      await pause(signal);
      const last = stream.finish();
      samples += last.length;
      model.job_push(last);
      const w = model.job_finish();
      onProgress?.({ stage: 'analyse', done: total, total });
      return { ...w, samples, nonFinite: stream.non_finite() + (src.nonFinite ?? 0), earlyEnd: src.earlyEnd ?? null };
    } finally {
      stream.free();
    }
  }
}

// ------------------------------------------------------------------ helpers

/** A file's bytes (a File/Blob, or its contents as an ArrayBuffer or Uint8Array, e.g. a Node Buffer). */
function isFile(audio) {
  return (typeof Blob !== 'undefined' && audio instanceof Blob) || audio instanceof ArrayBuffer || audio instanceof Uint8Array;
}

/**
 * A file decoded by the core and mixed to mono at the front end's `rate` as
 * it goes, as the native CLI does (MP3, WAV, AIFF, FLAC, Ogg/Vorbis, MP4/M4A):
 * a long file never sits in memory at its own rate; a file in another
 * format (Opus, WebM…) by the browser's decoder, where there is one, which
 * says as the core does when the file was cut short.
 */
async function decoded(audio, rate) {
  const blob = typeof Blob !== 'undefined' && audio instanceof Blob;
  const bytes = blob ? new Uint8Array(await audio.arrayBuffer()) : audio instanceof ArrayBuffer ? new Uint8Array(audio) : audio;
  let d;
  try {
    d = decodeBytes(decode_audio, bytes, { extension: blob ? extensionOf(audio.name) : undefined, monoRate: rate });
  } catch (e) {
    if (typeof OfflineAudioContext !== 'undefined' && !/audio is empty/.test(e.message)) {
      try {
        // A Blob's own copy is handed over; the caller's bytes (a view) browserDecode copies.
        return await fromFile(blob ? bytes.buffer : bytes);
      } catch {
        // The core's reason says more than the browser's.
      }
    }
    // The core's words already say "could not read the file as audio: …".
    throw new Error(e.message);
  }
  return { ...fromPlanes(d.channels, d.sampleRate), fileRate: d.fileRate, earlyEnd: d.earlyEnd, nonFinite: d.nonFinite };
}

// A macrotask, so timers, events and rendering get their turn; setTimeout(0)
// would be clamped to 4 ms once nested, a message is not.
const macrotask =
  typeof setImmediate === 'function'
    ? setImmediate
    : (() => {
        const { port1, port2 } = new MessageChannel();
        const waiting = [];
        port1.onmessage = () => waiting.shift()();
        return (f) => {
          waiting.push(f);
          port2.postMessage(null);
        };
      })();

/** Yield to the event loop, then stop with the signal's reason (an AbortError by default) if it was aborted. */
async function pause(signal) {
  await new Promise((resolve) => macrotask(resolve));
  if (signal?.aborted) throw signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** What the glue's init gets: a browser compiles while downloading; Node's fetch reads no files. */
function wasmInput(wasm) {
  const source = wasm ?? new URL('./pkg/scatterbrain_bg.wasm', import.meta.url);
  if (source instanceof WebAssembly.Module || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  return NODE ? bytesOf(source, 'WASM') : source;
}

/** A file's bytes: from memory, a URL, or (Node) a path or file: URL. */
async function bytesOf(source, what) {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new TypeError(`the ${what} must be a URL, a path (in Node), an ArrayBuffer or a Uint8Array`);
  }
  const s = String(source);
  if (NODE && !/^(https?|data|blob):/i.test(s)) {
    // A variable specifier, so that bundlers for the browser leave it alone.
    const fs = 'node:fs/promises';
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fs);
    return new Uint8Array(await readFile(s.startsWith('file:') ? new URL(s) : s));
  }
  let resp;
  try {
    resp = await fetch(source);
  } catch (e) {
    throw new Error(`the ${what} could not be loaded from ${s}: ${e.message}`, { cause: e });
  }
  if (!resp.ok) throw new Error(`the ${what} could not be loaded from ${s}: HTTP ${resp.status}`);
  return new Uint8Array(await resp.arrayBuffer());
}

/** Analyzer.stitch's result with its bytes viewed as f32 and plain paths. */
function picture(r) {
  // `data` arrives as little-endian bytes; a Float32Array needs them 4-aligned.
  const bytes = r.data.byteOffset % 4 === 0 ? r.data : r.data.slice();
  return {
    rows: r.rows,
    frames: r.frames,
    data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
    times: Float64Array.from(r.times),
    paths: r.paths.map((p) => ({ order: p.order, freq1_hz: p.freq1_hz ?? null, freq2_hz: p.freq2_hz ?? null })),
    windows: Array.from(r.windows),
  };
}
