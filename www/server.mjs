// Static server for the Scatterbrain page: www/ at /, the repository's models/
// at /models/. Local only (127.0.0.1). No dependencies beyond Node itself.
//
//   node www/server.mjs [--port 8080] [--host 127.0.0.1] [--model FILE]
//
// The page loads the shipped model (constants.js MODEL_URL). `--model FILE` (or the
// environment's SCATTERBRAIN_MODEL, as for the native `scatterbrain tag`)
// serves FILE under that name instead of the repository's models/ folder.
//
// Headers: correct MIME types (application/wasm for streaming compilation),
// COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer and wasm
// threads become possible), and a strict Content-Security-Policy: the page may
// only talk to its own origin, so audio cannot leave it.
//
// Weight: every answer carries a strong ETag (a hash of the content) and
// `Cache-Control: no-cache`, so browsers and the service worker revalidate
// and get a 304 for what they have; text, WASM and model files are sent
// brotli- or gzip-compressed as the browser accepts, from copies made once
// per content (precompress.mjs), with `X-Uncompressed-Length` so the page can
// show download progress against the size it will receive.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_URL } from './constants.js';
import { COMPRESSIBLE, DEFAULT_CACHE, Precompressed, etagOf, matchesEtag, pickEncoding } from './precompress.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WWW = here;
const MODELS = path.resolve(here, '..', 'models');
/** The model file name the page asks for (constants.js MODEL_URL). */
export const SHIPPED_MODEL = path.basename(MODEL_URL);

