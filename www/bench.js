// Benchmark page: times the tagger page's own path on chosen files — the
// core's decode in the worker (as page/analyse.js does it), then the page's engine (package/engine.js:
// scattering, model input and the tagging model, on the CPU or WebGPU) — and
// shows a table. benches/browser.mjs drives it headless through
// globalThis.bench and writes benches/RESULTS-browser.md.
import { audioHead, decodeRate, sniffSampleRate } from './package/sniff.js';
import { MODEL_URL, WASM_URL, WEBGPU_WASM_URL } from './constants.js';
import { createEngine } from './package/engine.js';
import { decodeFile, extensionOf } from './package/audio.js';
const $ = (id) => document.getElementById(id);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// ------------------------------------------------------------------ engine
// The page's engine (package/engine.js), started as page/engine.js starts it:
// the compiled module and the model file are handed over, the model is loaded once.
let engine = null;
let wasmModule = null;
let modelBytes = null;

async function startEngine() {
  const t0 = performance.now();
  wasmModule ??= await WebAssembly.compileStreaming(fetch(WASM_URL));
  const compileMs = performance.now() - t0;
  if (!modelBytes) {
    const r = await fetch(MODEL_URL);
    if (!r.ok) throw new Error(`model: ${r.status} ${r.statusText}`);
    modelBytes = await r.arrayBuffer();
  }
  // The WebGPU build is compiled on first use (as the page does).
  const e = createEngine({ wasm: wasmModule, webgpuWasm: WEBGPU_WASM_URL });
  const startup = { compileMs };
  startup.initMs = (await e.ready).initMs;
  const ready = await e.loadModel(modelBytes);
  startup.modelLoadMs = ready.ms;
  startup.model = `${ready.info.name} (${ready.info.precision})`;
  startup.workers = ready.workers ?? 1;
  e.startup = startup;
  engine = e;
  return e;
}

function stopEngine() {
  if (engine) engine.terminate();
  engine = null;
}

// ------------------------------------------------------------------ one run
/**
 * Decode as page/analyse.js does: the core's decoder in the worker, or, for a
 * format it does not read, the browser's at the file's own rate. Planar
 * channels, their rate, the seconds and which decoder it was.
 */
async function decode(e, file, bytes) {
  try {
    const d = await e.decode(bytes, { extension: extensionOf(file.name) });
    return { channels: d.channels, sampleRate: d.sampleRate, duration: d.seconds, by: 'core' };
  } catch {
    const audio = await decodeFile(file);
    const channels = [];
    for (let c = 0; c < audio.numberOfChannels; c++) channels.push(audio.getChannelData(c).slice());
    return { channels, sampleRate: audio.sampleRate, duration: audio.duration, by: 'browser' };
  }
}

/**
 * The whole path for one file on `backend`: read, decode, worker (transform,
 * model). Milliseconds; `total` is wall time from the File to the tags.
 */
async function runOnce(e, file, backend) {
  const t0 = performance.now();
  const bytes = await file.arrayBuffer();
  const t1 = performance.now();
  const audio = await decode(e, file, bytes);
  const t2 = performance.now();
  const reply = await e.analyse(audio.channels, audio.sampleRate, { backend });
  const t3 = performance.now();
  if (!reply.tags) throw new Error(`no tags: ${reply.tagError || 'no model'}`);
  if (reply.tags.backend !== backend) throw new Error(`ran on ${reply.tags.backend}: ${reply.tags.fallback}`);
  const tm = reply.timings;
  return {
    read: t1 - t0,
    decode: t2 - t1,
    // All front-end work in the worker: resampling, scattering for the
    // pictures and the model input.
    transform: (tm.transformMs || 0) + (tm.featuresMs || 0),
    model: tm.modelMs,
    worker: t3 - t2,
    total: t3 - t0,
    windows: reply.tags.windows.length,
    duration: audio.duration,
    decoder: audio.by,
    clip: Array.from(reply.tags.clip),
    windowsScores: reply.tags.windows.map((w) => ({ start_s: w.start_s, end_s: w.end_s, scores: Array.from(w.scores) })),
    detail: tm,
  };
}

/**
 * `reps` timed runs of one file on one backend after `warmup` untimed ones.
 * Returns every run and the medians. A run that exceeds `timeoutMs` stops
 * the worker (a new one is started for the next call).
 */
