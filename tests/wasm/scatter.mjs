// Run the page's WASM build (www/package/pkg: wasm-bindgen's web target,
// after wasm-opt, the very file the page loads) on raw f32 PCM in Node, for
// tests/native_wasm.rs.
// usage: node scatter.mjs PKG_DIR IN.f32 SAMPLE_RATE CHANNELS NORMALISED OUT.f32 [LIVE_SECONDS]
// (with LIVE_SECONDS: the live view's front end, Analyzer.live, instead of the default)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgDir, input, rate, channels, normalised, output, live] = process.argv.slice(2);
const wasm = await import(pathToFileURL(path.resolve(pkgDir, 'scatterbrain.js')).href);
wasm.initSync({ module: readFileSync(path.resolve(pkgDir, 'scatterbrain_bg.wasm')) });
const bytes = readFileSync(input);
const pcm = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const analyzer = live ? wasm.Analyzer.live(Number(live)) : new wasm.Analyzer();
// The values the page reads instead of copying them.
if (analyzer.sample_rate !== 16000 || analyzer.min_seconds !== 1) {
  throw new Error(`front end at ${analyzer.sample_rate} Hz, shortest input ${analyzer.min_seconds} s`);
}
const r = analyzer.scatter(pcm, Number(rate), Number(channels), normalised === '1');
const data = new Float32Array(r.data.buffer, r.data.byteOffset, r.data.byteLength / 4);
if (data.length !== r.rows * r.frames) throw new Error(`size ${data.length} != ${r.rows}x${r.frames}`);
const header = Buffer.from(new Uint32Array([r.rows, r.frames]).buffer);
writeFileSync(output, Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
