// The page's heavy work, off the main thread: the WASM scattering front end
// (and, once the model lands, the tagger). Module worker.
//
// Messages in:  {type: 'scatter', id, channels: [Float32Array…], sampleRate}
// Messages out: {type: 'ready'} | {type: 'error', id?, message}
//               {type: 'progress', id, stage, done, total}
//               {type: 'result', id, scatter: {rows, frames, data, times, paths, windows}, timings}
import init, { Analyzer } from './pkg/scatterbrain.js';

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

async function scatter({ id, channels, sampleRate }) {
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
  postMessage({ type: 'result', id, scatter: result, timings: { transformMs: t1 - t0 } }, [data.buffer]);
}

self.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === 'init') gotModule(msg.module);
  else if (msg.type === 'scatter') {
    scatter(msg).catch((e) =>
      // A trap (panic) leaves the instance unusable: the page then starts a new worker.
      postMessage({ type: 'error', id: msg.id, message: messageOf(e), crashed: e instanceof WebAssembly.RuntimeError }),
    );
  }
};
