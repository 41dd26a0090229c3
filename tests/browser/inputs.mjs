// Browser tests of what the page reads from a file before decoding it, and
// of its words while a job waits (a new user's trial, round 3). Registered by
// run.mjs.   node tests/browser/run.mjs inputs:
import { readFileSync } from 'node:fs';
import { audioHead, declaredSeconds, estimateSeconds, matroskaCut, sniffSampleRate } from '../../www/package/sniff.js';

const fixture = (name) => readFileSync(new URL(`../fixtures/audio/${name}`, import.meta.url));

/** `mp3` behind an ID3v2.3 tag whose APIC frame holds a JPEG-like cover of `size` bytes. */
export function withCover(mp3, size) {
  // A JPEG starts FF D8 FF E0, an MPEG frame sync look-alike; the rest pseudo-random, as compressed data is.
  const picture = Buffer.alloc(size);
  let s = 7;
  for (let i = 0; i < size; i++) picture[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  picture.set([0xff, 0xd8, 0xff, 0xe0]);
  const body = Buffer.concat([Buffer.from('\0image/jpeg\0\x03\0', 'latin1'), picture]);
  const frame = Buffer.alloc(10);
  frame.write('APIC', 0, 'latin1');
  frame.writeUInt32BE(body.length, 4);
  const n = frame.length + body.length;
  const tag = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);
  return Buffer.concat([tag, frame, body, Buffer.from(mp3)]);
}

