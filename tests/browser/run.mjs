// Browser tests of the page, in Debian's Chromium driven by playwright-core.
// The runner and the page's main tests (~800 lines); the other groups are
// modules beside it (audio, backend, mic, modelfile, network, package, page-a11y, pictures, weight).
//   node tests/browser/run.mjs [name filter ...]   (the tests whose names hold any of them)
//   (after: www/build.sh, .ci/setup.sh npm chromium, and the native
//    `scatterbrain` binary: cargo build --release -p scatterbrain-trainer)
// Makes a small randomly initialised model in the real file format with the
// native CLI (`scatterbrain model init`), serves it to the page through
// www/server.mjs on a free port, generates its audio itself, prints one line
// per test and a final 'N passed, N failed'; exits non-zero on failure.
// Tests run in two lanes at once (SCATTERBRAIN_BROWSER_LANES=1: one by one;
// see the runner at the end), so their lines come in the order they end.
// The page's scores are compared with the native CLI's (`scatterbrain tag`).
// Saves a screenshot of the results page to tests/browser/results.png.
import { createRequire } from 'node:module';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../www/server.mjs';
import { WASM_URL } from '../../www/constants.js';
import { estimateSeconds } from '../../www/package/sniff.js';
import { wav, melody, tone, noise } from './audio.mjs';
import { weightTests } from './weight.mjs';
import { pictureTests } from './pictures.mjs';
import { backendTests } from './backend.mjs';
import { pageA11yTests } from './page-a11y.mjs';
import { micTests } from './mic.mjs';
import { inputTests } from './inputs.mjs';
import { statusTests } from './status.mjs';
import { openRequests, quiet, watchNetwork } from './network.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'www', 'package.json'));
const { chromium } = require('playwright-core');

const SCREENSHOT = path.join(here, 'results.png');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

if (!existsSync(path.join(root, 'www', 'package', 'pkg', 'scatterbrain_bg.wasm'))) {
  console.error('www/package/pkg is missing: run www/build.sh first');
  process.exit(2);
}

// ------------------------------------------------------------------ native CLI and test model
const TMP = mkdtempSync(path.join(os.tmpdir(), 'scatterbrain-browser-'));
// Small, so WebGPU on SwiftShader stays quick; two layers exercise the stack.
const MODEL_NAME = 'scat-2l-32h-gru';
const MODEL_FILE = path.join(TMP, `${MODEL_NAME}.bpk`);
// Scores of the page and of the native CLI, and of WebGPU and the CPU, agree this closely.
const SCORE_TOL = 1e-4;

/** The native `scatterbrain` command: $SCATTERBRAIN_CLI, else the newest cargo build. */
function findCli() {
  if (process.env.SCATTERBRAIN_CLI) return process.env.SCATTERBRAIN_CLI;
  const target = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'scatterbrain', 'target');
  const builds = ['ci', 'release', 'debug']
    .map((p) => path.join(target, p, 'scatterbrain'))
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return builds[0] || null;
}
const CLI = findCli();
let modelError = null;
if (!CLI) modelError = 'the native scatterbrain command is not built (cargo build --release -p scatterbrain-trainer, or set SCATTERBRAIN_CLI)';
else {
  try {
    execFileSync(CLI, ['model', 'init', MODEL_NAME, '--seed', '1', '--out', MODEL_FILE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    modelError = `${CLI} model init failed: ${(e.stderr || e.message).toString().trim()}`;
  }
}

/** Fail (not skip) a test that needs the model when it could not be made. */
function needModel() {
  if (modelError) throw new Failure(modelError);
}

/**
 * Run the native CLI; resolves to its standard output. Asynchronous, as every
 * command a test runs: the pages' servers and Playwright live on this
 * process's event loop, and a command that holds it (the 1-hour file's
 * `scatter` takes tens of seconds) would stall the other lane's pages and
 * fire its timeouts (execFileSync is only for the model made before any test).
 */
const execFileAsync = promisify(execFile);
async function cli(args) {
  return (await execFileAsync(CLI, args, { maxBuffer: 1 << 26 })).stdout;
}

/** `scatterbrain scatter --out` of `file`: {rows, frames, row(r)} of the raw coefficients (the .npy is stored frame by frame). */
async function cliScatter(file) {
  const out = path.join(TMP, 'scatter.npy');
  await cli(['scatter', file, '--out', out]);
  const bytes = readFileSync(out);
  const headerLen = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLen).toString();
  const [rows, frames] = header.match(/'shape': \((\d+), (\d+)\)/).slice(1).map(Number);
  check(/'descr': '<f4'/.test(header) && /'fortran_order': True/.test(header), `unexpected .npy header ${header}`);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLen, bytes.byteOffset + bytes.length));
  return { rows, frames, row: (r) => Array.from({ length: frames }, (_, f) => data[f * rows + r]) };
}

/** The native CLI's tags of an audio file with the test model (or `modelFile`). */
async function nativeTags(file, modelFile = MODEL_FILE) {
  const doc = JSON.parse(await cli(['tag', file, '--model', modelFile, '--json', '--top', '50']));
  const f = doc.files[0];
  check(!f.error, `native tag failed: ${f.error}`);
  // `top`: the CLI's ranked rows ({tag, score, uncertain, also?}), every tag in one.
  return { tags: doc.tags, clip: f.scores, windows: f.windows, top: f.top };
}

// ------------------------------------------------------------------ harness
const tests = [];
const test = (name, fn, opts = {}) => tests.push({ name, fn, ...opts });
class Failure extends Error {}
function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}

// ------------------------------------------------------------------ helpers

