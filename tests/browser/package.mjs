// Browser tests of the npm package through its example page (www/example/,
// which uses only www/package/), registered into run.mjs's list:
//   node tests/browser/run.mjs package
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { wav, melody, tone, noise } from './audio.mjs';
import { quiet } from './network.mjs';

const RATE = 44100;
const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'audio');
// 12 s of stereo: the resampler, the mix-down and a looped short window.
const song = wav([...tone(660, 4, RATE, 0.4), ...melody(8, RATE)].map((v, i) => v + 0.01 * noise(i)), RATE, 2);

/** Open the example page and wait until its model is loaded. */
async function openExample(page, url, check) {
  await page.goto(new URL('example/', url).href);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 60_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  check(state === 'ready', `example page: ${state}: ${await page.textContent('#status')}`);
  await quiet(page);
}

const settled = (page, timeout = 120_000) =>
  page
    .waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.body.dataset.state), null, { timeout })
    .then(() => page.evaluate(() => document.body.dataset.state));

/** `{ test, check, needModel, nativeTags, TMP }` from run.mjs. */
export function register({ test, check, needModel, nativeTags, TMP }) {
  test('package example page: top 5 tags equal the native CLI, zero requests while tagging', async ({ page, url, requests, consoleErrors }) => {
    needModel();
    await openExample(page, url, check);
    requests.length = 0;
    const file = path.join(TMP, 'package song.wav');
    writeFileSync(file, song);
    await page.setInputFiles('#file', file);
    const state = await settled(page);
    check(state === 'done', `state ${state}: ${await page.textContent('#status')}`);
    const network = requests.filter((r) => !/^GET (blob|data):/.test(r));
    check(network.length === 0, `network requests while tagging: ${network.join(', ')}`);

    const shown = await page.$$eval('#tags li', (lis) => lis.map((li) => [li.querySelector('.tag').textContent, Number(li.querySelector('.score').textContent)]));
    const native = await nativeTags(file);
    const top = native.top.slice(0, 5).map((t) => [t.tag, t.score]);
    check(JSON.stringify(shown.map((t) => t[0])) === JSON.stringify(top.map((t) => t[0])), `shown ${JSON.stringify(shown)}, native top 5 ${JSON.stringify(top)}`);
    // Shown with 4 decimals: equal to the native scores within rounding and 1e-4.
    shown.forEach(([tag, v], i) => check(Math.abs(v - top[i][1]) <= 1.5e-4, `${tag}: shown ${v}, native ${top[i][1]}`));
    const clip = await page.evaluate(() => Array.from(globalThis.example.result.clip));
    const worst = Math.max(...clip.map((v, i) => Math.abs(v - native.clip[i])));
    check(clip.length === native.clip.length && worst <= 1e-4, `clip scores differ from native by ${worst}`);
    check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    console.log(`     (package in Chromium vs native: max |Δscore| ${worst.toExponential(1)})`);
  });

  test('package: a cut Opus or WebM file, which the browser decodes, has the early_end the page shows; whole, none', async ({ page, url }) => {
    needModel();
    await openExample(page, url, check);
    // [fixture, type, the fraction kept, what the reason names]: as the page's cut-file test.
    const cases = [
      ['tone600_48k_stereo.opus', 'audio/ogg', 0.8, /without the page that closes its Ogg stream/],
      ['tone600_48k_stereo.webm', 'audio/webm', 0.6, /where its header declares 2\.0\d? s/],
      ['recorded_opus.webm', 'audio/webm', 0.6, /partway through a block of its WebM stream/],
    ].map(([name, type, fraction, why]) => ({ name, type, fraction, why: why.source, b64: readFileSync(path.join(FIXTURES, name)).toString('base64') }));
    const got = await page.evaluate(async (cases) => {
      const { browserDecode, loadTagger } = await import(new URL('../package/index.js', location.href).href);
      const tagger = await loadTagger({ model: '../models/scat-4l-256h-gru.bpk' });
      const out = [];
      for (const { name, type, fraction, b64 } of cases) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const cut = bytes.slice(0, Math.floor(bytes.length * fraction));
        // As a File, and as bytes (which the caller keeps: copied before the browser decodes them).
        const whole = await tagger.tag(new File([bytes], name, { type }));
        const file = await tagger.tag(new File([cut], `cut-${name}`, { type }));
        const raw = await tagger.tag(cut);
        // The export an engine's user decodes with (README): the same words.
        const { earlyEnd } = await browserDecode(cut); // a Uint8Array: copied, not detached
        out.push({ name, whole: whole.early_end, file: file.early_end, raw: raw.early_end, decoded: earlyEnd, kept: cut.length, still: cut.byteLength });
      }
      tagger.free();
      return out;
    }, cases);
    got.forEach((g, i) => {
      const why = new RegExp(cases[i].why);
      check(g.whole == null, `a whole ${g.name}: early_end “${g.whole}”`);
      check(/^the file is cut short: it ends at \d+\.\d\d s /.test(g.file) && why.test(g.file), `a cut ${g.name} as a File: early_end “${g.file}”`);
      check(g.raw === g.file && g.decoded === g.file, `a cut ${g.name} as bytes: early_end “${g.raw}”, browserDecode “${g.decoded}”, as a File “${g.file}”`);
      check(g.still === g.kept, `the caller's bytes of ${g.name} were detached (${g.still} of ${g.kept} bytes left)`);
    });
  });

  test('package example page: cancel stops a long file, the next file is tagged', async ({ page, url }) => {
    needModel();
    await openExample(page, url, check);
    const long = path.join(TMP, 'package long.wav');
    writeFileSync(long, wav(tone(440, 600, 16000, 0.3), 16000, 1));
    await page.setInputFiles('#file', long);
    await page.waitForFunction(() => /^Analysing .*: [1-9]\d* %/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
    await page.click('#cancel');
    const state = await settled(page);
    check(state === 'cancelled', `after cancel: ${state}: ${await page.textContent('#status')}`);
    const file = path.join(TMP, 'package song.wav');
    writeFileSync(file, song);
    await page.evaluate(() => delete document.body.dataset.state);
    await page.setInputFiles('#file', file);
    check((await settled(page)) === 'done', `after the cancel: ${await page.textContent('#status')}`);
    check((await page.$$('#tags li')).length === 5, 'no tags after the cancel');
  });

  test('package engine (scatterbrain-tagger/engine): native tags, an AbortSignal cancels, retag, events', async ({ page, url, consoleErrors }) => {
    needModel();
    await openExample(page, url, check); // a same-origin, cross-origin-isolated page to run it in
    // At 22.05 kHz: neither a device's rate nor the model's, so a decode at another rate shows.
    const song22 = wav([...tone(660, 4, 22050, 0.4), ...melody(8, 22050)].map((v, i) => v + 0.01 * noise(i)), 22050, 2);
    const file = path.join(TMP, 'engine song.wav');
    writeFileSync(file, song22);
    const native = await nativeTags(file);
    const r = await page.evaluate(async (b64) => {
      const { createEngine } = await import(new URL('../package/engine.js', location.href).href);
      const engine = createEngine(); // the package's own pkg/ build
      const events = [];
      engine.addEventListener('model', (e) => events.push(['model', e.detail.generation, !!e.detail.error]));
      const core = await engine.ready;
      const model = await (await fetch('../models/scat-4l-256h-gru.bpk')).arrayBuffer();
      const loaded = await engine.loadModel(model);
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      // As the README shows: the package's decodeFile, at the file's own rate.
      const { decodeFile } = await import(new URL('../package/index.js', location.href).href);
      const audio = await decodeFile(new Blob([bytes]));
      const channels = () => Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c).slice());
      // Aborted at the first progress message: rejects with the signal's reason, and the worker is replaced.
      const job = new AbortController();
      const gen0 = engine.generation;
      let aborted = null;
      await engine
        .analyse(channels(), audio.sampleRate, { signal: job.signal, onProgress: () => job.abort() })
        .catch((e) => (aborted = e.name));
      const gen1 = engine.generation;
      await engine.modelReady; // the new worker got the model again
      const stages = [];
      const a = await engine.analyse(channels(), audio.sampleRate, { onProgress: (p) => stages.push(`${p.stage} ${p.done}/${p.total}`) });
      const again = await engine.retag('cpu');
      const retagDiff = Math.max(...a.tags.clip.map((v, i) => Math.abs(v - again.tags.clip[i])));
      engine.terminate();
      return {
        core,
        workers: loaded.workers,
        aborted,
        generations: [gen0, gen1],
        tags: a.tags.tags,
        clip: Array.from(a.tags.clip),
        rows: a.scatter.rows,
        frames: a.scatter.frames,
        duration: audio.duration,
        rate: audio.sampleRate,
        stages,
        timings: a.timings,
        retagDiff,
        events,
      };
    }, song22.toString('base64'));
    check(r.core.sampleRate === 16000 && r.core.minSeconds > 0, `engine.ready: ${JSON.stringify(r.core)}`);
    check(r.rate === 22050, `decodeFile decoded at ${r.rate} Hz, the file is at 22050`);
    check(r.aborted === 'AbortError', `an aborted job rejected with ${r.aborted}`);
    check(r.generations[1] === r.generations[0] + 1, `generations ${r.generations}: the abort did not replace the worker`);
    check(r.events.filter((e) => e[0] === 'model' && !e[2]).length >= 2, `model events ${JSON.stringify(r.events)}: the new worker did not reload the model`);
    check(JSON.stringify(r.tags) === JSON.stringify(native.tags), 'tag lists differ');
    const worst = Math.max(...r.clip.map((v, i) => Math.abs(v - native.clip[i])));
    check(worst <= 1e-4, `engine vs native clip scores: ${worst}`);
    check(r.retagDiff === 0, `retag on the CPU differs by ${r.retagDiff}`);
    // S0, S1, S2 rows; a frame every 4096 samples at 16 kHz over the 12 s.
    check(r.rows > 100 && r.frames === Math.ceil((r.duration * 16000) / 4096), `pictures ${r.rows} × ${r.frames} for ${r.duration} s`);
    // Each step once, the front end's end before the model's start (one window: 1/1 then 0/1).
    const want = r.workers > 0 ? ['transform 1/1', 'model 0/1', 'model 1/1'] : null;
    check(want ? JSON.stringify(r.stages) === JSON.stringify(want) : r.stages.length > 0, `progress ${JSON.stringify(r.stages)}`);
    const documented = ['transformMs', 'modelMs', 'workers', 'resampleMs', 'scoresCpuMs', 'featuresMs', 'webgpuInitMs'];
    const keys = Object.keys(r.timings).filter((k) => r.timings[k] !== undefined);
    check(keys.every((k) => documented.includes(k)) && keys.includes('transformMs') && keys.includes('modelMs'), `timings ${JSON.stringify(r.timings)}`);
    check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    console.log(`     (engine in Chromium vs native: max |Δscore| ${worst.toExponential(1)}, ${r.workers} helper(s), progress ${r.stages.join(', ')})`);
  });

  test('package engine: a job waits for the model (on its way, or reloaded after a cancel) and tags; retag and a bad model say why', async ({ page, url }) => {
    needModel();
    await openExample(page, url, check);
    const r = await page.evaluate(async () => {
      const { createEngine } = await import(new URL('../package/engine.js', location.href).href);
      const engine = createEngine();
      const bytes = await (await fetch('../models/scat-4l-256h-gru.bpk')).arrayBuffer();
      const rate = 16000;
      const sine = (s) => Float32Array.from({ length: s * rate }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate));
      // A model still on its way (a promise, as a page's download): the job waits for it.
      engine.loadModel(new Promise((resolve) => setTimeout(() => resolve(bytes), 500)));
      const first = await engine.analyse([sine(5)], rate);
      const job = new AbortController();
      const aborted = await engine.analyse([sine(120)], rate, { signal: job.signal, onProgress: () => job.abort() }).then(
        () => 'finished',
        (e) => e.name,
      );
      // At once, without awaiting modelReady: the cancel kept the model.
      const a = await engine.analyse([sine(5)], rate);
      engine.restart();
      const retag = await engine.retag('cpu').then(() => 'ok', (e) => e.message);
      // A file that is not a model: the job says so rather than giving nothing.
      engine.loadModel(new ArrayBuffer(64)).catch(() => {});
      const b = await engine.analyse([sine(5)], rate);
      engine.terminate();
      return { first: { tags: !!first.tags, tagError: first.tagError }, aborted, tags: !!a.tags, tagError: a.tagError, retag, bad: { tags: !!b.tags, tagError: b.tagError } };
    });
    check(r.first.tags, `analyse while the model was on its way: ${JSON.stringify(r.first)}`);
    check(r.aborted === 'AbortError', `the job was not aborted: ${r.aborted}`);
    check(r.tags && r.tagError === null, `analyse right after a cancel: tags ${r.tags}, tagError ${r.tagError}`);
    check(/no audio has been analysed/.test(r.retag), `retag right after a restart: “${r.retag}”`);
    check(!r.bad.tags && /model could not be loaded/.test(r.bad.tagError || ''), `with a damaged model: ${JSON.stringify(r.bad)}`);
  });

  test('package: bad arguments get a TypeError naming them (engine.analyse, topTags)', async ({ page, url }) => {
    await openExample(page, url, check);
    const r = await page.evaluate(async () => {
      const { createEngine } = await import(new URL('../package/engine.js', location.href).href);
      const { topTags } = await import(new URL('../package/index.js', location.href).href);
      const engine = createEngine();
      const error = (p) => p.then(() => 'resolved', (e) => `${e.name}: ${e.message}`);
      const out = {
        empty: await error(engine.analyse([], 16000)),
        plain: await error(engine.analyse([[0, 1, 2]], 16000)),
        ragged: await error(engine.analyse([new Float32Array(16000), new Float32Array(8000)], 16000)),
        rate: await error(engine.analyse([new Float32Array(16000)], 0)),
        fileRate: await error(engine.analyse([new Float32Array(16000)], 16000, { fileRate: 8000.5 })),
      };
      // Channels whose buffer an earlier call transferred cannot be sent: an
      // error, not a job that never settles.
      const sent = new Float32Array(16000);
      structuredClone(sent.buffer, { transfer: [sent.buffer] });
      const hung = new Promise((resolve) => setTimeout(() => resolve('never settled'), 15_000));
      out.detached = await Promise.race([error(engine.analyse([sent], 16000)), hung]);
      engine.terminate();
      const result = { tags: ['a', 'b', 'c'], clip: [0.1, 0.3, 0.2] };
      const top = (n) => {
        try {
          return topTags(result, n).map((t) => t.tag).join();
        } catch (e) {
          return `${e.name}: ${e.message}`;
        }
      };
      return { ...out, minus: top(-1), half: top(1.5), zero: top(0), two: top(2) };
    });
    check(/^TypeError: .*channels must be a non-empty array/.test(r.empty), `analyse([]): ${r.empty}`);
    check(/^TypeError: .*channel 0 is not a Float32Array \(Array\)/.test(r.plain), `analyse([[0, 1, 2]]): ${r.plain}`);
    check(/^TypeError: .*differ in length/.test(r.ragged), `channels of two lengths: ${r.ragged}`);
    check(/^TypeError: .*sampleRate/.test(r.rate), `sampleRate 0: ${r.rate}`);
    check(/^TypeError: .*fileRate must be a whole positive number of Hz, not 8000\.5/.test(r.fileRate), `fileRate 8000.5: ${r.fileRate}`);
    check(r.detached !== 'never settled' && r.detached !== 'resolved', `a detached channel: ${r.detached}`);
    check(/^TypeError: .*non-negative integer/.test(r.minus) && /^TypeError/.test(r.half), `topTags(-1): ${r.minus}; topTags(1.5): ${r.half}`);
    check(r.zero === '' && r.two === 'b,c', `topTags(0): “${r.zero}”, topTags(2): “${r.two}”`);
  });

  test('package engine: a live view survives a restart of the engine (a cancel or a newer job while recording)', async ({ page, url }) => {
    await openExample(page, url, check);
    const r = await page.evaluate(async () => {
      const { createEngine } = await import(new URL('../package/engine.js', location.href).href);
      const engine = createEngine();
      await engine.ready;
      const frames = [];
      engine.addEventListener('live', (e) => frames.push(e.detail.generation));
      const rate = 16000;
      engine.startLive(rate);
      engine.restart(); // what a cancel does
      await engine.ready;
      // 3 s of a tone, in 0.1 s pushes: the view updates every 0.5 s.
      for (let k = 0; k < 30; k++) {
        const pcm = new Float32Array(rate / 10);
        for (let i = 0; i < pcm.length; i++) pcm[i] = 0.3 * Math.sin((2 * Math.PI * 440 * (k * pcm.length + i)) / rate);
        engine.pushLive(pcm);
      }
      const t0 = performance.now();
      while (!frames.length && performance.now() - t0 < 20_000) await new Promise((res) => setTimeout(res, 100));
      const generation = engine.generation;
      engine.stopLive();
      engine.terminate();
      return { frames, generation };
    });
    check(r.frames.length > 0, 'no live frames after the restart');
    check(r.frames.every((g) => g === r.generation), `live frames from generations ${r.frames}, the engine is at ${r.generation}`);
  });
}
