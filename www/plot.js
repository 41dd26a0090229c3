// Heat maps with a log-frequency y axis and a time x axis, and the taggram
// (tags × time), on a <canvas>, each with a colour bar in its unit. Every
// text drawn is recorded in the returned layout (`labels`, boxes in canvas
// pixels) so that tests can measure overlaps, and the layout maps pixels to
// rows, frames and values for the page's read-out (page/pictures.js).

// Inferno-like colour map (dark → bright), as 256 RGB entries.
const STOPS = [
  [0.0, [0, 0, 4]],
  [0.15, [31, 12, 72]],
  [0.3, [85, 15, 109]],
  [0.45, [136, 34, 106]],
  [0.6, [186, 54, 85]],
  [0.75, [227, 89, 51]],
  [0.87, [249, 140, 10]],
  [1.0, [252, 255, 164]],
];
export const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let k = 0;
    while (k < STOPS.length - 2 && x > STOPS[k + 1][0]) k++;
    const [x0, c0] = STOPS[k];
    const [x1, c1] = STOPS[k + 1];
    const f = (x - x0) / (x1 - x0);
    for (let c = 0; c < 3; c++) lut[3 * i + c] = c0[c] + f * (c1[c] - c0[c]);
  }
  return lut;
})();

const BG = '#101116';
const FG = '#e8e8ee';
const GRID = 'rgba(255,255,255,0.18)';
const MINUS = '\u2212';
/** Tempi marked on the S2 picture's right-hand axis (BPM = modulation Hz × 60). */
const BPM_TICKS = [30, 60, 120, 240, 480];

function percentile(sorted, q) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))];
}

function fmtTick(hz) {
  if (hz >= 1000) return `${hz / 1000}k`;
  return `${hz}`;
}

const fmtSigned = (v) => (v < 0 ? `${MINUS}${-v}` : `${v}`);

/** Size the canvas bitmap to its displayed width (and device pixels). */
function fit(canvas) {
  if (!canvas.dataset.aspect) canvas.dataset.aspect = String(canvas.height / canvas.width);
  const aspect = Number(canvas.dataset.aspect);
  const dpr = Math.min(globalThis.devicePixelRatio || 1, 2);
  const cssW = canvas.clientWidth || canvas.width;
  // Keep plots readable on phones: not lower than 160 CSS px.
  const cssH = Math.max(160, Math.round(cssW * aspect));
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  return dpr;
}

/** A text writer that records the box of everything it draws in `labels`. */
function writer(ctx, labels) {
  const write = (text, x, y, { align = 'left', baseline = 'top', rotate = false, kind = '' } = {}) => {
    ctx.textAlign = align;
    ctx.textBaseline = baseline;
    const m = ctx.measureText(text);
    // Box relative to the anchor, before any rotation.
    const bx = -m.actualBoundingBoxLeft;
    const by = -m.actualBoundingBoxAscent;
    const bw = m.actualBoundingBoxLeft + m.actualBoundingBoxRight;
    const bh = m.actualBoundingBoxAscent + m.actualBoundingBoxDescent;
    if (rotate) {
      ctx.save();
      ctx.translate(x, y);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(text, 0, 0);
      ctx.restore();
      // A quarter turn anticlockwise maps (u, v) to (x + v, y - u).
      labels.push({ text, kind, x: x + by, y: y - (bx + bw), w: bh, h: bw });
    } else {
      ctx.fillText(text, x, y);
      labels.push({ text, kind, x: x + bx, y: y + by, w: bw, h: bh });
    }
  };
  write.width = (text) => ctx.measureText(text).width;
  return write;
}

/** Text cut with an ellipsis to fit `w` pixels. */
function fitText(write, text, w) {
  if (write.width(text) <= w) return text;
  let s = text;
  while (s.length > 1 && write.width(`${s}…`) > w) s = s.slice(0, -1);
  return `${s}…`;
}

/** 1-2-5 ticks within [lo, hi], thinned to at most `max`. */
function logTicks(lo, hi, max) {
  let ticks = [];
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++) {
    for (const mlt of [1, 2, 5]) {
      const f = Number((mlt * 10 ** e).toPrecision(3));
      if (f >= lo && f <= hi) ticks.push(f);
    }
  }
  const lead = (f) => Math.round(f / 10 ** Math.floor(Math.log10(f) + 1e-9));
  if (ticks.length > max) ticks = ticks.filter((f) => lead(f) !== 2);
  if (ticks.length > max) ticks = ticks.filter((f) => lead(f) === 1);
  return ticks;
}

