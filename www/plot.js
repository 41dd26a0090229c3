// Heat maps with a log-frequency y axis and a time x axis, and the taggram
// (tags × analysis windows), on a <canvas>.

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
const LUT = (() => {
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

function percentile(sorted, q) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))];
}

function fmtTick(hz) {
  if (hz >= 1000) return `${hz / 1000}k`;
  return `${hz}`;
}

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

/**
 * Draw `rows` ({freq, values: Float32Array(frames)}) as a heat map of
 * 20·log10(value) on a log-frequency axis. `times` are the frame centres (s),
 * `hop` the frame step (s), `duration` the audio length (s).
 * Returns the layout: {plot: {x, y, w, h}, xOf(t), timeOf(x)} in canvas pixels.
 */
export function drawHeatmap(canvas, { rows, times, hop, duration, yLabel, title }) {
  const dpr = fit(canvas);
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const m = { l: 62 * dpr, r: 10 * dpr, t: 8 * dpr, b: 30 * dpr };
  const plot = { x: m.l, y: m.t, w: Math.max(10, W - m.l - m.r), h: Math.max(10, H - m.t - m.b) };
  const span = Math.max(duration, times.length ? times[times.length - 1] + hop / 2 : 0, 1e-3);
  const xOf = (t) => plot.x + (t / span) * plot.w;
  const timeOf = (x) => ((x - plot.x) / plot.w) * span;
  const layout = { plot, xOf, timeOf };

  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, W, H);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = FG;

  const valid = rows.filter((r) => r.freq > 0).sort((a, b) => a.freq - b.freq);
  if (!valid.length || !times.length) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('no coefficients to show', W / 2, H / 2);
    return layout;
  }

  // Log-frequency band edges: midway (geometrically) between centres.
  const logs = valid.map((r) => Math.log(r.freq));
  const edges = [];
  const n = logs.length;
  const step0 = n > 1 ? logs[1] - logs[0] : 0.1;
  const stepN = n > 1 ? logs[n - 1] - logs[n - 2] : 0.1;
  edges.push(logs[0] - step0 / 2);
  for (let i = 1; i < n; i++) edges.push((logs[i - 1] + logs[i]) / 2);
  edges.push(logs[n - 1] + stepN / 2);
  const lo = edges[0];
  const hi = edges[n];
  const yOf = (lf) => plot.y + plot.h * (1 - (lf - lo) / (hi - lo));

  // Colour scale in dB from the data's own percentiles.
  const frames = times.length;
  const sample = [];
  const stride = Math.max(1, Math.floor((n * frames) / 20000));
  let k = 0;
  for (const r of valid) {
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
  const range = Math.max(1e-6, top - bottom);

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
      const db = v > 0 && isFinite(v) ? 20 * Math.log10(v) : bottom;
      const c = Math.max(0, Math.min(255, Math.round(((db - bottom) / range) * 255)));
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
  const x0 = xOf(times[0] - hop / 2);
  const x1 = xOf(times[frames - 1] + hop / 2);
  ctx.drawImage(raster, x0, plot.y, x1 - x0, plot.h);
  ctx.restore();

  // Frequency ticks (1-2-5 series inside the range).
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const fLo = Math.exp(lo);
  const fHi = Math.exp(hi);
  let ticks = [];
  for (let e = Math.floor(Math.log10(fLo)) - 1; e <= Math.ceil(Math.log10(fHi)); e++) {
    for (const mlt of [1, 2, 5]) {
      const f = Number((mlt * 10 ** e).toPrecision(3));
      if (f >= fLo && f <= fHi) ticks.push(f);
    }
  }
  if (ticks.length > Math.max(3, plot.h / (22 * dpr))) ticks = ticks.filter((f) => /^[1]/.test(String(f)) || /^[5]/.test(String(f)));
  for (const f of ticks) {
    const y = yOf(Math.log(f));
    ctx.beginPath();
    ctx.moveTo(plot.x - 4 * dpr, y);
    ctx.lineTo(plot.x + plot.w, y);
    ctx.stroke();
    ctx.fillText(fmtTick(f), plot.x - 6 * dpr, y);
  }
  // Axis names.
  ctx.save();
  ctx.translate(12 * dpr, plot.y + plot.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(`${yLabel} (Hz)`, 0, 0);
  ctx.restore();

  timeAxis(ctx, { plot, span, xOf, dpr, right: W - m.r });
  ctx.textAlign = 'left';
  ctx.fillText(`${title} · colour: ${range.toFixed(0)} dB range`, plot.x, plot.y + plot.h + 18 * dpr);
  return layout;
}

/** Time ticks and the axis name under a plot spanning `span` seconds. */
function timeAxis(ctx, { plot, span, xOf, dpr, right }) {
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.fillStyle = FG;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const maxTicks = Math.max(2, Math.floor(plot.w / (70 * dpr)));
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const dt = steps.find((s) => span / s <= maxTicks) || 3600;
  for (let t = 0; t <= span + 1e-9; t += dt) {
    const x = xOf(t);
    ctx.beginPath();
    ctx.moveTo(x, plot.y + plot.h);
    ctx.lineTo(x, plot.y + plot.h + 4 * dpr);
    ctx.stroke();
    const label = span >= 120 ? `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, '0')}` : `${+t.toFixed(1)}`;
    ctx.fillText(label, x, plot.y + plot.h + 6 * dpr);
  }
  ctx.textAlign = 'right';
  ctx.fillText(span >= 120 ? 'time (min:s)' : 'time (s)', right, plot.y + plot.h + 18 * dpr);
}

/**
 * The taggram: one row per tag (in `order`, e.g. by clip score), one column
 * per analysis window spanning [from, to) seconds, colour = score in [0, 1].
 * `tags` are the names, `windows` [{from, to, scores}] with scores in tag
 * order. The canvas is as tall as its rows need. Returns the layout, as
 * drawHeatmap does.
 */
export function drawTaggram(canvas, { tags, order, windows, duration }) {
  const dpr = Math.min(globalThis.devicePixelRatio || 1, 2);
  const cssW = canvas.clientWidth || canvas.width;
  const rowCss = 13;
  const m = { l: 100 * dpr, r: 10 * dpr, t: 6 * dpr, b: 32 * dpr };
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(m.t + m.b + rowCss * dpr * order.length);
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const plot = { x: m.l, y: m.t, w: Math.max(10, W - m.l - m.r), h: Math.max(10, H - m.t - m.b) };
  const span = Math.max(duration, 1e-3);
  const xOf = (t) => plot.x + (t / span) * plot.w;
  const timeOf = (x) => ((x - plot.x) / plot.w) * span;
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, W, H);
  const rowH = plot.h / Math.max(1, order.length);
  ctx.font = `${Math.min(11, rowCss - 2) * dpr}px system-ui, sans-serif`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  order.forEach((tag, k) => {
    const y = plot.y + k * rowH;
    for (const w of windows) {
      const x0 = xOf(Math.max(0, w.from));
      const x1 = xOf(Math.min(span, w.to));
      const c = Math.max(0, Math.min(255, Math.round(w.scores[tag] * 255)));
      ctx.fillStyle = `rgb(${LUT[3 * c]},${LUT[3 * c + 1]},${LUT[3 * c + 2]})`;
      // Rounded out to whole pixels so neighbouring cells leave no seams.
      ctx.fillRect(Math.floor(x0), Math.floor(y), Math.ceil(x1) - Math.floor(x0), Math.ceil(y + rowH) - Math.floor(y));
    }
    ctx.fillStyle = FG;
    ctx.fillText(tags[tag], plot.x - 6 * dpr, y + rowH / 2);
  });
  timeAxis(ctx, { plot, span, xOf, dpr, right: W - m.r });
  ctx.textAlign = 'left';
  ctx.fillText('tags by score · colour: score 0 → 1', plot.x, plot.y + plot.h + 18 * dpr);
  return { plot, xOf, timeOf };
}
