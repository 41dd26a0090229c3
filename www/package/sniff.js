// Read an audio file's own sample rate from its header, so the browser can
// decode it without resampling (the core then resamples, as natively).
// Returns Hz, or null when the format is not recognised.

const ascii = (b, at, s) => {
  if (at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
};
const u32le = (b, at) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

const wav = (b) => wavLayout(b)?.rate || null;

function flac(b) {
  if (!ascii(b, 0, 'fLaC') || b.length < 21) return null;
  // STREAMINFO follows the 4-byte block header: rate is 20 bits at byte 18.
  return (b[18] << 12) | (b[19] << 4) | (b[20] >> 4);
}

function ogg(b) {
  if (!ascii(b, 0, 'OggS') || b.length < 28) return null;
  const packet = 27 + b[26];
  if (ascii(b, packet, '\x01vorbis')) return u32le(b, packet + 12);
  if (ascii(b, packet, 'OpusHead')) return 48000; // Opus always decodes at 48 kHz
  if (b[packet] === 0x7f && ascii(b, packet + 1, 'FLAC')) return flac(b.subarray(packet + 9));
  return null;
}

const MP3_RATES = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** Where an MP3's audio starts: after its ID3v2 tags (possibly several). */
function afterId3(b) {
  let at = 0;
  while (ascii(b, at, 'ID3') && at + 10 <= b.length) {
    const size = ((b[at + 6] & 0x7f) << 21) | ((b[at + 7] & 0x7f) << 14) | ((b[at + 8] & 0x7f) << 7) | (b[at + 9] & 0x7f);
    at += 10 + size + (b[at + 5] & 0x10 ? 10 : 0);
  }
  return at;
}

function mp3(b) {
  const at = afterId3(b);
  // First plausible frame header, confirmed by a second one when possible.
  const header = (i) => {
    if (i + 4 > b.length || b[i] !== 0xff || (b[i + 1] & 0xe0) !== 0xe0) return null;
    const version = (b[i + 1] >> 3) & 3;
    const layer = (b[i + 1] >> 1) & 3;
    const bitrate = b[i + 2] >> 4;
    const rateIdx = (b[i + 2] >> 2) & 3;
    if (version === 1 || layer === 0 || bitrate === 15 || bitrate === 0 || rateIdx === 3) return null;
    return { version, rate: MP3_RATES[version][rateIdx] };
  };
  for (let i = at; i + 4 <= b.length; i++) {
    const h = header(i);
    if (!h) continue;
    // Any later header agreeing on version and rate within 2 KB confirms it.
    for (let j = i + 24; j < Math.min(b.length - 4, i + 2048); j++) {
      const g = header(j);
      if (g && g.version === h.version && g.rate === h.rate) return h.rate;
    }
    if (i + 2048 >= b.length) return h.rate;
  }
  return null;
}

/**
 * What the readers below need of a whole file (`bytes`): its first `size`
 * bytes from where the audio starts, after any ID3v2 tags, since an embedded
 * cover of megabytes would hide the first MPEG frame from a fixed-size head
 * (a 10-min MP3 behind a 2 MB cover was taken for a 32-min file of unknown
 * rate); `skipped` counts the tag bytes, to take from the file's size.
 */
export function audioHead(bytes, size = 1 << 17) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const skipped = Math.min(afterId3(b), b.length);
  return { head: b.subarray(skipped, skipped + size), skipped };
}

// decodeAudioData resamples to its context's rate; the header's rate avoids
// that (the core then resamples, as natively). Chromium's accepted range:
const MIN_RATE = 3000;
const MAX_RATE = 768000;
const FALLBACK_RATE = 48000;

/** The rate to decode at: the header's (`sniffed`) when a browser accepts it, else 48 kHz. */
export const decodeRate = (sniffed) => (sniffed >= MIN_RATE && sniffed <= MAX_RATE ? sniffed : FALLBACK_RATE);

export function sniffSampleRate(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  for (const f of [wav, flac, ogg, mp3]) {
    const r = f(b);
    if (r) return r;
  }
  return null;
}