/** Evenly stepped values within [lo, hi], at most `max` of them (at least 2 when possible). */
function linearTicks(lo, hi, max, steps) {
  const span = hi - lo;
  const step = steps.find((s) => span / s + 1 <= max) || steps[steps.length - 1];
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(6)));
  return { values: out, step };
}

/** Width the colour bar and its labels need at the right of a plot. */
function colourBarWidth(write, labels, unit, dpr) {
  const lw = Math.max(write.width(unit), ...labels.map((l) => write.width(l)));
  return 8 * dpr + 10 * dpr + 4 * dpr + lw + 4 * dpr;
}

/**
 * The colour bar at `x` (left edge of the bar) beside the plot: the colour
 * map from `lo` (bottom) to `hi` (top), ticks labelled by `fmt`, `unit` above.
 */
function colourBar(ctx, write, { x, plot, lo, hi, ticks, fmt, unit, dpr }) {
  const w = 10 * dpr;
  const { y, h } = plot;
  const rows = Math.max(1, Math.round(h));
  for (let i = 0; i < rows; i++) {
    const c = Math.max(0, Math.min(255, Math.round((1 - (i + 0.5) / rows) * 255)));
    ctx.fillStyle = `rgb(${LUT[3 * c]},${LUT[3 * c + 1]},${LUT[3 * c + 2]})`;
    ctx.fillRect(x, y + (i * h) / rows, w, h / rows + 0.5);
  }
  ctx.strokeStyle = GRID;
  ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  ctx.fillStyle = FG;
  const yOf = (v) => y + h * (1 - (v - lo) / (hi - lo));
  for (const v of ticks) {
    const ty = yOf(v);
    ctx.fillRect(x + w, ty - 0.5 * dpr, 3 * dpr, dpr);
    write(fmt(v), x + w + 4 * dpr, ty, { baseline: 'middle', kind: 'colourbar' });
  }
  write(unit, x, 4 * dpr, { kind: 'unit' });
  return { x, y, w, h, lo, hi, unit, ticks: ticks.map((v) => ({ value: v, label: fmt(v), y: yOf(v) })) };
}

