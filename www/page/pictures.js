// The pictures of a result: what each shows (S1 from ~30 Hz, the S2 band
// choice, the taggram's columns), drawn by plot.js with their colour bars;
// the read-out of the value under the pointer or the keyboard cursor; each
// picture saved as a PNG.
import { drawHeatmap, drawTaggram } from '../plot.js';
import { ui } from './ui.js';
import { fmtHz } from './status.js';
import { markedTagNames, ranked, rowView, rowsOf, shown } from './results.js';
import { updatePlayheads } from './playhead.js';
import { baseName, saveBlob } from './export.js';

/** S1 bands below this hold no pitch or timbre worth showing (0.5 Hz filters average the envelope away). */
export const S1_MIN_HZ = 30;
/** Modulations faster than this are no beat one could tap: roughness, then pitch. */
export const BEAT_MAX_HZ = 20;

const PICTURES = [
  { id: 's1', key: 's1Layout', file: 's1' },
  { id: 's2', key: 's2Layout', file: 's2' },
  { id: 'taggram', key: 'taggramLayout', file: 'taggram' },
];
const $ = (id) => document.getElementById(id);

const NOTES = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];
/** The nearest equal-tempered note (A4 = 440 Hz), e.g. "A4". */
export function noteName(hz) {
  const m = Math.round(69 + 12 * Math.log2(hz / 440));
  return `${NOTES[((m % 12) + 12) % 12]}${Math.floor(m / 12) - 1}`;
}

const fmtTime = (t) => (t < 60 ? `${t.toFixed(1)} s` : `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, '0')}`);
const fmtDb = (d) => `${d < 0 ? '\u2212' : ''}${Math.abs(d).toFixed(1)} dB`;

/** Fill the S2 band list: first-order bands from S1_MIN_HZ that have second-order paths; the loudest is chosen. */
function chooseBands(r) {
  const withS2 = new Set(rowsOf(r.scatter, 2).map((p) => p.freq1_hz));
  const all = rowsOf(r.scatter, 1).filter((p) => withS2.has(p.freq1_hz));
  const audible = all.filter((p) => p.freq1_hz >= S1_MIN_HZ);
  const bands = (audible.length ? audible : all).sort((a, b) => a.freq1_hz - b.freq1_hz);
  ui.band.replaceChildren(
    ...bands.map((p) => {
      const o = document.createElement('option');
      o.value = String(p.freq1_hz);
      o.textContent = `${fmtHz(p.freq1_hz)} (${noteName(p.freq1_hz)})`;
      return o;
    }),
  );
  let best = bands[0];
  let bestE = -1;
  for (const p of bands) {
    const v = rowView(r.scatter, p.index);
    let e = 0;
    for (let i = 0; i < v.length; i++) e += v[i];
    if (e > bestE) {
      bestE = e;
      best = p;
    }
  }
  if (best) ui.band.value = String(best.freq1_hz);
}

/** The frame-level taggram ([{start_s, end_s, scores}]) when the result has one. */
export function frameTaggram(r) {
  const t = r.taggram ?? (r.tags && r.tags.taggram);
  return Array.isArray(t) && t.length ? t : null;
}

/**
 * Taggram columns: each spans its real audio; where neighbours overlap (the
 * end-aligned last window, overlapping frames) each keeps the half nearer
 * its centre, as the scattergram's frames do.
 */
export function taggramColumns(r) {
  const spans = frameTaggram(r) || r.tags.windows;
  // warmUp: read from a window's first frames alone (the network still starting; the core's WARM_UP_FRAMES).
  const cols = spans.map((w) => ({ from: w.start_s, to: w.end_s, scores: w.scores, warmUp: !!w.warm_up })).sort((a, b) => a.from - b.from);
  for (let i = 1; i < cols.length; i++) {
    if (cols[i].from < cols[i - 1].to) {
      const mid = (cols[i].from + cols[i - 1].to) / 2;
      cols[i - 1].to = mid;
      cols[i].from = mid;
    }
  }
  return cols;
}

