// Scatterbrain page: input (file, drop, microphone) → browser decode (main
// thread: AudioContext does not exist in workers) → Worker (WASM scattering,
// then the tagging model on WebGPU or the CPU) → tags, pictures, player, JSON.
// The model file is fetched once when the page loads; after that, no network
// requests.
import { sniffSampleRate, estimateSeconds } from './sniff.js';
import { drawHeatmap, drawTaggram } from './plot.js';

const $ = (id) => document.getElementById(id);
const ui = {
  drop: $('drop'), file: $('file'), record: $('record'), cancel: $('cancel'), env: $('env'),
  status: $('status'), stages: $('stages'), progress: $('progress'), statusText: $('status-text'),
  error: $('error'), results: $('results'), resultName: $('result-name'), resultMeta: $('result-meta'),
  player: $('player'), s1: $('s1'), s2: $('s2'), band: $('band'), timings: $('timings'),
  download: $('download'), live: $('live'), liveCanvas: $('live-canvas'),
  modelStatus: $('model-status'), backendSet: $('backend'), backendWebgpu: $('backend-webgpu'),
  backendCpu: $('backend-cpu'), webgpuNote: $('webgpu-note'), tags: $('tags'), tagsNote: $('tags-note'),
  backendUsed: $('backend-used'), taggram: $('taggram'), taggramPlot: $('taggram-plot'), taggramEmpty: $('taggram-empty'),
};

const MIN_SECONDS = 1.0; // the core's default shortest input (src/windows.rs)
// Files longer than this are decoded by the browser straight to 16 kHz mono
// (the transform's rate), so a 1-hour file needs ~230 MB instead of ~1.3 GB.
const LONG_SECONDS = 20 * 60;
const MAX_SECONDS = 3 * 3600;
const MODEL_RATE = 16000;

// ---------------------------------------------------------------- environment

