// Content hashes and precompressed copies of the served files, for
// www/server.mjs. Each file is hashed once per version (size + mtime); its
// brotli and gzip copies are made once per content hash and kept on disk in
// ~/.cache/scatterbrain/www-compressed/ (or in memory when that folder cannot
// be written), so a rebuilt WASM is compressed once, not per request.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

export const DEFAULT_CACHE = path.join(os.homedir(), '.cache', 'scatterbrain', 'www-compressed');

/** Types worth compressing: text, WASM and model files (the .bpk weights gain a little). */
export const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.wasm', '.svg', '.txt', '.webmanifest', '.bpk', '.mpk', '.safetensors', '.bin']);
// Below this a compressed copy saves less than its headers cost.
const MIN_SIZE = 512;
// A copy must save at least 5 %, else the file is sent as it is (random weights barely compress).
const WORTH = 0.95;
// Brotli's best quality (11) runs at ~0.3 MB/s: fine for the page's small
// files. Measured on the 18.9 MB WASM (2 cores, busy): q9 3.11 MB in 2.8 s,
// q10 (16 MB window) 2.71 MB in 32 s, q11 2.59 MB in 68 s; gzip -9 4.37 MB in
// 0.5 s. So big files get q9 at once and, with `upgrade()`, a q11 copy made
// in the background replaces it (same content hash, so the same ETag).
const BIG = 1 << 20;
// The disk cache keeps its newest copies up to this many bytes.
const CACHE_LIMIT = 512 << 20;

/** The encodings offered, best first, and how each is made. */
const ENCODINGS = {
  br: {
    suffix: 'br',
    make: (buf, ext, best) =>
      brotli(buf, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: best || buf.length <= BIG ? 11 : 9,
          [zlib.constants.BROTLI_PARAM_LGWIN]: best ? 24 : 22,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
          [zlib.constants.BROTLI_PARAM_MODE]: ext === '.wasm' || ext === '.bpk' ? zlib.constants.BROTLI_MODE_GENERIC : zlib.constants.BROTLI_MODE_TEXT,
        },
      }),
  },
  gzip: { suffix: 'gz', make: (buf) => gzip(buf, { level: 9 }) },
};

/** The encoding to send for an Accept-Encoding header: 'br', 'gzip' or null (q=0 refuses). */
export function pickEncoding(header) {
  if (!header) return null;
  const q = {};
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    q[name] = qp ? Number(qp.slice(2)) : 1;
  }
  const ok = (e) => (q[e] ?? q['*'] ?? 0) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : null;
}

/** The ETag of a file's content sent with an encoding: the encodings differ, as a strong validator requires. */
export function etagOf(hash, encoding) {
  return `"${hash}${encoding ? '.' + ENCODINGS[encoding].suffix : ''}"`;
}

/**
 * Whether an If-None-Match header names this content, in any encoding: a
 * client that cached the brotli copy and now asks for gzip has the same file.
 */
export function matchesEtag(header, hash) {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return tag === '*' || tag.replace(/\.(br|gz)$/, '') === hash;
  });
}

export class Precompressed {
  /** `dir`: the disk cache (created when needed); null keeps copies in memory only. */
  constructor(dir = DEFAULT_CACHE) {
    this.dir = dir;
    this.hashes = new Map(); // file → {key, hash}
    this.jobs = new Map(); // `${hash}.${suffix}` → Promise<copy>
    this.memory = new Map(); // same key → Buffer, when the disk cannot be used
    this.diskOk = !!dir;
    this.stopped = false;
  }

  /**
   * The server has closed: background work (warm, upgrade) ends, and copies
   * still being made are not written to the disk cache, which may be gone
   * (a test's temporary folder).
   */
  stop() {
    this.stopped = true;
  }

  /** The content hash of `file` (whose stat is `info`): base64url SHA-256, 22 characters. */
  async hash(file, info) {
    const key = `${info.size}:${info.mtimeMs}:${info.ino}`;
    const known = this.hashes.get(file);
    if (known && known.key === key) return known.hash;
    const hash = createHash('sha256').update(await readFile(file)).digest('base64url').slice(0, 22);
    this.hashes.set(file, { key, hash });
    return hash;
  }

