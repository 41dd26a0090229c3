// Browser tests of the pictures (issue 12, items 3 and 4): colour bars with
// units, the read-out under the pointer and the keyboard, axis ranges (S1
// from ~30 Hz, S2 in Hz and BPM), a PNG per picture, the taggram's columns.
// run.mjs imports this and hands over its harness and helpers.
import { readFile } from 'node:fs/promises';
import { crc32, inflateSync } from 'node:zlib';
import { melody, noise, tone, wav } from './audio.mjs';
import { quiet } from './network.mjs';

const RATE = 22050;
// A4 (440 Hz) alone for 6 s, then a melody over a beat: a tone to read and pulses for S2.
const AUDIO = wav([...tone(440, 6, RATE, 0.5), ...melody(8, RATE)].map((v, i) => v + 0.005 * noise(i)), RATE, 1);

/** The data parts of a picture's layout (the functions stay in the page). */
function layoutOf(page, key) {
  return page.evaluate((key) => {
    const L = globalThis.scatterbrain.result[key];
    if (!L) return null;
    return {
      plot: L.plot,
      yTicks: L.yTicks,
      bpmTicks: L.bpmTicks,
      colourBar: L.colourBar,
      labels: L.labels,
      lowestRow: L.rows ? L.rows[0].freq : null,
      columns: L.columns ? L.columns.map((c) => ({ from: c.from, to: c.to })) : null,
    };
  }, key);
}

/** Move the mouse onto canvas `id` at canvas pixel (x, y). */
async function hover(page, id, x, y) {
  // The mouse reaches only what is in the viewport.
  await page.locator(`#${id}`).scrollIntoViewIfNeeded();
  const box = await page.locator(`#${id}`).boundingBox();
  const size = await page.evaluate((id) => [document.getElementById(id).width, document.getElementById(id).height], id);
  await page.mouse.move(box.x + (x * box.width) / size[0], box.y + (y * box.height) / size[1]);
}

/** The numbers of a read-out: Hz, note, dB, BPM, score (each null when absent). */
function parseReadout(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1].replace('\u2212', '-')) : null;
  };
  const note = /Hz \(([A-G]♯?-?\d+)\)/.exec(text);
  return {
    text,
    hz: num(/([\d.]+) Hz/),
    khz: num(/([\d.]+) kHz/),
    note: note && note[1],
    db: num(/([\u2212-]?[\d.]+) dB/),
    bpm: num(/= (\d+) BPM/),
    score: num(/score ([\d.]+)/),
  };
}

const readout = async (page, id) => parseReadout(await page.textContent(`#${id}-readout`));

/** A PNG's size after checking its signature, every chunk's CRC, and that its pixel data inflates to the right length. */
function checkPng(bytes, check) {
  const SIG = [137, 80, 78, 71, 13, 10, 26, 10];
  check(SIG.every((b, i) => bytes[i] === b), 'not a PNG signature');
  let off = 8;
  let ihdr = null;
  const idat = [];
  let end = false;
  while (off + 12 <= bytes.length) {
    const len = bytes.readUInt32BE(off);
    const type = bytes.toString('latin1', off + 4, off + 8);
    const body = bytes.subarray(off + 8, off + 8 + len);
    check(crc32(bytes.subarray(off + 4, off + 8 + len)) === bytes.readUInt32BE(off + 8 + len), `bad CRC in chunk ${type}`);
    if (type === 'IHDR') ihdr = { w: body.readUInt32BE(0), h: body.readUInt32BE(4), depth: body[8], colour: body[9] };
    if (type === 'IDAT') idat.push(body);
    if (type === 'IEND') end = true;
    off += 12 + len;
  }
  check(ihdr && end && idat.length, 'PNG lacks IHDR, IDAT or IEND');
  check(ihdr.depth === 8 && (ihdr.colour === 6 || ihdr.colour === 2), `PNG depth ${ihdr.depth} colour type ${ihdr.colour}`);
  const channels = ihdr.colour === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  check(raw.length === ihdr.h * (1 + ihdr.w * channels), `PNG data ${raw.length} B for ${ihdr.w}×${ihdr.h}`);
  return ihdr;
}

