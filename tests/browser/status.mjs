// Browser tests of the page's status words, times and read-outs (a new
// user's trial, round 3). Registered by run.mjs.   node tests/browser/run.mjs status:

import { quiet } from './network.mjs';

/** The page's own status module (the instance app.js uses: one module per URL). */
const statusModule = (page, fn, arg) => page.evaluate(async ({ fn, arg }) => new Function('m', 'arg', `return (${fn})(m, arg)`)(await import('/page/status.js'), arg), { fn: String(fn), arg });

export function statusTests(h) {
  const { test, check, needModel, dropFile, settled, errorText, good } = h;

  test('status: times are rounded before they are split (no "1 min 60 s"), hours from 1 h', async ({ page, url }) => {
    await page.goto(url);
    await page.waitForFunction(() => globalThis.scatterbrain);
    const cases = [
      [4.24, '4.2 s'],
      [59.94, '59.9 s'],
      [59.96, '1 min 0 s'],
      [119.6, '2 min 0 s'],
      [179.7, '3 min 0 s'],
      [3599.6, '1 h 0 min'],
      [3929, '1 h 5 min'],
      [7200, '2 h 0 min'],
    ];
    const got = await statusModule(page, (m, xs) => xs.map((s) => m.fmtSeconds(s)), cases.map(([s]) => s));
    const wrong = cases.map(([s, want], i) => got[i] !== want && `${s} s → "${got[i]}", expected "${want}"`).filter(Boolean);
    check(wrong.length === 0, wrong.join('; '));
  });

  test('status: the model stage’s time left counts down while a window runs, then says it is finishing instead of counting up', async ({ page, url }) => {
    await page.goto(url);
    await page.waitForFunction(() => globalThis.scatterbrain);
    const text = () => page.textContent('#status-text');
    const leftOf = (s) => {
      const m = /about (?:(\d+) min )?([\d.]+) s left/.exec(s);
      return m ? Number(m[1] || 0) * 60 + Number(m[2]) : NaN;
    };
    // Window 1 of 2 took 10 s and has just completed: about 10 s left, then less.
    await statusModule(page, (m) => m.showModelProgress('WebGPU', 1, 2, performance.now() - 10_000));
    const first = await text();
    await page.waitForTimeout(3200); // three ticks
    const later = await text();
    check(leftOf(first) >= 9 && leftOf(first) <= 10.5, `just after window 1 of 2 (10 s): "${first}"`);
    check(leftOf(later) <= leftOf(first) - 2.5, `3 s later the time left did not go down: "${first}" → "${later}"`);
    // Window 1 took 1 s, window 2 has run 3 s since: past the estimate.
    await statusModule(page, (m) => m.showModelProgress('WebGPU', 1, 2, performance.now() - 1000));
    await page.waitForTimeout(2200);
    const over = await text();
    check(/finishing window 2 of 2/.test(over) && !/left/.test(over), `past the estimate on the last window: "${over}"`);
    // A stage of three: window 2 overrunning is not "finishing", nor a time left that grows.
    await statusModule(page, (m) => m.showModelProgress('WebGPU', 1, 3, performance.now() - 500));
    await page.waitForTimeout(2200);
    const slow = await text();
    check(/window 2 of 3 · longer than expected/.test(slow), `past the estimate on window 2 of 3: "${slow}"`);
    // The next completion measures again.
    await statusModule(page, (m) => m.showModelProgress('WebGPU', 2, 3, performance.now() - 4000));
    const again = await text();
    check(leftOf(again) >= 1.5 && leftOf(again) <= 2.1, `after window 2 of 3 (4 s for two): "${again}"`);
    await statusModule(page, (m) => m.showModelProgress('WebGPU', 3, 3, performance.now() - 6000));
    // Windows scored before the stage showed (the helpers score while they scatter) took none of its time:
    // no "about 0.0 s left", then "longer than expected", at once.
    await statusModule(page, (m) => {
      globalThis.poolSince = performance.now();
      m.showModelProgress('CPU (WebAssembly)', 113, 125, globalThis.poolSince);
    });
    await page.waitForTimeout(1200);
    const pool = await text();
    check(/window 114 of 125 · [\d.]+ s so far$/.test(pool), `windows done before the stage: "${pool}"`);
    await statusModule(page, (m) => m.showModelProgress('CPU (WebAssembly)', 117, 125, globalThis.poolSince));
    const measured = await text();
    check(leftOf(measured) > 1.5, `four windows in 1.2 s, eight to go: "${measured}"`);
    await statusModule(page, (m) => m.showModelProgress('CPU (WebAssembly)', 125, 125, globalThis.poolSince));
  }, { alone: true });

  /** Open the page with app.js held back, as on a slow link; returns the function that lets it through. */
  async function holdAppJs(page, url) {
    let release;
    const held = new Promise((r) => (release = r));
    await page.route(/\/app\.js$/, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(url, { waitUntil: 'commit' });
    return release;
  }

  test('status: until app.js has run, the drop zone says the page is starting and takes no file; then it works', async ({ page, url }) => {
    // The drop zone was on screen a second before app.js wired it.
    const release = await holdAppJs(page, url);
    await page.waitForSelector('#file', { state: 'attached' });
    const before = await page.evaluate(() => ({ aria: document.getElementById('drop').getAttribute('aria-disabled'), input: document.getElementById('file').disabled }));
    check(before.aria === 'true' && before.input, `before app.js: drop zone aria-disabled ${before.aria}, file input disabled: ${before.input}`);
    check(await page.isVisible('#drop .drop-starting'), 'before app.js the drop zone does not say the page is starting');
    release();
    await page.waitForFunction(() => document.getElementById('drop').getAttribute('aria-disabled') === 'false', null, { timeout: 30_000 });
    check(!(await page.isDisabled('#file')), 'the file input is still disabled once the page is ready');
    check(await page.isHidden('#drop .drop-starting'), 'the drop zone still says the page is starting once it is ready');
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
  });

  test('status: with JavaScript off the drop zone says the page needs it, not that it is starting', async ({ url, context }) => {
    const off = await context.browser().newContext({ javaScriptEnabled: false });
    try {
      const page = await off.newPage();
      await page.goto(url);
      const seen = await page.evaluate(() => ({ text: document.getElementById('drop').innerText, starting: getComputedStyle(document.querySelector('.drop-starting')).display }));
      check(/needs JavaScript/.test(seen.text) && seen.starting === 'none', `without scripts the drop zone reads “${seen.text}”`);
    } finally {
      await off.close();
    }
  });

  test('status: a file dropped before app.js has run does not leave the page, and is analysed once it has started', async ({ page, url }) => {
    const release = await holdAppJs(page, url);
    await page.waitForSelector('#drop', { state: 'attached' });
    const b64 = Buffer.from(good).toString('base64');
    // The browser's own action on a drop is to open the file: only a handler that cancels it keeps the page.
    const cancelled = await page.evaluate((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'early.wav', { type: 'audio/wav' }));
      return !document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, b64);
    check(cancelled, 'a drop before app.js was not cancelled: the browser would open the file and leave the page');
    release();
    check((await settled(page)) === 'done', await errorText(page));
    check((await page.evaluate(() => globalThis.scatterbrain.result.name)) === 'early.wav', 'the early drop was not analysed');
  });

  test('status: the taggram says which columns the model read while still starting (the file’s first ~2 s), in its subtitle and read-out', async ({ page, url }) => {
    needModel();
    await page.goto(url);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    const r = await page.evaluate(() => {
      const t = globalThis.scatterbrain.result.tags.taggram;
      return { warm: t.map((c) => !!c.warm_up), sub: document.getElementById('taggram-sub').textContent };
    });
    // One window (14 s): only its first column is its first frames alone.
    check(r.warm[0] && !r.warm.slice(1).some(Boolean), `warm-up columns ${JSON.stringify(r.warm)}`);
    check(/the first is read while the model is still starting\)$/.test(r.sub), `the subtitle: “${r.sub}”`);
    // The read-out over the first column says so, over a later one it does not.
    await page.locator('#taggram').scrollIntoViewIfNeeded();
    const box = await page.locator('#taggram').boundingBox();
    const readout = async (fx) => {
      const { x, y, w, h, cw, ch } = await page.evaluate(() => {
        const c = document.getElementById('taggram');
        return { ...globalThis.scatterbrain.result.taggramLayout.plot, cw: c.width, ch: c.height };
      });
      await page.mouse.move(box.x + ((x + fx * w) / cw) * box.width, box.y + ((y + 0.1 * h) / ch) * box.height);
      return page.evaluate(() => document.getElementById('taggram-readout').textContent);
    };
    const first = await readout(0.02);
    check(/the model still starting\)$/.test(first), `over the first column: “${first}”`);
    const later = await readout(0.5);
    check(/score/.test(later) && !/still starting/.test(later), `over a later column: “${later}”`);
    // The JSON download marks it too, as the CLI's does.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const json = JSON.parse(await (await import('node:fs/promises')).readFile(await download.path(), 'utf8'));
    const frames = json.taggram.frames;
    check(frames[0].warm_up === true && !frames.slice(1).some((f) => 'warm_up' in f), `the JSON's frames: ${JSON.stringify(frames.map((f) => f.warm_up ?? null))}`);
  });

  test('status: a picture’s pointer read-out goes when the pointer leaves it; the keyboard cursor’s stays', async ({ page, url }) => {
    needModel(); // the taggram
    await page.goto(url);
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    const state = (id) =>
      page.evaluate((id) => {
        const out = document.getElementById(`${id}-readout`);
        return { text: out.textContent, hint: out.dataset.hint, marker: !document.querySelector(`#${id} ~ .marker`).hidden };
      }, id);
    /** The mouse at a fraction (fx, fy) of the plot area of picture `id`, or of its whole canvas. */
    const hover = async (id, fx, fy, plot = true) => {
      await page.locator(`#${id}`).scrollIntoViewIfNeeded();
      const box = await page.locator(`#${id}`).boundingBox();
      const { x, y, w, h, cw, ch } = await page.evaluate(
        ([id, key, plot]) => {
          const c = document.getElementById(id);
          const P = plot ? globalThis.scatterbrain.result[key].plot : { x: 0, y: 0, w: c.width, h: c.height };
          return { ...P, cw: c.width, ch: c.height };
        },
        [id, `${id}Layout`, plot],
      );
      await page.mouse.move(box.x + ((x + fx * w) / cw) * box.width, box.y + ((y + fy * h) / ch) * box.height);
    };
    for (const id of ['taggram', 's1']) {
      await hover(id, 0.5, 0.5);
      const over = await state(id);
      check(over.text !== over.hint && over.marker, `${id}: no read-out under the pointer: “${over.text}”`);
      await page.mouse.move(2, 2);
      const gone = await state(id);
      check(gone.text === gone.hint && !gone.marker, `${id}: after the pointer left, the read-out still says “${gone.text}” (marker shown: ${gone.marker})`);
      // Into the margin (the axis labels), still on the canvas: no longer on the picture.
      await hover(id, 0.5, 0.5);
      await hover(id, 0.01, 0.5, false);
      const margin = await state(id);
      check(margin.text === margin.hint && !margin.marker, `${id}: with the pointer on the axis labels the read-out says “${margin.text}”`);
      // The keyboard cursor's read-out stays, with the pointer gone or come and gone.
      await page.mouse.move(2, 2);
      await page.focus(`#${id}`);
      await page.keyboard.press('ArrowDown');
      const keys = await state(id);
      check(keys.text !== keys.hint && keys.marker, `${id}: no keyboard read-out: “${keys.text}”`);
      await hover(id, 0.2, 0.2);
      check((await state(id)).text !== keys.text, `${id}: the pointer over the focused picture does not read`);
      await page.mouse.move(2, 2);
      const back = await state(id);
      check(back.text === keys.text && back.marker, `${id}: after the pointer left the focused picture: “${back.text}”, expected the keyboard cursor’s “${keys.text}”`);
      await page.locator(`#${id}`).blur();
    }
  });

  test('status: the JSON download says it is being prepared, painted before the build, and the button comes back', async ({ page, url }) => {
    await page.goto(url);
    await quiet(page);
    await dropFile(page, 'good.wav', good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    const label = await page.textContent('#download');
    // Every state of the button, and whether a frame (a paint) came while it said "Preparing".
    await page.evaluate(() => {
      const b = document.getElementById('download');
      globalThis.seen = [];
      globalThis.framePreparing = false;
      new MutationObserver(() => {
        globalThis.seen.push(`${b.textContent} [${b.getAttribute('aria-disabled')}]`);
        if (/Preparing/.test(b.textContent)) requestAnimationFrame(() => (globalThis.framePreparing ||= /Preparing/.test(b.textContent)));
      }).observe(b, { childList: true, characterData: true, subtree: true, attributes: true });
    });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    check(/\.scatterbrain\.json$/.test(download.suggestedFilename()), `downloaded ${download.suggestedFilename()}`);
    const { seen, painted } = await page.evaluate(() => ({ seen: globalThis.seen, painted: globalThis.framePreparing }));
    check(seen.some((s) => /^Preparing the JSON… \[true\]$/.test(s)), `the button never said it was preparing the JSON: ${JSON.stringify(seen)}`);
    check(painted, 'no frame was drawn while the button said "Preparing": the build held the page first');
    const after = await page.evaluate(() => ({ text: document.getElementById('download').textContent, off: document.getElementById('download').getAttribute('aria-disabled') }));
    check(after.text === label && after.off !== 'true', `after the download the button says “${after.text}” (aria-disabled ${after.off})`);
  });
}
