// The page's downloads: registers the service worker (sw.js), downloads the
// WASM and the model once, and shows their progress in bytes.
//
// Revisits: the service worker controls the page and answers from its cache
// (it reports the progress of anything it has to download). First visit (no
// service worker in control yet): the page downloads each file itself, once,
// counts the bytes, and stores a copy in the cache the service worker takes
// them from (INCOMING_CACHE), so nothing is downloaded twice. The WASM is
// compiled while it downloads (compiled()): on a first visit the engine is
// ready when the last byte arrives, not a download plus a compile later.
import { INCOMING_CACHE, MODEL_URL, WASM_URL, WEBGPU_WASM_URL } from '../constants.js';
import { counted, expectedBytes } from '../counted.js';
import { setOffline } from './env.js';

const abs = (url) => new URL(url, location.href).href;
const LABELS = { [abs(WASM_URL)]: 'analysis engine', [abs(WEBGPU_WASM_URL)]: 'WebGPU engine', [abs(MODEL_URL)]: 'tagging model' };

/** url → {label, loaded, total, state}: what has been downloaded (for the display and the tests). */
export const downloads = {};

const $ = (id) => document.getElementById(id);
const sw = navigator.serviceWorker;
const inControl = () => !!(sw && sw.controller);
// What offline use needs beyond the service worker's own list of the page's
// files: the WASM, and the model once it has loaded (a build without one works offline without it).
let needed = [WASM_URL, MODEL_URL].map(abs);

if (sw) {
  sw.addEventListener('message', (ev) => onMessage(ev.data || {}));
  sw.startMessages();
  // A revisit: ask at once whether everything is kept (no download; on a
  // first visit the answer comes once the worker has taken the files in).
  sw.controller?.postMessage({ type: 'sb-check', needed });
} else {
  setOffline('unavailable', isSecureContext ? 'this browser offers no service worker' : 'the page is not served over HTTPS or from this computer');
}

/** Run `f` when no job is running (now, or when the current one ends: body[data-busy]). */
function whenIdle(f) {
  if (document.body.dataset.busy !== '1') return f();
  const watch = new MutationObserver(() => {
    if (document.body.dataset.busy === '1') return;
    watch.disconnect();
    f();
  });
  watch.observe(document.body, { attributes: true, attributeFilter: ['data-busy'] });
}

// While a job runs, the service worker fetches nothing (privacy: tagging
// makes no network request): it is told when one starts, and the page tells
// it that its start-up is over only between jobs.
if (sw) {
  new MutationObserver(() => {
    if (document.body.dataset.busy === '1') sw.controller?.postMessage({ type: 'sb-busy' });
  }).observe(document.body, { attributes: true, attributeFilter: ['data-busy'] });
}

let started = false;
/**
 * Register the service worker and tell it which files this page loaded: once
 * the page's start-up is over (app.js: the model is ready) and no job runs.
 * Its first install and its revalidation after each load fetch and cache ~30
 * files, which on two cores cost the start-up about half a second; the page
 * downloads the WASM and the model itself meanwhile, so nothing is fetched
 * twice.
 */
export function startOfflineSupport({ model = true } = {}) {
  if (!sw || started) return;
  started = true;
  if (!model) needed = [abs(WASM_URL)];
  whenIdle(() => {
    if (sw.controller) talk();
    // A worker taking over (a first visit's, or a new version's, which the
    // old one never answered for) is told too.
    sw.addEventListener('controllerchange', () => whenIdle(talk));
    sw.register('sw.js', { type: 'module' }).then(watchInstall, (e) => {
      console.warn('offline support unavailable:', e.message);
      setOffline('unavailable', `its service worker could not start: ${e.message}`);
    });
  });
}

/** An install that fails (the network gone mid-way) never takes over: say so; a page it does not control (a hard reload) still asks. */
function watchInstall(reg) {
  const w = reg.installing;
  w?.addEventListener('statechange', () => {
    if (w.state === 'redundant' && !sw.controller) setOffline('unavailable', 'its files could not be saved (was the network lost?); the next visit tries again');
  });
  sw.ready.then((r) => !sw.controller && r.active?.postMessage({ type: 'sb-check', needed }));
}

/**
 * Fetch `url` once for the page. Resolves to {resp, bytes} (bytes when
 * `wantBytes` and the answer is ok). Without a service worker in control the
 * bytes are counted here and a copy goes to INCOMING_CACHE.
 */
export async function download(url, wantBytes) {
  const { resp, body, stored } = await open(url, wantBytes);
  const bytes = body && (await new Response(body).arrayBuffer());
  await stored;
  return { resp, bytes };
}

