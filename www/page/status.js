// Status and progress: the stage chips, the progress bar, the error box,
// and the plain-words formatting the messages share.
import { ui } from './ui.js';

const STAGES = ['read', 'decode', 'transform', 'model', 'draw'];

export function setStage(stage, text) {
  const idx = STAGES.indexOf(stage);
  for (const el of ui.stages.children) {
    const i = STAGES.indexOf(el.dataset.stage);
    el.classList.toggle('active', i === idx);
    el.classList.toggle('done', i < idx && !el.classList.contains('skipped'));
    if (i === idx) el.setAttribute('aria-current', 'step');
    else el.removeAttribute('aria-current');
  }
  if (text) ui.statusText.textContent = text;
}

/** Forget the last job's stage marks. */
export function resetStages() {
  for (const el of ui.stages.children) el.classList.remove('done', 'skipped', 'active');
}

/** Every stage done (except skipped ones). */
export function finishStages() {
  for (const el of ui.stages.children) {
    el.classList.remove('active');
    if (!el.classList.contains('skipped')) el.classList.add('done');
  }
}

export function setProgress(fraction) {
  if (fraction == null) ui.progress.removeAttribute('value');
  else ui.progress.value = Math.max(0, Math.min(1, fraction));
}

export function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
}

export function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

export function busy(on) {
  ui.cancel.hidden = !on;
  ui.drop.setAttribute('aria-disabled', on ? 'true' : 'false');
  document.body.dataset.busy = on ? '1' : '0';
}

export const isBusy = () => document.body.dataset.busy === '1';

export function fmtSeconds(s) {
  if (!isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

export function fmtHz(hz) {
  if (hz >= 1000) return `${(hz / 1000).toFixed(hz >= 10000 ? 0 : 1)} kHz`;
  if (hz >= 10) return `${Math.round(hz)} Hz`;
  return `${hz.toFixed(1)} Hz`;
}

/** The core's messages are lower-case fragments; make them a sentence. */
export function plain(msg) {
  const s = String(msg).trim();
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}