/** Drop a file on the drop zone with a real drop event carrying a File. */
async function dropFile(page, name, bytes, type) {
  const b64 = Buffer.from(bytes).toString('base64');
  await page.evaluate(
    ({ name, b64, type }) => {
      const bin = atob(b64);
      const arr = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([arr], name, { type }));
      const target = document.getElementById('drop');
      for (const t of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(t, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    },
    { name, b64, type },
  );
}

/**
 * Wait until the page has started: loaded, its model in (or none), and its
 * service worker installed, whose first install fetches the page's ~30 files
 * once the model is ready (www/page/downloads.js); a count of requests during
 * a job starts after this.
 */
async function started(page) {
  await page.waitForFunction(() => document.body.dataset.offline && document.body.dataset.offline !== 'pending', null, { timeout: 120_000 });
  await quiet(page);
}

/**
 * The player of a cut file (`name`, for the message): it would state the
 * header's length (and stall past the cut); it plays what was read, as long
 * as the pictures.
 */
async function playerPlaysWhatWasRead(page, name) {
  const [player, analysed] = await page.evaluate(async () => {
    const p = document.getElementById('player');
    if (p.readyState < 1) await new Promise((resolve) => p.addEventListener('loadedmetadata', resolve, { once: true }));
    return [p.duration, globalThis.scatterbrain.result.duration];
  });
  check(Math.abs(player - analysed) < 0.01, `a cut ${name}: the player states ${player} s, the analysed audio is ${analysed} s`);
}

/** Wait until the page has finished (done, error or cancelled); returns the state. */
async function settled(page, timeout = 120_000) {
  // 'recording': between Stop and the recorder's last data nothing is busy, yet the recording's analysis is to come.
  await page.waitForFunction(() => document.body.dataset.busy === '0' && document.body.dataset.state && document.body.dataset.state !== 'recording', null, {
    timeout,
  });
  // A file whose tags failed while the pictures came is not "done" for a
  // test (the page says why in the tags panel, not in #error).
  return page.evaluate(() => {
    const state = document.body.dataset.state;
    const tagError = globalThis.scatterbrain?.result?.tagError;
    return state === 'done' && tagError ? `done, but the tags failed: ${tagError}` : state;
  });
}

async function resetState(page) {
  await page.evaluate(() => delete document.body.dataset.state);
}

/** Pixel statistics of a canvas's plot area. */
function canvasStats(page, id) {
  return page.evaluate((id) => {
    const c = document.getElementById(id);
    const ctx = c.getContext('2d');
    // The plot area lies inside the axis margins.
    const x0 = Math.floor(c.width * 0.1);
    const y0 = Math.floor(c.height * 0.05);
    const w = Math.floor(c.width * 0.85);
    const h = Math.floor(c.height * 0.7);
    const d = ctx.getImageData(x0, y0, w, h).data;
    const colours = new Set();
    let sum = 0;
    let sum2 = 0;
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      const l = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
      sum += l;
      sum2 += l * l;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    const mean = sum / n;
    return { colours: colours.size, mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
  }, id);
}

/** Frequency of the strongest first-order band in a time range of the result. */
function peakBand(page, t0, t1) {
  return page.evaluate(
    ({ t0, t1 }) => {
      const r = globalThis.scatterbrain.result.scatter;
      let best = null;
      let bestE = -1;
      r.paths.forEach((p, i) => {
        if (p.order !== 1) return;
        let e = 0;
        for (let f = 0; f < r.frames; f++) {
          if (r.times[f] >= t0 && r.times[f] <= t1) e += r.data[i * r.frames + f];
        }
        if (e > bestE) {
          bestE = e;
          best = p.freq1_hz;
        }
      });
      return best;
    },
    { t0, t1 },
  );
}

/** The page's tags of the shown result (plain arrays), or null. */
function pageTags(page) {
  return page.evaluate(() => {
    const t = globalThis.scatterbrain.result.tags;
    if (!t) return null;
    return {
      backend: t.backend,
      fallback: t.fallback,
      tags: Array.from(t.tags),
      clip: Array.from(t.clip),
      windows: t.windows.map((w) => ({ start_s: w.start_s, end_s: w.end_s, scores: Array.from(w.scores) })),
    };
  });
}

function maxDiff(a, b) {
  check(a.length === b.length, `lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Clip and per-window scores of `a` and `b` agree within SCORE_TOL; returns the largest difference. */
function sameScores(a, b, what) {
  check(a.clip.length === 50 && b.clip.length === 50, `${what}: ${a.clip.length} and ${b.clip.length} clip scores, expected 50`);
  check(a.windows.length === b.windows.length, `${what}: ${a.windows.length} vs ${b.windows.length} windows`);
  let worst = maxDiff(a.clip, b.clip);
  a.windows.forEach((w, i) => {
    const v = b.windows[i];
    check(Math.abs(w.start_s - v.start_s) < 1e-6, `${what}: window ${i} starts at ${w.start_s} vs ${v.start_s} s`);
    worst = Math.max(worst, maxDiff(w.scores, v.scores));
  });
  check(worst <= SCORE_TOL, `${what}: scores differ by ${worst.toExponential(2)} > ${SCORE_TOL}`);
  return worst;
}

async function chooseBackend(page, value) {
  await page.check(`#backend-${value}`);
}

const errorText = (page) => page.evaluate(() => (document.getElementById('error').hidden ? '' : document.getElementById('error').textContent));

// ------------------------------------------------------------------ tests
const RATE = 44100;
// 1 kHz for 0–4 s, 250 Hz for 4–8 s, then a melody: a known picture.
const good = wav(
  [...tone(1000, 4, RATE, 0.5), ...tone(250, 4, RATE, 0.5), ...melody(6, RATE)].map((v, i) => v + 0.01 * noise(i)),
  RATE,
  2,
);

test('page loads with WASM SIMD, isolation and a strict CSP, no console errors', async ({ page, url, consoleErrors }) => {
  const resp = await page.goto(url);
  const headers = resp.headers();
  check(/default-src 'self'/.test(headers['content-security-policy'] || ''), 'no CSP header');
  check(/connect-src 'self'/.test(headers['content-security-policy']), 'CSP lacks connect-src self');
  check(headers['cross-origin-embedder-policy'] === 'require-corp', 'no COEP');
  check(headers['cross-origin-opener-policy'] === 'same-origin', 'no COOP');
  await page.waitForFunction(() => document.getElementById('env').textContent.length > 0);
  const env = await page.evaluate(() => ({ ...globalThis.scatterbrain.env, isolated: crossOriginIsolated }));
  check(env.simd, 'page reports no WASM SIMD');
  check(env.isolated, 'page is not cross-origin isolated');
  const wasm = await page.request.get(new URL(WASM_URL, url).href);
  check(wasm.headers()['content-type'] === 'application/wasm', `wasm MIME ${wasm.headers()['content-type']}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
});

test('dropped WAV → scattergram drawn, right bands, zero network requests', async ({ page, url, requests }) => {
  await page.goto(url);
  await page.waitForFunction(() => globalThis.scatterbrain);
  // Let the page finish starting (WASM compiled, worker started, files cached) before the drop.
  await started(page);
  requests.length = 0;
  await dropFile(page, 'test tones.wav', good, 'audio/wav');
  const state = await settled(page);
  check(state === 'done', `state ${state}: ${await errorText(page)}`);
  // blob: URLs (the player's source) are in-memory, not network requests.
  const network = requests.filter((r) => !/^GET (blob|data):/.test(r));
  check(network.length === 0, `network requests during analysis: ${network.join(', ')}`);
  const r = await page.evaluate(() => {
    const s = globalThis.scatterbrain.result;
    return { rows: s.scatter.rows, frames: s.scatter.frames, rate: s.sampleRate, sniffed: s.sniffedRate, ch: s.channels };
  });
  check(r.rate === RATE && r.sniffed === RATE, `decoded at ${r.rate} Hz (header ${r.sniffed}), expected the file's ${RATE}`);
  check(r.ch === 2, `channels ${r.ch}`);
  check(r.rows > 100 && r.frames >= 50, `shape ${r.rows}×${r.frames}`);
  const f1 = await peakBand(page, 0.5, 3.5);
  const f2 = await peakBand(page, 4.5, 7.5);
  check(Math.abs(Math.log2(f1 / 1000)) < 0.2, `strongest band in 0–4 s is ${f1} Hz, expected ~1000`);
  check(Math.abs(Math.log2(f2 / 250)) < 0.2, `strongest band in 4–8 s is ${f2} Hz, expected ~250`);
  for (const id of ['s1', 's2']) {
    const st = await canvasStats(page, id);
    check(st.colours > 30 && st.std > 8, `${id} canvas looks blank: ${JSON.stringify(st)}`);
  }
  // Tags from the test model: ten bars with names and scores, and a taggram.
  needModel();
  const bars = await page.$$eval('#tags li', (lis) => lis.map((li) => [li.querySelector('.tag').textContent, Number(li.querySelector('.score').textContent)]));
  check(bars.length === 10, `${bars.length} tag bars, expected 10`);
  check(bars.every(([t, v]) => t.length > 0 && v >= 0 && v <= 1), `bad tag bars ${JSON.stringify(bars)}`);
  check(bars.every((b, i) => i === 0 || bars[i - 1][1] >= b[1]), 'tag bars are not sorted by score');
  check(/untrained/i.test(await page.textContent('#tags-note')), 'no note that the model is untrained');
  // Playhead follows the player.
  await page.evaluate(() => {
    const p = document.getElementById('player');
    p.currentTime = 6;
    p.dispatchEvent(new Event('seeked'));
  });
  await page.waitForFunction(() => document.querySelector('#s1 + .playhead').style.display === 'block');
  const left = await page.evaluate(() => parseFloat(document.querySelector('#s1 + .playhead').style.left));
  check(left > 40 && left < 50, `playhead at ${left}% for 6 s of 14 s`);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test('JSON download holds the tags, the taggram and the coefficients', async ({ page, url }) => {
  needModel();
  await page.goto(url);
  await quiet(page);
  await dropFile(page, 'tones.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = await download.path();
  const json = JSON.parse(await (await import('node:fs/promises')).readFile(file, 'utf8'));
  check(json.scattering.data.length === json.scattering.rows, 'row count');
  check(json.scattering.data[0].length === json.scattering.frames, 'frame count');
  check(json.scattering.paths.length === json.scattering.rows, 'paths');
  check(json.model && json.model.name === MODEL_NAME && json.model.trained === false, `model ${JSON.stringify(json.model)}`);
  check(['webgpu', 'cpu'].includes(json.backend), `backend ${json.backend}`);
  // The CLI's rows: 47, the three spelling pairs' second tags under `also`; every tag once.
  const all = (json.tags || []).flatMap((t) => [t, ...(t.also || [])]);
  check(Array.isArray(json.tags) && json.tags.length === 47 && new Set(all.map((t) => t.tag)).size === 50, `tags: ${json.tags?.length} rows, ${all.length} tags`);
  check(json.tags.every((t, i) => typeof t.tag === 'string' && t.score >= 0 && t.score <= 1 && (i === 0 || json.tags[i - 1].score >= t.score)), 'rows not sorted, or scores outside [0, 1]');
  check(json.tags.every((t) => (t.also || []).every((a) => a.score <= t.score)), 'a variant above its row');
  const shown = await pageTags(page);
  for (const t of all) check(Math.abs(t.score - shown.clip[shown.tags.indexOf(t.tag)]) < 1e-6, `JSON score of ${t.tag} differs from the page's`);
  check(json.taggram.tags.length === 50 && json.taggram.windows.length === 1 && json.taggram.windows[0].scores.length === 50, 'taggram shape');
});

// ------------------------------------------------------------------ tags
// 45 s: two analysis windows, the second end-aligned and overlapping the first.
const long45 = wav(
  [...tone(440, 10, RATE, 0.4), ...melody(25, RATE), ...tone(3000, 10, RATE, 0.3)].map((v, i) => v + 0.02 * noise(i)),
  RATE,
  1,
);

test('tags on WebGPU and on forced CPU agree, equal the native CLI, with zero requests', async ({ page, url, requests }) => {
  needModel();
  await page.goto(url);
  await quiet(page);
  await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
  await started(page);
  const gpu = await page.evaluate(() => ({ ...globalThis.scatterbrain.gpu, backend: globalThis.scatterbrain.backend }));
  check(gpu.available, `WebGPU not offered: ${JSON.stringify(gpu)}`);
  // Chosen: on a software adapter (SwiftShader) the CPU is the default (backend.mjs).
  // Choosing it downloads the WebGPU build (the page's own code, once); the
  // count starts when it has started, before any audio is given.
  await chooseBackend(page, 'webgpu');
  await page.waitForFunction(() => document.body.dataset.webgpu === 'ready', null, { timeout: 120_000 });
  requests.length = 0;

  // WebGPU.
  await dropFile(page, 'song.wav', long45, 'audio/wav');
  let state = await settled(page, 300_000);
  check(state === 'done', `WebGPU: ${state}: ${await errorText(page)}`);
  const onGpu = await pageTags(page);
  const timings = (page) => page.evaluate(() => ({ ...globalThis.scatterbrain.result.timings }));
  const gpuMs = await timings(page);
  check(onGpu.backend === 'webgpu' && !onGpu.fallback, `ran on ${onGpu.backend} (${onGpu.fallback})`);
  check(onGpu.windows.length === 2, `${onGpu.windows.length} windows for 45 s, expected 2`);
  check(/WebGPU/.test(await page.textContent('#backend-used')), 'page does not say WebGPU ran');
  check(/WebGPU/.test(await page.textContent('#timings')), 'timings do not name WebGPU');
  const tg = await canvasStats(page, 'taggram');
  check(tg.colours > 10 && tg.std > 3, `taggram canvas looks blank: ${JSON.stringify(tg)}`);

  // Forced CPU, the whole path again.
  await resetState(page);
  await chooseBackend(page, 'cpu');
  state = await settled(page, 300_000); // the switch re-tags the shown file
  check(state === 'done', `switch to CPU: ${state}: ${await errorText(page)}`);
  check((await pageTags(page)).backend === 'cpu', 'the switch to the CPU did not re-tag');
  await resetState(page);
  await dropFile(page, 'song.wav', long45, 'audio/wav');
  state = await settled(page, 300_000);
  check(state === 'done', `CPU: ${state}: ${await errorText(page)}`);
  const onCpu = await pageTags(page);
  const cpuMs = await timings(page);
  check(onCpu.backend === 'cpu', `forced CPU ran on ${onCpu.backend}`);
  check(/CPU/.test(await page.textContent('#backend-used')), 'page does not say the CPU ran');
  const dGpu = sameScores(onGpu, onCpu, 'WebGPU vs CPU');
  // The test model's scores depend on the audio (its two windows hear
  // different music) far beyond the tolerance, so agreement means something.
  const between = maxDiff(onCpu.windows[0].scores, onCpu.windows[1].scores);
  check(between > 100 * SCORE_TOL, `the two windows score within ${between.toExponential(1)}: the model barely hears its input`);

  // Switching back re-tags the same audio on WebGPU.
  await resetState(page);
  await chooseBackend(page, 'webgpu');
  state = await settled(page, 300_000);
  check(state === 'done', `switch to WebGPU: ${state}: ${await errorText(page)}`);
  const again = await pageTags(page);
  check(again.backend === 'webgpu', `after the switch: ${again.backend}`);
  sameScores(onGpu, again, 'WebGPU twice');

  const network = requests.filter((r) => !/^GET (blob|data):/.test(r));
  check(network.length === 0, `network requests while tagging: ${network.join(', ')}`);

  // The native CLI on the same file and model.
  const file = path.join(TMP, 'song.wav');
  writeFileSync(file, long45);
  const native = await nativeTags(file);
  check(JSON.stringify(native.tags) === JSON.stringify(onCpu.tags), 'native and page tag lists differ');
  const dCpu = sameScores(onCpu, native, 'page CPU vs native');
  const dNative = sameScores(onGpu, native, 'page WebGPU vs native');
  console.log(`     (max |Δscore|: WebGPU–CPU ${dGpu.toExponential(1)}, CPU–native ${dCpu.toExponential(1)}, WebGPU–native ${dNative.toExponential(1)})`);
  const ms = (v) => (v == null ? '–' : `${v.toFixed(0)} ms`);
  console.log(
    `     (45 s, ${MODEL_NAME}: scattering ${ms(cpuMs.transform)}, model input ${ms(cpuMs.features)}, ` +
      `model on CPU ${ms(cpuMs.model)}, on WebGPU ${ms(gpuMs.model)} + start ${ms(gpuMs.webgpuInit)})`,
  );
});

test('without a model file the page says so and still shows the scattering', async ({ page }) => {
  const { server, url } = await startServer({ port: 0, quiet: true, model: false });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.model === 'absent', null, { timeout: 30_000 });
    check(/no model file is shipped/i.test(await page.textContent('#model-status')), 'model status does not say there is no model');
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    check(/no tagging model/i.test(await page.textContent('#tags')), 'tags panel does not say there is no model');
    check((await page.$$('#tags li')).length === 0, 'tags shown without a model');
    const st = await canvasStats(page, 's1');
    check(st.colours > 30 && st.std > 8, 'scattergram blank without a model');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const json = JSON.parse(readFileSync(await download.path(), 'utf8'));
    check(json.tags === null && json.model === null, 'JSON tags must be null without a model');
  } finally {
    server.close();
  }
}, { consoleOk: /the server responded with a status of 404/ }); // the missing model file's request

test('a damaged model file gets a plain message; the scattering still works', async ({ page }) => {
  needModel();
  const bytes = readFileSync(MODEL_FILE);
  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 100] ^= 0xff; // a bit flip in the last tensor
  const file = path.join(TMP, 'damaged.bpk');
  writeFileSync(file, damaged);
  const { server, url } = await startServer({ port: 0, quiet: true, model: file });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.model === 'error', null, { timeout: 30_000 });
    const status = await page.textContent('#model-status');
    check(/could not be loaded/i.test(status) && /corrupt|checksum/i.test(status), `model status was “${status}”`);
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    check((await page.$$('#tags li')).length === 0, 'tags shown from a damaged model');
    const st = await canvasStats(page, 's1');
    check(st.colours > 30, 'scattergram blank with a damaged model');
  } finally {
    server.close();
  }
});

// The smaller storage precisions: fp16, and int8 (per-channel scales, what the page ships) are
// dequantised by the WASM exactly as natively, so page and CLI give the same scores.
for (const [precision, maxRatio] of [['f16', 0.65], ['int8', 0.4]]) {
  test(`an ${precision} model file (${precision === 'f16' ? 'half' : 'a quarter of'} the size) gives the native CLI's scores`, async ({ page }) => {
    needModel();
    const file = path.join(TMP, `${precision}.bpk`);
    await cli(['model', 'init', MODEL_NAME, '--seed', '1', '--precision', precision, '--out', file]);
    const ratio = statSync(file).size / statSync(MODEL_FILE).size;
    check(ratio < maxRatio, `${precision} file is ${(ratio * 100).toFixed(0)}% of the fp32 one`);
    const { server, url } = await startServer({ port: 0, quiet: true, model: file });
    try {
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
      const status = await page.textContent('#model-status');
      // Its size as read: a small file in kB (a 14 kB model read "0.0 MB").
      const kb = Math.round(statSync(file).size / 1e3);
      const size = statSync(file).size < 1e5 ? `${kb} kB` : `${(statSync(file).size / 1e6).toFixed(1)} MB`;
      check(new RegExp(`\\(${precision}, ${size}\\)`).test(status), `model status “${status}”, expected (${precision}, ${size})`);
      await quiet(page);
      await dropFile(page, 'good.wav', good, 'audio/wav');
      check((await settled(page, 300_000)) === 'done', await errorText(page));
      const wavFile = path.join(TMP, 'good.wav');
      writeFileSync(wavFile, good);
      sameScores(await pageTags(page), await nativeTags(wavFile, file), `${precision}: page vs native`);
    } finally {
      server.close();
    }
  });
}

// Tags are data (issue 13): a model of its own 7 tags shows those names on the page, with the
// native CLI's scores, and none of MagnaTagATune's.
test('a model with its own 7 tags: the page shows its names with the native CLI\'s scores', async ({ page }) => {
  needModel();
  const names = ['lullaby', 'march', 'waltz', 'drone', 'choir', 'brass', 'hand clap'];
  const file = path.join(TMP, 'seven.bpk');
  await cli(['model', 'init', MODEL_NAME, '--seed', '3', '--tags', names.join(','), '--out', file]);
  const { server, url } = await startServer({ port: 0, quiet: true, model: file });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page, 300_000)) === 'done', await errorText(page));
    const got = await pageTags(page);
    check(JSON.stringify(got.tags) === JSON.stringify(names), `page tag names: ${JSON.stringify(got.tags)}`);
    const wavFile = path.join(TMP, 'good.wav');
    writeFileSync(wavFile, good);
    const native = await nativeTags(wavFile, file);
    check(JSON.stringify(native.tags) === JSON.stringify(names), `native tag names: ${JSON.stringify(native.tags)}`);
    const worst = maxDiff(got.clip, native.clip);
    check(worst <= SCORE_TOL, `7 tags: page vs native clip scores differ by ${worst.toExponential(2)}`);
    const shown = await page.textContent('#tags');
    check(names.some((n) => shown.includes(n)), `none of the model's names shown: ${shown}`);
    check(!/guitar|classical|techno|no vocals/.test(shown), `MagnaTagATune names shown for a 7-tag model: ${shown}`);
  } finally {
    server.close();
  }
});

