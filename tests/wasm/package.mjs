// The npm package (www/package) in Node, for trainer/tests/package_node.rs:
// tags a generated signal (35 s of 44.1 kHz stereo: the resampler, two
// windows) and prints JSON. The signal is written as a 16-bit WAV at WAV_OUT
// and tagged as the samples that file holds, so the native CLI can tag the
// very same audio.
//   node tests/wasm/package.mjs MODEL.bpk WAV_OUT [PACKAGE_DIR]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { melody, noise, tone, wav } from '../browser/audio.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [model, wavOut, pkgDir = path.join(here, '..', '..', 'www', 'package')] = process.argv.slice(2);
if (!model || !wavOut) {
  console.error('usage: node tests/wasm/package.mjs MODEL.bpk WAV_OUT [PACKAGE_DIR]');
  process.exit(2);
}
const { loadTagger, topTags } = await import(pathToFileURL(path.join(pkgDir, 'index.js')).href);

const RATE = 44100;
const signal = Float32Array.from([...tone(880, 8, RATE, 0.4), ...melody(20, RATE), ...tone(200, 7, RATE, 0.4)], (v, i) => v + 0.02 * noise(i));
const file = wav(signal, RATE, 2);
writeFileSync(wavOut, file);
// The WAV's samples as a decoder reads them (int16 / 32768, as symphonia does).
const ints = new Int16Array(file.buffer.slice(file.byteOffset + 44, file.byteOffset + file.length));
const audio = { pcm: Float32Array.from(ints, (v) => v / 32768), sampleRate: RATE, channels: 2 };

/** The rejection of `promise` as {name, message}, or null when it resolved. */
const rejection = (promise) => promise.then(() => null, (e) => ({ name: e.name, message: e.message }));

const tagger = await loadTagger({ model });
const stages = [];
const result = await tagger.tag(audio, { onProgress: (p) => stages.push(p) });

// Aborted before the start, and in the middle (at the second slice).
const aborted = await rejection(tagger.tag(audio, { signal: AbortSignal.abort() }));
const controller = new AbortController();
let pushes = 0;
const midway = await rejection(
  tagger.tag(audio, {
    signal: controller.signal,
    onProgress: (p) => p.stage === 'analyse' && ++pushes === 2 && controller.abort(),
  }),
);
// The tagger is still usable after an abort, and gives the same scores.
const again = await tagger.tag(audio);
const picture = await tagger.scatter({ pcm: audio.pcm.subarray(0, RATE * 2 * 10), sampleRate: RATE, channels: 2 });
const tooShort = await rejection(tagger.tag({ pcm: new Float32Array(1000), sampleRate: RATE }));
// A file below 16 kHz (8 kHz, 6 channels), which the tagger decodes to mono at
// 16 kHz: its first-order bands above 5.6 kHz, which none of it reaches, for
// the CLI's (the tagger passes the file's rate on).
const low = await tagger.scatter(readFileSync(path.join(here, '..', 'fixtures', 'audio', 'tone300_8k_6ch.wav')));
const lowRows = low.paths.map((p, r) => [p, r]).filter(([p]) => p.order === 1 && p.freq1_hz > 5600);
// The file itself, decoded by the core (the CLI's decoder): as a Node Buffer and as a Blob.
const diff = (r) => Math.max(...result.clip.map((v, i) => Math.abs(v - r.clip[i])));
const fromBuffer = diff(await tagger.tag(file));
const fromBlob = diff(await tagger.tag(new Blob([file]), { onProgress: (p) => stages.push({ ...p, blob: true }) }));
const notAudio = await rejection(tagger.tag(Buffer.from('this is not audio, only text\n'.repeat(40))));
const cut = await tagger.tag(file.subarray(0, Math.floor(file.length * 0.6)));
// An M4A: the CLI reads it, the package's build does not, and says so by name.
const m4a = await rejection(tagger.tag(readFileSync(path.join(here, '..', 'fixtures', 'audio', 'tone700_44k_stereo.m4a'))));
tagger.free();
const freed = await rejection(tagger.tag(audio));

const analyse = stages.filter((p) => p.stage === 'analyse' && !p.blob);
console.log(
  JSON.stringify({
    tags: result.tags,
    tagger_tags: tagger.tags,
    model_name: tagger.info.name,
    clip: result.clip,
    windows: result.windows,
    taggram_columns: result.taggram.length,
    duration_s: result.duration_s,
    top: topTags(result, 5),
    top_all: topTags(result, 50),
    support: result.support,
    silence_note_is_null: result.silence_note === null,
    again_max_diff: Math.max(...result.clip.map((v, i) => Math.abs(v - again.clip[i]))),
    file_bytes: {
      buffer_max_diff: fromBuffer,
      blob_max_diff: fromBlob,
      blob_decode_stages: stages.filter((p) => p.blob && p.stage === 'decode').length,
      not_audio: notAudio,
      whole_early_end: result.early_end === undefined ? 'absent' : result.early_end,
      cut_early_end: cut.early_end,
      cut_duration_s: cut.duration_s,
      m4a,
    },
    progress: {
      analyse_steps: analyse.length,
      analyse_last: analyse.at(-1),
      increasing: analyse.every((p, i) => i === 0 || p.done > analyse[i - 1].done),
      model_last: stages.filter((p) => p.stage === 'model').at(-1),
    },
    aborted,
    midway,
    midway_steps: pushes,
    too_short: tooShort,
    freed,
    low_rate: {
      frames: low.frames,
      rows: lowRows.map(([, r]) => ({ row: r, values: Array.from(low.data.subarray(r * low.frames, (r + 1) * low.frames)) })),
    },
    picture: {
      rows: picture.rows,
      frames: picture.frames,
      data: picture.data.length,
      finite: picture.data.every(Number.isFinite),
      times: picture.times.length,
      last_time: picture.times.at(-1),
      paths: picture.paths.length,
      orders: [0, 1, 2].map((o) => picture.paths.filter((p) => p.order === o).length),
    },
  }),
);
