// Environment: what this browser offers (WASM SIMD, WebGPU and its adapter,
// a microphone, cross-origin isolation), detected once.
import { ui } from './ui.js';

/** A minimal module using a v128 instruction: validates only with WASM SIMD. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export const env = {
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

export const NO_SIMD =
  'This browser does not support WebAssembly SIMD, which the analysis needs. ' +
  'Please use a current version of Chrome, Edge, Firefox or Safari.';

/**
 * The WebGPU adapter, if any: `failed` is set when the worker could not start
 * it; `software` when it is a CPU emulation (`softwareWhy` says how we know).
 */
export const gpu = { available: false, name: '', failed: '', software: false, softwareWhy: '' };

// Renderers that emulate a GPU on the CPU: correct, but the model runs
// minutes where the CPU path takes a second (SwiftShader: 370 s vs 0.7 s for
// a 30 s song). Chromium does not always mark them as fallback adapters.
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b|software/i;

const SOFTWARE_NAMES = { swiftshader: 'SwiftShader', warp: 'WARP', 'microsoft basic render': 'Microsoft Basic Render' };

/** Why `adapter` is a software one ('' when it looks like real hardware). */
export function softwareAdapter(adapter) {
  const info = adapter.info || {};
  const named = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const m = SOFTWARE_RENDERER.exec(named);
  if (m) return `${SOFTWARE_NAMES[m[0].toLowerCase()] || m[0]} is a software renderer`;
  if (info.isFallbackAdapter || adapter.isFallbackAdapter) return 'the browser marks it as a fallback (software) adapter';
  return '';
}

export const gpuChecked = (async () => {
  try {
    const adapter = env.webgpu ? await navigator.gpu.requestAdapter() : null;
    gpu.available = !!adapter;
    if (!adapter) return;
    const info = adapter.info;
    gpu.name = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    gpu.softwareWhy = softwareAdapter(adapter);
    gpu.software = !!gpu.softwareWhy;
  } catch {
    gpu.available = false;
  }
})();

/**
 * Whether the page works offline (page/downloads.js keeps it): 'pending'
 * while the service worker is not yet holding every file the page needs
 * (a first visit's first seconds), 'ready', or 'unavailable' (`why`).
 */
export const offline = { state: 'pending', why: '' };

/** The service worker said how offline use stands. */
export function setOffline(state, why = '') {
  Object.assign(offline, { state, why });
  describeOffline();
}

/** The offline line (its own live region: a change is said without the rest of the environment). */
export function describeOffline() {
  ui.offline.textContent = OFFLINE_WORDS[offline.state] || `works offline: no (${offline.why})`;
  document.body.dataset.offline = offline.state; // for tests
}

const OFFLINE_WORDS = {
  pending: 'works offline: not yet (saving the files)',
  ready: 'works offline: yes',
};

export function describeEnv() {
  const parts = [];
  parts.push(env.simd ? 'WebAssembly SIMD: yes' : 'WebAssembly SIMD: no');
  parts.push(
    gpu.available
      ? gpu.software
        ? 'WebGPU: software only (the CPU is faster)'
        : 'WebGPU: available'
      : env.webgpu ? 'WebGPU: no adapter (the CPU runs the model)' : 'WebGPU: not available (the CPU runs the model)',
  );
  parts.push(crossOriginIsolated ? 'isolated: yes' : 'isolated: no');
  ui.env.textContent = parts.join(' · ');
}
