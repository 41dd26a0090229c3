// Browser tests of the backend choice (issue 12 item 2): on a software WebGPU
// adapter (SwiftShader here) the CPU is the default and the page says why;
// the user's choice persists over a reload and is ignored when no longer
// available; WebGPU tagging reports each window and can be cancelled.
// Registered by run.mjs, which passes its harness and helpers.
import { melody, wav } from './audio.mjs';
import { quiet } from './network.mjs';

const KEY = 'scatterbrain.backend';

export function backendTests(h) {
  const { test, check, needModel, dropFile, settled, resetState, errorText, pageTags, chooseBackend, good, long45 } = h;

  /** Wait for the model and for the backend choice (the adapter probe). */
  const chosen = (page) =>
    page.waitForFunction(() => document.body.dataset.model === 'ready' && document.body.dataset.backend, null, { timeout: 60_000 });
  const state = (page) =>
    page.evaluate(() => ({
      backend: globalThis.scatterbrain.backend,
      gpu: { ...globalThis.scatterbrain.gpu },
      webgpuChecked: document.getElementById('backend-webgpu').checked,
      cpuChecked: document.getElementById('backend-cpu').checked,
      webgpuDisabled: document.getElementById('backend-webgpu').disabled,
      why: document.getElementById('backend-why').hidden ? '' : document.getElementById('backend-why').textContent,
      stored: localStorage.getItem('scatterbrain.backend'),
    }));

  test('backend: the CPU is the default on a software WebGPU adapter; the choice persists over a reload', async ({ page, url }) => {
    needModel();
    await page.goto(url);
    await chosen(page);
    let s = await state(page);
    check(s.gpu.available, 'no WebGPU adapter: this test needs Chromium with --enable-unsafe-webgpu (SwiftShader)');
    check(s.gpu.software && /SwiftShader|fallback/i.test(s.gpu.softwareWhy), `the SwiftShader adapter is not recognised as software: ${JSON.stringify(s.gpu)}`);
    check(s.backend === 'cpu' && s.cpuChecked && !s.webgpuChecked, `default on a software adapter: ${JSON.stringify(s)}`);
    check(/CPU is the default/.test(s.why) && /SwiftShader/.test(s.why), `the page does not say why the CPU is the default: “${s.why}”`);
    check(s.stored === null, `a choice was stored without the user making one: ${s.stored}`);

    // A file is tagged on the CPU without the user doing anything.
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    check((await pageTags(page)).backend === 'cpu', 'the default run was not on the CPU');

    // Choosing WebGPU re-tags the shown file there and is remembered.
    await resetState(page);
    await chooseBackend(page, 'webgpu');
    check((await settled(page, 300_000)) === 'done', `switch to WebGPU: ${await errorText(page)}`);
    check((await pageTags(page)).backend === 'webgpu', 'the switch did not re-tag on WebGPU');
    s = await state(page);
    check(s.stored === 'webgpu', `stored choice ${s.stored}`);
    check(/minutes/.test(s.why), `no warning that WebGPU is slow here: “${s.why}”`);

    await page.reload();
    await chosen(page);
    s = await state(page);
    check(s.backend === 'webgpu' && s.webgpuChecked && !s.cpuChecked, `after a reload: ${JSON.stringify(s)}`);
    check(/remembered/.test(s.why), `the page does not say the choice was remembered: “${s.why}”`);

    await chooseBackend(page, 'cpu');
    await page.reload();
    await chosen(page);
    s = await state(page);
    check(s.backend === 'cpu' && s.cpuChecked && s.stored === 'cpu', `CPU chosen, after a reload: ${JSON.stringify(s)}`);

    // A stored choice the browser can no longer honour is ignored (and kept for when it can).
    await page.evaluate((key) => localStorage.setItem(key, 'webgpu'), KEY);
    await page.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    await page.reload();
    await chosen(page);
    s = await state(page);
    check(s.backend === 'cpu' && s.cpuChecked && s.webgpuDisabled, `stored WebGPU without WebGPU: ${JSON.stringify(s)}`);
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    check((await pageTags(page)).backend === 'cpu', 'tagged elsewhere than on the CPU without WebGPU');
  });

  /** Record every text the status line shows from now on. */
  const recordStatus = (page) =>
    page.evaluate(() => {
      const el = document.getElementById('status-text');
      globalThis.statusTexts = [];
      new MutationObserver(() => globalThis.statusTexts.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
  const statusTexts = (page) => page.evaluate(() => globalThis.statusTexts);

  test('backend: tagging on WebGPU says which window it is on, window by window', async ({ page, url }) => {
    needModel();
    await page.goto(url);
    await chosen(page);
    await chooseBackend(page, 'webgpu');
    await quiet(page);
    await recordStatus(page);
    await dropFile(page, 'song.wav', long45, 'audio/wav');
    check((await settled(page, 300_000)) === 'done', await errorText(page));
    const t = await pageTags(page);
    check(t.backend === 'webgpu' && t.windows.length === 2, `ran on ${t.backend} over ${t.windows.length} windows`);
    const texts = (await statusTexts(page)).filter((x) => /Tagging on WebGPU/.test(x));
    check(texts.some((x) => /window 1 of 2/.test(x)), `no “window 1 of 2” while WebGPU worked: ${JSON.stringify(texts)}`);
    // The second window under way means the first was reported on its own.
    check(
      texts.some((x) => /window 2 of 2/.test(x)),
      `WebGPU reported no window before the last was done (TagModel.predict_webgpu must call progress after every window): ${JSON.stringify(texts)}`,
    );
  });

  // 3 minutes of a melody at 16 kHz: several windows, so that WebGPU is still at work when Escape comes.
  const long = wav(melody(180, 16000), 16000, 1);

  test('backend: Escape cancels tagging on WebGPU; the CPU then tags at once, and WebGPU works again', async ({ page, url }) => {
    needModel();
    await page.goto(url);
    await chosen(page);
    await chooseBackend(page, 'webgpu');
    await quiet(page);
    await dropFile(page, 'long.wav', long, 'audio/wav');
    await page.waitForFunction(() => /Tagging on WebGPU/.test(document.getElementById('status-text').textContent), null, { timeout: 120_000 });
    const t0 = Date.now();
    await page.keyboard.press('Escape');
    check((await settled(page, 10_000)) === 'cancelled', `not cancelled: ${await errorText(page)}`);
    const ms = Date.now() - t0;
    check(ms < 2000, `cancelling took ${ms} ms`);
    check((await page.textContent('#status-text')) === 'Cancelled.', 'status does not say cancelled');

    await resetState(page);
    await chooseBackend(page, 'cpu');
    const t1 = Date.now();
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page, 120_000)) === 'done', `CPU after cancel: ${await errorText(page)}`);
    check((await pageTags(page)).backend === 'cpu', 'not tagged on the CPU');
    console.log(`     (after the cancel, the CPU tagged a 14 s file in ${((Date.now() - t1) / 1000).toFixed(1)} s)`);

    // The restarted engine starts WebGPU again when it is chosen.
    await resetState(page);
    await chooseBackend(page, 'webgpu');
    check((await settled(page, 300_000)) === 'done', `WebGPU after cancel: ${await errorText(page)}`);
    check((await pageTags(page)).backend === 'webgpu', 'not re-tagged on WebGPU after the cancel');
  }, { alone: true });

  test('backend: a failed WebGPU start is tried again when WebGPU is chosen again', async ({ page, url }) => {
    needModel();
    // The WebGPU build cannot be downloaded (a dropped connection) until the route is lifted.
    let refused = 0;
    const route = (r) => {
      refused++;
      return r.abort('connectionreset');
    };
    await page.context().route('**/pkg-webgpu/scatterbrain_bg.wasm*', route);
    await page.goto(url);
    await chosen(page);
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));

    await resetState(page);
    // A click, not a check: the failure may uncheck WebGPU before the click returns.
    await page.click('#backend-webgpu');
    check((await settled(page, 120_000)) === 'done', `WebGPU refused: ${await errorText(page)}`);
    const fell = await pageTags(page);
    check(refused > 0, 'the WebGPU build was never requested: the check below could not fail');
    check(fell.backend === 'cpu' && fell.fallback, `without its build WebGPU should fall back to the CPU with a reason: ${JSON.stringify({ backend: fell.backend, fallback: fell.fallback })}`);
    let s = await state(page);
    check(s.gpu.failed && s.backend === 'cpu' && s.cpuChecked, `after the failure: ${JSON.stringify(s)}`);
    check(!s.webgpuDisabled, 'WebGPU cannot be chosen again after one failure: only a reload would try it');
    check(/try again/.test(s.why), `the page does not say WebGPU can be tried again: “${s.why}”`);

    // The connection is back: choosing WebGPU again starts it and re-tags there.
    await page.context().unroute('**/pkg-webgpu/scatterbrain_bg.wasm*', route);
    await resetState(page);
    await chooseBackend(page, 'webgpu');
    check((await settled(page, 300_000)) === 'done', `WebGPU again: ${await errorText(page)}`);
    const again = await pageTags(page);
    check(again.backend === 'webgpu' && !again.fallback, `the second try did not run on WebGPU: ${JSON.stringify({ backend: again.backend, fallback: again.fallback })}`);
    s = await state(page);
    check(!s.gpu.failed && s.webgpuChecked, `after the second try: ${JSON.stringify(s)}`);
  }, { consoleOk: /ERR_CONNECTION_RESET|Failed to load resource/ });
}