const MP3_KBPS = {
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320], // MPEG-1 Layer III
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160], // MPEG-2/2.5 Layer III
};
const u32be = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** An MP3's first frame after its ID3v2 tags: {at, mpeg1, rate, kbps, xing (where its Xing/Info tag would be)}, or null. */
function mp3Frame(b) {
  const at = afterId3(b);
  if (at + 40 > b.length || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return null;
  const version = (b[at + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = (b[at + 1] >> 1) & 3; // 1: Layer III
  const rateIdx = (b[at + 2] >> 2) & 3;
  if (version === 1 || layer !== 1 || rateIdx === 3) return null;
  const mpeg1 = version === 3;
  const mono = b[at + 3] >> 6 === 3;
  return {
    at,
    mpeg1,
    rate: MP3_RATES[version][rateIdx],
    kbps: MP3_KBPS[mpeg1 ? 1 : 2][b[at + 2] >> 4],
    xing: at + 4 + (mpeg1 ? (mono ? 17 : 32) : mono ? 9 : 17),
  };
}

/**
 * An MP3's playing time from its Xing/Info frame count, when it has one,
 * less the encoder delay and padding its LAME tag states (decoders trim them:
 * over 0.1 s at 8 kHz).
 */
function xingSeconds(b, f = mp3Frame(b)) {
  if (!f || !(ascii(b, f.xing, 'Xing') || ascii(b, f.xing, 'Info'))) return null;
  const flags = u32be(b, f.xing + 4);
  if (!(flags & 1)) return null;
  let samples = u32be(b, f.xing + 8) * (f.mpeg1 ? 1152 : 576);
  // The LAME tag follows the fields the flags announce: frames, bytes, TOC, quality.
  const lame = f.xing + 8 + (flags & 1 ? 4 : 0) + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
  if ((ascii(b, lame, 'LAME') || ascii(b, lame, 'Lav') || ascii(b, lame, 'L3.')) && lame + 24 <= b.length) {
    const delay = (b[lame + 21] << 4) | (b[lame + 22] >> 4);
    const padding = ((b[lame + 22] & 0x0f) << 8) | b[lame + 23];
    samples = Math.max(0, samples - delay - padding);
  }
  return samples / f.rate;
}

/** An MP3's playing time: its Xing/Info frame count, else its first frame's (constant) bitrate. */
function mp3Seconds(b, fileSize) {
  const f = mp3Frame(b);
  if (!f) return null;
  return xingSeconds(b, f) ?? (f.kbps ? ((fileSize - f.at) * 8) / (f.kbps * 1000) : null);
}

/** An Ogg stream's playing time: the last page's granule position (in `tail`) over the rate. */
function oggSeconds(b, tail) {
  const rate = ogg(b);
  if (!rate || !tail) return null;
  for (let i = tail.length - 27; i >= 0; i--) {
    if (!ascii(tail, i, 'OggS')) continue;
    const granule = u32le(tail, i + 6) + u32le(tail, i + 10) * 2 ** 32;
    return granule > 0 && granule < 2 ** 53 ? granule / rate : null;
  }
  return null;
}

/**
 * A WAV's {rate, byteRate, dataBytes} from its `fmt ` and `data` chunks in
 * `b` (dataBytes null when the header leaves it open, as streaming writers
 * do, or the data chunk is not in `b`); null when not a WAV or no `fmt `.
 */
function wavLayout(b) {
  if (!(ascii(b, 0, 'RIFF') || ascii(b, 0, 'RF64')) || !ascii(b, 8, 'WAVE')) return null;
  let at = 12;
  let fmt = null;
  while (at + 8 <= b.length) {
    const size = u32le(b, at + 4);
    if (ascii(b, at, 'fmt ') && at + 16 <= b.length) fmt = { rate: u32le(b, at + 12), byteRate: u32le(b, at + 16) };
    if (ascii(b, at, 'data')) {
      // Streaming writers leave the size open: 0, ffmpeg 0xFFFFFFFF, sox 0x7FFFF000, arecord ~2 GB.
      const open = size === 0 || size >= 0x7fff0000 || ascii(b, 0, 'RF64');
      return fmt && { ...fmt, dataBytes: open ? null : size };
    }
    at += 8 + size + (size & 1);
  }
  return fmt && { ...fmt, dataBytes: null };
}

/** A WAV's layout when its byte rate is known (the lengths need it). */
const timedWav = (b) => {
  const w = wavLayout(b);
  return w && w.byteRate > 0 ? w : null;
};

/** A FLAC's playing time from its STREAMINFO sample count (null when unknown). */
function flacSeconds(b) {
  if (!ascii(b, 0, 'fLaC') || b.length < 26) return null;
  const rate = (b[18] << 12) | (b[19] << 4) | (b[20] >> 4);
  const total = (b[21] & 0x0f) * 2 ** 32 + ((b[22] << 24) >>> 0) + (b[23] << 16) + (b[24] << 8) + b[25];
  return rate > 0 && total > 0 ? total / rate : null;
}

/**
 * An EBML element (Matroska, WebM) at `at` in `b`: its `id` (marker bits
 * kept, as the specification writes IDs), `size` (null: unknown, as a live
 * recording's Segment) and where its `data` begins; null when its header does
 * not fit in `b`.
 */
function ebml(b, at) {
  const vint = (p, marker) => {
    if (p >= b.length) return null;
    let len = 1;
    while (len <= 8 && !(b[p] & (0x80 >> (len - 1)))) len++;
    if (len > 8 || p + len > b.length) return null;
    let v = marker ? b[p] : b[p] & (0xff >> len);
    let ones = v === 0xff >> len;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[p + i];
      ones &&= b[p + i] === 0xff;
    }
    return { v, len, ones };
  };
  const id = vint(at, true);
  if (!id || id.len > 4) return null;
  const size = vint(at + id.len, false);
  if (!size) return null;
  return { id: id.v, size: size.ones ? null : size.v, data: at + id.len + size.len };
}

// Matroska's element IDs (as the specification writes them).
const EBML_HEADER = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const CLUSTER = 0x1f43b675;

/** Where a Matroska/WebM file's first element after its EBML header begins, or null (not Matroska). */
function matroskaBody(b) {
  const header = ebml(b, 0);
  return header && header.id === EBML_HEADER && header.size != null ? header.data + header.size : null;
}

/**
 * A Matroska/WebM file's Duration (Segment → Info), in seconds, or null
 * (not Matroska; no Duration, as in a browser's own recordings; Info beyond
 * `b`).
 */
function matroskaSeconds(b) {
  const body = matroskaBody(b);
  if (body == null) return null;
  const segment = ebml(b, body);
  if (!segment || segment.id !== SEGMENT) return null;
  for (let at = segment.data; at < b.length; ) {
    const e = ebml(b, at);
    // A Cluster: the audio begins, and no Info came before it.
    if (!e || e.size == null || e.id === CLUSTER) return null;
    if (e.id === INFO) return infoSeconds(b, e);
    at = e.data + e.size;
  }
  return null;
}

/** The Duration an Info element `info` states, in seconds, or null. */
function infoSeconds(b, info) {
  const end = info.data + info.size;
  if (end > b.length) return null;
  let scale = 1e6; // TimecodeScale's default: ticks of 1 ms
  let duration = null;
  for (let p = info.data; p < end; ) {
    const f = ebml(b, p);
    if (!f || f.size == null || f.data + f.size > end) return null;
    if (f.id === 0x2ad7b1 && f.size >= 1 && f.size <= 6) {
      scale = 0;
      for (let i = 0; i < f.size; i++) scale = scale * 256 + b[f.data + i];
    }
    if (f.id === 0x4489 && (f.size === 4 || f.size === 8)) {
      const view = new DataView(b.buffer, b.byteOffset + f.data, f.size);
      duration = f.size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    }
    p = f.data + f.size;
  }
  const seconds = duration == null ? null : (duration * scale) / 1e9;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : null;
}

/**
 * Whether a Matroska/WebM file `b` (all its bytes) ends partway through an
 * element: cut short. A browser's own recordings (MediaRecorder) state no
 * Duration, and their Segment and Clusters no size, but each block states
 * its own: the walk steps into the Segment and the Clusters and over
 * everything else. False when the last element ends where the file does
 * (a cut right between two blocks passes as whole), null when `b` is not
 * Matroska or holds bytes that are not an element.
 */
export function matroskaCut(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const body = matroskaBody(b);
  if (body == null) return null;
  for (let at = body; at < b.length; ) {
    const e = ebml(b, at);
    if (!e) {
      // A header (at most 12 bytes) the file ends inside: it would read
      // with more bytes. Otherwise bytes that are not an element.
      if (b.length - at >= 12) return null;
      const padded = new Uint8Array(12).fill(0x81);
      padded.set(b.subarray(at));
      return ebml(padded, 0) ? true : null;
    }
    if (e.id === SEGMENT || e.id === CLUSTER) at = e.data;
    else if (e.size == null) return null;
    else at = e.data + e.size;
    if (at > b.length) return true;
  }
  return false;
}

/**
 * The playing time a file's header states exactly, or null: a WAV's data
 * size, a FLAC's sample count, an MP3's Xing/Info frame count, a
 * Matroska/WebM Duration. Audio that decodes shorter was cut short (an
 * interrupted download or copy).
 */
export function declaredSeconds(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const w = timedWav(b);
  if (w) return w.dataBytes == null ? null : w.dataBytes / w.byteRate;
  return flacSeconds(b) ?? matroskaSeconds(b) ?? xingSeconds(b);
}

/**
 * Playing time of a file before decoding it, to choose how to decode:
 * exact for WAV and FLAC headers, MP3s (Xing/Info frame count, else the
 * first frame's bitrate), Ogg (the last page's granule position, in
 * `tail`, the file's last bytes) and Matroska/WebM with a Duration;
 * otherwise from the size at 48 kbit/s, so
 * that a long compressed file is rather over- than under-estimated (a 1-hour
 * Opus file at 32 kbit/s read as 20 min was decoded at 48 kHz stereo: ~1.4 GB).
 */
export function estimateSeconds(bytes, fileSize, tail = null) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const w = timedWav(b);
  // The larger of the header's and the size's: never short.
  if (w) return Math.max(fileSize / w.byteRate, w.dataBytes == null ? 0 : w.dataBytes / w.byteRate);
  const known = flacSeconds(b) ?? oggSeconds(b, tail) ?? matroskaSeconds(b) ?? mp3Seconds(b, fileSize);
  return known ?? fileSize / 6000;
}

/** Ogg's page checksum: CRC-32, polynomial 0x04c11db7, not reflected, over the page with its CRC field zeroed. */
const OGG_CRC = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** The length of the Ogg page at `at` in `b` if it is whole and its checksum holds, else 0. */
function oggPage(b, at) {
  if (!ascii(b, at, 'OggS') || b[at + 4] !== 0 || at + 27 > b.length) return 0;
  const segments = b[at + 26];
  if (at + 27 + segments > b.length) return 0;
  let len = 27 + segments;
  for (let s = 0; s < segments; s++) len += b[at + 27 + s];
  if (at + len > b.length) return 0;
  let crc = 0;
  for (let i = 0; i < len; i++) {
    const v = i >= 22 && i < 26 ? 0 : b[at + i];
    crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ v) & 0xff]) >>> 0;
  }
  return crc === u32le(b, at + 22) ? len : 0;
}

/**
 * Whether an Ogg file (Vorbis, Opus, FLAC; `head` its first bytes, `tail` its
 * last ones) was cut short: no header states an Ogg stream's length, but a
 * whole file ends with the page that closes its stream (flag 4), and a cut
 * one mid-page or on a page that does not. False when the file ends as it
 * should, null when it is not Ogg or its end cannot be read (no whole page
 * in `tail`, or bytes that are not a page after the last one).
 * The core judges the Ogg files it decodes by the same rule (src/decode/ogg_end.rs);
 * this is for those only the browser decodes (Opus).
 */
export function oggCut(head, tail) {
  if (!ogg(head instanceof Uint8Array ? head : new Uint8Array(head)) || !tail) return null;
  // The last whole page with a valid checksum ('OggS' may also occur inside a packet).
  for (let i = tail.length - 27; i >= 0; i--) {
    const len = oggPage(tail, i);
    if (!len) continue;
    const end = i + len;
    if (end === tail.length) return (tail[i + 5] & 4) === 0;
    // A page begun after it and not finished: cut inside that page.
    return ascii(tail, end, 'OggS') ? true : null;
  }
  return null;
}