export function pictureTests({ test, check, dropFile, settled, errorText, needModel }) {
  async function analysed(page, url) {
    await page.goto(url);
    await quiet(page);
    await dropFile(page, 'a4 then beat.wav', AUDIO, 'audio/wav');
    const state = await settled(page);
    check(state === 'done', `state ${state}: ${await errorText(page)}`);
  }

  test('pictures: colour bars in dB and score, S1 from ~30 Hz, S2 in Hz and BPM', async ({ page, url }) => {
    await analysed(page, url);
    for (const id of ['s1', 's2']) {
      const L = await layoutOf(page, `${id}Layout`);
      const bar = L.colourBar;
      check(bar && bar.unit === 'dB', `${id}: no dB colour bar`);
      check(L.labels.some((l) => l.text === 'dB' && l.kind === 'unit'), `${id}: the colour bar's unit is not written`);
      check(bar.ticks.length >= 2 && bar.ticks.every((t, i) => i === 0 || t.value > bar.ticks[i - 1].value), `${id}: dB ticks ${JSON.stringify(bar.ticks)}`);
      check(bar.ticks.every((t) => L.labels.some((l) => l.kind === 'colourbar' && l.text === t.label)), `${id}: dB tick labels not drawn`);
      check(bar.hi - bar.lo > 20, `${id}: colour range ${bar.lo}..${bar.hi} dB`);
      // The bar is really drawn: bright at the top, dark at the bottom, brighter all the way up.
      const lum = await page.evaluate(
        ({ id, bar }) => {
          const ctx = document.getElementById(id).getContext('2d');
          const x = Math.round(bar.x + bar.w / 2);
          const out = [];
          for (let k = 0; k <= 10; k++) {
            const d = ctx.getImageData(x, Math.round(bar.y + 2 + ((bar.h - 4) * k) / 10), 1, 1).data;
            out.push(0.2126 * d[0] + 0.7152 * d[1] + 0.0722 * d[2]);
          }
          return out;
        },
        { id, bar },
      );
      check(lum[0] > 200 && lum[10] < 20 && lum.every((v, k) => k === 0 || v <= lum[k - 1] + 1), `${id}: colour bar luminance ${lum.map(Math.round)}`);
    }
    const s1 = await layoutOf(page, 's1Layout');
    check(s1.yTicks[0] >= 25 && s1.lowestRow >= 25, `S1 axis starts at ${s1.yTicks[0]} Hz (lowest band ${s1.lowestRow} Hz)`);
    const bands = await page.$$eval('#band option', (os) => os.map((o) => Number(o.value)));
    check(bands.length > 10 && Math.min(...bands) >= 25, `S2 band list starts at ${Math.min(...bands)} Hz`);
    const s2 = await layoutOf(page, 's2Layout');
    check(s2.labels.some((l) => l.text === 'BPM'), 'S2 has no BPM axis');
    check(s2.bpmTicks.includes(60) && s2.bpmTicks.includes(120), `S2 BPM ticks ${s2.bpmTicks}`);
    check(s2.labels.some((l) => l.kind === 'axis' && /modulation \(Hz\)/.test(l.text)), 'S2 axis not in Hz');
    check(/2 Hz[\s\S]*120 BPM/.test(await page.textContent('.picture .note')), 'no note linking modulation to tempo');
    needModel();
    const tg = await layoutOf(page, 'taggramLayout');
    check(tg.colourBar.unit === 'score' && tg.colourBar.lo === 0 && tg.colourBar.hi === 1, `taggram colour bar ${JSON.stringify(tg.colourBar)}`);
  });

  test('pictures: the read-out names 440 Hz as A4 with its level, by pointer and by keyboard', async ({ page, url }) => {
    await analysed(page, url);
    const at = (key, t, hz) =>
      page.evaluate(({ key, t, hz }) => {
        const L = globalThis.scatterbrain.result[key];
        return [L.xOf(t), L.yOfFreq(hz)];
      }, { key, t, hz });
    let [x, y] = await at('s1Layout', 3, 440);
    await hover(page, 's1', x, y);
    const a4 = await readout(page, 's1');
    check(Math.abs(a4.hz - 440) <= 440 * 0.03 && a4.note === 'A4', `over the tone: “${a4.text}”`);
    check(/^3\.\d s/.test(a4.text), `time not read: “${a4.text}”`);
    check(await page.evaluate(() => !document.querySelector('#s1 ~ .marker').hidden), 'no marker where the pointer reads');
    [x, y] = await at('s1Layout', 3, 3000);
    await hover(page, 's1', x, y);
    const high = await readout(page, 's1');
    check(high.khz >= 2.9 && high.khz <= 3.1, `over 3 kHz: “${high.text}”`);
    check(a4.db != null && high.db != null && a4.db - high.db >= 20, `the tone's band (${a4.db} dB) is not 20 dB above 3 kHz (${high.db} dB)`);

    // S2: the pointer at 2 Hz of modulation reads 120 BPM.
    [x, y] = await at('s2Layout', 9, 2);
    await hover(page, 's2', x, y);
    const s2 = await readout(page, 's2');
    // (The mouse lands on whole pixels: a few BPM either way.)
    check(Math.abs(s2.bpm - 120) <= 4 && Math.abs(s2.bpm - 60 * s2.hz) <= 6 && s2.db != null, `S2 at 2 Hz: “${s2.text}”`);
    // …and says how wide the row under it is (one level per octave of rates).
    const span = s2.text.match(/this row: ([\d.]+)–([\d.]+) Hz, (\d+)–(\d+) BPM/);
    check(span && +span[1] < 2 && +span[2] > 2 && +span[2] / +span[1] > 1.9 && +span[3] < 120 && +span[4] > 120, `S2 at 2 Hz, the row's span: “${s2.text}”`);
    // The text alternative gives no tempo for rates too fast to be a beat.
    const said = await page.evaluate(async () => {
      const out = [];
      const band = document.getElementById('band');
      for (const o of [...band.options]) {
        band.value = o.value;
        band.dispatchEvent(new Event('change'));
        await new Promise((r) => requestAnimationFrame(r));
        out.push(document.getElementById('s2').getAttribute('aria-label'));
      }
      return out;
    });
    for (const text of said) {
      const m = text.match(/strongest pulsing is ([\d.]+) (k?Hz)[^.]*/);
      const hz = m && +m[1] * (m[2] === 'kHz' ? 1000 : 1);
      check(!m || (hz <= 20) === /a minute/.test(m[0]), `S2's text: “${m && m[0]}”`);
    }

    // Keyboard: focus starts on the loudest band at the playhead (0 s: the tone), Up goes higher.
    await page.mouse.move(0, 0);
    await page.focus('#s1');
    const kb = await readout(page, 's1');
    check(kb.note === 'A4' && kb.db != null, `focus: “${kb.text}”`);
    await page.keyboard.press('ArrowUp');
    const up = await readout(page, 's1');
    check(up.hz > kb.hz && up.hz < kb.hz * 1.2, `Up from ${kb.hz} Hz read “${up.text}”`);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => /^1\.\d s/.test(document.getElementById('s1-readout').textContent));
    // The read-out says the new place at once, not when the audio's seek ends
    // (before the player had loaded, it lagged by a key press): here the
    // player has no audio, so no seek ever ends.
    await page.evaluate(() => {
      const p = document.querySelector('audio');
      p.removeAttribute('src');
      p.load();
    });
    for (const [key, time] of [['End', /^[1-9]\d*\.\d s/], ['Home', /^0\.0 s/], ['ArrowRight', /^1\.0 s/]]) {
      await page.keyboard.press(key);
      const ok = await page
        .waitForFunction((re) => new RegExp(re).test(document.getElementById('s1-readout').textContent), time.source, { timeout: 2000 })
        .then(() => true, () => false);
      check(ok, `after ${key} the read-out says “${await page.textContent('#s1-readout')}”`);
    }

    needModel();
    const tg = await page.evaluate(() => {
      const r = globalThis.scatterbrain.result;
      const L = r.taggramLayout;
      const tag = L.order[0];
      const c = L.columnAt(2);
      return { x: L.xOf(2), y: L.plot.y + L.plot.h / L.order.length / 2, name: L.tags[tag], score: L.columns[c].scores[tag] };
    });
    await hover(page, 'taggram', tg.x, tg.y);
    const t = await readout(page, 'taggram');
    check(t.text.includes(`“${tg.name}”`) && Math.abs(t.score - tg.score) < 0.006, `taggram read “${t.text}”, expected ${tg.name} ${tg.score}`);
  });

  test('pictures: a heat map of windows joined at an uneven step has no seams (one colour across the plot for even values)', async ({ page, url }) => {
    await page.goto(url);
    const r = await page.evaluate(async () => {
      const { drawHeatmap } = await import('/plot.js');
      // Six 29 s windows of 114 frames, 0.256 s apart inside a window: the
      // step across a join differs (as in a file's results).
      const times = [];
      for (let w = 0; w < 6; w++) for (let k = 0; k < 114; k++) times.push(w * 29 + k * 0.256);
      const rows = [110, 220, 440, 880].map((freq) => ({ freq, values: new Float32Array(times.length).fill(0.01) }));
      const out = [];
      for (const width of [960, 1237, 634]) {
        const canvas = Object.assign(document.createElement('canvas'), { width, height: 240 });
        canvas.style.width = `${width}px`;
        document.body.append(canvas);
        const L = drawHeatmap(canvas, { rows, times: Float64Array.from(times), hop: 0.256, duration: 174, yLabel: 'frequency', title: 'seams' });
        const y = Math.round(L.plot.y + L.plot.h / 2);
        const x0 = Math.ceil(L.plot.x) + 1;
        const x1 = Math.floor(L.plot.x + L.plot.w) - 2;
        const px = canvas.getContext('2d').getImageData(x0, y, x1 - x0, 1).data;
        const colours = new Set();
        for (let i = 0; i < px.length; i += 4) colours.add(`${px[i]},${px[i + 1]},${px[i + 2]}`);
        out.push({ width: canvas.width, colours: [...colours] });
        canvas.remove();
      }
      return out;
    });
    for (const { width, colours } of r) check(colours.length === 1, `${width} px wide: ${colours.length} colours across an even plot (${colours.slice(0, 4).join(' | ')})`);
  });

  test('pictures: each picture saves as a valid PNG of its canvas; every button’s spoken name starts with its visible text', async ({ page, url }) => {
    await analysed(page, url);
    // WCAG 2.5.3 (label in name): “click Save PNG” by voice must find them.
    const names = await page.evaluate(() =>
      [...document.querySelectorAll('button[aria-label], a[aria-label]')]
        .filter((b) => b.textContent.trim())
        .map((b) => ({ text: b.textContent.trim().replace(/\s+/g, ' '), label: b.getAttribute('aria-label') })),
    );
    for (const { text, label } of names) check(label.toLowerCase().startsWith(text.toLowerCase()), `a button shows “${text}” but is named “${label}”`);
    check(names.length >= 3, `buttons with a spoken name: ${names.length}`);
    const ids = ['s1', 's2'];
    if (await page.evaluate(() => !!globalThis.scatterbrain.result.tags)) ids.push('taggram');
    for (const id of ids) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`.save-png[data-picture="${id}"]`)]);
      const name = download.suggestedFilename();
      check(name.startsWith('a4 then beat.') && name.endsWith('.png') && name.includes(id), `${id}: file name ${name}`);
      const png = checkPng(await readFile(await download.path()), check);
      const size = await page.evaluate((id) => [document.getElementById(id).width, document.getElementById(id).height], id);
      check(png.w === size[0] && png.h === size[1], `${id}: PNG ${png.w}×${png.h}, canvas ${size}`);
    }
    needModel();
    check(ids.length === 3, 'no taggram to save');
  });

  test('pictures: the taggram has a column every 3 s or less, with the playhead, and in the JSON', async ({ page, url }) => {
    needModel();
    await analysed(page, url);
    const r = await page.evaluate(() => {
      const s = globalThis.scatterbrain.result;
      const frames = s.taggram ?? s.tags.taggram;
      return { duration: s.duration, frames: frames ? frames.length : 0 };
    });
    const tg = await layoutOf(page, 'taggramLayout');
    check(tg.columns.length / r.duration >= 1 / 3, `${tg.columns.length} taggram columns for ${r.duration.toFixed(1)} s of audio`);
    check(tg.columns.length === r.frames, `${tg.columns.length} columns drawn for ${r.frames} frames`);
    check(tg.columns.every((c, i) => c.to > c.from && (i === 0 || Math.abs(c.from - tg.columns[i - 1].to) < 1e-6)), 'taggram columns overlap or leave gaps');
    await page.evaluate(() => {
      const p = document.getElementById('player');
      p.currentTime = 10;
      p.dispatchEvent(new Event('seeked'));
    });
    await page.waitForFunction(() => document.querySelector('#taggram + .playhead').style.display === 'block');
    const head = await page.evaluate(() => {
      const L = globalThis.scatterbrain.result.taggramLayout;
      return { left: parseFloat(document.querySelector('#taggram + .playhead').style.left), want: (100 * L.xOf(10)) / document.getElementById('taggram').width };
    });
    check(Math.abs(head.left - head.want) < 0.5, `taggram playhead at ${head.left}%, expected ${head.want.toFixed(2)}%`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const json = JSON.parse(await readFile(await download.path(), 'utf8'));
    const frames = json.taggram.frames;
    check(Array.isArray(frames) && frames.length === r.frames && frames.every((f) => f.scores.length === 50 && f.end_s > f.start_s), 'JSON taggram.frames missing or malformed');
  });

  test('pictures: over several windows the read-out and the picture keep to the frames’ times', async ({ page, url }) => {
    // 4 min of quiet noise with a 440 Hz burst at 200–201 s. An analysis window (29 s)
    // is not a whole number of frames, so the frames are evenly spaced within a window,
    // not across windows; taking them as evenly spaced read a frame 1.3 s early at 200 s.
    const rate = 8000;
    const long = new Float32Array(240 * rate).map((_, i) => 0.003 * noise(i));
    tone(440, 1, rate, 0.5).forEach((v, i) => (long[200 * rate + i] += v));
    await page.goto(url);
    await quiet(page);
    await dropFile(page, 'burst at 200 s.wav', wav(long, rate, 1), 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    const frames = await page.evaluate(() => {
      const r = globalThis.scatterbrain.result;
      const times = Array.from(r.scatter.times);
      const steps = new Set(times.slice(1).map((t, i) => (t - times[i]).toFixed(3)));
      return { steps: steps.size, wrong: times.map((t, i) => r.s1Layout.frameAt(t) === i).filter((ok) => !ok).length };
    });
    check(frames.steps > 1, 'the frames are evenly spaced: this test tests nothing');
    check(frames.wrong === 0, `${frames.wrong} frames not found at their own times`);
    const at = (t) => page.evaluate((t) => {
      const L = globalThis.scatterbrain.result.s1Layout;
      return [L.xOf(t), L.yOfFreq(440)];
    }, t);
    const level = async (t) => {
      const [x, y] = await at(t);
      await hover(page, 's1', x, y);
      return readout(page, 's1');
    };
    const [burst, before] = [await level(200.5), await level(194.5)];
    check(/^3:20/.test(burst.text) && burst.db != null, `over the burst: “${burst.text}”`);
    check(before.db == null || burst.db - before.db >= 30, `the burst (${burst.text}) is not 30 dB above 6 s before it (${before.text})`);
    // The picture too: at the burst's time the 440 Hz band is bright, 6 s before it dark.
    const lum = await page.evaluate(
      ([a, b]) => {
        const ctx = document.getElementById('s1').getContext('2d');
        return [a, b].map(([x, y]) => {
          const d = ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;
          return 0.2126 * d[0] + 0.7152 * d[1] + 0.0722 * d[2];
        });
      },
      [await at(200.5), await at(194.5)],
    );
    check(lum[0] > 200 && lum[0] > lum[1] + 50, `luminance at the burst ${lum[0]}, 6 s before ${lum[1]}`);
    // Every frame is drawn over the time nearer it than its neighbours: no
    // gap (background showing through) and no overlap, for this file's
    // frames and for the live view's, whose steps vary between updates.
    const cover = await page.evaluate(async () => {
      const { drawHeatmap } = await import('/plot.js');
      const spans = (times, hop) => {
        const canvas = Object.assign(document.createElement('canvas'), { width: 1200, height: 300 });
        const ctx = canvas.getContext('2d');
        const draw = ctx.drawImage.bind(ctx);
        const got = [];
        ctx.drawImage = (...a) => {
          if (a.length === 9) got.push([a[5], a[5] + a[7]]);
          draw(...a);
        };
        const rows = [{ freq: 440, values: new Float32Array(times.length).fill(1) }];
        const L = drawHeatmap(canvas, { rows, times, hop, duration: times[times.length - 1] + hop, yLabel: 'f', title: '' });
        got.sort((p, q) => p[0] - q[0]);
        const bad = got.slice(1).filter(([x0], i) => Math.abs(x0 - got[i][1]) > 1e-6).length;
        const ends = [got[0][0] - L.xOf(times[0] - hop / 2), got[got.length - 1][1] - L.xOf(times[times.length - 1] + hop / 2)];
        return { bad, ends: ends.map(Math.abs) };
      };
      const t = Array.from(globalThis.scatterbrain.result.scatter.times);
      const live = [0];
      for (let i = 1; i < 120; i++) live.push(live[i - 1] + 0.256 * (i % 7 === 0 ? 1.4 : i % 5 === 0 ? 0.6 : 1));
      return { file: spans(t, t[1] - t[0]), live: spans(live, 0.256) };
    });
    for (const [what, c] of Object.entries(cover)) {
      // Pieces are drawn at whole pixels (no seams): the ends within half a pixel.
      check(c.bad === 0 && c.ends.every((e) => e <= 0.5), `${what}: ${c.bad} gaps or overlaps between frames, ends off by ${c.ends}`);
    }
  });
}