test('a browser without WebGPU tags on the CPU and says so', async ({ page, url }) => {
  needModel();
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
  await quiet(page);
  check(await page.isDisabled('#backend-webgpu'), 'WebGPU can be chosen without WebGPU');
  check(/not available/i.test(await page.textContent('#webgpu-note')), 'no note that WebGPU is unavailable');
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  const t = await pageTags(page);
  check(t && t.backend === 'cpu', `ran on ${t && t.backend}`);
  check((await page.$$('#tags li')).length === 10, 'no tag bars');
});

// The decoder fixtures of tests/fixtures/audio (made with ffmpeg, see its README).
const FORMATS = [
  ['tone1k_44k_stereo.mp3', 'audio/mpeg', 44100, 2, 1000],
  ['tone500_48k_mono.flac', 'audio/flac', 48000, 1, 500],
  ['tone2k_22k.ogg', 'audio/ogg', 22050, 1, 2000],
  ['tone300_8k_6ch.wav', 'audio/wav', 8000, 6, 300],
];

test('MP3, FLAC, OGG/Vorbis and 6-channel WAV decode at their own rate and show their tone', async ({ page, url }) => {
  const { readFileSync } = await import('node:fs');
  await page.goto(url);
  await quiet(page);
  for (const [name, type, rate, channels, freq] of FORMATS) {
    await resetState(page);
    await dropFile(page, name, readFileSync(path.join(root, 'tests', 'fixtures', 'audio', name)), type);
    const state = await settled(page);
    check(state === 'done', `${name}: ${state}: ${await errorText(page)}`);
    const r = await page.evaluate(() => {
      const s = globalThis.scatterbrain.result;
      return { rate: s.sampleRate, sniffed: s.sniffedRate, ch: s.channels, dur: s.duration };
    });
    check(r.sniffed === rate && r.rate === rate, `${name}: decoded at ${r.rate} Hz, header ${r.sniffed}, expected ${rate}`);
    check(r.ch === channels, `${name}: ${r.ch} channels, expected ${channels}`);
    const f = await peakBand(page, 0.3, r.dur - 0.3);
    check(Math.abs(Math.log2(f / freq)) < 0.2, `${name}: strongest band ${f} Hz, expected ~${freq}`);
  }
});

