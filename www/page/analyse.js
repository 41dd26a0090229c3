// One job from input to results: read, decode (the core's decoder in the
// worker; the browser's for formats it lacks), the worker's scattering and tags, drawing;
// re-tagging the shown audio on another backend; cancelling.
import { audioHead, sniffSampleRate, estimateSeconds } from '../package/sniff.js';
import { browserDecode, extensionOf } from '../package/audio.js';
import { wavBlob } from './wav.js';
import { ui } from './ui.js';
import { env, NO_SIMD } from './env.js';
import { model } from './model.js';
import { BACKEND_NAMES, backendChosen, currentBackend, setBackend, webgpuFailed, webgpuPicks } from './backend.js';
import { AnalysisError, UserError, analyseInWorker, cancelled, decodeInWorker, engine, retagInWorker, startWorker, useWebgpu } from './engine.js';
import { bringIntoView, busy, clearError, finishStages, fmtSeconds, isBusy, namedFiles, plain, resetStages, setProgress, setStage, showError, showModelProgress } from './status.js';
import { drawAll, renderTimings, showResults, showTags, shown } from './results.js';
import { recordingState } from './mic.js';

// Files longer than this are mixed to mono at the front end's rate (16 kHz)
// while they are decoded (by the core, slice by slice; by the browser, whole,
// then mixed here), so a 1-hour file needs ~230 MB of samples instead of
// ~1.4 GB of stereo at 48 kHz.
const LONG_SECONDS = 20 * 60;
const MAX_SECONDS = 3 * 3600;
/** A cut file's player gets a WAV of what was read up to this length. */
const PLAYER_WAV_SECONDS = 3600;

let jobId = 0; // the newest job; replies of older ones are ignored

/** What a job throws once a newer one has replaced it (an AbortError, as a cancel's). */
const superseded = () => new DOMException('A newer job replaced this one.', 'AbortError');

// The job whose work is in the worker now (its reply pending), and the job
// whose model input the worker holds (what a change of backend re-tags).
let inWorker = null;
let workerHolds = null;
// The re-tag under way, if any ({id, shownOn: the backend of the tags it replaces}).
let retagging = null;

/** Run `call` (a promise of the worker's reply) as job `id`'s work in the worker. */
async function inTheWorker(id, call) {
  inWorker = id;
  try {
    return await call();
  } finally {
    if (inWorker === id) inWorker = null;
  }
}

/** Start a job: the page's status shows it, `alive()` says whether it is still the newest. */
function begin() {
  // A newer file replaces the job in the worker (a WASM call cannot be
  // interrupted, so the worker is replaced, as a cancel does): otherwise it
  // would run on unseen, and the new file wait behind it.
  if (inWorker != null) {
    inWorker = null;
    startWorker();
  }
  const id = ++jobId;
  clearError();
  busy(true);
  // Settled again when this job ends: the last job's 'done' is not this one's.
  delete document.body.dataset.state;
  ui.status.hidden = false;
  resetStages();
  return { id, alive: () => id === jobId };
}

/** A failed job: say why; `restart` replaces the worker (a stopped engine; a crashed one replaced itself). */
function failed(message, restart) {
  document.body.dataset.state = 'error';
  showError(message);
  ui.status.hidden = true;
  if (restart) startWorker();
}

/**
 * Await `promise` (the engine or the model, still downloading on a first
 * visit); once it has kept the job waiting a moment, the status says so
 * rather than naming a stage that is not running. The time waited goes to
 * `timings.wait` (said in "Done in …").
 */
async function waitFor(promise, words, timings, alive) {
  const t0 = performance.now();
  let before = null;
  // Only while the job is the page's: a cancelled or replaced one (whose
  // promise may never settle) leaves the status to what came after it.
  const timer = setTimeout(() => {
    if (!alive()) return;
    before = ui.statusText.textContent;
    ui.statusText.textContent = words;
    setProgress(null);
  }, 150);
  try {
    return await promise;
  } finally {
    clearTimeout(timer);
    if (before != null && alive()) {
      if (ui.statusText.textContent === words) ui.statusText.textContent = before;
      timings.wait = (timings.wait || 0) + (performance.now() - t0);
    }
  }
}

