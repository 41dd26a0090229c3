// Microphone: record with MediaRecorder (the recording is then analysed as a
// file) while an AudioWorklet taps the input for the live scattergram: the
// engine scatters the last few seconds twice a second (package/worker/live.js)
// and the page scrolls the S1 frames.
import { drawHeatmap } from '../plot.js';
import { ui } from './ui.js';
import { env } from './env.js';
import { engine, startLive } from './engine.js';
import { bringIntoView, clearError, fmtSeconds, plain, showError } from './status.js';
import { markedTagNames } from './results.js';

const LIVE_SPAN = 29; // seconds shown: the live tags' window, so the picture shows what they hear
const LIVE_TOP = 5; // live tags shown
let recording = null;
let starting = false; // between the click and the recorder's start (permission, worklet, engine)
let liveHistory = null;
let liveDrawQueued = false;

/** `'recording'`, `'starting'` (between the click and the recorder's start) or null. */
export const recordingState = () => (recording ? 'recording' : starting ? 'starting' : null);

/** Stop a recording under way (its audio is then analysed); false if there was none. */
export function stopRecording() {
  if (!recording) return false;
  recording.stop();
  return true;
}

/** Start or stop recording; `analyse(blob, name)` gets the finished recording. */
export async function toggleRecord(analyse) {
  if (recording) {
    recording.stop();
    return;
  }
  // A second click while the first is still starting would open a second
  // recorder and tap, and Stop would end only one of them.
  if (starting) return;
  starting = true;
  ui.record.disabled = true;
  try {
    await startRecording(analyse);
  } finally {
    starting = false;
    ui.record.disabled = !env.mic;
  }
}

async function startRecording(analyse) {
  clearError();
  if (!env.mic) {
    showError('This browser cannot record from a microphone here (it needs getUserMedia and MediaRecorder).');
    return;
  }
  let stream;
  try {
    // Music, not a call: the browser's voice processing (echo cancellation,
    // noise suppression, automatic gain) would cut held notes and the bass
    // and flatten the dynamics the scattergram shows (its level fell ~10 dB
    // within seconds). Asked for, not required: a browser that cannot turn
    // them off still records.
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (e) {
    if (e.name === 'NotAllowedError' || e.name === 'SecurityError') {
      showError('Microphone access was denied. Allow the microphone for this page in the browser settings to record, or drop a file instead.');
    } else if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') {
      showError('No microphone was found. Connect one, or drop a file instead.');
    } else {
      showError(`The microphone could not be started: ${e.message || e.name}.`);
    }
    return;
  }
  const tap = await startLiveTap(stream).catch((e) => {
    console.warn('live view unavailable:', e);
    return null;
  });
  const rec = new MediaRecorder(stream);
  const chunks = [];
  const startedAt = performance.now();
  rec.ondataavailable = (ev) => ev.data.size && chunks.push(ev.data);
  const timer = setInterval(() => {
    ui.record.textContent = `■ Stop recording (${fmtSeconds((performance.now() - startedAt) / 1000)})`;
  }, 250);
  rec.onstop = () => {
    clearInterval(timer);
    for (const tr of stream.getTracks()) tr.stop();
    if (tap) tap.stop();
    // The live view is the recording's while it runs; its results (or why
    // there are none) follow, and a later file's must not sit under it.
    ui.live.hidden = true;
    liveHistory = null;
    recording = null;
    ui.record.setAttribute('aria-pressed', 'false');
    ui.record.textContent = '● Record from microphone';
    const blob = new Blob(chunks, { type: rec.mimeType || 'audio/webm' });
    analyse(blob, 'Microphone recording');
  };
  recording = rec;
  rec.start(250);
  // The page's state is the recording's now, not the hidden results' 'done':
  // it settles again when the recording's own analysis ends.
  document.body.dataset.state = 'recording';
  ui.record.setAttribute('aria-pressed', 'true');
  ui.record.textContent = '■ Stop recording';
}

