// The tagging model: the shipped model file, fetched once when the page
// loads and kept for the next visits and offline use (page/downloads.js),
// and what the page says about it.
import { MODEL_URL } from '../constants.js';
import { ui } from './ui.js';
import { download } from './downloads.js';
import { fmtSize } from './status.js';

/** state: loading → ready | absent | error; `info` from the worker once loaded. */
export const model = { state: 'loading', bytes: null, info: null, message: '', sameFrontEnd: true };

/** Settles when the file has been downloaded (or could not be). */
export const modelFetched = download(MODEL_URL, true)
  .then(({ resp, bytes }) => {
    if (resp.status === 404) {
      model.state = 'absent';
      return;
    }
    if (!resp.ok) throw new Error(`the server answered ${resp.status} ${resp.statusText}`);
    model.bytes = bytes;
    performance.mark('sb:model-fetched');
  })
  .catch((e) => {
    model.state = 'error';
    model.message = `The tagging model could not be downloaded (${e.message}).`;
  })
  .finally(describeModel);

export function describeModel() {
  let text;
  if (model.state === 'loading') text = 'Tagging model: loading…';
  else if (model.state === 'absent') text = `Tagging model: none. No model file is shipped with this build (${MODEL_URL}), so the page shows the scattering transform but no tags.`;
  else if (model.state === 'error') text = `Tagging model: not available. ${model.message} The scattering transform still works.`;
  else {
    const i = model.info;
    text = `Tagging model: ${i.name} (${i.precision}, ${fmtSize(i.bytes)})` + (trained(i) ? '' : ' — untrained (random weights): its tags are not meaningful');
  }
  ui.modelStatus.textContent = text;
  document.body.dataset.model = model.state;
}

export function trained(info) {
  return info && info.provenance && info.provenance.epochs != null;
}

/** The worker has loaded the model (or failed to). */
export function modelLoaded(info, sameFrontEnd) {
  model.state = 'ready';
  model.info = info;
  model.sameFrontEnd = sameFrontEnd;
  describeModel();
  ui.modelAbout.textContent = aboutNetwork(info, sameFrontEnd);
}

export function modelFailed(message) {
  model.state = 'error';
  model.message = message;
  describeModel();
}

// What each front end gives the model (the file's `model.front_end`).
const FRONT_ENDS = {
  scat: 'the scattering coefficients below, S1 and S2,',
  mel: 'a log-mel spectrogram of the audio',
  cqt: 'a constant-Q spectrogram of the audio',
};

/**
 * The loaded model and what it reads, from its file's configuration (true of
 * any model the page can load); `sameFrontEnd` false: not the pictured coefficients.
 */
export function aboutNetwork(info, sameFrontEnd = true) {
  const m = info?.model ?? {};
  const a = m.architecture ?? {};
  let net = '';
  if (a.kind === 'rnn') {
    const cell = String(a.cell).toUpperCase();
    net = a.layers === 1 ? `: one recurrent ${cell} layer of ${a.hidden} units` : `: ${a.layers} stacked recurrent ${cell} layers of ${a.hidden} units`;
  } else if (a.kind === 'cnn') net = ': convolutional layers';
  const reads = m.front_end === 'scat' && !sameFrontEnd ? 'its own scattering coefficients (not the ones pictured below)' : FRONT_ENDS[m.front_end];
  return `The model (${info.name}${net}) reads ${reads ?? "the audio's features"}`;
}