const WAIT_ENGINE = 'Waiting for the analysis engine to finish downloading (its progress is shown above)…';
const WAIT_MODEL = 'Waiting for the tagging model to finish downloading (its progress is shown above)…';

/**
 * Read and decode `blob`: with the core's decoder in the worker (the native
 * CLI's, so the tags are the CLI's), or, for a format it does not read (M4A,
 * Opus…), with the browser's, at the file's own rate when its header says it.
 */
async function decode(blob, name, timings, alive, id) {
  const t = () => performance.now();
  setStage('read', `Reading ${name}…`);
  setProgress(null);
  if (blob.size === 0) throw new UserError(`“${name}” is empty (0 bytes). Please choose an audio file.`);
  let t0 = t();
  let bytes = await blob.arrayBuffer();
  timings.read = t() - t0;
  if (!alive()) throw superseded();
  setStage('decode', 'Decoding audio…');
  const { head, skipped } = audioHead(bytes);
  const sniffed = sniffSampleRate(head);
  const tail = new Uint8Array(bytes, Math.max(0, bytes.byteLength - (1 << 16)));
  const estimate = estimateSeconds(head, bytes.byteLength - skipped, tail);
  const long = estimate > LONG_SECONDS;
  await waitFor(engine.ready, WAIT_ENGINE, timings, alive); // the decoder and the front end's rate are the core's
  if (!alive()) throw superseded();
  const coreRate = engine.core.sampleRate;
  if (long) setStage('decode', `Decoding a long file (about ${fmtSeconds(estimate)}), mixed to mono at ${coreRate / 1000} kHz to save memory…`);
  t0 = t();
  let audio = null;
  let coreError = null;
  try {
    const onProgress = (m) => alive() && m.stage === 'decode' && setProgress(m.done / m.total);
    const options = { extension: extensionOf(name), monoRate: long ? coreRate : 0, maxSeconds: MAX_SECONDS + 1, onProgress };
    const d = await inTheWorker(id, () => decodeInWorker(bytes, options));
    audio = { ...d, numberOfChannels: d.fileChannels, duration: d.seconds, by: 'core' };
  } catch (e) {
    if (!alive() || cancelled(e)) throw e;
    // The core's reason, without its "could not read the file as audio: " (the page says so itself).
    coreError = e.message.replace(/^could not read the file as audio: /i, '').trim();
    // Past the limit, or nothing to read: the browser would not do better.
    if (/longer than|audio is empty/.test(coreError)) audio = { failed: true };
  }
  if (!audio) {
    // A format the core does not read (or damage it does not get past): the browser's decoder.
    bytes = await blob.arrayBuffer();
    if (!alive()) throw superseded();
    try {
      // The package's decoding, which says, as the core does, when a file was cut short.
      const { buffer, earlyEnd } = await browserDecode(bytes, long ? coreRate : undefined);
      const channels = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
      // A long file's rate before the browser resampled it: its header's.
      const fileRate = long && Number.isInteger(sniffed) && sniffed > 0 ? sniffed : undefined;
      audio = { channels: mixed(channels, long), sampleRate: buffer.sampleRate, fileRate, numberOfChannels: buffer.numberOfChannels, duration: buffer.duration, frames: buffer.length, earlyEnd, by: 'browser' };
    } catch {
      audio = { failed: true };
    }
  }
  if (audio.failed) {
    if (/longer than/.test(coreError)) {
      throw new UserError(`“${name}” is longer than ${MAX_SECONDS / 3600} hours, the most this page analyses.`);
    }
    throw new UserError(
      `“${name}” could not be read as audio: ${coreError.replace(/\.$/, '')}. It may not be an audio file, or it is damaged ` +
        `or in a format this browser cannot decode (MP3, WAV, AIFF, FLAC and Ogg/Vorbis work everywhere; M4A, Opus and others as the browser can).`,
    );
  }
  timings.decode = t() - t0;
  if (audio.frames === 0) throw new UserError(`“${name}” contains no audio samples.`);
  if (audio.duration > MAX_SECONDS) {
    throw new UserError(`“${name}” is ${fmtSeconds(audio.duration)} long; this page analyses files of up to ${MAX_SECONDS / 3600} hours.`);
  }
  const { minSeconds } = engine.core;
  if (audio.duration < minSeconds) {
    // Rounded down, so that 0.9999 s does not read as "1.00 s. At least 1.0 s".
    const shown = (Math.floor(audio.duration * 100) / 100).toFixed(2);
    throw new UserError(`“${name}” is too short: ${shown} s. At least ${minSeconds.toFixed(2)} s of audio is needed.`);
  }
  // Why a file ended early, from the core's decoder or the browser's.
  const earlyEnd = audio.earlyEnd ?? null;
  return { audio, sniffed, long, earlyEnd };
}

