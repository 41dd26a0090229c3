// The page's own values, in one place: where its files are, its caches.
// What the core decides (the front end's rate, the
// shortest input, the live view's front end) comes from the WASM
// (Analyzer.sample_rate / min_seconds / Analyzer.live), not from here.

/** The shipped model (www/server.mjs serves the repository's models/ there). */
export const MODEL_URL = 'models/scat-4l-256h-gru.bpk';
/**
 * The WASM the page compiles once and hands to the engine (package/engine.js),
 * which gives it to every worker: the front end and the model on the CPU.
 * The page downloads it itself (progress, offline copy); these are the
 * package's own files.
 */
export const WASM_URL = 'package/pkg/scatterbrain_bg.wasm';
/**
 * The WebGPU build (the same core with burn's wgpu backend, and its glue):
 * downloaded only when WebGPU is chosen, and used by the engine's
 * coordinating worker for the model alone.
 */
export const WEBGPU_WASM_URL = 'package/pkg-webgpu/scatterbrain_bg.wasm';
export const WEBGPU_GLUE_URL = 'package/pkg-webgpu/scatterbrain.js';
/** The service worker's caches (sw.js imports it): change it when their layout changes. */
export const OFFLINE_CACHE = 'scatterbrain-v4';
/** Where the page leaves what it downloaded before the service worker took over (page/downloads.js). */
export const INCOMING_CACHE = `${OFFLINE_CACHE}:incoming`;
