// Browser tests of the microphone's live view beside the page's other work:
// a change of backend while recording, and what is left on screen after a
// recording. Registered by run.mjs (Chromium's fake microphone: `fakeMic`).
//   node tests/browser/run.mjs microphone

import { quiet } from './network.mjs';

/** How far the live view has got: its frames, newest time, tag updates; and whether a job runs. */
const live = (page) =>
  page.evaluate(() => ({
    frames: Number(document.body.dataset.liveFrames || 0),
    newest: Number(document.body.dataset.liveSeconds || 0),
    tags: Number(document.body.dataset.liveTags || 0),
    jobs: globalThis.jobsSeen,
  }));

export function micTests(h) {
  const { test, check, needModel, dropFile, settled, errorText, chooseBackend, good } = h;

  /** The page with its model ready and the microphone granted. */
  async function open(page, url, context) {
    await context.grantPermissions(['microphone'], { origin: url });
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.model === 'ready' && document.body.dataset.backend, null, { timeout: 60_000 });
    await quiet(page);
  }

  test(
    'microphone: choosing WebGPU while recording keeps the live view and tags going; the recording is then tagged on WebGPU',
    async ({ page, url, context }) => {
      needModel();
      await open(page, url, context);
      // A file's results first: recording hides them, and re-tagging them on
      // WebGPU (minutes on SwiftShader) would hold up the live view's worker.
      await dropFile(page, 'good.wav', good, 'audio/wav');
      check((await settled(page)) === 'done', await errorText(page));
      await page.click('#record');
      await page.waitForFunction(() => Number(document.body.dataset.liveTags || 0) >= 1, null, { timeout: 60_000 });
      // Not the hidden file's 'done': a test (or a script) waiting for the recording's results must not take those.
      const state = await page.evaluate(() => document.body.dataset.state);
      check(state === 'recording', `the page's state while recording: ${state}`);
      // Every job the page starts from now on (busy: a retag or an analysis).
      await page.evaluate(() => {
        globalThis.jobsSeen = 0;
        new MutationObserver(() => document.body.dataset.busy === '1' && globalThis.jobsSeen++).observe(document.body, { attributeFilter: ['data-busy'] });
      });
      await chooseBackend(page, 'webgpu');
      const before = await live(page);
      await page.waitForTimeout(8000); // live tags every 3 s, frames twice a second
      const after = await live(page);
      check(after.jobs === 0, 'choosing WebGPU while recording started a job (re-tagging the hidden results)');
      check(after.newest >= before.newest + 5, `the live view stalled: ${before.newest.toFixed(1)} → ${after.newest.toFixed(1)} s in 8 s`);
      check(after.tags >= before.tags + 2, `the live tags stalled: ${before.tags} → ${after.tags} updates in 8 s`);
      check(await page.isHidden('#results'), 'the previous results came back while recording');
      // The choice applies to the next analysis: the recording's.
      await page.keyboard.press('Escape');
      check((await settled(page, 300_000)) === 'done', await errorText(page));
      const { backend, fallback, why } = await page.evaluate(() => ({
        backend: globalThis.scatterbrain.result.tags?.backend,
        fallback: globalThis.scatterbrain.result.tags?.fallback,
        why: document.getElementById('backend-why').textContent,
      }));
      check(backend === 'webgpu', `the recording was tagged on ${backend} (fallback: ${fallback}; the page says: ${why})`);
    },
    { fakeMic: true },
  );

  test(
    'microphone: recorded without voice processing; the live view goes when the recording stops: no live panel above a later file, none beside a too-short recording’s error',
    async ({ page, url, context }) => {
      // The microphone's track as the page got it.
      await page.addInitScript(() => {
        const get = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = async (c) => {
          const stream = await get(c);
          globalThis.micSettings = stream.getAudioTracks()[0].getSettings();
          return stream;
        };
      });
      // A phone: the live picture comes into view when recording starts.
      await page.setViewportSize({ width: 375, height: 667 });
      await open(page, url, context);
      await page.click('#record');
      await page.waitForFunction(() => Number(document.body.dataset.liveFrames || 0) >= 4, null, { timeout: 30_000 });
      check(await page.isVisible('#live'), 'no live view while recording');
      const liveAt = await page.evaluate(() => document.getElementById('live-canvas').getBoundingClientRect().bottom);
      check(liveAt <= 667, `the live picture ends ${liveAt} px down a 667 px phone screen`);
      // Recorded as music: the browser's voice processing off.
      const mic = await page.evaluate(() => globalThis.micSettings);
      check(mic && mic.echoCancellation === false && mic.noiseSuppression === false && mic.autoGainControl === false, `the microphone's voice processing: ${JSON.stringify(mic)}`);
      await page.keyboard.press('Escape');
      check((await settled(page)) === 'done', await errorText(page));
      check(await page.isHidden('#live'), 'the live view stays above the recording’s results');
      // Said plainly: the browser made the recording and reads it back.
      const meta = await page.textContent('#result-meta');
      check(/by the browser, which recorded it/.test(meta) && !/core|does not read/.test(meta), `a recording's details: “${meta}”`);
      // Its player knows its length, and a click on the scattergram seeks it.
      await page.waitForFunction(() => document.getElementById('player').readyState >= 1, null, { timeout: 10_000 });
      // (A WAV of the decoded recording: the browser's WebM states no length,
      // which a short one like this reveals once read whole, a longer one not.)
      const type = await page.evaluate(() => globalThis.scatterbrain.result.playable?.type);
      check(type === 'audio/wav', `the recording's player plays ${type}`);
      const len = await page.evaluate(() => [document.getElementById('player').duration, globalThis.scatterbrain.result.duration]);
      check(Number.isFinite(len[0]) && Math.abs(len[0] - len[1]) < 0.1, `the recording's player: ${len[0]} s, analysed ${len[1]} s`);
      const { half, fx } = await page.evaluate(() => {
        const L = globalThis.scatterbrain.result.s1Layout;
        const x = L.plot.x + L.plot.w / 2;
        return { half: L.timeOf(x), fx: x / document.getElementById('s1').width };
      });
      const box = await page.locator('#s1').boundingBox();
      await page.locator('#s1').click({ position: { x: box.width * fx, y: box.height / 2 } });
      const at = await page.evaluate(() => document.getElementById('player').currentTime);
      check(Math.abs(at - half) < 0.3, `a click at ${half.toFixed(2)} s on the recording's scattergram: the player is at ${at} s`);
      await dropFile(page, 'good.wav', good, 'audio/wav');
      check((await settled(page)) === 'done', await errorText(page));
      check(await page.isHidden('#live'), 'the recording’s live view stays above the next file’s results');
      // Record shows it again; stopped at once, the recording is too short.
      await page.click('#record');
      await page.waitForFunction(() => document.getElementById('record').getAttribute('aria-pressed') === 'true', null, { timeout: 30_000 });
      check(await page.isVisible('#live'), 'Record did not show the live view again');
      await page.keyboard.press('Escape');
      const state = await settled(page);
      check(state === 'error', `a recording stopped at once: ${state}`);
      check(await page.isHidden('#live'), `an empty live view beside the error “${await errorText(page)}”`);
    },
    { fakeMic: true },
  );

  test('microphone: the live view’s time axis reads the time since recording began, not 0–30 s', async ({ page, url }) => {
    await page.goto(url);
    // The page's own code on 4 min of the engine's live messages (two frames each, 0.256 s apart).
    const r = await page.evaluate(async () => {
      const { drawHeatmap } = await import('/plot.js');
      const { addLiveFrames, liveView } = await import('/page/mic.js');
      const history = { frames: [], freqs: null, hop: 0.256 };
      for (let i = 0; i * 0.256 <= 240.3; i += 2) {
        const frames = [i, i + 1].map((k) => ({ t: k * 0.256, values: new Float32Array([1]) }));
        addLiveFrames(history, { frames, freqs: [440], hop: 0.256 });
      }
      const canvas = Object.assign(document.createElement('canvas'), { width: 960, height: 240 });
      const view = liveView(history);
      const L = drawHeatmap(canvas, view);
      const ticks = L.labels.filter((l) => l.kind === 'time').map((l) => ({ text: l.text, x: l.x + l.w / 2 }));
      const newest = history.frames.at(-1).t;
      return { ticks, x215: L.xOf(215 - view.start), newest, kept: history.frames.length, axis: L.labels.find((l) => l.kind === 'axis' && /time/.test(l.text))?.text };
    });
    check(r.newest > 240 && r.kept <= 30 / 0.256 + 2, `history: newest ${r.newest} s, ${r.kept} frames kept`);
    const texts = r.ticks.map((t) => t.text);
    check(texts.length >= 3 && texts[0] === '3:35' && texts.at(-1) === '4:00', `time ticks ${JSON.stringify(texts)}`);
    check(Math.abs(r.ticks[0].x - r.x215) < 2, `“3:35” drawn at x ${r.ticks[0].x}, its time is at ${r.x215}`);
    check(r.axis === 'time (min:s)', `axis named “${r.axis}”`);
  });
}