/** An AudioBuffer's channels to hand the worker: copies, or a long file's mixed to mono here. */
function mixed(channels, long) {
  if (!long || channels.length === 1) return channels.map((c) => c.slice());
  const mono = new Float32Array(channels[0].length);
  const k = 1 / channels.length;
  for (const ch of channels) for (let i = 0; i < ch.length; i++) mono[i] += ch[i] * k;
  return [mono];
}

/** Progress of the worker's stages, with an ETA, as status text. */
function progressReporter(alive, tagging, backend) {
  const started = performance.now();
  let modelSince = null; // when the model stage began (its time so far, its ETA)
  return (m) => {
    if (!alive()) return;
    setProgress(m.done / m.total);
    const elapsed = (performance.now() - started) / 1000;
    // Front-end passes over the audio: one when the worker's helpers scatter
    // once for the pictures and the model input, else the model input costs
    // about as much again as the pictures' scattering.
    const passes = m.passes ?? (tagging ? 2 : 1);
    const done = m.stage === 'transform' ? m.done : m.total + m.done;
    const eta = done > 0 ? (elapsed / done) * (passes * m.total - done) : NaN;
    const left = m.stage !== 'model' && done < passes * m.total ? ` · about ${fmtSeconds(eta)} left` : '';
    if (m.stage === 'transform') ui.statusText.textContent = `Scattering: window ${m.done} of ${m.total}${left}`;
    else if (m.stage === 'features') {
      setStage('model');
      ui.statusText.textContent = `Model input: window ${m.done} of ${m.total}${left}`;
    } else {
      // Issue 12 item 2: per-window text, ticking (time so far, ETA) — status.js.
      if (modelSince == null) {
        setStage('model');
        modelSince = performance.now();
      }
      showModelProgress(BACKEND_NAMES[backend], m.done, m.total, modelSince);
    }
  };
}

/**
 * What a failed file's message adds: the files dropped with it, which were
 * not analysed either, and whose results the page still shows below (an
 * earlier drop's, with that drop's own notes).
 */
function afterFailure(left) {
  const parts = [];
  const n = left.length;
  if (n) {
    parts.push(`${n > 1 ? `The ${n} files` : 'The file'} dropped with it (${namedFiles(left)}) ${n > 1 ? 'were' : 'was'} not analysed: drop ${n > 1 ? 'them' : 'it'} one at a time.`);
  }
  if (shown.result && !ui.results.hidden) parts.push(`The results below are still those of “${shown.result.name}”.`);
  return parts.map((p) => ` ${p}`).join('');
}

/**
 * Analyse `blob` (named `name`); `left` names files dropped with it and not
 * analysed (said in a note); `retagOf`: a re-tag done as a whole analysis
 * (the worker was replaced), of tags shown from that backend.
 */
