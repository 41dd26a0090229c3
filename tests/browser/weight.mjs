// Browser and server tests of the page's weight on the network (issue 12,
// item 1): each file fetched once on a first visit, the WASM compressed,
// download progress in bytes, a revisit served by the service worker
// (≤ 100 kB transferred), 304s for what the client has, an update fetched in
// the background and used from the next load. Transfers are counted on the
// server's sockets, so the service worker's own requests are counted too.
// Registered into tests/browser/run.mjs's list by weightTests().
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { MODEL_URL, WASM_URL, WEBGPU_WASM_URL } from '../../www/constants.js';
import { startServer } from '../../www/server.mjs';
import { quiet } from './network.mjs';

const REVISIT_LIMIT = 100_000; // bytes (the goal)
const WASM = WASM_URL;
const MODEL = MODEL_URL;

/** Bytes the server sent per response (headers included), from its sockets. */
function traffic(server) {
  const log = [];
  server.on('request', (req, res) => {
    const sock = req.socket;
    const start = sock.bytesWritten;
    res.on('finish', () =>
      log.push({ path: new URL(req.url, 'http://x').pathname.slice(1), status: res.statusCode, encoding: res.getHeader('content-encoding') || '', bytes: sock.bytesWritten - start }),
    );
  });
  return log;
}

/**
 * The requests reaching `server` from now on, each `{ at, path, check }`:
 * `check` marks the browser's own fetches of the service worker's scripts
 * (`Sec-Fetch-Dest: serviceworker`: sw.js and its imports), which it makes to
 * see whether the worker changed, about a second after each page load's
 * network falls quiet, at a time the page does not choose (README, "Privacy").
 */
function arrivalsAt(server) {
  const arrivals = [];
  server.on('request', (req) => arrivals.push({ at: Date.now(), path: req.url, check: req.headers['sec-fetch-dest'] === 'serviceworker' }));
  return arrivals;
}

/**
 * No request reached the server during `job` ({from, to}, the machine's
 * clock), except the browser's check of its service worker, which is
 * reported; every arrival is listed on failure.
 */
function nothingDuring(arrivals, job, check) {
  const during = arrivals.filter((r) => r.at >= job.from && r.at <= job.to);
  const page = during.filter((r) => !r.check);
  const all = arrivals.map((r) => `${r.path}${r.check ? ' (worker check)' : ''}@${r.at - job.from}`).join(' ');
  check(page.length === 0, `the server got ${page.length} requests during the job (${job.to - job.from} ms): ${page.map((r) => r.path).join(', ')}; all, ms from the drop: ${all}`);
  const browser = during.filter((r) => r.check);
  if (browser.length) console.log(`     (during the job the browser checked its service worker for an update: ${browser.map((r) => r.path).join(', ')})`);
}

const sum = (log) => log.reduce((s, r) => s + r.bytes, 0);
const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;