/**
 * The request behind download(): resolves as soon as the headers are in, to
 * {resp, body, stored}: `body` (when `wantBody` and the answer is ok) is a
 * stream of the file for the caller, `stored` settles once the copy is kept.
 */
async function open(url, wantBody) {
  const viaWorker = inControl(); // at request time: a worker taking over later did not see it
  const resp = await fetch(url);
  if (!resp.ok || viaWorker || !resp.body) return { resp, body: wantBody && resp.ok ? resp.body : null, stored: null };
  const total = expectedBytes(resp.headers);
  const [mine, theirs] = wantBody ? resp.body.tee() : [null, resp.body];
  const copy = new Response(
    counted(theirs, (loaded, state) => track(abs(url), loaded, total, state)),
    resp,
  );
  return { resp, body: mine, stored: keep(abs(url), copy) };
}

const modules = new Map();
/**
 * The WebAssembly module at `url`, downloaded once (as download()) and
 * compiled as its bytes arrive. A failure is not remembered: the next call
 * tries again.
 */
export function compiled(url) {
  if (!modules.has(url)) {
    const p = open(url, true).then(async ({ resp, body, stored }) => {
      if (!resp.ok) throw new Error(`${url}: the server answered ${resp.status} ${resp.statusText}`);
      const wasm = new Response(body, { headers: { 'Content-Type': 'application/wasm' } });
      const [module] = await Promise.all([WebAssembly.compileStreaming(wasm), stored]);
      return module;
    });
    p.catch(() => modules.delete(url));
    modules.set(url, p);
  }
  return modules.get(url);
}

async function keep(url, resp) {
  try {
    if (globalThis.caches) return await (await caches.open(INCOMING_CACHE)).put(url, resp);
  } catch {
    // No room or no Cache Storage: the page works, not offline.
  }
  await resp.arrayBuffer().catch(() => {}); // still read: the progress counts it
}

/** Tell the service worker which files this page loaded (it caches any its list lacks), and ask how its revalidation went. */
function talk() {
  const urls = performance
    .getEntriesByType('resource')
    .filter((e) => !['fetch', 'xmlhttprequest', 'beacon'].includes(e.initiatorType) && e.name.startsWith(location.origin))
    .map((e) => e.name.split('#')[0]);
  sw.controller?.postMessage({ type: 'sb-cache', urls, needed });
  sw.controller?.postMessage({ type: 'sb-status' });
}

function onMessage(m) {
  if (m.type === 'sb-offline') {
    const missing = (m.missing || []).map((u) => (LABELS[u] ? `the ${LABELS[u]}` : labelOf(u) || 'the page'));
    if (!missing.length) setOffline('ready');
    else if (m.final) setOffline('unavailable', `could not keep ${missing.join(', ')}`);
    // A job stopped the saving (a first visit's, or what a revisit lacked): on after it.
    else if (m.interrupted) whenIdle(talk);
  } else if (m.type === 'sb-download') track(m.url, m.loaded, m.total, m.state);
  else if (m.type === 'sb-refreshed') {
    // The service worker has revalidated the cached files after this load.
    document.body.dataset.swRefresh = m.updated ? 'updated' : 'current';
    if (m.updated) show('A new version of the page has been downloaded; it will be used the next time you open it.');
  }
}

/** A download's name for people: what it is, else its file name. */
const labelOf = (url) => LABELS[url] || decodeURIComponent(url.split('/').pop());

function track(url, loaded, total, state) {
  const label = labelOf(url);
  downloads[url] = { label, loaded, total, state };
  const busy = Object.values(downloads).filter((d) => d.state === 'loading');
  if (!busy.length) return show('');
  const mb = (n) => (n / 1e6).toFixed(1);
  const parts = busy.map((d) => `the ${d.label}: ${mb(d.loaded)}${d.total ? ` of ${mb(d.total)}` : ''} MB`);
  const known = busy.every((d) => d.total);
  const sum = (k) => busy.reduce((s, d) => s + d[k], 0);
  show(`Downloading ${parts.join(' · ')}`, known ? sum('loaded') / sum('total') : null);
}

/** The line under the model status: text, and a bar when `fraction` is a number. */
function show(text, fraction) {
  const box = $('downloads');
  if (!box) return;
  box.hidden = !text;
  $('downloads-text').textContent = text;
  const bar = $('downloads-bar');
  bar.hidden = fraction == null;
  if (fraction != null) bar.value = Math.min(1, fraction);
}