/** A minimal module using a v128 instruction: validates only with WASM SIMD. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

const env = {
  wasm: typeof WebAssembly === 'object',
  simd: false,
  webgpu: 'navigator' in globalThis && 'gpu' in navigator,
  mic: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && globalThis.MediaRecorder),
};
try {
  env.simd = env.wasm && WebAssembly.validate(SIMD_PROBE);
} catch {
  env.simd = false;
}

// ---------------------------------------------------------------- model

// The shipped model (www/server.mjs serves the repository's models/ there).
const MODEL_URL = 'models/scat-5l-512h-gru.bpk';
const OFFLINE_CACHE = 'scatterbrain-v2'; // = CACHE in sw.js
const model = { state: 'loading', bytes: null, info: null, message: '', sameFrontEnd: true };
const modelFetched = fetch(MODEL_URL)
  .then(async (r) => {
    if (r.status === 404) {
      model.state = 'absent';
      return;
    }
    if (!r.ok) throw new Error(`the server answered ${r.status} ${r.statusText}`);
    const copy = r.clone();
    model.bytes = await r.arrayBuffer();
    // Into the service worker's cache (sw.js), so the page tags offline too
    // without the worker downloading the model a second time.
    if (globalThis.caches) caches.open(OFFLINE_CACHE).then((c) => c.put(MODEL_URL, copy)).catch(() => {});
  })
  .catch((e) => {
    model.state = 'error';
    model.message = `The tagging model could not be downloaded (${e.message}).`;
  })
  .finally(describeModel);

function describeModel() {
  let text;
  if (model.state === 'loading') text = 'Tagging model: loading…';
  else if (model.state === 'absent') text = `Tagging model: none. No model file is shipped with this build (${MODEL_URL}), so the page shows the scattering transform but no tags.`;
  else if (model.state === 'error') text = `Tagging model: not available. ${model.message} The scattering transform still works.`;
  else {
    const i = model.info;
    text = `Tagging model: ${i.name} (${i.precision}, ${(i.bytes / 1e6).toFixed(1)} MB)` + (trained(i) ? '' : ' — untrained (random weights): its tags are not meaningful');
  }
  ui.modelStatus.textContent = text;
  document.body.dataset.model = model.state;
}

function trained(info) {
  return info && info.provenance && info.provenance.epochs != null;
}

// WebGPU: usable when the browser gives an adapter; the user may switch.
const gpu = { available: false, name: '', failed: '', software: false };
let backend = 'cpu';
const gpuChecked = (async () => {
  try {
    const adapter = env.webgpu ? await navigator.gpu.requestAdapter() : null;
    gpu.available = !!adapter;
    const info = adapter && adapter.info;
    gpu.name = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    // A CPU-emulated adapter (e.g. SwiftShader) is correct but much slower than the CPU path.
    gpu.software = !!(info && info.isFallbackAdapter);
  } catch {
    gpu.available = false;
  }
  backend = gpu.available ? 'webgpu' : 'cpu';
  describeBackend();
  describeEnv();
})();

function describeBackend() {
  ui.backendWebgpu.disabled = !gpu.available || !!gpu.failed;
  ui.backendWebgpu.checked = backend === 'webgpu';
  ui.backendCpu.checked = backend === 'cpu';
  ui.webgpuNote.textContent = gpu.failed
    ? `(failed: ${gpu.failed})`
    : gpu.available
      ? `(${[gpu.name, gpu.software ? 'a software adapter: the CPU is faster' : ''].filter(Boolean).join('; ')})`.replace('()', '')
      : '(not available in this browser)';
  ui.backendSet.disabled = model.state !== 'ready';
}

const BACKEND_NAMES = { webgpu: 'WebGPU', cpu: 'CPU (WebAssembly)' };

function describeEnv() {
  const parts = [];
  parts.push(env.simd ? 'WebAssembly SIMD: yes' : 'WebAssembly SIMD: no');
  parts.push(
    gpu.available ? 'WebGPU: available' : env.webgpu ? 'WebGPU: no adapter (the CPU runs the model)' : 'WebGPU: not available (the CPU runs the model)',
  );
  parts.push(crossOriginIsolated ? 'isolated: yes' : 'isolated: no');
  ui.env.textContent = parts.join(' · ');
}

// ---------------------------------------------------------------- worker

let worker = null;
let workerReady = null;
let modelReady = null; // settles when this worker has loaded the model (or there is none)
let workerGen = 0; // which worker holds the last audio's model input
let jobId = 0;
const pending = new Map(); // id → {resolve, reject, onProgress}

let wasmModule = null;

function startWorker() {
  if (!wasmModule) wasmModule = WebAssembly.compileStreaming(fetch('pkg/scatterbrain_bg.wasm'));
  if (worker) worker.terminate();
  for (const p of pending.values()) p.reject(new Cancelled());
  pending.clear();
  worker = new Worker('worker.js', { type: 'module' });
  workerGen++;
  const w = worker;
  wasmModule.then(
    (module) => w.postMessage({ type: 'init', module }),
    () => {
      wasmModule = null; // try again with the next worker
    },
  );
  let modelLoaded;
  modelReady = new Promise((resolve) => (modelLoaded = resolve));
  modelFetched.then(() => {
    if (w !== worker) return;
    if (!model.bytes) return modelLoaded();
    // A copy: the page keeps the file for the next worker (after a cancel).
    const copy = model.bytes.slice(0);
    w.postMessage({ type: 'model', bytes: copy }, [copy]);
  });
  workerReady = new Promise((resolve, reject) => {
    wasmModule.catch((e) => reject(new Error(`The analysis engine (WebAssembly) could not be loaded: ${e.message}`)));
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === 'ready') return resolve(m.initMs);
      if (m.type === 'error' && m.fatal) return reject(new Error(m.message));
      if (m.type === 'live') return liveFrames(m);
      if (m.type === 'live-error') return showError(`The live view stopped: ${plain(m.message)}`);
      if (m.type === 'model-ready') {
        model.state = 'ready';
        model.info = m.info;
        model.sameFrontEnd = m.sameFrontEnd;
        describeModel();
        describeBackend();
        // Start WebGPU now rather than at the first file.
        gpuChecked.then(() => backend === 'webgpu' && w === worker && w.postMessage({ type: 'webgpu-init' }));
        return modelLoaded();
      }
      if (m.type === 'model-error') {
        model.state = 'error';
        model.message = `The model file could not be loaded: ${plain(m.message)}`;
        describeModel();
        describeBackend();
        return modelLoaded();
      }
      if (m.type === 'webgpu') {
        if (!m.ok) webgpuFailed(m.message);
        return;
      }
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') p.onProgress(m);
      else if (m.type === 'result' || m.type === 'tags') {
        pending.delete(m.id);
        p.resolve(m);
      } else if (m.type === 'error') {
        pending.delete(m.id);
        const err = new AnalysisError(m.message);
        err.crashed = !!m.crashed;
        p.reject(err);
      }
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      const err = new Error(`The analysis engine stopped: ${ev.message || 'unknown error'}`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
  });
  workerReady.catch(() => {}); // reported when a job awaits it
}

class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}
class UserError extends Error {}
class AnalysisError extends Error {}

/** WebGPU did not start in the worker: say why and use the CPU from now on. */
function webgpuFailed(message) {
  gpu.failed = plain(message);
  if (backend === 'webgpu') backend = 'cpu';
  describeBackend();
}

function runInWorker(msg, transfer, onProgress) {
  return new Promise((resolve, reject) => {
    pending.set(msg.id, { resolve, reject, onProgress });
    worker.postMessage(msg, transfer);
  });
}

// ---------------------------------------------------------------- status UI

const STAGES = ['read', 'decode', 'transform', 'model', 'draw'];

function setStage(stage, text) {
  const idx = STAGES.indexOf(stage);
  for (const el of ui.stages.children) {
    const i = STAGES.indexOf(el.dataset.stage);
    el.classList.toggle('active', i === idx);
    el.classList.toggle('done', i < idx && !el.classList.contains('skipped'));
    if (i === idx) el.setAttribute('aria-current', 'step');
    else el.removeAttribute('aria-current');
  }
  if (text) ui.statusText.textContent = text;
}

