// What the tagger accepts as audio, as one shape: `{ frames, channels,
// sampleRate, slice(from, to) }`, where `slice` gives frames [from, to) as
// interleaved PCM. Slicing lets an AudioBuffer's planar channels be
// interleaved a slice at a time instead of copied whole.
import { audioHead, declaredSeconds, decodeRate, matroskaCut, oggCut, sniffSampleRate } from './sniff.js';

/** `audio` (PCM object, AudioBuffer, or a File/Blob in a browser) as a sliceable source. */
export async function audioSource(audio) {
  if (audio == null) throw new TypeError('no audio given');
  if (audio.pcm !== undefined) return fromPcm(audio);
  if (typeof audio.getChannelData === 'function') return fromAudioBuffer(audio);
  if (typeof Blob !== 'undefined' && audio instanceof Blob) return fromFile(await audio.arrayBuffer());
  throw new TypeError('audio must be {pcm: Float32Array, sampleRate, channels}, an AudioBuffer, or (in a browser) a File or Blob');
}

function fromPcm({ pcm, sampleRate, channels = 1 }) {
  if (!(pcm instanceof Float32Array)) throw new TypeError('audio.pcm must be a Float32Array (interleaved samples)');
  if (!Number.isInteger(channels) || channels < 1) throw new TypeError(`audio.channels must be a whole number ≥ 1, not ${channels}`);
  checkRate(sampleRate);
  if (pcm.length % channels !== 0) throw new RangeError(`${pcm.length} samples are not whole frames of ${channels} channels`);
  return {
    frames: pcm.length / channels,
    channels,
    sampleRate,
    slice: (from, to) => pcm.subarray(from * channels, to * channels),
  };
}

/** A file's bytes (as `browserDecode` takes them) decoded by the browser: a source that says whether the file was cut short (`earlyEnd`). */
export async function fromFile(bytes) {
  const { buffer, earlyEnd } = await browserDecode(bytes);
  return { ...fromAudioBuffer(buffer), earlyEnd };
}

function fromAudioBuffer(buffer) {
  return fromPlanes(Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c)), buffer.sampleRate);
}

/** Planar channels (Float32Arrays of one length) at `sampleRate`, as a sliceable source. */
export function fromPlanes(planes, sampleRate) {
  const channels = planes.length;
  checkRate(sampleRate);
  return {
    frames: planes[0].length,
    channels,
    sampleRate,
    slice(from, to) {
      if (channels === 1) return planes[0].subarray(from, to);
      const out = new Float32Array((to - from) * channels);
      for (let c = 0; c < channels; c++) {
        const plane = planes[c];
        for (let i = from, j = c; i < to; i++, j += channels) out[j] = plane[i];
      }
      return out;
    },
  };
}

/** A file name's extension (`'mp3'`), the decoder's hint at its format; undefined without one. */
export function extensionOf(name) {
  return typeof name === 'string' ? /\.([A-Za-z0-9]{1,5})$/.exec(name)?.[1] : undefined;
}

/**
 * A file's `bytes` (a Uint8Array) decoded by the WASM's `decodeAudio` (the
 * core's decoder, `decode_audio`), its slices joined into planar channels
 * here, outside the WASM memory: its result, with `channels` the Float32Arrays.
 */
export function decodeBytes(decodeAudio, bytes, { extension, monoRate = 0, maxSeconds = Infinity, progress } = {}) {
  const slices = [];
  const r = decodeAudio(bytes, extension, monoRate, maxSeconds, (planes) => slices.push(planes), progress);
  const channels = Array.from({ length: r.channels }, () => new Float32Array(r.frames));
  let at = 0;
  for (const planes of slices) {
    planes.forEach((plane, c) => channels[c].set(plane, at));
    at += planes[0].length;
  }
  return { ...r, channels };
}

function checkRate(rate) {
  if (!Number.isInteger(rate) || rate < 1) throw new TypeError(`the sample rate must be a whole number of Hz, not ${rate}`);
}

/**
 * Decode a File/Blob with the browser's decoder, at the file's own rate when its header says it
 * (a plain `new AudioContext()` decodes at the output device's rate, 44.1 or 48 kHz: resampled
 * twice, the scores then differ from the CLI's by ~4e-3).
 */
export async function decodeFile(blob) {
  return (await browserDecode(await blob.arrayBuffer())).buffer;
}

/**
 * A file's `bytes` (an ArrayBuffer, which decoding detaches; a Uint8Array is copied) decoded by the
 * browser's `decodeAudioData` at `rate` (by default the file's own, when its
 * header states it): `{ buffer, earlyEnd }`. The browser decodes a file cut
 * short (an interrupted download) up to the cut without a word, so
 * `earlyEnd` says so in the core's words, as the core's decoder does for the
 * formats it reads: the header declares more than was decoded (0.1 s of
 * slack for an MP3's encoder delay and padding), the Ogg stream (Opus) lacks
 * the page that closes it, or the WebM stream (a browser's own recording,
 * which states no length) ends partway through a block. Null for a whole file.
 */
export async function browserDecode(bytes, rate) {
  if (typeof OfflineAudioContext === 'undefined') {
    throw new TypeError('decoding a File or Blob needs the Web Audio API (a browser page, not a worker or Node): pass {pcm, sampleRate, channels} or an AudioBuffer');
  }
  // A view (a Node Buffer, a Uint8Array): its own bytes, copied, as decodeAudioData takes an ArrayBuffer.
  if (ArrayBuffer.isView(bytes)) bytes = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (!(bytes instanceof ArrayBuffer)) throw new TypeError('browserDecode needs the file’s bytes as an ArrayBuffer or a Uint8Array');
  if (bytes.byteLength === 0) throw new Error('the file is empty');
  // Read before decoding detaches `bytes`.
  const { head } = audioHead(bytes);
  const tail = new Uint8Array(bytes, Math.max(0, bytes.byteLength - (1 << 16)));
  const declared = declaredSeconds(head);
  const cutOgg = oggCut(head, tail);
  const cutMatroska = matroskaCut(bytes);
  const ctx = new OfflineAudioContext(1, 1, rate ?? decodeRate(sniffSampleRate(head)));
  let buffer;
  try {
    buffer = await ctx.decodeAudioData(bytes);
  } catch (e) {
    throw new Error('the file could not be decoded as audio (not audio, damaged, or a format this browser cannot decode)', { cause: e });
  }
  const at = buffer.duration;
  const where =
    declared != null && at < declared - 0.1
      ? `where its header declares ${declared.toFixed(2)} s`
      : cutOgg
        ? 'without the page that closes its Ogg stream'
        : cutMatroska
          ? 'partway through a block of its WebM stream'
          : null;
  const earlyEnd = where && `the file is cut short: it ends at ${at.toFixed(2)} s ${where}; only what was read is analysed`;
  return { buffer, earlyEnd };
}
