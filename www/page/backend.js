// Which backend runs the tagging model: WebGPU when the browser gives an
// adapter, else the CPU; the user may switch (the radio buttons).
import { ui } from './ui.js';
import { gpu, gpuChecked } from './env.js';
import { model } from './model.js';
import { plain } from './status.js';

export const BACKEND_NAMES = { webgpu: 'WebGPU', cpu: 'CPU (WebAssembly)' };

let backend = 'cpu';

export const currentBackend = () => backend;

/** Settles once the default backend is known (after the adapter probe). */
export const backendChosen = gpuChecked.then(() => {
  backend = gpu.available ? 'webgpu' : 'cpu';
  describeBackend();
});

export function setBackend(value) {
  backend = value;
  describeBackend();
}

export function describeBackend() {
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

/** WebGPU did not start in the worker: say why and use the CPU from now on. */
export function webgpuFailed(message) {
  gpu.failed = plain(message);
  if (backend === 'webgpu') backend = 'cpu';
  describeBackend();
}