function setProgress(fraction) {
  if (fraction == null) ui.progress.removeAttribute('value');
  else ui.progress.value = Math.max(0, Math.min(1, fraction));
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
}

function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

function busy(on) {
  ui.cancel.hidden = !on;
  ui.drop.setAttribute('aria-disabled', on ? 'true' : 'false');
  document.body.dataset.busy = on ? '1' : '0';
}

function fmtSeconds(s) {
  if (!isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

// ---------------------------------------------------------------- main flow

let current = null; // the shown result

async function analyse(blob, name) {
  const id = ++jobId;
  const alive = () => id === jobId;
  clearError();
  busy(true);
  ui.status.hidden = false;
  for (const el of ui.stages.children) el.classList.remove('done', 'skipped', 'active');
  const timings = {};
  const t = () => performance.now();
  try {
    if (!env.simd) {
      throw new UserError(
        'This browser does not support WebAssembly SIMD, which the analysis needs. ' +
          'Please use a current version of Chrome, Edge, Firefox or Safari.',
      );
    }
    // Read.
    setStage('read', `Reading ${name}…`);
    setProgress(null);
    if (blob.size === 0) throw new UserError(`“${name}” is empty (0 bytes). Please choose an audio file.`);
    let t0 = t();
    const bytes = await blob.arrayBuffer();
    timings.read = t() - t0;
    if (!alive()) return;

    // Decode, at the file's own sample rate when we can read it from the
    // header, so the core's resampler (the same as native) does the resampling.
    setStage('decode', 'Decoding audio…');
    const head = new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 1 << 17));
    const sniffed = sniffSampleRate(head);
    const estimate = estimateSeconds(head, bytes.byteLength);
    const long = estimate > LONG_SECONDS;
    let rate = sniffed && sniffed >= 3000 && sniffed <= 768000 ? sniffed : 48000;
    if (long) {
      rate = MODEL_RATE;
      setStage('decode', `Decoding a long file (about ${fmtSeconds(estimate)}) at 16 kHz to save memory…`);
    }
    t0 = t();
    let audio;
    try {
      const ctx = new OfflineAudioContext(1, 1, rate);
      audio = await ctx.decodeAudioData(bytes);
    } catch (e) {
      throw new UserError(
        `“${name}” could not be read as audio. It may not be an audio file, or it is damaged ` +
          `or in a format this browser cannot decode (MP3, WAV, FLAC and OGG work in most browsers).`,
      );
    }
    timings.decode = t() - t0;
    if (!alive()) return;
    if (audio.length === 0) throw new UserError(`“${name}” contains no audio samples.`);
    if (audio.duration > MAX_SECONDS) {
      throw new UserError(
        `“${name}” is ${fmtSeconds(audio.duration)} long; this page analyses files of up to ${MAX_SECONDS / 3600} hours.`,
      );
    }
    if (audio.duration < MIN_SECONDS) {
      throw new UserError(
        `“${name}” is too short: ${audio.duration.toFixed(2)} s. At least ${MIN_SECONDS.toFixed(1)} s of audio is needed.`,
      );
    }

    // Transform, in the worker.
    setStage('transform', `Computing the scattering transform (${fmtSeconds(audio.duration)} of audio)…`);
    setProgress(0);
    await workerReady;
    if (!alive()) return;
    const channels = [];
    if (long && audio.numberOfChannels > 1) {
      // Long file: mix to mono here rather than copy every channel.
      const mono = new Float32Array(audio.length);
      const k = 1 / audio.numberOfChannels;
      for (let c = 0; c < audio.numberOfChannels; c++) {
        const ch = audio.getChannelData(c);
        for (let i = 0; i < ch.length; i++) mono[i] += ch[i] * k;
      }
      channels.push(mono);
    } else {
      for (let c = 0; c < audio.numberOfChannels; c++) channels.push(audio.getChannelData(c).slice());
    }
    t0 = t();
    const started = t0;
    await modelReady;
    await gpuChecked;
    if (!alive()) return;
    const tagging = model.state === 'ready';
    const gen = workerGen;
    const reply = await runInWorker(
      { type: 'scatter', id, channels, sampleRate: audio.sampleRate, backend },
      channels.map((c) => c.buffer),
      (m) => {
        if (!alive()) return;
        setProgress(m.done / m.total);
        const elapsed = (t() - started) / 1000;
        // Front-end passes over the audio: one when the worker's helpers
        // scatter once for the pictures and the model input, else the model
        // input costs about as much again as the pictures' scattering.
        const passes = m.passes ?? (tagging ? 2 : 1);
        const done = m.stage === 'transform' ? m.done : m.total + m.done;
        const eta = done > 0 ? (elapsed / done) * (passes * m.total - done) : NaN;
        const left = m.stage !== 'model' && done < passes * m.total ? ` · about ${fmtSeconds(eta)} left` : '';
        if (m.stage === 'transform') ui.statusText.textContent = `Scattering: window ${m.done} of ${m.total}${left}`;
        else if (m.stage === 'features') {
          setStage('model');
          ui.statusText.textContent = `Model input: window ${m.done} of ${m.total}${left}`;
        } else {
          setStage('model');
          ui.statusText.textContent = `Tagging on ${BACKEND_NAMES[backend]}: window ${m.done} of ${m.total}`;
        }
      },
    );
    timings.transform = reply.timings.transformMs;
    if (reply.timings.featuresMs != null) timings.features = reply.timings.featuresMs;
    if (reply.timings.webgpuInitMs != null) timings.webgpuInit = reply.timings.webgpuInitMs;
    if (reply.timings.modelMs != null) timings.model = reply.timings.modelMs;
    if (!alive()) return;
    if (!reply.tags) {
      setStage('model', 'No tagging model: skipping tags.');
      ui.stages.querySelector('[data-stage="model"]').classList.add('skipped');
    } else if (reply.tags.fallback) webgpuFailed(reply.tags.fallback);

    setStage('draw', 'Drawing…');
    t0 = t();
    current = {
      name,
      blob,
      size: blob.size,
      type: blob.type,
      duration: audio.duration,
      sampleRate: audio.sampleRate,
      sniffedRate: sniffed,
      channels: audio.numberOfChannels,
      long,
      scatter: reply.scatter,
      tags: reply.tags,
      tagError: reply.tagError,
      workerGen: gen,
      timings,
      // Helpers that scattered the windows (null: one instance, two passes).
      workers: reply.timings.workers ?? null,
    };
    showResults(current);
    timings.draw = t() - t0;
    renderTimings(timings, current.tags, current.workers);
    for (const el of ui.stages.children) {
      el.classList.remove('active');
      if (!el.classList.contains('skipped')) el.classList.add('done');
    }
    setProgress(1);
    ui.statusText.textContent = `Done in ${fmtSeconds(Object.values(timings).reduce((a, b) => a + b, 0) / 1000)}.`;
    document.body.dataset.state = 'done';
  } catch (e) {
    if (!alive() || e instanceof Cancelled) return;
    document.body.dataset.state = 'error';
    if (e instanceof UserError) showError(e.message);
    else if (e instanceof AnalysisError) showError(`“${name}” could not be analysed: ${plain(e.message)}`);
    else showError(`Something went wrong while analysing “${name}”: ${e.message}. You can try another file.`);
    ui.status.hidden = true;
    // A crashed engine is replaced for the next file; user errors need no restart.
    if (!(e instanceof UserError) && !(e instanceof AnalysisError && !e.crashed)) startWorker();
  } finally {
    if (alive()) busy(false);
  }
}