/** Resolve once the server has answered nothing for `quietMs` (the service worker's background requests included). */
async function serverQuiet(log, quietMs = 1500, timeout = 60_000) {
  const t0 = Date.now();
  let n = -1;
  let since = Date.now();
  while (Date.now() - t0 < timeout) {
    if (log.length !== n) [n, since] = [log.length, Date.now()];
    else if (Date.now() - since >= quietMs) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until `fn(arg)`, evaluated in the page, is truthy (awaited: waitForFunction does not await promises). */
async function until(page, fn, arg, what, timeout = 60_000) {
  const t0 = Date.now();
  while (!(await page.evaluate(fn, arg))) {
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(100);
  }
}

/** Whether the page is controlled by the service worker and its cache holds every URL of `urls`. */
const cached = async (urls) => !!navigator.serviceWorker.controller && (await Promise.all(urls.map((u) => caches.match(u)))).every(Boolean);

/** A plain HTTP request: {status, headers, body} with the body as sent (not decoded). */
function request(url, headers = {}, method = 'GET') {
  return new Promise((resolve, reject) => {
    http
      .request(url, { method, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject)
      .end();
  });
}

export function weightTests({ test, check, needModel, root, cli, modelFile, tmp, settled, good }) {
  /**
   * Give the page `globalThis.__dropGood()`: drops `good` (a WAV) on the
   * page at once and records when the job ran in `__job` {from, to}, on the
   * machine's clock (the server's too).
   */
  const dropper = (page) =>
    page.addInitScript(({ b64 }) => {
      globalThis.__dropGood = () => {
        const bin = atob(b64);
        const arr = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([arr], 'good.wav', { type: 'audio/wav' }));
        const target = document.getElementById('drop');
        for (const t of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(t, { bubbles: true, cancelable: true, dataTransfer: dt }));
        globalThis.__job = { from: Date.now(), to: null };
        const watch = new MutationObserver(() => {
          if (document.body.dataset.busy !== '0') return;
          globalThis.__job.to = Date.now();
          watch.disconnect();
        });
        watch.observe(document.body, { attributes: true, attributeFilter: ['data-busy'] });
      };
    }, { b64: Buffer.from(good).toString('base64') });

  const wasmFile = path.join(root, 'www', WASM);
  const modelPath = path.join(root, MODEL);

  test('weight: first visit fetches each file once, the WASM compressed, showing download progress in bytes; a revisit comes from the service worker (≤ 100 kB)', async ({ page }) => {
    // The real page: the shipped model, the real WASM.
    const { server, url } = await startServer({ port: 0, quiet: true });
    const log = traffic(server);
    try {
      // What the user saw in the download line, every change of it.
      await page.addInitScript(() => {
        globalThis.__downloadTexts = [];
        document.addEventListener('DOMContentLoaded', () => {
          const el = document.getElementById('downloads-text');
          new MutationObserver((records) => {
            for (const r of records) for (const n of r.addedNodes) globalThis.__downloadTexts.push(n.textContent);
          }).observe(el, { childList: true });
        });
      });
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 120_000 });
      await until(page, cached, [WASM, MODEL], 'the WASM and the model in the cache');
      await serverQuiet(log);
      const first = log.splice(0);
      const fetched = {};
      for (const r of first.filter((r) => r.status === 200)) fetched[r.path] = (fetched[r.path] || 0) + 1;
      const twice = Object.entries(fetched).filter(([, n]) => n > 1);
      check(twice.length === 0, `downloaded more than once on the first visit: ${JSON.stringify(twice)}`);
      const wasm = first.find((r) => r.path === WASM && r.status === 200);
      const model = first.find((r) => r.path === MODEL && r.status === 200);
      check(wasm && model, `the WASM or the model was not downloaded: ${JSON.stringify(first)}`);
      const wasmSize = statSync(wasmFile).size;
      check(wasm.encoding === 'br' && wasm.bytes < wasmSize / 2, `WASM sent as ${wasm.encoding || 'identity'}, ${wasm.bytes} of ${wasmSize} bytes`);
      // The WebGPU build is not fetched while the CPU is the backend (the default on this software adapter).
      const gpuBuild = first.filter((r) => r.path.startsWith(path.posix.dirname(WEBGPU_WASM_URL) + '/'));
      check(gpuBuild.length === 0, `the WebGPU build was fetched on a CPU visit: ${JSON.stringify(gpuBuild)}`);

      // The download line showed bytes against the decoded sizes, and the counts ended at those sizes.
      const texts = await page.evaluate(() => globalThis.__downloadTexts);
      const sizes = { 'analysis engine': wasmSize, 'tagging model': statSync(modelPath).size };
      for (const [label, size] of Object.entries(sizes)) {
        const of = `of ${(size / 1e6).toFixed(1)} MB`;
        check(texts.some((t) => t.includes(label) && t.includes(of)), `no “${label}: … ${of}” in the download line: ${JSON.stringify(texts.slice(0, 5))}`);
      }
      const done = await page.evaluate(() => Object.values(globalThis.scatterbrain.downloads));
      for (const [label, size] of Object.entries(sizes)) {
        const d = done.find((x) => x.label === label);
        check(d && d.state === 'done' && d.loaded === size && d.total === size, `${label}: ${JSON.stringify(d)}, expected ${size} bytes done`);
      }
      check(await page.isHidden('#downloads'), 'the download line is still shown');

      // Revisit: everything from the service worker's cache; only revalidations reach the server.
      const fromWorker = {};
      page.on('response', (r) => (fromWorker[new URL(r.url()).pathname.slice(1)] = r.fromServiceWorker()));
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.model === 'ready' && document.body.dataset.swRefresh, null, { timeout: 120_000 });
      await serverQuiet(log);
      const again = log.splice(0);
      const big = again.filter((r) => r.status === 200 && r.bytes > 10_000);
      check(big.length === 0, `revisit downloaded ${JSON.stringify(big)}`);
      check(fromWorker[WASM] === true && fromWorker[MODEL] === true, `revisit: WASM/model not from the service worker: ${JSON.stringify(fromWorker)}`);
      check(sum(again) <= REVISIT_LIMIT, `revisit transferred ${sum(again)} bytes > ${REVISIT_LIMIT}`);
      check(await page.evaluate(() => document.body.dataset.swRefresh) === 'current', 'the unchanged files were taken for an update');
      console.log(
        `     (first visit ${mb(sum(first))} in ${first.length} responses: WASM ${mb(wasm.bytes)} ${wasm.encoding} of ${mb(wasmSize)}, ` +
          `model ${mb(model.bytes)} ${model.encoding || 'identity'}; revisit ${(sum(again) / 1e3).toFixed(1)} kB in ${again.length} responses, ` +
          `${again.filter((r) => r.status === 304).length} of them 304)`,
      );
    } finally {
      server.close();
    }
  });

  test('privacy: on a first visit, a file dropped just as the service worker is registered reaches no server (its install fetches nothing); the page is saved for offline use after the job', async ({ page }) => {
    const { server, url } = await startServer({ port: 0, quiet: true });
    const arrivals = arrivalsAt(server);
    try {
      // The page registers its service worker once the model is ready and no
      // job runs; the registration resolves as the worker's install begins
      // (its script fetched). The file is dropped right then.
      await dropper(page);
      await page.addInitScript(() => {
        const register = navigator.serviceWorker.register.bind(navigator.serviceWorker);
        navigator.serviceWorker.register = (...args) =>
          register(...args).then((reg) => {
            globalThis.__dropGood();
            Object.assign(globalThis.__job, { installing: !!reg.installing, busy: document.body.dataset.busy });
            return reg;
          });
      });
      await page.goto(url);
      await page.waitForFunction(() => globalThis.__job, null, { timeout: 120_000 });
      const state = await settled(page);
      check(state === 'done', `state ${state}`);
      const job = await page.evaluate(() => globalThis.__job);
      check(job.busy === '1' && job.installing, `the file was not dropped as the worker installed: ${JSON.stringify(job)}`);
      nothingDuring(arrivals, job, check);
      // The page's files are saved after the job: it then says it works offline.
      await page.waitForFunction(() => document.body.dataset.offline !== 'pending', null, { timeout: 60_000 });
      const offline = await page.evaluate(() => ({ state: document.body.dataset.offline, text: document.getElementById('offline').textContent }));
      check(offline.state === 'ready', `after the job: offline ${offline.state} (${offline.text})`);
      check(arrivals.some((r) => r.at > job.to), 'nothing was fetched after the job (the page is not saved)');
    } finally {
      server.close();
    }
  });

  test('privacy: a file dropped just as a changed service worker installs (a deploy) reaches no server; the page loads and works offline after it', async ({ page }) => {
    const { server, url } = await startServer({ port: 0, quiet: true });
    // From the revisit on, the server answers a changed sw.js.
    let changed = false;
    const [serve] = server.listeners('request');
    const next = readFileSync(path.join(root, 'www', 'sw.js'), 'utf8') + '\n// the next version\n';
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      if (!changed || new URL(req.url, url).pathname !== '/sw.js') return serve(req, res);
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(next);
    });
    const arrivals = arrivalsAt(server);
    try {
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.offline === 'ready', null, { timeout: 120_000 });
      await dropper(page);
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.model === 'ready' && document.body.dataset.swRefresh, null, { timeout: 120_000 });
      await quiet(page);
      changed = true;
      // The browser checks the worker's script (here when asked); the file
      // is dropped as the changed worker begins to install.
      await page.evaluate(async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        reg.addEventListener('updatefound', () => globalThis.__dropGood(), { once: true });
        await reg.update();
      });
      await page.waitForFunction(() => globalThis.__job, null, { timeout: 60_000 });
      check((await settled(page)) === 'done', 'the job did not end');
      const job = await page.evaluate(() => globalThis.__job);
      nothingDuring(arrivals, job, check);
      // The new worker took over; the page still works offline and loads again.
      await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 30_000 });
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.model === 'ready' && document.body.dataset.offline === 'ready', null, { timeout: 120_000 });
    } finally {
      server.close();
    }
  });

  test("privacy: a file dropped while the page starts reaches no server, the service worker's requests included; its revalidation waits for the job", async ({ page }) => {
    const { server, url } = await startServer({ port: 0, quiet: true });
    const log = traffic(server);
    try {
      // A first visit installs the service worker and caches the page.
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 120_000 });
      await until(page, cached, [WASM, MODEL], 'the WASM and the model in the cache');
      await serverQuiet(log);
      // A revisit: the file is dropped as soon as the page can take it
      // (DOMContentLoaded: app.js has run, the engine and the model are still
      // starting), so the job overlaps the end of the page's start-up, when
      // the service worker revalidates its files.
      await dropper(page);
      await page.addInitScript(() => {
        document.addEventListener('DOMContentLoaded', () => {
          globalThis.__dropGood();
          globalThis.__droppedDuringStartup = document.body.dataset.model !== 'ready' && document.body.dataset.busy === '1';
        });
      });
      const arrivals = arrivalsAt(server);
      log.splice(0);
      await page.reload();
      const state = await settled(page);
      check(state === 'done', `state ${state}`);
      check(await page.evaluate(() => globalThis.__droppedDuringStartup), 'the file was not dropped during the start-up');
      const job = await page.evaluate(() => globalThis.__job);
      check(job.to != null, 'the job did not end');
      nothingDuring(arrivals, job, check);
      // Not suppressed: the revalidation follows the job.
      await page.waitForFunction(() => document.body.dataset.swRefresh, null, { timeout: 60_000 });
      await serverQuiet(log);
      check(arrivals.some((r) => r.at > job.to), 'no revalidation after the job');
    } finally {
      server.close();
    }
  });

  test('weight: the server answers 304 to a known ETag and sends brotli/gzip copies made once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'scatterbrain-www-'));
    const served = path.join(dir, 'model.bpk');
    // Compressible content for the model slot: a changed file must get a new ETag.
    writeFileSync(served, Buffer.from('weights '.repeat(20_000)));
    const cache = path.join(dir, 'cache');
    const { server, url } = await startServer({ port: 0, quiet: true, model: served, compressCache: cache });
    try {
      const wasmUrl = new URL(WASM, url).href;
      const raw = readFileSync(wasmFile);
      const br = await request(wasmUrl, { 'Accept-Encoding': 'gzip, deflate, br' });
      const h = br.headers;
      check(br.status === 200 && h['content-encoding'] === 'br', `WASM: ${br.status} ${h['content-encoding']}`);
      check(Number(h['content-length']) === br.body.length, `Content-Length ${h['content-length']} for ${br.body.length} bytes`);
      check(Number(h['x-uncompressed-length']) === raw.length, `X-Uncompressed-Length ${h['x-uncompressed-length']}`);
      check(zlib.brotliDecompressSync(br.body).equals(raw), 'brotli copy differs from the file');
      check(/^"[\w-]{22}\.br"$/.test(h.etag) && /Accept-Encoding/.test(h.vary) && h['cache-control'] === 'no-cache', `headers ${JSON.stringify(h)}`);
      check(h['cross-origin-embedder-policy'] === 'require-corp' && /connect-src 'self'/.test(h['content-security-policy']), 'security headers missing');
      const hash = h.etag.slice(1, 23);
      check(statSync(path.join(cache, `${hash}.br`)).size === br.body.length, 'no brotli copy in the disk cache');

      const cond = await request(wasmUrl, { 'Accept-Encoding': 'br', 'If-None-Match': h.etag });
      check(cond.status === 304 && cond.body.length === 0 && cond.headers.etag === h.etag, `conditional: ${cond.status}, ${cond.body.length} bytes`);
      check(cond.headers['cross-origin-opener-policy'] === 'same-origin', '304 without COOP');
      // The same content cached as brotli, now asked for as gzip: still the client's copy.
      const other = await request(wasmUrl, { 'Accept-Encoding': 'gzip', 'If-None-Match': `"nope", W/${h.etag}` });
      check(other.status === 304, `If-None-Match of the brotli copy with gzip accepted: ${other.status}`);
      const gz = await request(wasmUrl, { 'Accept-Encoding': 'gzip' });
      check(gz.headers['content-encoding'] === 'gzip' && zlib.gunzipSync(gz.body).equals(raw) && gz.headers.etag === `"${hash}.gz"`, 'gzip copy');
      const plain = await request(wasmUrl);
      check(!plain.headers['content-encoding'] && plain.body.equals(raw) && plain.headers.etag === `"${hash}"`, 'identity answer');
      const head = await request(wasmUrl, { 'Accept-Encoding': 'br' }, 'HEAD');
      check(head.body.length === 0 && head.headers['content-length'] === h['content-length'], 'HEAD');
      const refused = await request(wasmUrl, { 'Accept-Encoding': 'br;q=0, gzip;q=0' });
      check(!refused.headers['content-encoding'], 'q=0 encodings were used');

      // A changed file: the old ETag no longer matches.
      const modelUrl = new URL(MODEL, url).href;
      const m1 = await request(modelUrl, { 'Accept-Encoding': 'br' });
      writeFileSync(served, Buffer.from('changed '.repeat(20_000)));
      const m2 = await request(modelUrl, { 'Accept-Encoding': 'br', 'If-None-Match': m1.headers.etag });
      check(m2.status === 200 && m2.headers.etag !== m1.headers.etag, `changed file: ${m2.status} ${m2.headers.etag}`);
      check(zlib.brotliDecompressSync(m2.body).toString().startsWith('changed'), 'changed file: old content sent');
    } finally {
      // Closed before the folder goes: a closed server writes no more copies
      // (its start-up compression may still be running).
      await new Promise((done) => server.close(done));
    }
    // No usable disk cache (its folder path is a file): copies are made in memory.
    const { server: s2, url: u2 } = await startServer({ port: 0, quiet: true, model: false, compressCache: path.join(served, 'cache') });
    try {
      const r = await request(new URL('index.html', u2).href, { 'Accept-Encoding': 'br' });
      check(r.status === 200 && r.headers['content-encoding'] === 'br' && zlib.brotliDecompressSync(r.body).equals(readFileSync(path.join(root, 'www', 'index.html'))), 'without a disk cache');
    } finally {
      await new Promise((done) => s2.close(done));
      rmSync(dir, { recursive: true, force: true });
    }
    // `--model` naming no file is said at start (it used to start and answer the page with a 404).
    for (const [model, words] of [[path.join(dir, 'none.bpk'), 'no such file'], [os.tmpdir(), 'not a file']]) {
      let said = '';
      try {
        // Not execFileSync: the pages' servers share this process's event loop.
        await promisify(execFile)('node', [path.join(root, 'www', 'server.mjs'), '--port', '0', '--model', model], { timeout: 10_000 });
      } catch (e) {
        said = `${e.code} ${e.stderr}`;
      }
      check(said.startsWith('2 ') && said.includes(`--model ${model}: ${words}`), `server --model ${model}: “${said}”`);
    }
  });

  test('weight: a changed model is fetched in the background and used from the next load', async ({ page }) => {
    needModel();
    const served = path.join(tmp, 'update.bpk');
    const half = path.join(tmp, 'update-f16.bpk');
    copyFileSync(modelFile, served);
    await cli(['model', 'init', 'scat-2l-32h-gru', '--seed', '2', '--precision', 'f16', '--out', half]);
    const { server, url } = await startServer({ port: 0, quiet: true, model: served });
    const status = () => page.textContent('#model-status');
    try {
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
      await until(page, cached, [MODEL], 'the model in the cache');
      check(!/f16/.test(await status()), `first model: ${await status()}`);
      copyFileSync(half, served);
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.model === 'ready' && document.body.dataset.swRefresh, null, { timeout: 60_000 });
      check(!/f16/.test(await status()), 'the new model was used before the next load');
      check((await page.evaluate(() => document.body.dataset.swRefresh)) === 'updated', 'no update found');
      check(/next time/.test(await page.textContent('#downloads-text')), 'the page does not say an update is waiting');
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 60_000 });
      check(/f16/.test(await status()), `after the update: ${await status()}`);
    } finally {
      server.close();
    }
  });
}