function parseArgs(argv) {
  const opts = { port: Number(process.env.PORT) || 8080, host: '127.0.0.1', model: process.env.SCATTERBRAIN_MODEL || undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--port' || a.startsWith('--port=')) opts.port = Number(value());
    else if (a === '--host' || a.startsWith('--host=')) opts.host = value();
    else if (a === '--model' || a.startsWith('--model=')) opts.model = value();
    else if (a === '--help' || a === '-h') {
      console.log('usage: node www/server.mjs [--port 8080] [--host 127.0.0.1] [--model FILE]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`bad port ${opts.port}`);
  }
  // Said now, not as a 404 when the page asks for it.
  if (opts.model !== undefined) {
    const st = statSync(opts.model, { throwIfNoEntry: false });
    if (!st?.isFile()) throw new Error(`--model ${opts.model}${process.env.SCATTERBRAIN_MODEL === opts.model ? ' (from SCATTERBRAIN_MODEL)' : ''}: ${st ? 'not a file' : 'no such file'}`);
  }
  return opts;
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  // Model files (burnpack, safetensors, anything binary).
  '.bpk': 'application/octet-stream',
  '.mpk': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'microphone=(self), camera=(), geolocation=()',
};

// Only the page's own files are served from www/: not the tooling next to it.
// (package/ is served: the page runs on it; its half-built pkg*.tmp/.old folders are not.)
const WWW_DENY = /(^|\/)(node_modules|pkg(-webgpu)?\.(tmp|old))(\/|$)|(^|\/)\.|^(package(-lock)?\.json|[^/]*\.mjs|build\.sh|serve)$/;

/**
 * Map a URL path to a file, or null when it is not servable. `model`: a file
 * to serve as models/SHIPPED_MODEL, `false` for no model, undefined for the
 * repository's models/.
 */
function resolve(urlPath, model) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  rel = path.posix.normalize(rel).replace(/^\/+/, '');
  if (rel.startsWith('..')) return null;
  let root = WWW;
  if (rel === 'models' || rel.startsWith('models/')) {
    root = MODELS;
    rel = rel.slice('models'.length).replace(/^\/+/, '');
    if (/(^|\/)\./.test(rel)) return null;
    if (model === false) return null;
    if (typeof model === 'string') return rel === SHIPPED_MODEL ? path.resolve(model) : null;
  } else {
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    if (WWW_DENY.test(rel)) return null;
  }
  const file = path.resolve(root, rel);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  return file;
}

/** A file's answer: 304 when the client has it, else the best encoding it accepts. */
async function answer(req, res, file, info, copies, log) {
  const ext = path.extname(file).toLowerCase();
  const type = MIME[ext] || 'application/octet-stream';
  const compressible = COMPRESSIBLE.has(ext);
  const hash = await copies.hash(file, info);
  const encoding = compressible ? pickEncoding(req.headers['accept-encoding']) : null;
  const headers = {
    ...SECURITY_HEADERS,
    // Revalidate every time (a 304 is cheap): a rebuilt package must never mix with a cached one.
    'Cache-Control': 'no-cache',
    'Last-Modified': info.mtime.toUTCString(),
  };
  if (compressible) headers.Vary = 'Accept-Encoding';
  if (matchesEtag(req.headers['if-none-match'], hash)) {
    headers.ETag = etagOf(hash, encoding);
    setHeaders(res, headers);
    res.writeHead(304);
    log(304);
    return res.end();
  }
  // Without a copy (the file changed under us, the disk is full…) the file goes out as it is.
  const copy = encoding ? await copies.copy(file, hash, info.size, encoding).catch(() => null) : null;
  headers['Content-Type'] = type;
  headers.ETag = etagOf(hash, copy ? encoding : null);
  headers['Content-Length'] = copy ? copy.size : info.size;
  if (copy) {
    headers['Content-Encoding'] = encoding;
    // What the page's fetch will see after decoding: its download progress counts against this.
    headers['X-Uncompressed-Length'] = info.size;
  }
  setHeaders(res, headers);
  res.writeHead(200);
  log(200, copy ? ` ${encoding} ${copy.size}/${info.size}` : '');
  if (req.method === 'HEAD') return res.end();
  if (copy && copy.buffer) return res.end(copy.buffer);
  createReadStream(copy ? copy.path : file)
    .on('error', () => res.destroy())
    .pipe(res);
}

// Set one by one (not through writeHead) so they can be read back (res.getHeader), as the tests do.
function setHeaders(res, headers) {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/**
 * `compressCache`: the folder for compressed copies (default
 * ~/.cache/scatterbrain/www-compressed, $SCATTERBRAIN_WWW_CACHE), null to keep
 * them in memory only. `bestCompression`: also make brotli's best copy of the
 * WASM in the background (the command line does; precompress.mjs upgrade()).
 */
export function startServer({ port = 8080, host = '127.0.0.1', quiet = false, model = undefined, compressCache = process.env.SCATTERBRAIN_WWW_CACHE || DEFAULT_CACHE, bestCompression = false } = {}) {
  const copies = new Precompressed(compressCache);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const log = (status, note = '') => {
      if (!quiet) console.log(`${req.method} ${url.pathname} ${status}${note}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      log(405);
      return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    }
    let file = resolve(url.pathname, model);
    let info = file && (await stat(file).catch(() => null));
    if (info && info.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file).catch(() => null);
    }
    if (!file || !info || !info.isFile()) {
      log(404);
      return send(res, 404, 'not found\n');
    }
    try {
      await answer(req, res, file, info, copies, log);
    } catch (e) {
      log(500, ` ${e.message}`);
      if (!res.headersSent) send(res, 500, 'server error\n');
      else res.destroy();
    }
  });
  server.on('close', () => copies.stop());
  // Compress the two big files now rather than on the first visitor's request.
  const bigOnes = [path.join(WWW, 'package', 'pkg', 'scatterbrain_bg.wasm'), typeof model === 'string' ? path.resolve(model) : path.join(MODELS, SHIPPED_MODEL)];
  if (model === false) bigOnes.pop();
  copies.prune().then(async () => {
    for (const f of bigOnes) await copies.warm(f);
    // A minute of CPU once per build: not for the tests' and benchmarks' servers.
    if (bestCompression) await copies.upgrade(bigOnes[0]).catch(() => {});
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolvePromise({ server, url: `http://${host}:${actual}/` });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`server: ${e.message}`);
    process.exit(2);
  }
  startServer({ ...opts, bestCompression: true }).then(
    ({ url }) => {
      if (opts.model) console.log(`model: ${path.resolve(opts.model)} (as models/${SHIPPED_MODEL})`);
      console.log(`Scatterbrain is served at ${url}  (Ctrl-C stops it)`);
    },
    (e) => {
      console.error(
        e.code === 'EADDRINUSE'
          ? `server: port ${opts.port} is in use; try --port ${opts.port + 1}`
          : `server: ${e.message}`,
      );
      process.exit(1);
    },
  );
}