/** The last audio's tags again, on the backend now chosen (the model input is kept in the worker). */
async function retag() {
  if (!current || !current.tags || model.state !== 'ready') return;
  // The worker was restarted since (cancel, crash): it no longer has the input.
  if (current.workerGen !== workerGen) return analyse(current.blob, current.name);
  const id = ++jobId;
  const alive = () => id === jobId;
  const name = BACKEND_NAMES[backend];
  clearError();
  busy(true);
  ui.status.hidden = false;
  for (const el of ui.stages.children) el.classList.remove('done', 'skipped', 'active');
  setStage('model', `Tagging on ${name}…`);
  setProgress(0);
  try {
    const reply = await runInWorker({ type: 'retag', id, backend }, [], (m) => {
      if (!alive()) return;
      setProgress(m.done / m.total);
      ui.statusText.textContent = `Tagging on ${name}: window ${m.done} of ${m.total}`;
    });
    if (!alive()) return;
    if (reply.tags.fallback) webgpuFailed(reply.tags.fallback);
    current.tags = reply.tags;
    current.timings.model = reply.timings.modelMs;
    if (reply.timings.webgpuInitMs != null) current.timings.webgpuInit = reply.timings.webgpuInitMs;
    else delete current.timings.webgpuInit;
    showTags(current);
    drawAll();
    renderTimings(current.timings, current.tags, current.workers);
    for (const el of ui.stages.children) {
      el.classList.remove('active');
      el.classList.add('done');
    }
    setProgress(1);
    ui.statusText.textContent = `Tagged on ${BACKEND_NAMES[reply.tags.backend]} in ${fmtSeconds(reply.timings.modelMs / 1000)}.`;
    document.body.dataset.state = 'done';
  } catch (e) {
    if (!alive() || e instanceof Cancelled) return;
    document.body.dataset.state = 'error';
    showError(`The tags could not be computed on ${name}: ${plain(e.message)} You can switch back or try another file.`);
    ui.status.hidden = true;
    if (e.crashed || !(e instanceof AnalysisError)) startWorker();
  } finally {
    if (alive()) busy(false);
  }
}