  /**
   * The compressed copy of `file` (content `hash`) for `encoding`:
   * {path} or {buffer}, with its size, or null when compressing does not pay.
   * Made once; concurrent requests wait for the same job.
   */
  copy(file, hash, size, encoding) {
    if (size < MIN_SIZE) return Promise.resolve(null);
    const key = `${hash}.${ENCODINGS[encoding].suffix}`;
    let job = this.jobs.get(key);
    if (!job) {
      job = this.#make(file, hash, size, encoding, key);
      this.jobs.set(key, job);
      job.catch(() => this.jobs.delete(key)); // try again next time
    }
    return job;
  }

  async #make(file, hash, size, encoding, key, best = false) {
    const where = this.diskOk && path.join(this.dir, key);
    if (where) {
      const found = await this.#onDisk(where, size, best);
      if (found !== undefined) return found;
    }
    const data = await readFile(file);
    // The file may have changed since it was hashed: the copy must match the hash.
    if (createHash('sha256').update(data).digest('base64url').slice(0, 22) !== hash) throw new Error(`${file} changed while being compressed`);
    const out = await ENCODINGS[encoding].make(data, path.extname(file).toLowerCase(), best);
    const worth = out.length < size * WORTH;
    if (where && !this.stopped) {
      try {
        await mkdir(this.dir, { recursive: true });
        const tmp = `${where}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        await writeFile(tmp, worth ? out : '');
        const name = !worth ? `${where}.none` : best ? `${where}.best` : where;
        await rename(tmp, name);
        return worth ? { path: name, size: out.length } : null;
      } catch {
        this.diskOk = false; // a read-only or missing home: keep copies in memory
      }
    }
    return worth ? { buffer: out, size: out.length } : null;
  }

  /** A copy made earlier (the best one first): {path, size}, null (not worth it), or undefined (none yet). */
  async #onDisk(where, size, bestOnly = false) {
    const now = new Date();
    for (const name of bestOnly ? [`${where}.best`] : [`${where}.best`, where]) {
      const info = await stat(name).catch(() => null);
      if (info && info.isFile() && info.size > 0 && info.size < size) {
        utimes(name, now, now).catch(() => {}); // recently used: kept by prune()
        return { path: name, size: info.size };
      }
    }
    if (await stat(`${where}.none`).catch(() => null)) return null;
    return undefined;
  }

  /**
   * Replace the quick brotli copy of a big WASM file by brotli's best (a
   * minute of one core for the 18.9 MB WASM, 0.5 MB smaller), in the
   * background; requests meanwhile get the quick copy.
   */
  async upgrade(file) {
    const info = await stat(file).catch(() => null);
    if (!info || !info.isFile() || info.size <= BIG || path.extname(file).toLowerCase() !== '.wasm') return;
    const hash = await this.hash(file, info);
    const key = `${hash}.${ENCODINGS.br.suffix}`;
    await this.copy(file, hash, info.size, 'br'); // the quick one first
    if (this.stopped) return;
    const best = await this.#make(file, hash, info.size, 'br', key, true);
    if (!best) return;
    this.jobs.set(key, Promise.resolve(best));
    if (best.path) await unlink(path.join(this.dir, key)).catch(() => {}); // the quick copy is not needed any more
  }

  /** Make the copies of `file` now (at start-up), so the first visitor does not wait. */
  async warm(file) {
    const info = await stat(file).catch(() => null);
    if (!info || !info.isFile() || !COMPRESSIBLE.has(path.extname(file).toLowerCase())) return;
    const hash = await this.hash(file, info);
    // One at a time: compression is CPU work and the machine may be busy.
    for (const encoding of Object.keys(ENCODINGS)) {
      if (this.stopped) return;
      await this.copy(file, hash, info.size, encoding).catch(() => {});
    }
  }

  /** Drop the oldest copies beyond CACHE_LIMIT (copies of earlier builds). */
  async prune(limit = CACHE_LIMIT) {
    if (!this.dir) return;
    const names = await readdir(this.dir).catch(() => []);
    const files = [];
    for (const name of names) {
      const info = await stat(path.join(this.dir, name)).catch(() => null);
      if (info && info.isFile()) files.push({ name, size: info.size, mtime: info.mtimeMs });
    }
    files.sort((a, b) => b.mtime - a.mtime);
    let total = 0;
    for (const f of files) {
      total += f.size;
      const stale = f.name.endsWith('.tmp') && Date.now() - f.mtime > 3600e3;
      if (total > limit || stale) await unlink(path.join(this.dir, f.name)).catch(() => {});
    }
  }
}