export function inputTests(h) {
  const { test, check, needModel, dropFile, settled, resetState, errorText, pageTags } = h;

  test('inputs: the readers see past a 2 MiB ID3 cover: rate, declared and estimated length as without it', async () => {
    for (const [name, rate, seconds] of [['tone1k_44k_stereo.mp3', 44100, 3.0], ['tone440_8k.mp3', 8000, 2.0]]) {
      const mp3 = withCover(fixture(name), 2 << 20);
      const { head, skipped } = audioHead(mp3);
      check(skipped > 2 << 20 && skipped < mp3.length, `${name}: ${skipped} bytes of tags skipped`);
      check(sniffSampleRate(head) === rate, `${name}: rate ${sniffSampleRate(head)}`);
      const declared = declaredSeconds(head);
      const estimate = estimateSeconds(head, mp3.length - skipped);
      check(Math.abs(declared - seconds) < 0.02 && Math.abs(estimate - seconds) < 0.02, `${name}: declared ${declared} s, estimated ${estimate} s, lasts ${seconds} s`);
    }
    // Without a tag nothing is skipped.
    const flac = fixture('tone500_48k_mono.flac');
    check(audioHead(flac).skipped === 0 && audioHead(flac).head.length === Math.min(flac.length, 1 << 17), 'a FLAC head');
  });

  test('inputs: a WebM file is judged cut by where its last element ends: whole files pass, cuts are found, damage never throws', async () => {
    for (const name of ['recorded_opus.webm', 'tone600_48k_stereo.webm']) {
      const whole = new Uint8Array(fixture(name));
      check(matroskaCut(whole) === false, `${name} whole: ${matroskaCut(whole)}`);
      // Cut at every 7th byte past the EBML header: a cut between two blocks passes as whole (false), none is "not Matroska".
      let found = 0;
      let total = 0;
      for (let at = 64; at < whole.length; at += 7, total++) {
        const r = matroskaCut(whole.subarray(0, at));
        check(r !== null, `${name} cut at ${at}: not read as Matroska`);
        if (r) found++;
      }
      check(found / total > 0.98, `${name}: ${found} of ${total} cuts found`);
      // Zeroed bytes (not an element) anywhere: an answer, not an exception.
      for (let at = 40; at < whole.length; at += 97) {
        const damaged = whole.slice();
        damaged.fill(0, at, at + 30);
        matroskaCut(damaged);
      }
    }
    check(matroskaCut(new Uint8Array(fixture('tone1k_44k_stereo.mp3'))) === null, 'an MP3 is read as Matroska');
  });

  test('inputs: an MP3 behind a 2 MiB cover is read as without it: its rate, its length, cut short or not, the same tags', async ({ page, url }) => {
    await page.goto(url);
    const note = () => page.evaluate(() => (document.getElementById('input-note').hidden ? '' : document.getElementById('input-note').textContent));
    const read = () => page.evaluate(() => ({ rate: globalThis.scatterbrain.result.sniffedRate, long: globalThis.scatterbrain.result.long }));
    const mp3 = fixture('tone1k_44k_stereo.mp3'); // 44.1 kHz, 3.03 s, with a Xing/Info frame
    await dropFile(page, 'plain.mp3', mp3, 'audio/mpeg');
    check((await settled(page)) === 'done', await errorText(page));
    needModel();
    const plain = { ...(await read()), clip: (await pageTags(page)).clip };
    const covered = withCover(mp3, 2 << 20);
    await resetState(page);
    await dropFile(page, 'covered.mp3', covered, 'audio/mpeg');
    check((await settled(page)) === 'done', await errorText(page));
    const got = await read();
    check(plain.rate === 44100 && got.rate === 44100, `the header's rate: ${plain.rate} Hz plain, ${got.rate} Hz behind the cover`);
    check(!got.long, 'a 3 s file behind a cover taken for a long one');
    check((await note()) === '', `a whole file has a note: “${await note()}”`);
    const { clip } = await pageTags(page);
    const diff = Math.max(...clip.map((v, k) => Math.abs(v - plain.clip[k])));
    check(diff < 1e-6, `tags differ from the plain file's by ${diff}`);
    // Cut in its audio (an interrupted download): the header behind the cover says 3.0 s.
    await resetState(page);
    await dropFile(page, 'covered-cut.mp3', covered.subarray(0, covered.length - Math.floor(mp3.length * 0.4)), 'audio/mpeg');
    check((await settled(page)) === 'done', await errorText(page));
    const cut = await note();
    check(/cut short/.test(cut) && /3\.0\d? s/.test(cut), `a covered file cut short: note “${cut}”`);
  });

  test('inputs: a file dropped while the model still downloads says it waits for it, and “Done in” counts the wait', async ({ page, url }) => {
    needModel();
    // A slow first visit: the model arrives 5 s late.
    await page.route('**/models/*.bpk', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await r.continue();
    });
    await page.goto(url);
    await page.waitForFunction(() => globalThis.scatterbrain);
    await page.evaluate(() => {
      globalThis.statusSeen = new Set();
      const el = document.getElementById('status-text');
      new MutationObserver(() => globalThis.statusSeen.add(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await dropFile(page, 'good.wav', h.good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    const seen = await page.evaluate(() => [...globalThis.statusSeen]);
    check(seen.some((t) => /^Waiting for the tagging model to finish downloading/.test(t)), `the status never said it waited for the model: ${JSON.stringify(seen)}`);
    const done = await page.evaluate(() => document.getElementById('status-text').textContent);
    const m = /^Done in ([\d.]+) s, ([\d.]+) s of it waiting for the page's first downloads\.$/.exec(done);
    check(m && Number(m[2]) >= 2 && Number(m[1]) >= Number(m[2]), `the status at the end: “${done}”`);
  });

  test('inputs: a bad first file of a drop names the files dropped with it, and says whose results stay below', async ({ page, url }) => {
    await page.goto(url);
    await dropFile(page, 'first.wav', h.good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    await resetState(page);
    // text.mp3 and good.wav dropped together, the bad one first.
    const b64 = Buffer.from(h.good).toString('base64');
    await page.evaluate((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File(['this is not audio, only text'], 'text.mp3', { type: 'audio/mpeg' }));
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'song.wav', { type: 'audio/wav' }));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, b64);
    check((await settled(page)) === 'error', 'the text file was not refused');
    const err = await errorText(page);
    check(/“text\.mp3” could not be read as audio/.test(err), `the error: “${err}”`);
    check(/The file dropped with it \(“song\.wav”\) was not analysed/.test(err), `the error does not name the file dropped with it: “${err}”`);
    check(/The results below are still those of “first\.wav”\./.test(err), `the error does not say whose results stay: “${err}”`);
  });

  test('inputs: cancelling a re-tag on WebGPU chooses the CPU again, whose tags stay shown', async ({ page, url }) => {
    needModel();
    await page.goto(url);
    await dropFile(page, 'good.wav', h.good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    const before = await pageTags(page);
    check(before.backend === 'cpu', `tagged first on ${before.backend} (the default on a software adapter is the CPU)`);
    await resetState(page);
    await h.chooseBackend(page, 'webgpu');
    await page.waitForFunction(() => document.body.dataset.busy === '1' && /Tagging on WebGPU/.test(document.getElementById('status-text').textContent), null, { timeout: 60_000 });
    await page.keyboard.press('Escape');
    check((await settled(page)) === 'cancelled', 'the re-tag was not cancelled');
    const after = await page.evaluate(() => ({
      backend: globalThis.scatterbrain.backend,
      cpuChecked: document.getElementById('backend-cpu').checked,
      status: document.getElementById('status-text').textContent,
    }));
    check(after.backend === 'cpu' && after.cpuChecked, `after the cancel the page runs the model on ${after.backend}`);
    check(/^Cancelled\. The tags shown are from CPU \(WebAssembly\), chosen again for the next file\.$/.test(after.status), `the status: “${after.status}”`);
    check((await pageTags(page)).backend === 'cpu', 'the tags shown changed');
    // Again: the cancel replaced the worker, so this re-tag is a whole analysis; its cancel too goes back.
    await resetState(page);
    await h.chooseBackend(page, 'webgpu');
    await page.waitForFunction(() => document.body.dataset.busy === '1', null, { timeout: 60_000 });
    await page.keyboard.press('Escape');
    check((await settled(page)) === 'cancelled', 'the second re-tag was not cancelled');
    const again = await page.evaluate(() => ({ backend: globalThis.scatterbrain.backend, status: document.getElementById('status-text').textContent }));
    check(again.backend === 'cpu' && /chosen again/.test(again.status), `after the second cancel: ${again.backend}, “${again.status}”`);
    // The next file goes to the CPU.
    await resetState(page);
    await dropFile(page, 'again.wav', h.good, 'audio/wav');
    check((await settled(page)) === 'done', await errorText(page));
    check((await pageTags(page)).backend === 'cpu', 'the next file did not go to the CPU');
  });
}