export function drawAll() {
  const r = shown.result;
  if (!r) return;
  const sc = r.scatter;
  const hop = sc.frames > 1 ? sc.times[1] - sc.times[0] : 0.256;
  const base = { times: sc.times, hop, duration: r.duration };
  const s1 = rowsOf(sc, 1).map((p) => ({ freq: p.freq1_hz, values: rowView(sc, p.index) }));
  r.s1Layout = drawHeatmap(ui.s1, { ...base, rows: s1, minFreq: S1_MIN_HZ, yLabel: 'frequency', title: `S1, frequency bands · ${r.name}` });
  const f1 = Number(ui.band.value);
  const s2 = rowsOf(sc, 2)
    .filter((p) => p.freq1_hz === f1)
    .map((p) => ({ freq: p.freq2_hz, values: rowView(sc, p.index) }));
  r.s2Layout = drawHeatmap(ui.s2, { ...base, rows: s2, bpm: true, yLabel: 'modulation', title: `S2, pulsing of the ${fmtHz(f1)} band · ${r.name}` });
  r.taggramLayout = null;
  // No model or silent audio, no taggram: nothing to read or save.
  const taggram = !!r.tags && !r.tags.silent;
  $('taggram-readout').hidden = !taggram;
  document.querySelector('.save-png[data-picture="taggram"]').disabled = !taggram;
  if (!taggram) $('taggram-sub').textContent = '';
  else {
    const columns = taggramColumns(r);
    const widths = columns.map((c) => c.to - c.from).sort((a, b) => a - b);
    const step = widths[Math.floor(widths.length / 2)];
    const warm = columns.filter((c) => c.warmUp).length;
    $('taggram-sub').textContent = frameTaggram(r)
      ? `(score of every tag over time, a column every ${step.toFixed(1)} s${warm ? `; ${warm === 1 ? 'the first is' : `${warm} columns are`} read while the model is still starting` : ''})`
      : '(score of every tag in each analysis window of up to 29 s)';
    r.taggramLayout = drawTaggram(ui.taggram, {
      tags: markedTagNames(r.tags), // uncertain tags marked “?” as in the list (issue 12 item 6)
      order: ranked(r.tags),
      columns,
      duration: r.duration,
      title: `Taggram, ${columns.length} column${columns.length > 1 ? 's' : ''} · ${r.name}`,
    });
  }
  updatePlayheads(r);
  followKeyboard();
}

// ------------------------------------------------------------------ read-out

/** Where the keyboard cursor is: a row index per picture (the time is the player's). */
const cursorRow = {};
/** What the read-out follows, per picture: 'pointer', 'keyboard' or null. */
const mode = {};
/** Pictures whose keyboard cursor has been shown since they took the focus. */
const keyed = new Set();

/**
 * What S2's row `j` covers: its level is one value for a whole octave of
 * rates (the row's span on the axis), so a tempo read off the pointer's
 * height is no finer than that (a teacher's trial read 140, 175 and 219 BPM
 * off one row).
 */
function rowSpan(L, j) {
  const [lo, hi] = L.rowRange(j);
  const bpm = hi <= BEAT_MAX_HZ ? `, ${Math.round(lo * 60)}–${Math.round(hi * 60)} BPM` : '';
  const [a, b] = [fmtHz(lo), fmtHz(hi)];
  // "1.9–3.9 Hz", the unit once when both ends have it.
  const range = a.endsWith(' Hz') && b.endsWith(' Hz') ? `${a.slice(0, -3)}–${b}` : `${a}–${b}`;
  return ` (this row: ${range}${bpm})`;
}

/** What lies at canvas point (x, y) or, from the keyboard, in `row` at time `t`: {text, x, y} or null. */
function reading(p, { x, y, t, row }) {
  const r = shown.result;
  const L = r && r[p.key];
  if (!L || !L.labels) return null;
  if (t == null) t = L.timeOf(x);
  t = Math.max(0, Math.min(r.duration, t));
  x = L.xOf(t);
  if (p.id === 'taggram') {
    const k = row ?? L.rowAt(y);
    const c = L.columnAt(t);
    if (k < 0 || c < 0) return null;
    const rowH = L.plot.h / L.order.length;
    const tag = L.order[k];
    const col = L.columns[c];
    return {
      x,
      y: y ?? L.plot.y + (k + 0.5) * rowH,
      row: k,
      text: `${fmtTime(t)} · “${L.tags[tag]}” · score ${col.scores[tag].toFixed(2)} (column ${fmtTime(col.from)}–${fmtTime(col.to)}${col.warmUp ? ', the model still starting' : ''})`,
    };
  }
  if (!L.rows.length) return null;
  const j = row ?? L.rowAt(y);
  if (j < 0) return null;
  // The pointer reads its own height on the axis; the keyboard reads the band's centre.
  const freq = row == null ? L.freqAt(y) : L.rows[j].freq;
  const v = L.rows[j].values[L.frameAt(t)];
  const level = v > 0 && isFinite(v) ? fmtDb(20 * Math.log10(v)) : 'silent';
  const where =
    p.id === 's1'
      ? `${fmtHz(freq)} (${noteName(freq)})`
      : `modulation ${fmtHz(freq)} ${freq <= BEAT_MAX_HZ ? `= ${Math.round(freq * 60)} BPM` : '(too fast for a beat: heard as roughness)'}${rowSpan(L, j)}`;
  return { x, y: y ?? L.yOfFreq(L.rows[j].freq), row: j, text: `${fmtTime(t)} · ${where} · ${level}` };
}

function show(p, at) {
  const canvas = ui[p.id];
  const marker = canvas.parentElement.querySelector('.marker');
  if (!at) {
    marker.hidden = true;
    return;
  }
  $(`${p.id}-readout`).textContent = at.text;
  marker.style.left = `${((at.x / canvas.width) * 100).toFixed(3)}%`;
  marker.style.top = `${((at.y / canvas.height) * 100).toFixed(3)}%`;
  marker.hidden = false;
}