async function run(file, backend, { reps = 3, warmup = 1, timeoutMs = 600_000 } = {}) {
  const e = engine || (await startEngine());
  let webgpuInitMs = null;
  if (backend === 'webgpu') webgpuInitMs = await e.startWebgpu();
  const runs = [];
  for (let i = 0; i < warmup + reps; i++) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const r = await Promise.race([runOnce(e, file, backend), timeout]);
      if (i >= warmup) runs.push(r);
      else runs.warmup = r;
    } catch (err) {
      stopEngine();
      return { file: file.name, backend, error: err.message, runs };
    } finally {
      clearTimeout(timer);
    }
  }
  const keys = ['read', 'decode', 'transform', 'model', 'worker', 'total'];
  const med = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))]));
  const last = runs[runs.length - 1];
  return {
    file: file.name,
    bytes: file.size,
    backend,
    duration: last.duration,
    windows: last.windows,
    webgpuInitMs,
    warmup: runs.warmup ? Object.fromEntries(keys.map((k) => [k, runs.warmup[k]])) : null,
    median: med,
    runs: runs.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]]))),
    clip: last.clip,
    windowsScores: last.windowsScores,
    detail: last.detail,
  };
}

/**
 * The two decoders on one file, alternately, `reps` times each after a
 * warm-up of each: the core's in the worker (the page's) and the browser's
 * `decodeAudioData` (the page's before, and its fallback). Medians, ms.
 */
async function decoders(file, reps = 5) {
  const e = engine || (await startEngine());
  const extension = extensionOf(file.name);
  const core = async () => {
    const bytes = await file.arrayBuffer();
    const t0 = performance.now();
    await e.decode(bytes, { extension });
    return performance.now() - t0;
  };
  const browser = async () => {
    const bytes = await file.arrayBuffer();
    const t0 = performance.now();
    const ctx = new OfflineAudioContext(1, 1, decodeRate(sniffSampleRate(audioHead(bytes).head)));
    const audio = await ctx.decodeAudioData(bytes);
    for (let c = 0; c < audio.numberOfChannels; c++) audio.getChannelData(c).slice(); // the page's copy for the worker
    return performance.now() - t0;
  };
  await core();
  await browser();
  const times = { core: [], browser: [] };
  for (let i = 0; i < reps; i++) {
    times.core.push(await core());
    times.browser.push(await browser());
  }
  return { core: median(times.core), browser: median(times.browser), reps };
}

// ------------------------------------------------------------------ page UI
const files = () => Array.from($('files').files);

function environment() {
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated,
    webgpu: 'gpu' in navigator,
  };
}

async function adapterInfo() {
  if (!('gpu' in navigator)) return null;
  const a = await navigator.gpu.requestAdapter().catch(() => null);
  if (!a) return null;
  const i = a.info || {};
  return { vendor: i.vendor, architecture: i.architecture, description: i.description, fallback: !!i.isFallbackAdapter };
}

const fmt = (v) => (v == null ? '–' : `${v.toFixed(0)}`);

function show(results) {
  const head = '<tr><th>file</th><th>backend</th><th>windows</th><th>decode</th><th>transform</th><th>model</th><th>total (ms)</th></tr>';
  const rows = results.map((r) =>
    r.error
      ? `<tr><td>${r.file}</td><td>${r.backend}</td><td colspan="5">${r.error}</td></tr>`
      : `<tr><td>${r.file}</td><td>${r.backend}</td><td>${r.windows}</td><td>${fmt(r.median.decode)}</td><td>${fmt(r.median.transform)}</td><td>${fmt(r.median.model)}</td><td>${fmt(r.median.total)}</td></tr>`,
  );
  $('table').innerHTML = head + rows.join('');
}

async function runAll() {
  const reps = Number($('reps').value) || 3;
  const backends = ['cpu', 'webgpu'].filter((b) => $(b).checked);
  const results = [];
  for (const f of files()) {
    for (const b of backends) {
      $('status').textContent = `Running ${f.name} on ${b}…`;
      results.push(await run(f, b, { reps }));
      show(results);
    }
  }
  $('status').textContent = 'Done.';
  return results;
}

$('run').addEventListener('click', () => runAll().catch((e) => ($('status').textContent = `Failed: ${e.message}`)));
$('env').textContent = `cores: ${navigator.hardwareConcurrency} · isolated: ${crossOriginIsolated} · WebGPU: ${'gpu' in navigator}`;

// For benches/browser.mjs.
globalThis.bench = {
  files,
  environment,
  adapterInfo,
  async startup() {
    stopEngine();
    const e = await startEngine();
    return e.startup;
  },
  run: (index, backend, opts) => run(files()[index], backend, opts),
  decoders: (index, reps) => decoders(files()[index], reps),
  stop: stopEngine,
};
document.body.dataset.ready = '1';