/** Time ticks and the axis name under a plot spanning `span` seconds, labelled from `start` (s). */
function timeAxis(ctx, write, { plot, span, xOf, dpr, start = 0 }) {
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.fillStyle = FG;
  const minutes = start + span >= 120;
  const label = (t) => (minutes ? `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, '0')}` : `${+t.toFixed(1)}`);
  // Ticks ~70 px apart on a wide plot; a narrow one (a phone's taggram, ~190 px)
  // keeps four or so, as close as its labels allow, rather than two.
  const widest = Math.max(write.width(label(start)), write.width(label(start + span)), write.width('0.5'));
  const room = Math.max(widest + 16 * dpr, Math.min(70 * dpr, plot.w / 4));
  const maxTicks = Math.max(2, Math.floor(plot.w / room));
  const steps = [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const dt = steps.find((s) => span / s <= maxTicks) || 3600;
  for (let t = Math.ceil(start / dt - 1e-9) * dt; t <= start + span + 1e-9; t += dt) {
    const x = xOf(t - start);
    ctx.beginPath();
    ctx.moveTo(x, plot.y + plot.h);
    ctx.lineTo(x, plot.y + plot.h + 4 * dpr);
    ctx.stroke();
    write(label(t), x, plot.y + plot.h + 6 * dpr, { align: 'center', kind: 'time' });
  }
  write(minutes ? 'time (min:s)' : 'time (s)', plot.x + plot.w / 2, plot.y + plot.h + 20 * dpr, { align: 'center', kind: 'axis' });
}

/** The colour scale in dB of `rows` from the data's own percentiles. */
function dbScale(rows, frames) {
  const sample = [];
  const stride = Math.max(1, Math.floor((rows.length * frames) / 20000));
  let k = 0;
  for (const r of rows) {
    for (let i = 0; i < frames; i++, k++) {
      if (k % stride === 0) {
        const v = r.values[i];
        if (v > 0 && isFinite(v)) sample.push(20 * Math.log10(v));
      }
    }
  }
  sample.sort((a, b) => a - b);
  const top = percentile(sample, 0.995);
  const bottom = Math.max(percentile(sample, 0.02), top - 80);
  return { top, bottom: Math.min(bottom, top - 1e-6) };
}

/** [first, last] index of each run of frames `hop` apart. */
function evenRuns(times, hop) {
  const runs = [];
  let a = 0;
  for (let i = 1; i <= times.length; i++) {
    if (i === times.length || Math.abs(times[i] - times[i - 1] - hop) > 1e-3 * hop) {
      runs.push([a, i - 1]);
      a = i;
    }
  }
  return runs;
}

/** The index of the frame centred nearest time `t` (`times` increasing). */
function nearestFrame(times, t) {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - times[lo - 1] < times[lo] - t ? lo - 1 : lo;
}

/**
 * Draw `rows` ({freq, values: Float32Array(frames)}) as a heat map of
 * 20·log10(value) dB on a log-frequency axis, rows below `minFreq` left out.
 * `times` are the frame centres (s), `hop` the frame step (s) within an analysis
 * window (across windows the step changes; frames are drawn and found at their
 * `times`), `duration` the
 * audio length (s); `start` the time (s) the axis reads at the left edge
 * (a scrolling view's; `times` are from that edge); `bpm` adds a tempo axis (modulation Hz × 60) at the right.
 * Returns the layout, in canvas pixels: {plot, xOf, timeOf, yOfFreq, freqAt,
 * rowAt, rowRange, frameAt, rows, yTicks, bpmTicks, colourBar, labels}.
 */
export function drawHeatmap(canvas, { rows, times, hop, duration, yLabel, title, minFreq = 0, bpm = false, start = 0 }) {
  const dpr = fit(canvas);
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const labels = [];
  const write = writer(ctx, labels);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = FG;

  const valid = rows.filter((r) => r.freq > 0 && r.freq >= minFreq).sort((a, b) => a.freq - b.freq);
  const frames = times.length;
  const span = Math.max(duration, frames ? times[frames - 1] + hop / 2 : 0, 1e-3);
  const empty = { plot: { x: 0, y: 0, w: W, h: H }, rows: [], labels, xOf: (t) => (t / span) * W, timeOf: (x) => (x / W) * span };
  if (!valid.length || !frames) {
    write('no coefficients to show', W / 2, H / 2, { align: 'center', baseline: 'middle' });
    return empty;
  }

  // Log-frequency band edges: midway (geometrically) between centres.
  const logs = valid.map((r) => Math.log(r.freq));
  const n = logs.length;
  const step0 = n > 1 ? logs[1] - logs[0] : 0.1;
  const stepN = n > 1 ? logs[n - 1] - logs[n - 2] : 0.1;
  const edges = [logs[0] - step0 / 2];
  for (let i = 1; i < n; i++) edges.push((logs[i - 1] + logs[i]) / 2);
  edges.push(logs[n - 1] + stepN / 2);
  const lo = edges[0];
  const hi = edges[n];
  const fLo = Math.exp(lo);
  const fHi = Math.exp(hi);

  // Margins from what they hold: tick labels left, tempo axis and colour bar right.
  const { top, bottom } = dbScale(valid, frames);
  const mt = 18 * dpr;
  const mb = 34 * dpr;
  const plotH = Math.max(10, H - mt - mb);
  const yTicks = logTicks(fLo, fHi, Math.max(3, plotH / (22 * dpr)));
  const db = linearTicks(bottom, top, Math.max(2, Math.floor(plotH / (22 * dpr))), [1, 2, 5, 10, 20, 50]);
  const bpmTicks = bpm ? BPM_TICKS.filter((b) => b / 60 >= fLo && b / 60 <= fHi) : [];
  const ml = 18 * dpr + Math.max(0, ...yTicks.map((f) => write.width(fmtTick(f)))) + 10 * dpr;
  const bpmW = bpm ? Math.max(write.width('BPM'), ...bpmTicks.map((b) => write.width(String(b)))) + 10 * dpr : 0;
  const barW = colourBarWidth(write, db.values.map(fmtSigned), 'dB', dpr);
  const plot = { x: ml, y: mt, w: Math.max(10, W - ml - bpmW - barW), h: plotH };
  const xOf = (t) => plot.x + (t / span) * plot.w;
  const timeOf = (x) => ((x - plot.x) / plot.w) * span;
  const yOf = (lf) => plot.y + plot.h * (1 - (lf - lo) / (hi - lo));
  const range = top - bottom;

  // Raster: one column per frame, one row per plot pixel.
  const rowsPx = Math.max(1, Math.round(plot.h));
  const img = new ImageData(frames, rowsPx);
  const which = new Int32Array(rowsPx);
  for (let py = 0, j = n - 1; py < rowsPx; py++) {
    const lf = hi - ((py + 0.5) / rowsPx) * (hi - lo);
    while (j > 0 && lf < edges[j]) j--;
    which[py] = j;
  }
  for (let py = 0; py < rowsPx; py++) {
    const vals = valid[which[py]].values;
    for (let i = 0; i < frames; i++) {
      const v = vals[i];
      const d = v > 0 && isFinite(v) ? 20 * Math.log10(v) : bottom;
      const c = Math.max(0, Math.min(255, Math.round(((d - bottom) / range) * 255)));
      const o = 4 * (py * frames + i);
      img.data[o] = LUT[3 * c];
      img.data[o + 1] = LUT[3 * c + 1];
      img.data[o + 2] = LUT[3 * c + 2];
      img.data[o + 3] = 255;
    }
  }
  const raster = document.createElement('canvas');
  raster.width = frames;
  raster.height = rowsPx;
  raster.getContext('2d').putImageData(img, 0, 0);
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  ctx.imageSmoothingEnabled = false;
  // Each frame at its own time: windows are not a whole number of frames
  // long, so across windows (and between the live view's updates) the
  // spacing changes, and one stretch of the whole raster drifted. A frame
  // covers the time nearer it than its neighbours (±hop/2 inside a run of
  // evenly spaced frames, which is drawn in one piece): no gap, no overlap.
  const cell = (i, side) => {
    const j = i + side;
    return j < 0 || j >= frames ? times[i] + (side * hop) / 2 : (times[i] + times[j]) / 2;
  };
  // At whole pixels: a piece's fractional edge is blended with the
  // background, a dark seam at every window join (as the taggram's cells).
  const put = (a, b, t0, t1) => {
    const [x0, x1] = [Math.round(xOf(t0)), Math.round(xOf(t1))];
    if (x1 > x0) ctx.drawImage(raster, a, 0, b - a + 1, rowsPx, x0, plot.y, x1 - x0, plot.h);
  };
  for (const [a, b] of evenRuns(times, hop)) {
    put(a, a, cell(a, -1), cell(a, 1));
    if (b - a > 1) put(a + 1, b - 1, cell(a, 1), cell(b, -1));
    if (b > a) put(b, b, cell(b, -1), cell(b, 1));
  }
  ctx.restore();

  // Frequency ticks and grid.
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  for (const f of yTicks) {
    const y = yOf(Math.log(f));
    ctx.beginPath();
    ctx.moveTo(plot.x - 4 * dpr, y);
    ctx.lineTo(plot.x + plot.w, y);
    ctx.stroke();
    write(fmtTick(f), plot.x - 6 * dpr, y, { align: 'right', baseline: 'middle', kind: 'freq' });
  }
  write(`${yLabel} (Hz)`, 10 * dpr, plot.y + plot.h / 2, { align: 'center', baseline: 'middle', rotate: true, kind: 'axis' });
  // Tempo axis: the same lines read as beats per minute.
  const bx = plot.x + plot.w;
  for (const b of bpmTicks) {
    const y = yOf(Math.log(b / 60));
    ctx.fillRect(bx, y - 0.5 * dpr, 4 * dpr, dpr);
    write(String(b), bx + 6 * dpr, y, { baseline: 'middle', kind: 'bpm' });
  }
  if (bpm) write('BPM', bx + 6 * dpr, 4 * dpr, { kind: 'unit' });

  const bar = colourBar(ctx, write, { x: bx + bpmW + 8 * dpr, plot, lo: bottom, hi: top, ticks: db.values, fmt: fmtSigned, unit: 'dB', dpr });
  timeAxis(ctx, write, { plot, span, xOf, dpr, start });
  write(fitText(write, title, bx - plot.x - 8 * dpr), plot.x, 4 * dpr, { kind: 'title' });

  const rowAtLog = (lf) => {
    if (lf < lo || lf > hi) return -1;
    let j = n - 1;
    while (j > 0 && lf < edges[j]) j--;
    return j;
  };
  return {
    plot,
    xOf,
    timeOf,
    yOfFreq: (f) => yOf(Math.log(f)),
    freqAt: (y) => Math.exp(hi - ((y - plot.y) / plot.h) * (hi - lo)),
    rowAt: (y) => rowAtLog(hi - ((y - plot.y) / plot.h) * (hi - lo)),
    // The frequencies row `j` is drawn over (Hz): its edges on the axis.
    rowRange: (j) => [Math.exp(edges[j]), Math.exp(edges[j + 1])],
    frameAt: (t) => nearestFrame(times, t),
    rows: valid,
    yTicks,
    bpmTicks,
    colourBar: bar,
    labels,
  };
}

/**
 * The taggram: one row per tag (in `order`, e.g. by clip score), one column
 * per `columns` entry spanning [from, to) seconds with `scores` in tag
 * order, colour = score in [0, 1]. `tags` are the names. The canvas is as
 * tall as its rows need. Returns the layout, as drawHeatmap does, with
 * rowAt(y) → index into `order` and columnAt(t) → index into `columns`.
 */
export function drawTaggram(canvas, { tags, order, columns, duration, title }) {
  const dpr = Math.min(globalThis.devicePixelRatio || 1, 2);
  const cssW = canvas.clientWidth || canvas.width;
  const rowCss = 13;
  const mt = 18 * dpr;
  const mb = 34 * dpr;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(mt + mb + rowCss * dpr * order.length);
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const labels = [];
  const write = writer(ctx, labels);
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, W, H);
  ctx.font = `${Math.min(11, rowCss - 2) * dpr}px system-ui, sans-serif`;
  const scoreTicks = [0, 0.25, 0.5, 0.75, 1];
  const fmtScore = (v) => String(v);
  const ml = Math.max(0, ...order.map((k) => write.width(tags[k]))) + 10 * dpr;
  const barW = colourBarWidth(write, scoreTicks.map(fmtScore), 'score', dpr);
  const plot = { x: ml, y: mt, w: Math.max(10, W - ml - barW), h: Math.max(10, H - mt - mb) };
  const span = Math.max(duration, 1e-3);
  const xOf = (t) => plot.x + (t / span) * plot.w;
  const timeOf = (x) => ((x - plot.x) / plot.w) * span;
  const rowH = plot.h / Math.max(1, order.length);
  order.forEach((tag, k) => {
    const y = plot.y + k * rowH;
    for (const col of columns) {
      const x0 = xOf(Math.max(0, col.from));
      const x1 = xOf(Math.min(span, col.to));
      const c = Math.max(0, Math.min(255, Math.round(col.scores[tag] * 255)));
      ctx.fillStyle = `rgb(${LUT[3 * c]},${LUT[3 * c + 1]},${LUT[3 * c + 2]})`;
      // Rounded out to whole pixels so neighbouring cells leave no seams.
      ctx.fillRect(Math.floor(x0), Math.floor(y), Math.ceil(x1) - Math.floor(x0), Math.ceil(y + rowH) - Math.floor(y));
    }
    ctx.fillStyle = FG;
    write(tags[tag], plot.x - 6 * dpr, y + rowH / 2, { align: 'right', baseline: 'middle', kind: 'tag' });
  });
  const bar = colourBar(ctx, write, { x: plot.x + plot.w + 8 * dpr, plot, lo: 0, hi: 1, ticks: scoreTicks, fmt: fmtScore, unit: 'score', dpr });
  timeAxis(ctx, write, { plot, span, xOf, dpr });
  write(fitText(write, title, plot.w - 8 * dpr), plot.x, 4 * dpr, { kind: 'title' });
  return {
    plot,
    xOf,
    timeOf,
    rowAt: (y) => {
      const k = Math.floor((y - plot.y) / rowH);
      return k >= 0 && k < order.length ? k : -1;
    },
    // The last column owns its end (the playhead at the very end of the audio).
    columnAt: (t) => columns.findIndex((c, i) => t >= c.from && (t < c.to || i === columns.length - 1)),
    columns,
    order,
    tags,
    colourBar: bar,
    labels,
  };
}
