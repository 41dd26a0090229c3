// Which backend runs the tagging model: WebGPU by default only on a hardware
// adapter; on a software one (SwiftShader, llvmpipe…) the CPU is the default,
// since the model takes minutes there where the CPU takes a second. The
// user may switch (the radio buttons); the choice is kept in localStorage and
// restored on the next visit while that backend is still available.
import { ui } from './ui.js';
import { gpu, gpuChecked } from './env.js';
import { model } from './model.js';
import { plain } from './status.js';

export const BACKEND_NAMES = { webgpu: 'WebGPU', cpu: 'CPU (WebAssembly)' };

/** localStorage key of the user's choice ('webgpu' or 'cpu'). */
export const BACKEND_KEY = 'scatterbrain.backend';

let backend = 'cpu';
// How the current backend was picked: 'default', 'saved' (an earlier visit) or 'user'.
let pickedBy = 'default';
let known = false; // the adapter probe has settled and the backend is chosen
let picks = 0; // times the user picked WebGPU (each a new try after a failure)

/** The count of WebGPU picks, for a job to tell whether its WebGPU failure is older than the last pick. */
export const webgpuPicks = () => picks;

export const currentBackend = () => backend;

/** WebGPU only on a hardware adapter that has not failed. */
export const defaultBackend = () => (gpu.available && !gpu.software && !gpu.failed ? 'webgpu' : 'cpu');

const usable = (value) => value === 'cpu' || (value === 'webgpu' && gpu.available && !gpu.failed);

function savedChoice() {
  try {
    return localStorage.getItem(BACKEND_KEY);
  } catch {
    return null; // storage disabled (privacy settings): no memory, the default
  }
}

function saveChoice(value) {
  try {
    localStorage.setItem(BACKEND_KEY, value);
  } catch {
    // Not remembered; this visit still uses it.
  }
}

/** Settles once the backend is known (after the adapter probe): the saved choice if still usable, else the default. */
export const backendChosen = gpuChecked.then(() => {
  const saved = savedChoice();
  if (usable(saved)) {
    backend = saved;
    pickedBy = 'saved';
  } else {
    backend = defaultBackend();
    pickedBy = 'default';
  }
  known = true;
  describeBackend();
});

/** The user picked `value`: use it and remember it for the next visit. Picking WebGPU after it failed tries it again (a failed download, a lost device). */
export function setBackend(value) {
  if (value === 'webgpu') {
    gpu.failed = null;
    picks++;
  }
  backend = value;
  pickedBy = 'user';
  saveChoice(value);
  describeBackend();
}

/** Why the page runs the model where it does, in plain words ('' when nothing needs saying). */
function backendReason() {
  if (gpu.failed) return 'WebGPU could not be started, so the CPU runs the model. Choose WebGPU to try again.';
  if (!gpu.available) return '';
  const remembered = pickedBy === 'saved' ? ' (your choice, remembered from your last visit)' : '';
  if (gpu.software) {
    const why = gpu.softwareWhy ? ` (${gpu.softwareWhy})` : '';
    return backend === 'webgpu'
      ? `WebGPU here is emulated on the CPU${why}: tagging can take minutes; the CPU option takes seconds.${remembered}`
      : pickedBy === 'default'
        ? `The CPU is the default: this browser's WebGPU is emulated on the CPU${why} and much slower.`
        : `The model runs on the CPU${remembered}.`;
  }
  return remembered ? `The model runs on ${BACKEND_NAMES[backend]}${remembered}.` : '';
}

export function describeBackend() {
  ui.backendWebgpu.disabled = !gpu.available;
  ui.backendWebgpu.checked = backend === 'webgpu';
  ui.backendCpu.checked = backend === 'cpu';
  ui.webgpuNote.textContent = gpu.failed
    ? `(failed: ${gpu.failed})`
    : gpu.available
      ? `(${[gpu.name, gpu.software ? 'software: slow' : ''].filter(Boolean).join('; ')})`.replace('()', '')
      : '(not available in this browser)';
  ui.backendWhy.textContent = backendReason();
  ui.backendWhy.hidden = !ui.backendWhy.textContent;
  ui.backendSet.disabled = model.state !== 'ready';
  // For tests and styles: set once the choice is made (not the placeholder before the probe).
  if (known) document.body.dataset.backend = backend;
}

/**
 * WebGPU did not start in the worker: say why and use the CPU until the user
 * picks WebGPU again (the saved choice stays for the next visit). A failure
 * seen by a job begun before the last pick (`since`) is stale: ignored.
 */
export function webgpuFailed(message, since = picks) {
  if (since !== picks) return;
  gpu.failed = plain(message);
  if (backend === 'webgpu') backend = 'cpu';
  describeBackend();
}

/** WebGPU started (after all): forget an earlier failure. */
export function webgpuStarted() {
  if (!gpu.failed) return;
  gpu.failed = null;
  describeBackend();
}