export async function analyse(blob, name, left = [], { retagOf = null } = {}) {
  const { id, alive } = begin();
  if (retagOf) retagging = { id, shownOn: retagOf };
  const picks = webgpuPicks(); // a fallback from before a newer pick of WebGPU is stale
  const timings = {};
  try {
    if (!env.simd) throw new UserError(NO_SIMD);
    const { audio, sniffed, long, earlyEnd } = await decode(blob, name, timings, alive, id);
    if (!alive()) return;

    setStage('transform', `Computing the scattering transform (${fmtSeconds(audio.duration)} of audio)…`);
    setProgress(0);
    await waitFor(engine.ready, WAIT_ENGINE, timings, alive);
    if (!alive()) return;
    const channels = audio.channels;
    delete audio.channels; // transferred to the worker
    // A file cut short: the player plays what was read, as long as the
    // pictures (the file's header would give it the whole length); a long
    // file's as it was decoded, mono at 16 kHz. Past an hour the file itself
    // (the WAV would hold another ~115 MB a hour).
    // A recording too: the browser's WebM states no length (the player
    // showed none, and a click on a picture could not seek it).
    const recording = !(blob instanceof File);
    const playable = (earlyEnd || recording) && audio.duration <= PLAYER_WAV_SECONDS ? wavBlob(channels, audio.sampleRate) : blob;
    await waitFor(engine.modelReady, WAIT_MODEL, timings, alive);
    await backendChosen;
    if (!alive()) return;
    const backend = currentBackend();
    const gen = engine.gen;
    const progress = progressReporter(alive, model.state === 'ready', backend);
    const reply = await inTheWorker(id, () => analyseInWorker(channels, audio.sampleRate, audio.fileRate, backend, progress));
    workerHolds = id;
    timings.transform = reply.timings.transformMs;
    if (reply.timings.featuresMs != null) timings.features = reply.timings.featuresMs;
    if (reply.timings.webgpuInitMs != null) timings.webgpuInit = reply.timings.webgpuInitMs;
    if (reply.timings.modelMs != null) timings.model = reply.timings.modelMs;
    if (!alive()) return;
    // A model that failed to load is not a tagging failure: the page says why in the model's own words.
    const tagError = model.state === 'error' ? null : reply.tagError;
    if (!reply.tags) {
      setStage('model', tagError ? 'The tags could not be computed.' : 'No tagging model: skipping tags.');
      ui.stages.querySelector('[data-stage="model"]').classList.add('skipped');
    } else if (reply.tags.fallback) webgpuFailed(reply.tags.fallback, picks);

    setStage('draw', 'Drawing…');
    const t0 = performance.now();
    shown.result = {
      name,
      blob,
      playable,
      size: blob.size,
      type: blob.type,
      duration: audio.duration,
      sampleRate: audio.sampleRate,
      sniffedRate: sniffed,
      channels: audio.numberOfChannels,
      decodedBy: audio.by,
      recording,
      long,
      earlyEnd,
      left,
      scatter: reply.scatter,
      tags: reply.tags,
      tagError,
      workerGen: gen,
      job: id,
      timings,
      // Helpers that scattered the windows (null: one instance, two passes).
      workers: reply.timings.workers ?? null,
    };
    showResults(shown.result);
    timings.draw = performance.now() - t0;
    renderTimings(shown.result);
    finishStages();
    setProgress(1);
    const total = Object.values(timings).reduce((a, b) => a + b, 0) / 1000;
    ui.statusText.textContent = timings.wait
      ? `Done in ${fmtSeconds(total)}, ${fmtSeconds(timings.wait / 1000)} of it waiting for the page's first downloads.`
      : `Done in ${fmtSeconds(total)}.`;
    // Once the page around them is final (the status above has its last
    // size), and before 'done': a script acting on 'done' finds them in place.
    if (!retagOf) bringIntoView(ui.results);
    document.body.dataset.state = 'done';
    // The backend was switched while this job ran: its tags again, there.
    if (reply.tags && !reply.tags.fallback && currentBackend() !== backend) queueMicrotask(retag);
  } catch (e) {
    if (!alive() || cancelled(e)) return;
    const more = afterFailure(left);
    if (e instanceof UserError) failed(e.message + more, false);
    // The engine replaced a crashed worker itself; user errors need no restart.
    else if (e instanceof AnalysisError) failed(`“${name}” could not be analysed: ${plain(e.message)}${more}`, false);
    else failed(`Something went wrong while analysing “${name}”: ${e.message}. You can try another file.${more}`, true);
  } finally {
    if (alive()) busy(false);
  }
}