function chooseBackend(value) {
  if (value === backend) return;
  backend = value;
  describeBackend();
  if (backend === 'webgpu' && model.state === 'ready') worker.postMessage({ type: 'webgpu-init' });
  if (document.body.dataset.busy !== '1') retag();
}

/** The core's messages are lower-case fragments; make them a sentence. */
function plain(msg) {
  const s = String(msg).trim();
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

function cancel() {
  if (document.body.dataset.busy !== '1') return;
  jobId++; // late replies of the old job are ignored
  startWorker();
  busy(false);
  setProgress(0);
  for (const el of ui.stages.children) el.classList.remove('active');
  ui.statusText.textContent = 'Cancelled.';
  document.body.dataset.state = 'cancelled';
}

// ---------------------------------------------------------------- results

function rowsOf(scatter, order) {
  const out = [];
  scatter.paths.forEach((p, i) => {
    if (p.order === order) out.push({ index: i, ...p });
  });
  return out;
}

function rowView(scatter, index) {
  return scatter.data.subarray(index * scatter.frames, (index + 1) * scatter.frames);
}

function showResults(r) {
  ui.results.hidden = false;
  ui.resultName.textContent = r.name;
  ui.resultMeta.textContent =
    `${fmtSeconds(r.duration)} · ${r.channels} channel${r.channels > 1 ? 's' : ''} · decoded at ${r.sampleRate} Hz` +
    (r.long ? ' (long file: decoded and mixed to mono by the browser to save memory)' : '') +
    ' · ' +
    `${r.scatter.rows} scattering coefficients × ${r.scatter.frames} frames`;
  if (ui.player.src) URL.revokeObjectURL(ui.player.src);
  ui.player.src = URL.createObjectURL(r.blob);

  // S2 band choices: first-order bands that have second-order paths.
  const s1 = rowsOf(r.scatter, 1);
  const s2 = rowsOf(r.scatter, 2);
  const withS2 = new Set(s2.map((p) => p.freq1_hz));
  const bands = s1.filter((p) => withS2.has(p.freq1_hz)).sort((a, b) => a.freq1_hz - b.freq1_hz);
  ui.band.replaceChildren(
    ...bands.map((p) => {
      const o = document.createElement('option');
      o.value = String(p.freq1_hz);
      o.textContent = `${fmtHz(p.freq1_hz)}`;
      return o;
    }),
  );
  // Default: the band with the most energy.
  let best = bands[0];
  let bestE = -1;
  for (const p of bands) {
    const v = rowView(r.scatter, p.index);
    let e = 0;
    for (let i = 0; i < v.length; i++) e += v[i];
    if (e > bestE) {
      bestE = e;
      best = p;
    }
  }
  if (best) ui.band.value = String(best.freq1_hz);
  showTags(r);
  drawAll();
}

/** Tag order by clip score, best first. */
function ranked(tags) {
  return tags.clip.map((score, i) => i).sort((a, b) => tags.clip[b] - tags.clip[a]);
}

const TOP_TAGS = 10;

function showTags(r) {
  const tags = r.tags;
  ui.tagsNote.hidden = true;
  if (!tags) {
    const div = document.createElement('div');
    div.className = 'placeholder';
    div.textContent =
      r.tagError
        ? `The tags could not be computed: ${plain(r.tagError)} The scattering transform below is computed for real.`
        : model.state === 'absent'
        ? `No tagging model is shipped with this build (${MODEL_URL} is missing), so no tags are shown. The scattering transform below is computed for real.`
        : model.state === 'error'
          ? `${model.message} No tags are shown; the scattering transform below is computed for real.`
          : 'No tags: the model was not ready.';
    ui.tags.replaceChildren(div);
    ui.backendUsed.textContent = '';
    ui.taggramEmpty.textContent = 'No model: no taggram.';
    ui.taggramEmpty.hidden = false;
    ui.taggramPlot.hidden = true;
    return;
  }
  if (!trained(model.info)) {
    ui.tagsNote.textContent = `The model ${model.info.name} is untrained (random weights, for testing): these scores mean nothing yet.`;
    ui.tagsNote.hidden = false;
  }
  const list = document.createElement('ol');
  list.className = 'tagbars';
  list.setAttribute('aria-label', `Top ${TOP_TAGS} tags with their scores`);
  for (const i of ranked(tags).slice(0, TOP_TAGS)) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'tag';
    name.textContent = tags.tags[i];
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${(Math.max(0, Math.min(1, tags.clip[i])) * 100).toFixed(1)}%`;
    bar.append(fill);
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = tags.clip[i].toFixed(2);
    li.append(name, bar, score);
    list.append(li);
  }
  ui.tags.replaceChildren(list);
  const ms = r.timings.model;
  ui.backendUsed.textContent =
    `The model ran on ${BACKEND_NAMES[tags.backend]}${tags.backend === 'webgpu' && gpu.name ? ` (${gpu.name})` : ''}` +
    (ms != null ? ` in ${ms.toFixed(0)} ms` : '') +
    ` over ${tags.windows.length} window${tags.windows.length > 1 ? 's' : ''} of 29 s.` +
    (tags.fallback ? ` WebGPU could not be used (${plain(tags.fallback)}), so the CPU ran it.` : '') +
    (model.sameFrontEnd ? '' : ' (The model reads its own front end, not the one pictured below.)');
  ui.taggramEmpty.hidden = true;
  ui.taggramPlot.hidden = false;
}

/**
 * Taggram columns: each window spans its real audio; where the end-aligned
 * last window overlaps its neighbour, each keeps the half nearer its centre
 * (as the scattergram's frames do).
 */
function taggramColumns(windows) {
  const cols = windows.map((w) => ({ from: w.start_s, to: w.end_s, scores: w.scores }));
  for (let i = 1; i < cols.length; i++) {
    if (cols[i].from < cols[i - 1].to) {
      const mid = (cols[i].from + cols[i - 1].to) / 2;
      cols[i - 1].to = mid;
      cols[i].from = mid;
    }
  }
  return cols;
}

function fmtHz(hz) {
  if (hz >= 1000) return `${(hz / 1000).toFixed(hz >= 10000 ? 0 : 1)} kHz`;
  if (hz >= 10) return `${Math.round(hz)} Hz`;
  return `${hz.toFixed(1)} Hz`;
}

function drawAll() {
  if (!current) return;
  const sc = current.scatter;
  const hop = sc.frames > 1 ? sc.times[1] - sc.times[0] : 0.256;
  const base = { times: sc.times, hop, duration: current.duration };
  const s1 = rowsOf(sc, 1).map((p) => ({ freq: p.freq1_hz, values: rowView(sc, p.index) }));
  current.s1Layout = drawHeatmap(ui.s1, { ...base, rows: s1, yLabel: 'frequency', title: 'S1' });
  const f1 = Number(ui.band.value);
  const s2 = rowsOf(sc, 2)
    .filter((p) => p.freq1_hz === f1)
    .map((p) => ({ freq: p.freq2_hz, values: rowView(sc, p.index) }));
  current.s2Layout = drawHeatmap(ui.s2, { ...base, rows: s2, yLabel: 'modulation', title: `S2 at ${fmtHz(f1)}` });
  current.taggramLayout = current.tags
    ? drawTaggram(ui.taggram, {
        tags: current.tags.tags,
        order: ranked(current.tags),
        windows: taggramColumns(current.tags.windows),
        duration: current.duration,
      })
    : null;
  updatePlayheads();
}

function renderTimings(tm, tags, workers) {
  const rows = [
    ['Read file', tm.read],
    ['Decode (browser)', tm.decode],
  ];
  if (workers != null) {
    // One scattering per window gives the pictures and the model input.
    rows.push([`Scattering for the pictures and the model (WASM, ${workers} worker${workers > 1 ? 's' : ''})`, tm.transform]);
  } else rows.push(['Scattering for the pictures (WASM, worker)', tm.transform]);
  if (tags) {
    if (workers == null) rows.push(['Model input: scattering + normalisation (WASM)', tm.features]);
    if (tm.webgpuInit != null) rows.push(['Starting WebGPU and loading the weights (first use)', tm.webgpuInit]);
    rows.push([`Tags: the model on ${BACKEND_NAMES[tags.backend]}`, tm.model]);
  } else rows.push(['Tags (model)', null]);
  rows.push(['Draw', tm.draw]);
  ui.timings.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v == null ? 'no model' : `${v.toFixed(0)} ms`;
      return [dt, dd];
    }),
  );
}

// Playhead over the pictures, driven by the audio element.
function updatePlayheads() {
  if (!current) return;
  const time = ui.player.currentTime || 0;
  for (const [canvas, layout] of [
    [ui.s1, current.s1Layout],
    [ui.s2, current.s2Layout],
    [ui.taggram, current.taggramLayout],
  ]) {
    const head = canvas.parentElement.querySelector('.playhead');
    if (!layout) {
      head.style.display = 'none';
      continue;
    }
    const x = layout.xOf(time) / canvas.width;
    head.style.left = `${(x * 100).toFixed(3)}%`;
    head.style.top = `${((layout.plot.y / canvas.height) * 100).toFixed(3)}%`;
    head.style.bottom = `${(((canvas.height - layout.plot.y - layout.plot.h) / canvas.height) * 100).toFixed(3)}%`;
    head.style.display = time > 0 || !ui.player.paused ? 'block' : 'none';
  }
}

function animate() {
  updatePlayheads();
  if (!ui.player.paused) requestAnimationFrame(animate);
}

function seekFromCanvas(canvas, layout, clientX) {
  if (!layout || !isFinite(ui.player.duration || current.duration)) return;
  const rect = canvas.getBoundingClientRect();
  const x = ((clientX - rect.left) / rect.width) * canvas.width;
  ui.player.currentTime = Math.max(0, Math.min(current.duration, layout.timeOf(x)));
  updatePlayheads();
}

function canvasKeys(ev) {
  if (!current) return;
  const step = ev.shiftKey ? 5 : 1;
  const p = ui.player;
  if (ev.key === 'ArrowRight') p.currentTime = Math.min(current.duration, p.currentTime + step);
  else if (ev.key === 'ArrowLeft') p.currentTime = Math.max(0, p.currentTime - step);
  else if (ev.key === 'Home') p.currentTime = 0;
  else if (ev.key === 'End') p.currentTime = current.duration;
  else if (ev.key === ' ' || ev.key === 'Enter') p.paused ? p.play() : p.pause();
  else return;
  ev.preventDefault();
  updatePlayheads();
}

// ---------------------------------------------------------------- JSON

function resultJson(r) {
  const sc = r.scatter;
  const round = (v) => Number(v.toPrecision(7));
  return {
    generator: 'Scatterbrain web page',
    created: new Date().toISOString(),
    file: { name: r.name, bytes: r.size, type: r.type || null },
    audio: {
      duration_s: r.duration,
      channels: r.channels,
      decoded_sample_rate_hz: r.sampleRate,
      header_sample_rate_hz: r.sniffedRate ?? null,
    },
    ...tagsJson(r, round),
    timings_ms: r.timings,
    scattering: scatteringJson(sc, round),
  };
}

function tagsJson(r, round) {
  const t = r.tags;
  if (!t) {
    return {
      model: null,
      backend: null,
      tags: null,
      taggram: null,
      note: r.tagError
        ? `The tags could not be computed: ${r.tagError}`
        : model.state === 'absent'
          ? 'No tagging model is shipped with this build: tags and taggram are absent.'
          : `No tags: ${model.message}`,
    };
  }
  const i = model.info;
  return {
    model: {
      name: i.name,
      file: MODEL_URL,
      precision: i.precision,
      trained: trained(i),
      provenance: i.provenance,
      metrics: i.metrics,
    },
    backend: t.backend,
    webgpu_fallback_reason: t.fallback,
    // Clip scores (mean of the windows' scores), best first.
    tags: ranked(t).map((k) => ({ tag: t.tags[k], score: round(t.clip[k]) })),
    taggram: {
      tags: t.tags,
      layout: 'windows[w].scores[k] is the score of tags[k] in window w',
      window_s: (i.front_end && i.front_end.window && i.front_end.window.seconds) || null,
      windows: t.windows.map((w) => ({ start_s: w.start_s, end_s: w.end_s, scores: w.scores.map(round) })),
    },
  };
}

// Above this many values the JSON keeps orders 0 and 1 only (a 1-hour file has
// ~9 million coefficients: a few hundred MB of JSON).
const JSON_MAX_VALUES = 4_000_000;

function scatteringJson(sc, round) {
  const all = sc.rows * sc.frames <= JSON_MAX_VALUES;
  const keep = sc.paths.map((p, i) => i).filter((i) => all || sc.paths[i].order < 2);
  return {
    form: 'raw (un-normalised S0, S1, S2)',
    layout: 'data[row][frame]; paths[row] says what each row is',
    omitted: all ? null : 'second-order rows, to keep the file small (long input)',
    rows: keep.length,
    frames: sc.frames,
    times_s: Array.from(sc.times, round),
    windows_start_s: sc.windows,
    paths: keep.map((i) => sc.paths[i]),
    data: keep.map((i) => Array.from(rowView(sc, i), round)),
  };
}

function download() {
  if (!current) return;
  const blob = new Blob([JSON.stringify(resultJson(current))], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${current.name.replace(/\.[^.]+$/, '') || 'scatterbrain'}.scatterbrain.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------- microphone

let recording = null;

async function toggleRecord() {
  if (recording) {
    recording.stop();
    return;
  }
  clearError();
  if (!env.mic) {
    showError('This browser cannot record from a microphone here (it needs getUserMedia and MediaRecorder).');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    if (e.name === 'NotAllowedError' || e.name === 'SecurityError') {
      showError('Microphone access was denied. Allow the microphone for this page in the browser settings to record, or drop a file instead.');
    } else if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') {
      showError('No microphone was found. Connect one, or drop a file instead.');
    } else {
      showError(`The microphone could not be started: ${e.message || e.name}.`);
    }
    return;
  }
  const tap = await startLiveTap(stream).catch((e) => {
    console.warn('live view unavailable:', e);
    return null;
  });
  const rec = new MediaRecorder(stream);
  const chunks = [];
  const startedAt = performance.now();
  rec.ondataavailable = (ev) => ev.data.size && chunks.push(ev.data);
  const timer = setInterval(() => {
    ui.record.textContent = `■ Stop recording (${fmtSeconds((performance.now() - startedAt) / 1000)})`;
  }, 250);
  rec.onstop = () => {
    clearInterval(timer);
    for (const tr of stream.getTracks()) tr.stop();
    if (tap) tap.stop();
    recording = null;
    ui.record.setAttribute('aria-pressed', 'false');
    ui.record.textContent = '● Record from microphone';
    const blob = new Blob(chunks, { type: rec.mimeType || 'audio/webm' });
    analyse(blob, 'Microphone recording');
  };
  recording = rec;
  rec.start(250);
  ui.record.setAttribute('aria-pressed', 'true');
  ui.record.textContent = '■ Stop recording';
}

// Live scattergram: an AudioWorklet taps the microphone, the worker scatters
// the last few seconds twice a second, and the page scrolls the S1 frames.
const LIVE_SPAN = 30; // seconds shown
let liveHistory = null;
let liveDrawQueued = false;

async function startLiveTap(stream) {
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('mic-worklet.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'scatterbrain-tap');
  const mute = ctx.createGain();
  mute.gain.value = 0; // keep the graph pulling without playing the mic back
  source.connect(node).connect(mute).connect(ctx.destination);
  liveHistory = { frames: [], freqs: null, hop: 0.256 };
  ui.live.hidden = false;
  drawLive();
  await workerReady;
  worker.postMessage({ type: 'live-start', sampleRate: ctx.sampleRate });
  node.port.onmessage = (ev) => worker.postMessage({ type: 'live-push', pcm: ev.data }, [ev.data.buffer]);
  return {
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      worker.postMessage({ type: 'live-stop' });
      ctx.close();
    },
  };
}

function liveFrames(m) {
  if (!liveHistory) return;
  liveHistory.freqs = m.freqs;
  liveHistory.hop = m.hop;
  liveHistory.frames.push(...m.frames);
  const newest = liveHistory.frames[liveHistory.frames.length - 1].t;
  while (liveHistory.frames.length && liveHistory.frames[0].t < newest - LIVE_SPAN) liveHistory.frames.shift();
  if (!liveDrawQueued) {
    liveDrawQueued = true;
    requestAnimationFrame(() => {
      liveDrawQueued = false;
      drawLive();
    });
  }
}

function drawLive() {
  const h = liveHistory;
  if (!h) return;
  const frames = h.frames;
  const newest = frames.length ? frames[frames.length - 1].t : 0;
  const origin = Math.max(0, newest - LIVE_SPAN); // scrolls once the view is full
  const times = Float64Array.from(frames, (f) => f.t - origin);
  const rows = (h.freqs || []).map((freq, k) => ({ freq, values: Float32Array.from(frames, (f) => f.values[k]) }));
  drawHeatmap(ui.liveCanvas, {
    rows,
    times,
    hop: h.hop,
    duration: LIVE_SPAN,
    yLabel: 'frequency',
    title: `S1 live, last ${LIVE_SPAN} s`,
  });
  document.body.dataset.liveFrames = String(frames.length);
}

// ---------------------------------------------------------------- wiring

function pickFile(files) {
  const f = files && files[0];
  if (!f) return;
  analyse(f, f.name);
}

function wire() {
  ui.drop.addEventListener('click', () => ui.file.click());
  ui.drop.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      ui.file.click();
    }
  });
  ui.file.addEventListener('change', () => {
    pickFile(ui.file.files);
    ui.file.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    ui.drop.addEventListener(type, (ev) => {
      ev.preventDefault();
      ui.drop.classList.add('over');
    });
  }
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ui.drop.classList.remove('over');
    pickFile(ev.dataTransfer.files);
  });
  // A file dropped anywhere else must not navigate away from the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    pickFile(ev.dataTransfer && ev.dataTransfer.files);
  });
  ui.cancel.addEventListener('click', cancel);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') cancel();
  });
  ui.record.addEventListener('click', toggleRecord);
  ui.download.addEventListener('click', download);
  ui.band.addEventListener('change', drawAll);
  for (const radio of [ui.backendWebgpu, ui.backendCpu]) {
    radio.addEventListener('change', () => radio.checked && chooseBackend(radio.value));
  }
  ui.player.addEventListener('play', () => requestAnimationFrame(animate));
  for (const ev of ['seeked', 'timeupdate', 'pause']) ui.player.addEventListener(ev, updatePlayheads);
  for (const [canvas, key] of [
    [ui.s1, 's1Layout'],
    [ui.s2, 's2Layout'],
    [ui.taggram, 'taggramLayout'],
  ]) {
    canvas.addEventListener('click', (ev) => current && seekFromCanvas(canvas, current[key], ev.clientX));
    canvas.addEventListener('keydown', canvasKeys);
  }
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawAll, 150);
  });
}

// Offline once loaded: a service worker keeps the page's files (sw.js).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('offline support unavailable:', e.message));
}

describeEnv();
describeModel();
describeBackend();
wire();
if (env.simd) startWorker();
else {
  showError(
    'This browser does not support WebAssembly SIMD, which the analysis needs. ' +
      'Please use a current version of Chrome, Edge, Firefox or Safari.',
  );
}
if (!env.mic) ui.record.disabled = true;
// For tests and the curious: the page's state.
globalThis.scatterbrain = {
  get result() {
    return current;
  },
  env,
  model,
  gpu,
  get backend() {
    return backend;
  },
};