/** The keyboard cursor: its row at the player's time (first focus: the loudest band, or the top tag). */
function showCursor(p) {
  const r = shown.result;
  const L = r && r[p.key];
  if (!L || !L.labels) return;
  const t = ui.player.currentTime || 0;
  const n = p.id === 'taggram' ? L.order.length : L.rows.length;
  if (!n) return;
  let row = cursorRow[p.id];
  if (row == null) {
    row = 0;
    if (p.id !== 'taggram') {
      const f = L.frameAt(t);
      L.rows.forEach((q, j) => {
        if (q.values[f] > L.rows[row].values[f]) row = j;
      });
    }
  }
  cursorRow[p.id] = Math.max(0, Math.min(n - 1, row));
  show(p, reading(p, { t, row: cursorRow[p.id] }));
}

function canvasPoint(canvas, ev) {
  const rect = canvas.getBoundingClientRect();
  return { x: ((ev.clientX - rect.left) / rect.width) * canvas.width, y: ((ev.clientY - rect.top) / rect.height) * canvas.height };
}

/** No read-out: the marker hidden, the read-out's hint back. */
function rest(p) {
  show(p, null);
  $(`${p.id}-readout`).textContent = $(`${p.id}-readout`).dataset.hint;
}

function wireReadout(p) {
  const canvas = ui[p.id];
  // The pointer gone from the plot: its read-out goes (it said a place no longer pointed at), back
  // to the keyboard cursor if the keys were in use. A tap's stays: a finger "leaves" as it lifts.
  const leave = (ev) => {
    if (mode[p.id] !== 'pointer' || ev.pointerType === 'touch') return;
    mode[p.id] = null;
    if (document.activeElement === canvas && keyed.has(p.id)) keyboard(p);
    else rest(p);
  };
  const point = (ev) => {
    const { x, y } = canvasPoint(canvas, ev);
    const L = shown.result && shown.result[p.key];
    if (!L || x < L.plot.x || x > L.plot.x + L.plot.w || y < L.plot.y || y > L.plot.y + L.plot.h) return leave(ev);
    const at = reading(p, { x, y });
    if (!at) return leave(ev);
    show(p, at);
    mode[p.id] = 'pointer';
    // After a click or a tap, the keys carry on from its row.
    if (ev.type === 'pointerdown') cursorRow[p.id] = at.row;
  };
  canvas.addEventListener('pointermove', point);
  canvas.addEventListener('pointerdown', point);
  canvas.addEventListener('pointerleave', leave);
  // Focus by Tab (not by a click, which reads where it points) shows the cursor.
  canvas.addEventListener('focus', () => mode[p.id] !== 'pointer' && keyboard(p));
  canvas.addEventListener('blur', () => {
    mode[p.id] = null;
    keyed.delete(p.id);
    rest(p);
  });
  // Up and down move between rows (Shift: 8 rows, an octave of S1); left and right move the playhead (playhead.js).
  canvas.addEventListener('keydown', (ev) => {
    if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) {
      // The playhead's handler (playhead.js) moves the player's time; say the
      // new place now, not when the audio's seek ends (before the player has
      // loaded, a second later: a screen reader read the old place).
      mode[p.id] = 'keyboard';
      // After every keydown listener (a microtask would run before the next
      // one), and only if the picture still has the focus (blur hid the marker).
      setTimeout(() => document.activeElement === canvas && keyboard(p));
      return;
    }
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    ev.preventDefault();
    if (cursorRow[p.id] != null) {
      const step = (ev.shiftKey ? 8 : 1) * (ev.key === 'ArrowUp' ? 1 : -1);
      // Heat-map rows run from low to high frequency; the taggram's from the top.
      cursorRow[p.id] += p.id === 'taggram' ? -step : step;
    }
    keyboard(p);
  });
}

function keyboard(p) {
  mode[p.id] = 'keyboard';
  keyed.add(p.id);
  showCursor(p);
}

/** After a redraw or a move of the playhead: the keyboard cursor follows. */
function followKeyboard() {
  for (const p of PICTURES) if (document.activeElement === ui[p.id] && mode[p.id] === 'keyboard') showCursor(p);
}

// ------------------------------------------------------------------ PNG

function savePng(p) {
  const r = shown.result;
  if (!r || !r[p.key]) return;
  const suffix = p.id === 's2' ? `s2-${Math.round(Number(ui.band.value))}Hz` : p.file;
  ui[p.id].toBlob((blob) => blob && saveBlob(blob, `${baseName(r)}.${suffix}.png`), 'image/png');
}

/** A new result: the read-outs start again (the keyboard cursor from the loudest band) and the S2 bands are listed. */
export function preparePictures(r) {
  for (const p of PICTURES) {
    delete cursorRow[p.id];
    rest(p);
  }
  chooseBands(r);
}

// Wired when the module loads (module scripts run after the document is parsed).
for (const p of PICTURES) {
  wireReadout(p);
  $(`${p.id}-readout`).dataset.hint = $(`${p.id}-readout`).textContent;
  document.querySelector(`.save-png[data-picture="${p.id}"]`).addEventListener('click', () => savePng(p));
}
for (const ev of ['seeked', 'timeupdate']) ui.player.addEventListener(ev, followKeyboard);