/** The last audio's tags again, on the backend now chosen (the model input is kept in the worker). */
async function retag() {
  const current = shown.result;
  if (!current || !current.tags || model.state !== 'ready') return;
  // A recording hid these results and will replace them: re-tagging them now
  // would only hold up the worker that runs the live view and its tags. (While
  // the microphone is only being asked for, they are still shown: a denied
  // microphone leaves them, tagged on the backend chosen.)
  if (recordingState() === 'recording' || ui.results.hidden) return;
  // The worker was restarted since (cancel, crash, a newer file), or holds
  // another job's input (one that failed after the worker's part): the
  // file is analysed again.
  if (current.workerGen !== engine.gen || current.job !== workerHolds) {
    return analyse(current.blob, current.name, current.left, { retagOf: current.tags.backend });
  }
  const { id, alive } = begin();
  retagging = { id, shownOn: current.tags.backend };
  const picks = webgpuPicks(); // a fallback from before a newer pick of WebGPU is stale
  const backend = currentBackend();
  const name = BACKEND_NAMES[backend];
  setStage('model', `Tagging on ${name}…`);
  setProgress(0);
  const since = performance.now();
  try {
    const reply = await inTheWorker(id, () =>
      retagInWorker(backend, (m) => {
        // Issue 12 item 2: per-window text, ticking (time so far, ETA) — status.js.
        if (alive()) showModelProgress(name, m.done, m.total, since);
      }),
    );
    if (!alive()) return;
    if (reply.tags.fallback) webgpuFailed(reply.tags.fallback, picks);
    current.tags = reply.tags;
    current.timings.model = reply.timings.modelMs;
    if (reply.timings.webgpuInitMs != null) current.timings.webgpuInit = reply.timings.webgpuInitMs;
    else delete current.timings.webgpuInit;
    showTags(current);
    drawAll();
    renderTimings(current);
    for (const el of ui.stages.children) {
      el.classList.remove('active');
      el.classList.add('done');
    }
    setProgress(1);
    ui.statusText.textContent = `Tagged on ${BACKEND_NAMES[reply.tags.backend]} in ${fmtSeconds(reply.timings.modelMs / 1000)}.`;
    document.body.dataset.state = 'done';
    // The backend was switched again while this ran: its tags there too (as analyse does).
    if (!reply.tags.fallback && currentBackend() !== backend) queueMicrotask(retag);
  } catch (e) {
    if (!alive() || cancelled(e)) return;
    failed(`The tags could not be computed on ${name}: ${plain(e.message)} You can switch back or try another file.`, !(e instanceof AnalysisError));
  } finally {
    if (alive()) busy(false);
  }
}

/** The user picked a backend: start WebGPU if chosen, and re-tag the shown audio. */
export function chooseBackend(value) {
  if (value === currentBackend()) return;
  setBackend(value);
  if (value === 'webgpu' && model.state === 'ready') useWebgpu();
  if (!isBusy()) retag();
}

export function cancel() {
  if (!isBusy()) return;
  // A re-tag cancelled (on SwiftShader's WebGPU: minutes): the tags shown
  // stay those of the backend before, and it is chosen again, so that the
  // next file does not go where the user just gave up waiting.
  const back = retagging?.id === jobId && retagging.shownOn !== currentBackend() ? retagging.shownOn : null;
  jobId++; // late replies of the old job are ignored
  inWorker = null;
  startWorker();
  busy(false);
  setProgress(0);
  for (const el of ui.stages.children) el.classList.remove('active');
  ui.statusText.textContent = 'Cancelled.';
  if (back) {
    setBackend(back);
    ui.statusText.textContent = `Cancelled. The tags shown are from ${BACKEND_NAMES[back]}, chosen again for the next file.`;
  }
  document.body.dataset.state = 'cancelled';
}
