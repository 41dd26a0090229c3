// The coordinator's helper workers (helper.js), one per core, and the
// parallel path through them: the audio is resampled once, into shared
// memory that the helpers read as it fills; each helper runs the core's
// analysis session on its share of the windows (every n-th 29 s window; one
// scattering per window gives both the pictures' coefficients and the model
// input) and, on the CPU backend, scores them. The core then puts the
// helpers' windows and scores back in stream order (Analyzer.stitch,
// TagModel.set_input, TagModel.prediction_cpu): this file only moves arrays.
import { MonoStream } from '../pkg/scatterbrain.js';
import { MSG } from './protocol.js';

// Both cores of a 2-core machine; more than 4 gains little for a song of a
// few windows and costs a model copy each.
const HELPERS = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
// ~2 s of input per resampling slice: small next to a 29 s window, large
// enough that the calls cost nothing.
const STREAM_FRAMES = 1 << 16;

export class HelperPool {
  constructor(module) {
    this.helpers = [];
    this.nextCall = 1;
    // Whether the helpers hold the windows of the last audio (they can score
    // it again), and how many windows it has.
    this.holdsInput = false;
    this.windows = 0;
    for (let k = 0; k < HELPERS; k++) this.helpers.push(startHelper(module));
  }

  get size() {
    return this.helpers.length;
  }

  call(h, msg, onProgress = () => {}, transfer = []) {
    const call = this.nextCall++;
    return new Promise((resolve, reject) => {
      h.pending.set(call, { resolve, reject, onProgress });
      h.worker.postMessage({ ...msg, call }, transfer);
    });
  }

  /** Each helper loads its own copy of the model file; one promise per helper. */
  loadModel(bytes) {
    this.holdsInput = false;
    return this.helpers.map((h) => {
      const copy = bytes.slice(0);
      return this.call(h, { type: MSG.MODEL, bytes: copy }, undefined, [copy]);
    });
  }

