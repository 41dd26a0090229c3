// Read and rewrite the metadata of a model file (src/model/file.rs) from the
// browser tests, so that they can give a test model the per-tag counts a
// trained one records, without training one. The result is a valid file:
// the core's loader checks its metadata CRC-32 and length as for any other.
//
// Layout (burnpack): magic u32, version u16, metadata size u32 (LE); the
// metadata (CBOR); zero padding to a 256-byte boundary; the tensor data
// (offsets relative to that boundary, so they do not move). Our metadata
// keys: "scatterbrain" (the JSON text), "scatterbrain.crc32" (8 hex digits
// of its CRC-32), "scatterbrain.length" (the file's length, 20 digits).
import { crc32 } from 'node:zlib';

const HEADER = 10;
const ALIGN = 256;
const KEY = Buffer.from('\x6cscatterbrain', 'latin1'); // CBOR text(12) "scatterbrain"
const CRC_KEY = Buffer.from('\x72scatterbrain.crc32\x68', 'latin1'); // key, then text(8)
const LEN_KEY = Buffer.from('\x73scatterbrain.length\x74', 'latin1'); // key, then text(20)

const dataStart = (metaSize) => Math.ceil((HEADER + metaSize) / ALIGN) * ALIGN;

/** The CBOR text string at `at`: {start, end} of its bytes, `head` the header's length. */
function textAt(buf, at) {
  const b = buf[at];
  if (b >= 0x60 && b <= 0x77) return { head: 1, start: at + 1, end: at + 1 + (b - 0x60) };
  if (b === 0x78) return { head: 2, start: at + 2, end: at + 2 + buf[at + 1] };
  if (b === 0x79) return { head: 3, start: at + 3, end: at + 3 + buf.readUInt16BE(at + 1) };
  if (b === 0x7a) return { head: 5, start: at + 5, end: at + 5 + buf.readUInt32BE(at + 1) };
  throw new Error(`no CBOR text string at ${at} (byte 0x${b.toString(16)})`);
}

function cborText(s) {
  const body = Buffer.from(s, 'utf8');
  const n = body.length;
  let head;
  if (n < 24) head = Buffer.from([0x60 + n]);
  else if (n < 256) head = Buffer.from([0x78, n]);
  else if (n < 65536) head = Buffer.from([0x79, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(5);
    head[0] = 0x7a;
    head.writeUInt32BE(n, 1);
  }
  return Buffer.concat([head, body]);
}

function parts(bytes) {
  const buf = Buffer.from(bytes);
  if (buf.readUInt32LE(0) !== 0x4255524e) throw new Error('not a burnpack container');
  const metaSize = buf.readUInt32LE(6);
  const meta = buf.subarray(HEADER, HEADER + metaSize);
  const k = meta.indexOf(KEY);
  if (k < 0) throw new Error('no "scatterbrain" metadata');
  const json = textAt(meta, k + KEY.length);
  return { buf, metaSize, meta, json };
}

/** The metadata JSON of a model file, checked against its stored CRC-32. */
export function readMetadata(bytes) {
  const { meta, json } = parts(bytes);
  const text = meta.subarray(json.start, json.end);
  const c = meta.indexOf(CRC_KEY);
  const stored = meta.subarray(c + CRC_KEY.length, c + CRC_KEY.length + 8).toString('latin1');
  const computed = crc32(text).toString(16).padStart(8, '0');
  if (stored !== computed) throw new Error(`metadata CRC-32 ${computed}, stored ${stored}`);
  return JSON.parse(text.toString('utf8'));
}

/** A copy of the model file with its metadata JSON replaced by `edit(metadata)` (its return value, or the edited object). */
export function withMetadata(bytes, edit) {
  const { buf, metaSize, meta, json } = parts(bytes);
  const old = JSON.parse(meta.subarray(json.start, json.end).toString('utf8'));
  const text = JSON.stringify(edit(old) ?? old);
  const k = json.start - json.head;
  let next = Buffer.concat([meta.subarray(0, k), cborText(text), meta.subarray(json.end)]);
  const data = buf.subarray(dataStart(metaSize));
  const start = dataStart(next.length);
  const put = (key, value) => {
    const at = next.indexOf(key);
    if (at < 0) throw new Error(`no ${key.toString('latin1').slice(1, -1)} key`);
    next.write(value, at + key.length, 'latin1');
  };
  put(CRC_KEY, crc32(Buffer.from(text, 'utf8')).toString(16).padStart(8, '0'));
  put(LEN_KEY, String(start + data.length).padStart(20, '0'));
  const out = Buffer.alloc(start + data.length);
  buf.copy(out, 0, 0, HEADER);
  out.writeUInt32LE(next.length, 6);
  next.copy(out, HEADER);
  data.copy(out, start);
  return out;
}
