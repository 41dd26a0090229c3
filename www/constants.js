// The page's own values, in one place: where its files are, its caches, the
// live view's timing. What the core decides (the front end's rate, the
// shortest input, the live view's front end) comes from the WASM
// (Analyzer.sample_rate / min_seconds / Analyzer.live), not from here.

/** The shipped model (www/server.mjs serves the repository's models/ there). */
export const MODEL_URL = 'models/scat-4l-256h-gru.bpk';
/** The WASM the page compiles once and hands to every worker: the front end and the model on the CPU. */
export const WASM_URL = 'pkg/scatterbrain_bg.wasm';
/**
 * The WebGPU build (the same core with burn's wgpu backend; its glue is
 * pkg-webgpu/scatterbrain.js): downloaded only when WebGPU is chosen, and
 * used by the coordinating worker for the model alone.
 */
export const WEBGPU_WASM_URL = 'pkg-webgpu/scatterbrain_bg.wasm';
export const WEBGPU_GLUE_URL = 'pkg-webgpu/scatterbrain.js';
/** The service worker's caches (sw.js imports it): change it when their layout changes. */
export const OFFLINE_CACHE = 'scatterbrain-v3';
/** Where the page leaves what it downloaded before the service worker took over (page/downloads.js). */
export const INCOMING_CACHE = `${OFFLINE_CACHE}:incoming`;

// The live microphone view (worker/live.js): every LIVE_STEP seconds the last
// LIVE_WINDOW seconds are scattered with the core's live front end
// (Analyzer.live: first order only) and the S1 frames lying well inside that
// window (LIVE_LAG away from its newest edge) are shown.
export const LIVE_WINDOW = 4.096; // s: 65 536 samples at 16 kHz
export const LIVE_STEP = 0.5; // s between updates
export const LIVE_LAG = 1.0; // s: frames closer than this to the newest sample are not final yet
