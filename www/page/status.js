// Status and progress: the stage chips, the progress bar, the error box,
// and the plain-words formatting the messages share.
import { ui } from './ui.js';

const STAGES = ['read', 'decode', 'transform', 'model', 'draw'];

export function setStage(stage, text) {
  stopTicker();
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
  // Unknown (null, or a total not known yet): an indeterminate bar.
  if (fraction == null || !Number.isFinite(fraction)) ui.progress.removeAttribute('value');
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
  if (!on) stopTicker();
  ui.drop.setAttribute('aria-disabled', on ? 'true' : 'false');
  // A hidden button keeps no focus: a keyboard user would restart from the top of the page.
  if (!on && document.activeElement === ui.cancel) ui.drop.focus();
  ui.cancel.hidden = !on;
  document.body.dataset.busy = on ? '1' : '0';
}

export const isBusy = () => document.body.dataset.busy === '1';

// ------------------------------------------------------------ model stage
// The model stage can be long (minutes on a software WebGPU adapter): its
// text is said again every second, with the time so far or the time left,
// so a slow backend visibly works instead of sitting on "window 0 of 2".
let ticker = 0;
/**
 * The model stage's last completed window: the stage's `since`, windows
 * `done` then, and when (performance.now()); `first`: windows already done
 * when the stage was first shown (the page's helpers score while they
 * scatter), which took none of its time.
 */
let completed = { since: NaN, done: 0, at: 0, first: 0 };

function stopTicker() {
  clearInterval(ticker);
  ticker = 0;
}

/**
 * The model stage's status: `done` windows (may be fractional: a window under
 * way) of `total` (null: not known yet) on backend `name`, started at
 * `since` (performance.now()).
 */
export function showModelProgress(name, done, total, since) {
  stopTicker();
  // The time left is measured at each completion, not re-estimated from a
  // count that stands still while a window runs (it grew by 1 s a second).
  const now = performance.now();
  // Windows "done" by a stage that began this instant were done before it.
  if (since !== completed.since) completed = { since, done, at: now, first: now - since < 500 ? done : 0 };
  else if (done !== completed.done) completed = { ...completed, done, at: now };
  const known = total > 0;
  setProgress(known ? done / total : null);
  const say = () => {
    const now = performance.now();
    ui.statusText.textContent = modelProgressText(name, done, total, (now - since) / 1000, (now - completed.at) / 1000, completed.first);
  };
  say();
  if (!known || done < total) ticker = setInterval(say, 1000);
}

/**
 * "Tagging on WebGPU: window 2 of 3 · about 40 s left" (the window under way,
 * counted from 1): `elapsed` seconds since the stage began, `sinceDone` since
 * `done` was reached.
 */
export function modelProgressText(name, done, total, elapsed, sinceDone = 0, first = 0) {
  const head = `Tagging on ${name}`;
  if (!(total > 0)) return `${head}… · ${fmtSeconds(elapsed)} so far`;
  if (done >= total) return `${head}: ${total} of ${total} windows done`;
  const n = Math.floor(done) + 1;
  const at = `${head}: window ${n} of ${total}`;
  if (!(done > first)) return `${at} · ${fmtSeconds(elapsed)} so far`;
  const perWindow = (elapsed - sinceDone) / (done - first);
  const left = perWindow * (total - done) - sinceDone;
  if (left >= 0.5) return `${at} · about ${fmtSeconds(left)} left`;
  // Past the estimate: the time so far (which honestly grows), not a time left that would.
  if (n === total) return `${head}: finishing window ${total} of ${total} · ${fmtSeconds(elapsed)} so far`;
  return `${at} · longer than expected, ${fmtSeconds(elapsed)} so far`;
}

/** "4.2 s", "2 min 0 s", "1 h 5 min": rounded first, so 119.6 s is not "1 min 60 s". */
export function fmtSeconds(s) {
  if (!isFinite(s)) return '?';
  const tenths = Math.round(s * 10);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const secs = Math.round(s);
  if (secs < 3600) return `${Math.floor(secs / 60)} min ${secs % 60} s`;
  const mins = Math.round(s / 60);
  return `${Math.floor(mins / 60)} h ${mins % 60} min`;
}

/** "14 kB", "2.0 MB": a file's size (one decimal of MB would read a small model as 0.0 MB). */
export function fmtSize(bytes) {
  return bytes < 1e5 ? `${Math.max(1, Math.round(bytes / 1e3))} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** “a.mp3”, “b.wav” and 3 more: file names for a sentence (the first five). */
export function namedFiles(names) {
  const n = names.length;
  return names.slice(0, 5).map((f) => `“${f}”`).join(', ') + (n > 5 ? ` and ${n - 5} more` : '');
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

/**
 * Scroll `el` (just shown: a file's results, the live view) up to the top of
 * the window when it does not fit below where it starts: on a projector or a
 * phone the tags and the live picture were below the fold, with nothing on
 * screen saying so. Left alone when it fits, or when it starts above the
 * window (the reader scrolled there).
 */
export function bringIntoView(el) {
  const r = el.getBoundingClientRect();
  if (r.top < 0 || r.top + Math.min(r.height, innerHeight) <= innerHeight) return;
  // At once, not smoothly: what follows (a click, a read-out) finds it in place.
  el.scrollIntoView({ block: 'start' });
}