  /**
   * Scatter interleaved `pcm` on the helpers; returns the pictures'
   * coefficients (stitched by `analyzer`) and sets `tagModel`'s input of
   * every window; with `scores`, also the CPU prediction ({value} or
   * {error}). `post(stage, done, total, passes?)` reports progress.
   */
  async scatter({ pcm, sampleRate, fileRate, nChannels, scores, tagModel, analyzer, frontEnd, timings, post }) {
    const t0 = performance.now();
    const rate = frontEnd.front_end.sample_rate;
    // Already mono at the front end's rate (long files): resampling is the identity.
    const identity = sampleRate === rate && nChannels === 1;
    // The helpers get mono at `rate`: the rate it was resampled from, or the
    // file's before that, says which bands are empty (the core's
    // Pipeline::with_source_rate).
    const sourceRate = Math.min(sampleRate, fileRate ?? sampleRate);
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
    const nonFinite = () => (stream ? stream.non_finite() : 0);
    const total = Math.max(1, Math.ceil(shared.length / Math.round(frontEnd.window.seconds * rate)));
    const done = this.helpers.map(() => 0);
    const scored = this.helpers.map(() => 0);
    const parts = this.helpers.length;
    const sum = (a) => a.reduce((x, y) => x + y, 0);
    // Progress only when it moves (helpers report in any order), and the
    // front end's end before the model's start, even for one window.
    let shown = '';
    const report = (stage, n, passes) => {
      if (shown === `${stage} ${n}`) return;
      shown = `${stage} ${n}`;
      post(stage, n, total, passes);
    };
    const tJobs = performance.now();
    const jobs = Promise.all(
      this.helpers.map((h, k) =>
        this.call(h, { type: MSG.JOB, mono: shared, filled, part: k, parts, scores, sourceRate }, (n, stage) => {
          if (stage === 'model') scored[k] = n;
          else done[k] = n;
          // The model stage shows once every window is scattered.
          if (sum(done) < total) report('transform', sum(done), 1);
          else {
            if (!shown.startsWith('model')) report('transform', total, 1);
            // Without `scores` (WebGPU) the model's progress is predict()'s.
            if (scores) report('model', sum(scored));
          }
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
        stream.free();
        throw e;
      }
    }
    let results;
    let nonFiniteSamples = 0;
    try {
      results = await jobs;
      nonFiniteSamples = nonFinite();
    } finally {
      if (stream) stream.free();
    }
    // The front end ends with the slowest helper's scattering; any scoring
    // after that is the model's time (the rest overlapped the scattering).
    timings.transformEnd = tJobs + Math.max(...results.map((x) => x.featuresMs));
    timings.resultsAt = performance.now();
    if (scores) timings.scoresCpuMs = results.reduce((a, x) => a + (x.scoresMs || 0), 0);
    const w = joined(results.map((x) => x.result));
    tagModel.set_input(w.indices, w.starts, w.valids, w.inputRows, w.frames, w.input, shared.length, nonFiniteSamples, w.peak);
    this.holdsInput = true;
    this.windows = w.indices.length;
    const picture = analyzer.stitch(w.indices, w.starts, w.valids, w.rawRows, w.frames, w.raw);
    let prediction = null;
    if (scores) {
      const failed = results.find((x) => x.scoresError);
      prediction = failed ? { error: failed.scoresError } : { value: this.predict(tagModel, results.map((x) => x.scores)) };
    }
    return { picture, prediction };
  }

  forget() {
    this.holdsInput = false;
  }

  /** The file's tags from the helpers' CPU scores (TagModel.job_scores, one per helper). */
  predict(tagModel, parts) {
    const frames = parts.find((p) => p.indices.length)?.logit_frames ?? 0;
    return tagModel.prediction_cpu(
      Uint32Array.from(parts.flatMap((p) => Array.from(p.indices))),
      cat(parts.map((p) => p.scores)),
      cat(parts.map((p) => p.logits)),
      frames,
    );
  }

  /** CPU scores of the last audio, each helper scoring its own windows (for predict). */
  async scoresAgain(progress) {
    const done = this.helpers.map(() => 0);
    const totals = this.helpers.map(() => 0);
    const parts = await Promise.all(
      this.helpers.map((h, k) =>
        this.call(h, { type: MSG.JOB_SCORES }, (n, stage, total) => {
          done[k] = n;
          totals[k] = total;
          progress(done.reduce((a, b) => a + b, 0), totals.reduce((a, b) => a + b, 0));
        }),
      ),
    );
    return parts.map((p) => p.scores);
  }
}

function startHelper(module) {
  const w = new Worker(new URL('./helper.js', import.meta.url), { type: 'module' });
  const h = { worker: w, pending: new Map() };
  w.onmessage = (ev) => {
    const m = ev.data;
    const p = h.pending.get(m.call);
    if (!p) return;
    if (m.type === MSG.PROGRESS) p.onProgress(m.done, m.stage, m.total);
    else if (m.type === MSG.ERROR) {
      h.pending.delete(m.call);
      p.reject(m.crashed ? new WebAssembly.RuntimeError(m.message) : new Error(m.message));
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
  w.postMessage({ type: MSG.INIT, module, helper: true });
  return h;
}

/** Float32Arrays end to end. */
function cat(arrays) {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** The helpers' windows (TagModel.job_finish results) joined, in helper order; the core orders them. */
function joined(parts) {
  const first = parts.find((r) => r.indices.length);
  if (!first) throw new Error('the workers computed no window');
  return {
    indices: Uint32Array.from(parts.flatMap((r) => Array.from(r.indices))),
    starts: Float64Array.from(parts.flatMap((r) => Array.from(r.starts))),
    valids: Uint32Array.from(parts.flatMap((r) => Array.from(r.valids))),
    rawRows: first.raw_rows,
    inputRows: first.input_rows,
    frames: first.frames,
    raw: cat(parts.map((r) => r.raw)),
    input: cat(parts.map((r) => r.input)),
    peak: Math.max(...parts.map((r) => r.peak)),
  };
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
  const step = STREAM_FRAMES * nChannels;
  for (let i = 0; i < pcm.length; i += step) put(stream.push(pcm.subarray(i, i + step)));
  put(stream.finish());
  if (at !== shared.length) throw new Error(`the resampler gave ${at} samples, not ${shared.length}`);
  return performance.now() - t0;
}
