// Scatterbrain page, main module: input (file, drop, microphone) → browser
// decode → the engine (package/engine.js, the npm package's: workers with the
// WASM scattering, then the tagging model on WebGPU or the CPU) → tags,
// pictures, player, JSON. The model file is fetched once when the page
// loads; after that, no network requests. The rooms:
//   page/env.js      what the browser offers     page/model.js    the model file
//   page/backend.js  WebGPU or CPU               page/engine.js   the engine's use
//   page/analyse.js  one job, input to results   page/status.js   stages, progress, errors
//   page/results.js  tags, taggram, scattergrams page/playhead.js the playhead
//   page/export.js   the JSON download           page/mic.js      microphone and live view
//   page/wav.js      a cut file's audio for the player
import { ui } from './page/ui.js';
import { env, gpu, describeEnv, describeOffline, NO_SIMD } from './page/env.js';
import { model, describeModel } from './page/model.js';
import { backendChosen, currentBackend, describeBackend } from './page/backend.js';
import { engine, startWorker } from './page/engine.js';
import { downloads, startOfflineSupport } from './page/downloads.js';
import { analyse, cancel, chooseBackend } from './page/analyse.js';
import { drawAll, shown } from './page/results.js';
import { wirePlayheads } from './page/playhead.js';
import { download } from './page/export.js';
import { recordingState, stopRecording, toggleRecord } from './page/mic.js';
import { showError } from './page/status.js';

/** Analyse the first of `files`; `dropped`: they came by drag and drop (an empty drop is said). */
function pickFile(files, dropped = false) {
  const f = files && files[0];
  if (!f) {
    if (dropped) showError('Nothing to analyse: what was dropped is not a file. Drop an audio file, or choose one.');
    return;
  }
  // The recording would replace the file's results when it stops: one at a time.
  const rec = recordingState();
  if (rec) {
    showError(
      rec === 'starting'
        ? `“${f.name}” was not analysed: the microphone is starting. Stop the recording once it runs (the Stop button or Escape), then choose the file again.`
        : `“${f.name}” was not analysed: a recording is under way. Stop it first (the Stop button or Escape), then choose the file again.`,
    );
    return;
  }
  analyse(f, f.name, Array.from(files).slice(1).map((x) => x.name));
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
    ev.stopPropagation(); // the window's handler below would analyse it a second time
    ui.drop.classList.remove('over');
    pickFile(ev.dataTransfer.files, true);
  });
  // A file dropped anywhere else must not navigate away from the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    pickFile(ev.dataTransfer && ev.dataTransfer.files, true);
  });
  ui.cancel.addEventListener('click', cancel);
  // Escape ends what runs: a recording (then analysed, as with its Stop button) or a job.
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !stopRecording()) cancel();
  });
  ui.record.addEventListener('click', () => toggleRecord(analyse));
  ui.download.addEventListener('click', () => download(shown.result));
  ui.band.addEventListener('change', drawAll);
  for (const radio of [ui.backendWebgpu, ui.backendCpu]) {
    radio.addEventListener('change', () => radio.checked && chooseBackend(radio.value));
  }
  wirePlayheads(() => shown.result);
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawAll, 150);
  });
  // Wired: index.html ships the drop zone disabled and saying the page is starting.
  ui.file.disabled = false;
  ui.drop.setAttribute('aria-disabled', 'false');
  globalThis.scatterbrainWired = true; // early.js keeps drops no more
}

/** A file dropped before the page was wired (early.js kept it): analysed now that the engine is starting. */
function takeEarlyDrop() {
  const early = globalThis.scatterbrainEarlyDrop;
  delete globalThis.scatterbrainEarlyDrop;
  if (early) pickFile(early, true);
}

describeEnv();
describeOffline();
describeModel();
describeBackend();
backendChosen.then(describeEnv);
wire();
if (env.simd) {
  // The worker starts now; the WASM compiles as it downloads (page/downloads.js,
  // progress shown) and reaches it when compiled. A job started sooner waits.
  if (engine.gen === 0) startWorker();
  // Offline support once the engine and the model are up (or the engine failed).
  engine.ready.then(() => engine.modelReady, () => {}).then(
    () => startOfflineSupport({ model: model.state === 'ready' }),
    () => startOfflineSupport({ model: false }), // no model (or a damaged one): the rest works offline
  );
} else {
  showError(NO_SIMD);
  startOfflineSupport();
}
if (!env.mic) ui.record.disabled = true;
takeEarlyDrop();
// For tests and the curious: the page's state.
globalThis.scatterbrain = {
  get result() {
    return shown.result;
  },
  env,
  model,
  downloads,
  gpu,
  get backend() {
    return currentBackend();
  },
  /** Workers started so far (a cancel, a crash or a newer file replaces the worker). */
  get engineGen() {
    return engine.gen;
  },
};