// Issue 14: the page decoded with the browser's decoder, whose MP3 output
// differs from the CLI's (an 8 kHz MP3: scores 9.7e-4 apart). The core's
// decoder (symphonia, the CLI's) now runs in the worker.
test('files are decoded by the core, as the CLI decodes: MP3 (44.1 and 8 kHz), FLAC, Ogg, AIFF and WAV (6 and 20 channels) score as the CLI scores them', async ({ page, url, requests }) => {
  needModel();
  await page.goto(url);
  await quiet(page);
  await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
  const wide = wav(melody(4, 16000), 16000, 20); // symphonia refuses it; the core reads it with hound
  const files = [
    ...FORMATS.map(([name, type, rate, channels]) => [name, fixture(name), type, rate, channels]),
    ['tone440_8k.mp3', fixture('tone440_8k.mp3'), 'audio/mpeg', 8000, 1],
    // AIFF, which the core reads since 2026-12-07.
    ['tone250_22k.aiff', fixture('tone250_22k.aiff'), 'audio/aiff', 22050, 1],
    ['wide20.wav', wide, 'audio/wav', 16000, 20],
  ];
  await started(page);
  requests.length = 0;
  const worst = [];
  for (const [name, bytes, type, rate, channels] of files) {
    await resetState(page);
    await dropFile(page, name, bytes, type);
    check((await settled(page)) === 'done', `${name}: ${await errorText(page)}`);
    const r = await page.evaluate(() => {
      const s = globalThis.scatterbrain.result;
      return { by: s.decodedBy, rate: s.sampleRate, ch: s.channels, meta: document.getElementById('result-meta').textContent, timings: document.getElementById('timings').textContent };
    });
    check(r.by === 'core', `${name}: decoded by ${r.by}`);
    check(/Decode \(WASM, worker\)/.test(r.timings) && !/browser/.test(r.timings), `${name}: the timings say “${r.timings}”`);
    check(r.rate === rate && r.ch === channels, `${name}: ${r.rate} Hz × ${r.ch}, expected ${rate} × ${channels}`);
    check(!/by the browser/.test(r.meta), `${name}: the page says “${r.meta}”`);
    const file = path.join(TMP, name);
    writeFileSync(file, bytes);
    worst.push(`${name} ${sameScores(await pageTags(page), await nativeTags(file), `${name}: page vs native`).toExponential(1)}`);
  }
  const network = requests.filter((r) => !/^GET (blob|data):/.test(r));
  check(network.length === 0, `network requests while decoding and tagging: ${network.join(', ')}`);
  console.log(`     (max |Δscore| page–CLI: ${worst.join(', ')})`);
});

