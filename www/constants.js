// Values the page and its workers copy from the core (src/), in one place
// until the WASM exports them. Keep them equal to the Rust they name.

/** The front end's sample rate (src/transform: the scattering runs at 16 kHz). */
export const MODEL_RATE = 16000;
/** The shortest input the core accepts, in seconds (src/windows.rs). */
export const MIN_SECONDS = 1.0;

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

// The live microphone view: a short-window, first-order-only configuration
// of the core's scattering (src/features.rs FeatureConfig, as JSON). Every
// LIVE_STEP seconds the last LIVE_WINDOW seconds are scattered and the S1
// frames lying well inside that window (LIVE_LAG away from its newest edge)
// are shown.
export const LIVE_WINDOW = 4.096; // s: 65 536 samples at 16 kHz
export const LIVE_STEP = 0.5; // s between updates
export const LIVE_LAG = 1.0; // s: frames closer than this to the newest sample are not final yet
export const LIVE_CONFIG = {
  front_end: { kind: 'scattering', sample_rate: MODEL_RATE, q1: 8, q2: 1, j: 13, t: 8192, oversampling: 1, max_order: 1 },
  normaliser: { eps1: 1e-4, eps2: 1e-6, log_eps: 1e-4, standardise_orders: [0, 1] },
  window: { seconds: LIVE_WINDOW, min_seconds: MIN_SECONDS },
};