async function startLiveTap(stream) {
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('mic-worklet.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'scatterbrain-tap');
  const mute = ctx.createGain();
  mute.gain.value = 0; // keep the graph pulling without playing the mic back
  source.connect(node).connect(mute).connect(ctx.destination);
  liveHistory = { frames: [], freqs: null, hop: 0.256 };
  // The previous file's results are not this recording's.
  ui.results.hidden = true;
  ui.status.hidden = true;
  document.getElementById('live-tags').replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'listening…' }));
  document.body.dataset.liveTags = '0';
  ui.live.hidden = false;
  bringIntoView(ui.live);
  drawLive();
  await engine.ready;
  const live = startLive(ctx.sampleRate, {
    frames: liveFrames,
    error: (message) => showError(`The live view stopped: ${plain(message)}`),
    tags: liveTags,
  });
  node.port.onmessage = (ev) => live.push(ev.data);
  return {
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      live.stop();
      ctx.close();
    },
  };
}

/** Add the engine's message `m` (frames `{t, values}`, `freqs`, `hop`) to `history`, keeping the last LIVE_SPAN seconds. */
export function addLiveFrames(history, m) {
  history.freqs = m.freqs;
  history.hop = m.hop;
  history.frames.push(...m.frames);
  const newest = history.frames[history.frames.length - 1].t;
  while (history.frames.length && history.frames[0].t < newest - LIVE_SPAN) history.frames.shift();
}

function liveFrames(m) {
  if (!liveHistory) return;
  addLiveFrames(liveHistory, m);
  if (!liveDrawQueued) {
    liveDrawQueued = true;
    requestAnimationFrame(() => {
      liveDrawQueued = false;
      drawLive();
    });
  }
}

/** What the live view draws of `history` (drawHeatmap's options): the last LIVE_SPAN seconds, timed since recording began. */
export function liveView(history) {
  const frames = history.frames;
  const newest = frames.length ? frames[frames.length - 1].t : 0;
  const origin = Math.max(0, newest - LIVE_SPAN); // scrolls once the view is full
  const times = Float64Array.from(frames, (f) => f.t - origin);
  const rows = (history.freqs || []).map((freq, k) => ({ freq, values: Float32Array.from(frames, (f) => f.values[k]) }));
  return {
    rows,
    times,
    hop: history.hop,
    duration: LIVE_SPAN,
    start: origin, // the axis reads the time since recording began
    yLabel: 'frequency',
    minFreq: 30, // as the file's scattergram: below ~30 Hz is rumble, not music
    title: `S1 live, last ${LIVE_SPAN} s`,
  };
}

function drawLive() {
  const h = liveHistory;
  if (!h) return;
  const frames = h.frames;
  const newest = frames.length ? frames[frames.length - 1].t : 0;
  drawHeatmap(ui.liveCanvas, liveView(h));
  document.body.dataset.liveFrames = String(frames.length);
  document.body.dataset.liveSeconds = newest.toFixed(2); // for tests: how far the view has got
}

/** The model's tags of the latest audio, top first. */
function liveTags(m) {
  if (!liveHistory) return;
  const list = document.getElementById('live-tags');
  if (m.silent) {
    // The model's scores for nothing are not tags (the core's −80 dBFS).
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'silent: no tags' }));
  } else {
    // Uncertain tags (issue 12 item 6) marked “?” as in the results' list.
    // The core's ranking: "no vocal" shares the row of "no vocals", said as the CLI says it.
    const names = markedTagNames(m);
    const said = (k) => `${names[k]} ${m.clip[k].toFixed(2)}`;
    const top = m.top.slice(0, LIVE_TOP).map((r) => ({ text: said(r.index) + (r.also.length ? ` (also ${r.also.map(said).join(', ')})` : ''), score: m.clip[r.index] }));
    list.replaceChildren(
      ...top.map((t) => {
        const li = document.createElement('li');
        li.textContent = t.text;
        li.style.setProperty('--score', t.score.toFixed(3));
        return li;
      }),
    );
  }
  list.dataset.seconds = m.seconds.toFixed(1);
  document.body.dataset.liveTags = String(Number(document.body.dataset.liveTags || 0) + 1);
}