test('formats the page’s core does not read (Opus recorded by the browser; AAC in M4A, which only the CLI’s build reads) are decoded by the browser, and the page says so; ALAC, which this browser lacks too, gets the core’s reason', async ({ page, url }) => {
  await page.goto(url);
  await quiet(page);
  // Two seconds of a 440 Hz tone through MediaRecorder: WebM/Opus, which Chromium decodes and symphonia does not.
  const webm = await page.evaluate(async () => {
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    const osc = ctx.createOscillator();
    osc.frequency.value = 440;
    const dest = ctx.createMediaStreamDestination();
    osc.connect(dest);
    osc.start();
    const rec = new MediaRecorder(dest.stream, { mimeType: 'audio/webm;codecs=opus' });
    const parts = [];
    rec.ondataavailable = (e) => parts.push(e.data);
    const stopped = new Promise((r) => (rec.onstop = r));
    rec.start();
    await new Promise((r) => setTimeout(r, 2500));
    rec.stop();
    await stopped;
    osc.stop();
    await ctx.close();
    return Array.from(new Uint8Array(await new Blob(parts).arrayBuffer()));
  });
  await dropFile(page, 'memo.webm', Buffer.from(webm), 'audio/webm');
  check((await settled(page)) === 'done', `WebM/Opus: ${await errorText(page)}`);
  const r = await page.evaluate(() => ({ by: globalThis.scatterbrain.result.decodedBy, meta: document.getElementById('result-meta').textContent, timings: document.getElementById('timings').textContent }));
  check(r.by === 'browser', `WebM/Opus decoded by ${r.by}`);
  check(/Decode \(browser\)/.test(r.timings), `WebM/Opus: the timings say “${r.timings}”`);
  check(/by the browser/.test(r.meta), `the page does not say the browser decoded it: “${r.meta}”`);
  const f = await peakBand(page, 0.5, 1.8);
  check(Math.abs(Math.log2(f / 440)) < 0.2, `WebM/Opus: strongest band ${f} Hz, expected ~440`);
  await resetState(page);
  await dropFile(page, 'tone700_44k_stereo.m4a', fixture('tone700_44k_stereo.m4a'), 'audio/mp4');
  check((await settled(page)) === 'done', `AAC in M4A: ${await errorText(page)}`);
  const m = await page.evaluate(() => globalThis.scatterbrain.result.decodedBy);
  check(m === 'browser', `AAC in M4A: decoded by ${m}`);
  const g = await peakBand(page, 0.3, 1.7);
  check(Math.abs(Math.log2(g / 700)) < 0.2, `AAC in M4A: strongest band ${g} Hz, expected ~700`);
  // ALAC in M4A: this Chromium has no ALAC decoder either, so the page
  // says why in the core's words (the native CLI reads it), and stays usable.
  await resetState(page);
  await dropFile(page, 'tone1500_32k_alac.m4a', fixture('tone1500_32k_alac.m4a'), 'audio/mp4');
  check((await settled(page)) === 'error', 'ALAC in M4A: no error');
  const err = await errorText(page);
  check(/an MP4\/M4A, which this build does not read \(the native CLI does/.test(err), `ALAC in M4A: “${err}”`);
  await resetState(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', `after ALAC: ${await errorText(page)}`);
});

const badInputs = [
  ['not audio', 'notes.mp3', Buffer.from('This is a text file, not an MP3.\n'.repeat(50)), 'audio/mpeg', /could not be read as audio/],
  ['empty file', 'empty.wav', Buffer.alloc(0), 'audio/wav', /empty/],
  ['0.3 s file', 'short.wav', wav(tone(440, 0.3, RATE, 0.5), RATE, 1), 'audio/wav', /too short/],
  ['corrupt WAV', 'corrupt.wav', Buffer.concat([good.subarray(0, 12), Buffer.from('garbage'.repeat(100))]), 'audio/wav', /could not be read as audio/],
  // Mutants of real files, as the fuzz targets make (issue 14).
  ['FLAC cut inside its first frame', 'cut.flac', fixture('tone500_48k_mono.flac').subarray(0, 9000), 'audio/flac', /could not be read as audio|no audio samples|too short/],
  ['MP3, every frame header damaged', 'nosync.mp3', withoutFrameSync(fixture('tone1k_44k_stereo.mp3')), 'audio/mpeg', /could not be read as audio|no audio samples/],
  // Random bytes read as float samples (NaN, ±Inf, 3e38) reach the worker,
  // which reads them as silence: analysed, no error (null).
  ['float WAV of random bytes', 'random.wav', randomFloatWav(22050, 2, 2), 'audio/wav', null],
];

function fixture(name) {
  return readFileSync(path.join(root, 'tests', 'fixtures', 'audio', name));
}

/**
 * A CBR MP3 of about `seconds`: `mp3`'s audio frames repeated, behind its
 * Info frame (Xing, with a LAME tag) restated for the new length: frame and
 * byte counts, the LAME music length and the tag's CRC-16 (over the frame up
 * to it). For long files without an encoder at hand (ffmpeg is not a test dependency).
 */
function longMp3(mp3, seconds) {
  const info = mp3.indexOf('Info');
  const frames = mp3.readUInt32BE(info + 8);
  const frameBytes = mp3.length / (frames + 1); // CBR: the Info frame is one of them
  const audio = mp3.subarray(frameBytes);
  const repeats = Math.ceil((seconds * 8000) / 576 / frames); // MPEG 2.5 at 8 kHz: 576 samples a frame
  const out = Buffer.concat([mp3.subarray(0, frameBytes), ...Array(repeats).fill(audio)]);
  out.writeUInt32BE(frames * repeats, info + 8);
  out.writeUInt32BE(out.length, info + 12);
  const lame = out.indexOf('LAME');
  out.writeUInt32BE(out.length, lame + 28);
  let crc = 0;
  for (const x of out.subarray(0, lame + 34)) {
    crc ^= x;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  out.writeUInt16BE(crc, lame + 34);
  return out;
}

/** An MP3 whose frame sync words (0xFFE…) are all zeroed: an ID3 tag and no frame. */
function withoutFrameSync(mp3) {
  const b = Buffer.from(mp3);
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 0xff && (b[i + 1] & 0xe0) === 0xe0) b[i] = 0;
  return b;
}

/** A 32-bit float WAV whose data is random bytes (issue 14, item 1). */
function randomFloatWav(rate, channels, seconds) {
  const data = Buffer.from(Array.from({ length: rate * channels * 4 * seconds }, (_, i) => (noise(i) * 128 + 128) & 255));
  const h = Buffer.from(wav([], rate, channels).subarray(0, 44));
  h.writeUInt32LE(36 + data.length, 4);
  h.writeUInt16LE(3, 20); // WAVE_FORMAT_IEEE_FLOAT
  h.writeUInt32LE(rate * channels * 4, 28);
  h.writeUInt16LE(channels * 4, 32);
  h.writeUInt16LE(32, 34);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

test('bad inputs show their message, then a good file still works', async ({ page, url }) => {
  await page.goto(url);
  await quiet(page);
  for (const [what, name, bytes, type, expect] of badInputs) {
    await resetState(page);
    await dropFile(page, name, bytes, type);
    const state = await settled(page);
    const msg = await errorText(page);
    if (!expect) {
      check(state === 'done', `${what}: state ${state}: ${msg}`);
      continue;
    }
    check(state === 'error', `${what}: state ${state}`);
    check(expect.test(msg), `${what}: message was “${msg}”`);
  }
  await resetState(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', `good file after bad ones: ${await errorText(page)}`);
  check((await errorText(page)) === '', 'error still shown after a good file');
  needModel();
  check((await page.$$('#tags li')).length === 10, 'no tags for the good file after bad ones');
});

test('denied microphone shows a message and the page keeps working', async ({ page, url, context }) => {
  await context.clearPermissions();
  await page.goto(url);
  await quiet(page);
  await page.click('#record');
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, { timeout: 20_000 });
  const msg = await errorText(page);
  check(/microphone/i.test(msg) && /denied|not found|no microphone/i.test(msg), `message was “${msg}”`);
  await resetState(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
});

test(
  'microphone: live scattergram scrolls while recording, then the recording is analysed',
  async ({ page, url, context }) => {
    await context.grantPermissions(['microphone'], { origin: url });
    await page.goto(url);
    await quiet(page);
    // A file's results first: recording must clear them.
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    check(await page.isVisible('#results'), 'no results before recording');
    await page.click('#record');
    // Chromium's fake capture device beeps; the live view must fill with frames.
    await page.waitForFunction(() => Number(document.body.dataset.liveFrames || 0) >= 8, null, { timeout: 30_000 });
    const st = await canvasStats(page, 'live-canvas');
    check(st.colours > 20 && st.std > 5, `live canvas looks blank: ${JSON.stringify(st)}`);
    const n1 = await page.evaluate(() => Number(document.body.dataset.liveFrames));
    await page.waitForTimeout(1500);
    const n2 = await page.evaluate(() => Number(document.body.dataset.liveFrames));
    check(n2 > n1, `live view did not advance (${n1} → ${n2} frames)`);
    // Live tags: the model's tags of the latest audio, refreshed while recording.
    await page.waitForFunction(() => Number(document.body.dataset.liveTags || 0) >= 2, null, { timeout: 60_000 });
    const liveTags = await page.$$eval('#live-tags li', (lis) => lis.map((li) => li.textContent));
    const tag = '[\\w -]+( \\?)? [01]\\.\\d\\d';
    check(liveTags.length === 5 && liveTags.every((t) => new RegExp(`^${tag}( \\(also ${tag}\\))?$`).test(t)), `live tags: ${JSON.stringify(liveTags)}`);
    check(await page.isHidden('#results'), 'the previous results stay on screen while recording');
    await page.locator('#live').screenshot({ path: path.join(here, 'live.png') });
    // A file chosen while recording is refused, in words: its results and the
    // recording's would replace each other. The recording goes on.
    await dropFile(page, 'during.wav', good, 'audio/wav');
    const refused = await errorText(page);
    check(/during\.wav/.test(refused) && /recording is under way/.test(refused), `a file while recording: “${refused}”`);
    check(await page.isHidden('#results'), 'a file while recording showed its results under the live view');
    check((await page.getAttribute('#record', 'aria-pressed')) === 'true', 'the recording stopped');
    await page.keyboard.press('Escape'); // stops the recording, as its button does
    const state = await settled(page);
    check(state === 'done', `recording analysis: ${state}: ${await errorText(page)}`);
    const d = await page.evaluate(() => globalThis.scatterbrain.result.duration);
    check(d > 2, `recording is ${d} s`);
  },
  { fakeMic: true },
);

test('microphone: a silent input gets “silent: no tags” live, not the model’s scores for nothing', async ({ page, url }) => {
  needModel();
  // A microphone that gives digital silence (a source at 0 into a stream).
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = async () => {
      const ctx = new AudioContext();
      const src = ctx.createConstantSource();
      src.offset.value = 0;
      const dest = ctx.createMediaStreamDestination();
      src.connect(dest);
      src.start();
      return dest.stream;
    };
  });
  await page.goto(url);
  await quiet(page);
  await page.click('#record');
  await page.waitForFunction(() => Number(document.body.dataset.liveTags || 0) >= 1, null, { timeout: 60_000 });
  const live = await page.$$eval('#live-tags li', (lis) => lis.map((li) => li.textContent));
  check(live.length === 1 && live[0] === 'silent: no tags', `live tags of silence: ${JSON.stringify(live)}`);
  await page.keyboard.press('Escape');
  check((await settled(page)) === 'done', await errorText(page));
  check((await page.$$('#tags li')).length === 0, 'tag bars for a silent recording');
});

test('a browser without WASM SIMD gets a plain message', async ({ page, url }) => {
  // Simulate an old browser: WebAssembly.validate rejects SIMD modules.
  await page.addInitScript(() => {
    const validate = WebAssembly.validate.bind(WebAssembly);
    WebAssembly.validate = (bytes) => {
      const b = new Uint8Array(bytes.buffer || bytes);
      for (let i = 0; i + 1 < b.length; i++) if (b[i] === 0xfd) return false; // SIMD prefix
      return validate(bytes);
    };
  });
  await page.goto(url);
  const msg = await errorText(page);
  check(/SIMD/.test(msg), `message was “${msg}”`);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  const state = await settled(page);
  check(state === 'error' && /SIMD/.test(await errorText(page)), 'a drop without SIMD must explain, not fail silently');
});

test('keyboard: drop zone and cancel are reachable; Escape cancels a long job', async ({ page, url }) => {
  await page.goto(url);
  await quiet(page);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement.id);
  check(focused === 'drop', `first Tab focuses #${focused}, expected the drop zone`);
  // A 10-minute file takes a while: cancel it with Escape.
  const long = wav(tone(440, 600, 16000, 0.3), 16000, 1);
  await dropFile(page, 'long.wav', long, 'audio/wav');
  await page.waitForFunction(() => document.querySelector('[data-stage="transform"]').classList.contains('active'), null, { timeout: 60_000 });
  await page.keyboard.press('Escape');
  check((await settled(page)) === 'cancelled', 'not cancelled');
  // The Cancel button pressed from the keyboard hides: the focus goes back to
  // the drop zone, not to the top of the page.
  await resetState(page);
  await dropFile(page, 'long.wav', long, 'audio/wav');
  await page.waitForFunction(() => document.querySelector('[data-stage="transform"]').classList.contains('active'), null, { timeout: 60_000 });
  await page.focus('#cancel');
  await page.keyboard.press('Enter');
  check((await settled(page)) === 'cancelled', 'not cancelled by its button');
  const after = await page.evaluate(() => document.activeElement.id || document.activeElement.tagName);
  check(after === 'drop', `after Cancel the focus is on ${after}`);
  await resetState(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', `after cancel: ${await errorText(page)}`);
});

test('several files dropped: the first is analysed and a note names the others; a drop of text says it is not a file', async ({ page, url }) => {
  await page.goto(url);
  await quiet(page);
  // Each drop is analysed once (the window's own drop handler analysed it a second time).
  await page.evaluate(() => {
    const read = Blob.prototype.arrayBuffer;
    globalThis.reads = 0;
    Blob.prototype.arrayBuffer = function () {
      globalThis.reads++;
      return read.call(this);
    };
  });
  const b64 = Buffer.from(good).toString('base64');
  await page.evaluate((b64) => {
    const bin = atob(b64);
    const arr = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    for (const name of ['a.wav', 'b.wav', 'c.wav']) dt.items.add(new File([arr], name, { type: 'audio/wav' }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, b64);
  check((await settled(page)) === 'done', await errorText(page));
  check((await page.evaluate(() => globalThis.scatterbrain.result.name)) === 'a.wav', 'not the first file');
  const reads = await page.evaluate(() => globalThis.reads);
  check(reads === 1, `one drop read its file ${reads} times`);
  const note = await page.evaluate(() => (document.getElementById('input-note').hidden ? '' : document.getElementById('input-note').textContent));
  check(/2 more were dropped/.test(note) && /“b\.wav”, “c\.wav”/.test(note), `note: “${note}”`);
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.setData('text/plain', 'https://example.com/song.mp3');
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  });
  const said = await errorText(page);
  check(/not a file/.test(said), `a drop of text: “${said}”`);
  check((await page.evaluate(() => globalThis.scatterbrain.result.name)) === 'a.wav', 'the results were lost');
});

test("a second file replaces the first one's job: its own results, without waiting for the first", async ({ page, url }) => {
  await page.goto(url);
  await quiet(page);
  const long = wav(tone(440, 600, 16000, 0.3), 16000, 1);
  await dropFile(page, 'long.wav', long, 'audio/wav');
  await page.waitForFunction(() => document.querySelector('[data-stage="transform"]').classList.contains('active'), null, { timeout: 60_000 });
  const gen = await page.evaluate(() => globalThis.scatterbrain.engineGen);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  const state = await settled(page);
  check(state === 'done', `second file: ${state}: ${await errorText(page)}`);
  const r = await page.evaluate(() => ({ name: globalThis.scatterbrain.result.name, gen: globalThis.scatterbrain.engineGen }));
  check(r.name === 'good.wav', `results of ${r.name}`);
  // The first job was stopped (its worker replaced), not left running unseen.
  check(r.gen === gen + 1, `engine generation ${gen} → ${r.gen}: the first job was not stopped`);
});

test('a crashed WASM instance: a plain message, a new engine, and the next file is tagged', async ({ page, url }) => {
  needModel();
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
  await quiet(page);
  // A trap cannot be asked of the WASM on purpose (no panic crosses its
  // boundary), so a helper worker is made to throw what a trap throws,
  // WebAssembly.RuntimeError, where it waits for the streamed audio.
  const helpers = page.workers().filter((w) => /helper\.js/.test(w.url()));
  check(helpers.length > 0, `no helper workers: ${page.workers().map((w) => w.url()).join(', ')}`);
  await helpers[0].evaluate(() => {
    Atomics.load = () => {
      throw new WebAssembly.RuntimeError('unreachable (a simulated trap)');
    };
  });
  const gen = await page.evaluate(() => globalThis.scatterbrain.engineGen);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  const state = await settled(page);
  const message = await errorText(page);
  check(state === 'error' && /could not be analysed/.test(message), `after the trap: ${state}: “${message}”`);
  check((await page.evaluate(() => globalThis.scatterbrain.engineGen)) === gen + 1, 'the engine was not replaced');
  await resetState(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', `the next file: ${await errorText(page)}`);
  check((await page.$$('#tags li')).length === 10, 'no tags after the new engine started');
});

test('a file cut short and NaN samples are analysed with a note saying so; a whole file has none', async ({ page, url }) => {
  await page.goto(url);
  await quiet(page);
  const note = () => page.evaluate(() => (document.getElementById('input-note').hidden ? '' : document.getElementById('input-note').textContent));
  // `bytes` whole has no note; its first `fraction` (an interrupted
  // download) has one, returned.
  const wholeThenCut = async (name, bytes, type, fraction) => {
    await resetState(page);
    await dropFile(page, `whole-${name}`, bytes, type);
    check((await settled(page)) === 'done', await errorText(page));
    check((await note()) === '', `a whole ${name} has a note: “${await note()}”`);
    await resetState(page);
    await dropFile(page, `cut-${name}`, bytes.subarray(0, Math.floor(bytes.length * fraction)), type);
    check((await settled(page)) === 'done', await errorText(page));
    await playerPlaysWhatWasRead(page, name);
    return note();
  };
  const mp3 = fixture('tone1k_44k_stereo.mp3'); // 3.03 s, with a Xing/Info frame
  const cut = await wholeThenCut('44k.mp3', mp3, 'audio/mpeg', 0.6);
  check(/cut short/.test(cut) && /3\.0\d? s/.test(cut), `a file cut short: note “${cut}”`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const json = JSON.parse(await (await import('node:fs/promises')).readFile(await download.path(), 'utf8'));
  check(json.audio.warnings.length === 1 && json.audio.warnings[0] === cut, `JSON warnings: ${JSON.stringify(json.audio.warnings)}`);
  // An 8 kHz MP3 (MPEG 2.5, 576 samples a frame): its LAME tag's delay and
  // padding are trimmed by the decoder, so whole it has no note; cut, it has.
  // Six channels (WAV): the player's WAV keeps them.
  const cut6 = await wholeThenCut('6ch.wav', fixture('tone300_8k_6ch.wav'), 'audio/wav', 0.7);
  check(/cut short/.test(cut6), `a 6-channel WAV cut short: note “${cut6}”`);
  const cut8k = await wholeThenCut('8k.mp3', fixture('tone440_8k.mp3'), 'audio/mpeg', 0.75);
  check(/cut short/.test(cut8k) && /2\.0\d? s/.test(cut8k), `an 8 kHz MP3 cut short: note “${cut8k}”`);
  // Ogg Opus, which the browser decodes: no header states its length, so
  // only the missing end-of-stream page tells a cut file from a whole one.
  // opusenc's pages hold 1 s each: cut inside the last one, 2 s are left.
  const cutOpus = await wholeThenCut('48k.opus', fixture('tone600_48k_stereo.opus'), 'audio/ogg', 0.8);
  check(/cut short/.test(cutOpus) && /Ogg stream/.test(cutOpus) && /(1\.99|2\.0\d?) s/.test(cutOpus), `an Opus file cut short: note “${cutOpus}”`);
  // WebM (Opus), which the browser decodes too: its Segment's Info states a
  // Duration (ffmpeg writes one; a browser's own recordings do not).
  const cutWebm = await wholeThenCut('48k.webm', fixture('tone600_48k_stereo.webm'), 'audio/webm', 0.6);
  check(/cut short/.test(cutWebm) && /declares 2\.0\d? s/.test(cutWebm), `a WebM file cut short: note “${cutWebm}”`);
  check((await page.evaluate(() => globalThis.scatterbrain.result.decodedBy)) === 'browser', 'the cut WebM file was not decoded by the browser');
  // A browser's own WebM recording (MediaRecorder) states no Duration: it ends partway through a block.
  const cutRecording = await wholeThenCut('recorded.webm', fixture('recorded_opus.webm'), 'audio/webm', 0.6);
  check(/cut short/.test(cutRecording) && /partway through a block/.test(cutRecording), `a recorded WebM file cut short: note “${cutRecording}”`);
  // Ogg Vorbis, which the core decodes: a chained file cut right after the
  // header pages of its second stream (8186 bytes: the second half is lost)
  // ends without the page that closes that stream.
  await resetState(page);
  await dropFile(page, 'cut.ogg', fixture('chained_same.ogg').subarray(0, 8186), 'audio/ogg');
  check((await settled(page)) === 'done', await errorText(page));
  await playerPlaysWhatWasRead(page, 'chained Ogg Vorbis');
  const cutVorbis = await note();
  check(/cut short/.test(cutVorbis) && /1\.50? s/.test(cutVorbis), `a chained Vorbis file cut short: note “${cutVorbis}”`);
  check((await page.evaluate(() => globalThis.scatterbrain.result.decodedBy)) === 'core', 'the cut Vorbis file was not decoded by the core');
  // NaN and infinite samples (counted by the core while tagging).
  needModel();
  await resetState(page);
  await dropFile(page, 'random.wav', randomFloatWav(22050, 2, 2), 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  const nan = await note();
  check(/NaN or infinite/.test(nan) && /read as silence/.test(nan), `NaN samples: note “${nan}”`);
});

test('silent audio gets no tags, in words, and the next file gets its tags again', async ({ page, url }) => {
  needModel();
  await page.goto(url);
  await quiet(page);
  const text = (id) => page.evaluate((id) => (document.getElementById(id).hidden ? '' : document.getElementById(id).textContent), id);
  // Digital silence: the shipped model said "guitar 0.55" of it, shown as a tag.
  await dropFile(page, 'silence.wav', wav(new Float32Array(5 * 22050), 22050), 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  check((await page.$$('#tags li')).length === 0, 'tag bars for silence');
  const tags = await text('tags');
  check(/No tags/.test(tags) && /every sample is zero/.test(tags), `silence: tags say “${tags}”`);
  const note = await text('input-note');
  check(/silent/.test(note), `silence: note “${note}”`);
  check((await text('taggram-empty')) !== '' && (await page.evaluate(() => document.getElementById('taggram-plot').hidden)), 'a taggram for silence');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const json = JSON.parse(await (await import('node:fs/promises')).readFile(await download.path(), 'utf8'));
  check(json.audio.warnings.some((w) => /silent/.test(w)), `JSON warnings: ${JSON.stringify(json.audio.warnings)}`);
  // Nowhere else either: the JSON's tags (as the CLI's top), the taggram's PNG, read-out and label.
  check(json.silent === true && json.tags.length === 0 && json.peak === 0 && /every sample is zero/.test(json.note), `JSON of silence: ${JSON.stringify({ silent: json.silent, peak: json.peak, tags: json.tags, note: json.note })}`);
  check(await page.isDisabled('.save-png[data-picture="taggram"]'), 'a taggram PNG of silence can be saved');
  check(await page.isHidden('#taggram-readout'), 'a taggram read-out for silence');
  const label = await page.getAttribute('#taggram', 'aria-label');
  check(/no tags \(the audio is silent\)/.test(label), `taggram label: “${label}”`);
  // −90 dBFS (a few 16-bit steps): below what the analysis hears, and said how loud.
  await resetState(page);
  await dropFile(page, 'quiet.wav', wav(tone(440, 3, 22050, 10 ** (-90 / 20)), 22050), 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  const faint = await text('tags');
  check(/No tags/.test(faint) && /dBFS/.test(faint), `−90 dBFS: tags say “${faint}”`);
  // A tone at −40 dBFS is quiet, not silent.
  await resetState(page);
  await dropFile(page, 'tone.wav', wav(tone(440, 3, 22050, 0.01), 22050), 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  check((await page.$$('#tags li')).length === 10, 'no tags for a quiet tone');
  check(!(await page.evaluate(() => document.getElementById('taggram-plot').hidden)), 'no taggram for a quiet tone');
});

test('the length estimate that picks how to decode: exact for MP3, Ogg and WebM with a Duration, never short for others', async () => {
  const est = (b) => estimateSeconds(b.subarray(0, 1 << 17), b.length, b.subarray(Math.max(0, b.length - (1 << 16))));
  // As decoded (Chromium: 3.000 s, the MP3's LAME delay and padding trimmed; ffprobe says 3.030 s) and 2.000 s.
  for (const [name, seconds] of [['tone1k_44k_stereo.mp3', 3.0], ['tone440_8k.mp3', 2.0], ['tone2k_22k.ogg', 2.0], ['tone500_48k_mono.flac', 2.0], ['tone600_48k_stereo.webm', 2.0]]) {
    const e = est(fixture(name));
    check(Math.abs(e - seconds) < 0.02, `${name}: estimated ${e} s, lasts ${seconds} s`);
  }
  // A CBR MP3 without its Xing/Info frame: from its bitrate.
  const mp3 = fixture('tone1k_44k_stereo.mp3');
  const cbr = Buffer.from(mp3);
  const first = cbr.indexOf(Buffer.from('Info')) >= 0 ? cbr.indexOf(Buffer.from('Info')) : cbr.indexOf(Buffer.from('Xing'));
  check(first > 0, 'the fixture has no Xing/Info frame');
  cbr.write('Nope', first);
  const e = est(new Uint8Array(cbr));
  check(Math.abs(e - 3.03) < 0.1, `CBR MP3 without Xing: estimated ${e} s`);
  // An hour of 32 kbit/s audio in an unknown container (14.4 MB) is long.
  const unknown = new Uint8Array(14_400_000);
  check(est(unknown) >= 20 * 60, `14.4 MB of unknown audio estimated at ${est(unknown)} s`);
});

test('works offline once the page says so (not before: a first visit says it is saving the files)', async ({ page, url, context }) => {
  // Every offline state the page shows, from its first moment.
  await page.addInitScript(() => {
    globalThis.offlineSeen = [];
    new MutationObserver(() => {
      const s = document.body?.dataset.offline;
      if (s && globalThis.offlineSeen.at(-1) !== s) globalThis.offlineSeen.push(s);
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-offline'] });
  });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.offline && document.body.dataset.offline !== 'pending', null, { timeout: 60_000 });
  const first = await page.evaluate(() => ({ seen: globalThis.offlineSeen, env: document.getElementById('offline').textContent }));
  check(first.seen.join() === 'pending,ready', `offline states on a first visit: ${first.seen.join(' → ')} (${first.env})`);
  check(first.env.includes('works offline: yes'), `the page does not say it works offline: “${first.env}”`);
  // Its word is enough: offline at once, no wait for the network to settle.
  await context.setOffline(true);
  await page.reload();
  await page.waitForFunction(() => globalThis.scatterbrain);
  // A revisit says so at once (nothing is fetched to know it).
  await page.waitForFunction(() => document.body.dataset.offline === 'ready', null, { timeout: 10_000 });
  // Really offline: an uncached URL fails, and the page came from the service worker.
  const probe = await page.evaluate(() => fetch(`missing-${Math.random()}`).then(() => 'reached the server', () => 'offline'));
  check(probe === 'offline', `network still reachable (${probe})`);
  check(await page.evaluate(() => !!navigator.serviceWorker.controller), 'page not controlled by the service worker');
  await dropFile(page, 'good.wav', good, 'audio/wav');
  const state = await settled(page);
  check(state === 'done', `offline: ${state}: ${await errorText(page)}`);
  const st = await canvasStats(page, 's1');
  check(st.colours > 30, 'offline scattergram blank');
  needModel();
  check((await page.$$('#tags li')).length === 10, 'no tags offline (the model was not cached)');
}, { consoleOk: /net::ERR_FAILED|ERR_INTERNET_DISCONNECTED/ }); // the probe of an uncached URL while offline

test('a page that cannot work offline says so, and why', async ({ page, url }) => {
  // Registration refused, as Firefox's private windows do (the route of sw.js would not catch the browser's own fetch).
  await page.addInitScript(() => {
    navigator.serviceWorker.register = () => Promise.reject(new DOMException('The operation is insecure.', 'SecurityError'));
  });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.offline && document.body.dataset.offline !== 'pending', null, { timeout: 60_000 });
  const env = await page.evaluate(() => document.getElementById('offline').textContent);
  check(await page.evaluate(() => document.body.dataset.offline === 'unavailable'), `offline state: ${env}`);
  check(/works offline: no \(its service worker could not start: .+\)/.test(env), `the page says: “${env}”`);
  // Tagging still works.
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
});

test('a build without a model works offline without it, and says so', async ({ page, context }) => {
  const { server, url: bare } = await startServer({ port: 0, quiet: true, model: false });
  try {
    await page.goto(bare);
    await page.waitForFunction(() => document.body.dataset.offline && document.body.dataset.offline !== 'pending', null, { timeout: 60_000 });
    const said = await page.evaluate(() => document.getElementById('offline').textContent);
    check(said === 'works offline: yes', `without a model the page says “${said}”`);
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.model === 'absent' || document.body.dataset.model === 'error', null, { timeout: 30_000 });
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', `offline without a model: ${await errorText(page)}`);
    await page.goto('about:blank');
  } finally {
    server.close();
  }
}, { consoleOk: /404|Not Found|ERR_INTERNET_DISCONNECTED|net::ERR_FAILED/ });

test('a 1-hour file is analysed (decoded at 16 kHz mono), with progress; its bands above its own Nyquist are the CLI’s; a 25-min MP3 cut at 21 min: its player plays what was read', async ({ page, url }) => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'scatterbrain-'));
  const file = path.join(dir, 'one hour.wav');
  const rate = 8000;
  const loop = melody(12, rate);
  const hour = new Float32Array(3600 * rate);
  for (let i = 0; i < hour.length; i += loop.length) hour.set(loop.subarray(0, Math.min(loop.length, hour.length - i)), i);
  writeFileSync(file, wav(hour, rate, 1));
  try {
    await page.goto(url);
    await quiet(page);
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => /window \d+ of \d+/.test(document.getElementById('status-text').textContent), null, { timeout: 120_000 });
    const state = await settled(page, 20 * 60_000);
    check(state === 'done', `1-hour file: ${state}: ${await errorText(page)}`);
    const r = await page.evaluate(() => {
      const s = globalThis.scatterbrain.result;
      return { long: s.long, rate: s.sampleRate, dur: s.duration, frames: s.scatter.frames, t: s.timings.transform };
    });
    check(r.long && r.rate === 16000, `not decoded as a long file: ${JSON.stringify(r)}`);
    check(Math.abs(r.dur - 3600) < 1 && Math.abs(r.frames - 3600 / 0.256) < 200, `shape ${JSON.stringify(r)}`);
    const st = await canvasStats(page, 's1');
    check(st.colours > 30 && st.std > 8, `1-hour scattergram blank: ${JSON.stringify(st)}`);
    // Mixed to 16 kHz while decoded, the file's 8 kHz still reaches the
    // front end (as the CLI reads it at that rate): its first-order bands
    // wholly above 4 kHz (centred above 5.6 kHz: a band spans ±30 % of its
    // centre) are scattered in float64, as the CLI's are, not left to the
    // WASM FFTs' float32 rounding (which differs from the native one).
    const picture = await page.evaluate(() => {
      const s = globalThis.scatterbrain.result.scatter;
      const order1 = s.paths.map((p, r) => [p, r]).filter(([p]) => p.order === 1);
      // And the band nearest 1 kHz, where the melody is.
      const near = (hz) => order1.reduce((a, b) => (Math.abs(b[0].freq1_hz - hz) < Math.abs(a[0].freq1_hz - hz) ? b : a));
      const rows = [...order1.filter(([p]) => p.freq1_hz > 5600), near(1000)];
      return { frames: s.frames, rows: rows.map(([p, r]) => ({ hz: p.freq1_hz, r, values: Array.from(s.data.subarray(r * s.frames, (r + 1) * s.frames)) })) };
    });
    const native = await cliScatter(file);
    check(native.frames === picture.frames, `1-hour file: ${picture.frames} frames in the page, ${native.frames} from the CLI`);
    check(picture.rows.length === 4, `1-hour file: rows ${picture.rows.map((x) => x.hz.toFixed(0)).join(', ')}`);
    const apart = [];
    for (const { hz, r, values } of picture.rows) {
      const cli = native.row(r);
      const peak = cli.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const worst = values.reduce((m, v, f) => Math.max(m, Math.abs(v - cli[f])), 0) / peak;
      check(peak > 0 && worst < 1e-4, `1-hour file at 8 kHz: the ${hz.toFixed(0)} Hz band differs from the CLI's by ${worst.toExponential(1)} of its peak`);
      apart.push(`${hz.toFixed(0)} Hz ${worst.toExponential(1)}`);
    }
    console.log(`     (1-hour file: transform ${(r.t / 1000).toFixed(1)} s in the worker; page–CLI, of the band's peak: ${apart.join(', ')})`);

    // A 25-min MP3 cut at 21 min: its Info frame states 25 min (the
    // browser's player would show that), so it is decoded as a long file,
    // with a note, and its player plays what was read (a 16 kHz WAV).
    const cut = path.join(dir, 'cut long.mp3');
    writeFileSync(cut, longMp3(fixture('tone440_8k.mp3'), 25 * 60).subarray(0, 216 * (1 + Math.round((21 * 60 * 8000) / 576))));
    await page.evaluate(() => delete document.body.dataset.state);
    await page.setInputFiles('#file', cut);
    check((await settled(page, 20 * 60_000)) === 'done', `the cut 25-min MP3: ${await errorText(page)}`);
    const c = await page.evaluate(() => {
      const s = globalThis.scatterbrain.result;
      return { long: s.long, dur: s.duration, note: document.getElementById('input-note').textContent };
    });
    check(c.long && Math.abs(c.dur - 1260) < 1 && /cut short/.test(c.note), `the cut 25-min MP3: ${JSON.stringify(c)}`);
    await playerPlaysWhatWasRead(page, '25-min MP3');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('phone width: no horizontal scrolling, results visible', async ({ page, url }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(url);
  await quiet(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `page is ${overflow}px wider than the phone`);
  const st = await canvasStats(page, 's1');
  check(st.colours > 30, 'scattergram blank at phone width');
  // On screen, not only shown: the results come up to the top.
  const inView = await page
    .waitForFunction(() => Math.abs(document.getElementById('results').getBoundingClientRect().top) < 2, null, { timeout: 5_000 })
    .then(() => true, () => false);
  check(inView, `the results start ${await page.evaluate(() => document.getElementById('results').getBoundingClientRect().top)} px down a ${800} px phone screen`);
});

test('projector size (1280×720): a finished file’s tags come into view', async ({ page, url }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(url);
  await quiet(page);
  await dropFile(page, 'good.wav', good, 'audio/wav');
  check((await settled(page)) === 'done', await errorText(page));
  const visible = await page
    .waitForFunction(() => document.getElementById('tags').getBoundingClientRect().bottom <= innerHeight, null, { timeout: 5_000 })
    .then(() => true, () => false);
  check(visible, `the tags end ${await page.evaluate(() => document.getElementById('tags').getBoundingClientRect().bottom)} px down a 720 px screen`);
});

pictureTests({ test, check, dropFile, settled, errorText, needModel });
(await import('./package.mjs')).register({ test, check, needModel, nativeTags, TMP }); // the npm package's example page

weightTests({ test, check, needModel, root, cli, modelFile: MODEL_FILE, tmp: TMP, settled, good });

// Issue 12: the backend choice (item 2), honest tags (6), phone and accessibility (7).
const harness = { test, check, needModel, dropFile, settled, resetState, errorText, pageTags, chooseBackend, nativeTags, cli, startServer, good, long45, TMP, MODEL_FILE, CLI };
backendTests(harness);
pageA11yTests(harness);
micTests(harness);
inputTests(harness);
statusTests(harness);

// ------------------------------------------------------------------ runner
// Two lanes by default (SCATTERBRAIN_BROWSER_LANES), each with its own
// Chromium: WebGPU on SwiftShader keeps one core busy in its GPU process, and
// the lanes' GPU processes run side by side. Tests that time things in the
// page (`alone`: a microphone's live view, a cancel's delay, a status that
// ticks) run afterwards, one at a time, with the machine to themselves.
const { server, url } = await startServer({ port: 0, quiet: true, model: modelError ? false : MODEL_FILE });
const args = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--enable-unsafe-webgpu', '--headless=new'];
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
const launch = (extra = []) => chromium.launch({ executablePath: CHROMIUM, args: [...args, ...extra], headless: true });
let micBrowser = null; // with Chromium's fake microphone, started when a test needs it
const browserFor = async (t, browser) => {
  if (!t.fakeMic) return browser;
  micBrowser ??= await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  return micBrowser;
};
let passed = 0;
let failed = 0;

async function run(t, browser) {
  const context = await (await browserFor(t, browser)).newContext({ acceptDownloads: true });
  watchNetwork(context);
  const page = await context.newPage();
  const requests = [];
  const consoleErrors = [];
  const pageErrors = [];
  context.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => {
    pageErrors.push(String(e));
    consoleErrors.push(String(e));
  });
  const t0 = Date.now();
  try {
    await t.fn({ page, url, context, requests, consoleErrors });
    // Every test, not only those that look: an uncaught exception is a bug,
    // and so is a console error the test does not expect (`consoleOk`).
    check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join(' | ')}`);
    const unexpected = consoleErrors.filter((m) => !pageErrors.includes(m) && !(t.consoleOk && t.consoleOk.test(m)));
    check(unexpected.length === 0, `console errors: ${unexpected.join(' | ')}`);
    passed++;
    console.log(`ok   ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}: ${e instanceof Failure ? e.message : e.stack}`);
    if (consoleErrors.length) console.log(`     console: ${consoleErrors.join(' | ')}`);
    // A wait for the network to go quiet that timed out: what it waited for.
    const open = openRequests(context);
    if (open.length) console.log(`     requests still open: ${open.join(' | ')}`);
  }
  await context.close();
}

/** Run `queue`'s tests one after another in a Chromium of the lane's own. */
async function lane(queue) {
  if (!queue.length) return;
  const browser = await launch();
  while (queue.length) await run(queue.shift(), browser);
  await browser.close();
}

// Test names to run (any containing one of the arguments), or all.
const only = process.argv.slice(2);
const chosen = tests.filter((t) => !only.length || only.some((o) => t.name.includes(o)));
const alone = (t) => t.alone || t.fakeMic;
// The long ones (WebGPU on SwiftShader: 0.5–2 min each) first, so that the
// lanes end together.
const long = (t) => /WebGPU/.test(t.name);
const shared = [...chosen.filter((t) => !alone(t) && long(t)), ...chosen.filter((t) => !alone(t) && !long(t))];
const lanes = Math.max(1, Number(process.env.SCATTERBRAIN_BROWSER_LANES) || 2);
await Promise.all(Array.from({ length: lanes }, () => lane(shared)));
await lane(chosen.filter(alone));
if (micBrowser) await micBrowser.close();
server.close();
rmSync(TMP, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
