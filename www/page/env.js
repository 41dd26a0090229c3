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

/** The WebGPU adapter, if any: `failed` is set when the worker could not start it. */
export const gpu = { available: false, name: '', failed: '', software: false };

export const gpuChecked = (async () => {
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
})();

export function describeEnv() {
  const parts = [];
  parts.push(env.simd ? 'WebAssembly SIMD: yes' : 'WebAssembly SIMD: no');
  parts.push(
    gpu.available ? 'WebGPU: available' : env.webgpu ? 'WebGPU: no adapter (the CPU runs the model)' : 'WebGPU: not available (the CPU runs the model)',
  );
  parts.push(crossOriginIsolated ? 'isolated: yes' : 'isolated: no');
  ui.env.textContent = parts.join(' · ');
}
