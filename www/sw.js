// The service worker (a module: registered by page/downloads.js): offline use
// and light revisits. The page's files, the WASM and the model are answered
// from a versioned cache first. After each page load (once its start-up is
// over: the page says so, or 10 s have passed) it revalidates what it
// holds against the server's ETags (a 304 costs a few hundred bytes); when
// anything changed it builds the next version beside the one in use and
// switches at the next load, so one page load never mixes two builds.
// Install fetches nothing, on a first visit or for an update (a file may be
// dropped before or while it runs; see its handler). First visit: the page
// downloads the WASM and the model itself and leaves copies in
// INCOMING_CACHE, which this worker takes into its version, and the page's
// other files are fetched once the page says it is idle ('sb-cache'), one at
// a time, stopping when a job starts (the page asks again after it).
// Anything it downloads itself (a miss) is cached from that download, its
// progress reported to the page. Same-origin GETs only; the audio never comes
// here (it stays in the page as a Blob).
import { INCOMING_CACHE, OFFLINE_CACHE } from './constants.js';
import { counted, expectedBytes } from './counted.js';

// Files a visit may need that the page does not load itself before this
// worker controls it (worker scripts, the worklet), and the page's own; the
// page also reports what it loaded (message 'sb-cache'), so a module missing
// here is still cached. A name the server does not have is skipped.
const SHELL = [
  './', // index.html too: navigations to it are answered with this
  'style.css',
  'pictures.css',
  'app.js',
  'early.js',
  'constants.js',
  'counted.js',
  'plot.js',
  'mic-worklet.js',
  'page/analyse.js',
  'page/backend.js',
  'page/downloads.js',
  'page/engine.js',
  'page/env.js',
  'page/export.js',
  'page/mic.js',
  'page/model.js',
  'page/pictures.js',
  'page/playhead.js',
  'page/results.js',
  'page/status.js',
  'page/ui.js',
  'page/wav.js',
  'package/engine.js',
  'package/audio.js',
  'package/sniff.js',
  'package/worker/coordinator.js',
  'package/worker/helper.js',
  'package/worker/live.js',
  'package/worker/pool.js',
  'package/worker/protocol.js',
  'package/pkg/scatterbrain.js',
].map((u) => new URL(u, self.registration.scope).href);

// The name of the version in use is kept in this cache, under this key.
const META = `${OFFLINE_CACHE}:meta`;
const CURRENT = new URL('sb-current-version', self.registration.scope).href;
// Downloads at least this big report their progress to the page.
const PROGRESS_MIN = 256 << 10;

let serving = null; // the version answering requests; changes only at a navigation
let refreshing = null; // the running refresh, if any
let lastCheck = null; // the revalidation after the last load: Promise<updated?>
let startupOver = null; // resolves when the page last loaded says its start-up is over
let grace = null; // the timer that revalidates anyway if the page never says so
// The revalidation after a load waits at most this long for the page's start-up.
const STARTUP_GRACE_MS = 10_000;
let absorbing = Promise.resolve(); // the running absorb()
let pageBusy = false; // a job runs in the page: addMissing() stops fetching

async function currentVersion() {
  const hit = await (await caches.open(META)).match(CURRENT);
  return hit ? hit.text() : null;
}

/**
 * Revalidate every file of the version in use (and the shell); if any
 * changed, build the next version and make it current. Resolves to true when
 * a new version was made; throws when the network failed.
 */
function refresh() {
  refreshing ??= (async () => {
    const name = await currentVersion();
    await absorb(name);
    const old = name && (await caches.open(name));
    const held = old ? (await old.keys()).map((r) => r.url) : [];
    const urls = [...new Set([...SHELL, ...held])];
    const checked = await Promise.all(urls.map((url) => revalidate(old, url)));
    const changed = checked.filter((c) => c.fresh || (c.gone && held.includes(c.url)));
    if (old && changed.length === 0) return false;
    const next = `${OFFLINE_CACHE}:${Date.now().toString(36)}`;
    const cache = await caches.open(next);
    await Promise.all(checked.map((c) => (c.fresh || c.kept) && cache.put(c.url, c.fresh || c.kept)));
    await (await caches.open(META)).put(CURRENT, new Response(next));
    // Not while installing: the previous worker may still answer from the old version.
    if (serving) await dropOld();
    return true;
  })().finally(() => (refreshing = null));
  return refreshing;
}

/** {url, kept} when unchanged, {url, fresh} with the new response, {url, gone} when the server lacks it. */
async function revalidate(old, url) {
  const hit = old && (await old.match(url, { ignoreVary: true }));
  const etag = hit && hit.headers.get('ETag');
  // A request with If-None-Match bypasses the HTTP cache and sees the server's 304.
  const resp = await fetch(url, etag ? { headers: { 'If-None-Match': etag } } : { cache: 'no-cache' });
  if (resp.status === 304 && hit) return { url, kept: hit };
  if (resp.ok) return { url, fresh: resp };
  if (resp.status === 404) return { url, gone: true };
  throw new Error(`${url}: ${resp.status}`);
}

/** Move what the page downloaded itself (page/downloads.js) into version `name`, unless it has it. */
function absorb(name) {
  // One at a time: two moves of the same entry would race.
  absorbing = absorbing.then(async () => {
    if (!name) return;
    const [inbox, cache] = [await caches.open(INCOMING_CACHE), await caches.open(name)];
    for (const req of await inbox.keys()) {
      const resp = await inbox.match(req);
      if (resp && !(await cache.match(req, { ignoreVary: true }))) await cache.put(req, resp);
      await inbox.delete(req);
    }
  }).catch(() => {});
  return absorbing;
}

/** Delete every cache but the meta and incoming caches, the current version and the one still answering. */
async function dropOld() {
  const keep = new Set([META, INCOMING_CACHE, await currentVersion(), serving]);
  for (const name of await caches.keys()) if (!keep.has(name)) await caches.delete(name);
}

self.addEventListener('install', (ev) => {
  // Nothing is fetched here: the page may be analysing a file (the browser
  // installs a changed sw.js whenever it checks, and a first visit's file may
  // come before the install). A first visit makes an empty version (see the
  // top of this file); an update keeps the version in use, which the
  // revalidation after each load, between jobs, brings up to date.
  ev.waitUntil((async () => (await currentVersion()) || firstVersion())().then(() => self.skipWaiting()));
});

/** An empty version, made current: what a first visit's install leaves. */
async function firstVersion() {
  const next = `${OFFLINE_CACHE}:${Date.now().toString(36)}`;
  await caches.open(next);
  await (await caches.open(META)).put(CURRENT, new Response(next));
}

self.addEventListener('activate', (ev) => {
  ev.waitUntil(
    (async () => {
      serving = await currentVersion();
      await absorb(serving);
      await dropOld();
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (ev) => {
  const m = ev.data || {};
  // 'sb-cache': the page's own files (resource timing): cache those the
  // shell list lacks; then, as for 'sb-check' (which fetches nothing), say
  // whether the shell and what the page `needed` are all kept.
  if (m.type === 'sb-cache' || m.type === 'sb-check') {
    const own = (list) => (Array.isArray(list) ? list : []).filter((u) => new URL(u).origin === self.location.origin);
    const [urls, needed] = [own(m.urls), own(m.needed)];
    const final = m.type === 'sb-cache';
    ev.waitUntil(
      (async () => {
        const name = serving || (await currentVersion());
        await absorb(name); // what the page downloaded itself is neither fetched again nor missing
        // Interrupted by a job: not final (the page asks again once it is idle).
        const done = final ? await addMissing(name, [...SHELL, ...urls, ...needed]).catch(() => true) : true;
        const missing = await notKept(name, needed);
        ev.source?.postMessage({ type: 'sb-offline', missing, final: final && done, interrupted: !done });
      })().catch(() => {}),
    );
  }
  // The page's start-up is over; whether the revalidation after this load
  // found a new version (none offline).
  if (m.type === 'sb-status') startupOver?.resolve();
  // The page is analysing audio: nothing is fetched until it says its
  // start-up is over (it waits for the job to end), not even at the grace
  // period's end.
  if (m.type === 'sb-busy') {
    clearTimeout(grace);
    pageBusy = true;
  }
  // Sent only between jobs.
  if (m.type === 'sb-cache' || m.type === 'sb-status') pageBusy = false;
  if (m.type === 'sb-status' && lastCheck) {
    ev.waitUntil(lastCheck.then((updated) => ev.source.postMessage({ type: 'sb-refreshed', updated }), () => {}));
  }
});

/** Which of the shell and `urls` version `name` lacks. */
async function notKept(name, urls) {
  const all = [...new Set([...SHELL, ...urls])];
  if (!name) return all;
  const cache = await caches.open(name);
  const held = await Promise.all(all.map((url) => cache.match(url, { ignoreVary: true })));
  return all.filter((_, i) => !held[i]);
}

/** Fetch into version `name` those of `urls` it lacks; false when a job in the page stopped it. */
async function addMissing(name, urls) {
  if (!name) return true;
  const cache = await caches.open(name);
  for (const url of new Set(urls)) {
    if (pageBusy) return false; // the rest next time: tagging makes no request
    if (await cache.match(url, { ignoreVary: true })) continue;
    const resp = await fetch(url, { cache: 'no-cache' });
    if (resp.ok) await cache.put(url, resp);
  }
  return true;
}

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin || req.headers.has('Range')) return;
  ev.respondWith(respond(ev));
});

async function respond(ev) {
  const req = ev.request;
  const navigation = req.mode === 'navigate';
  if (navigation || !serving) {
    // A new version is used from the next load on, and the one before it goes.
    const before = serving;
    serving = await currentVersion();
    if (before && before !== serving) ev.waitUntil(dropOld());
  }
  const cache = serving && (await caches.open(serving));
  const key = navigation && new URL(req.url).pathname.endsWith('/index.html') ? self.registration.scope : req;
  const hit = cache && (await cache.match(key, { ignoreSearch: navigation, ignoreVary: true }));
  // After a load from the cache: revalidate in the background, for the next
  // load, once the page's start-up is over (it says so: 'sb-status') or after
  // STARTUP_GRACE_MS at the latest (a page that never gets there is updated too).
  if (navigation) {
    let over;
    startupOver = new Promise((resolve) => (over = resolve));
    startupOver.resolve = over;
    const wait = Promise.race([startupOver, new Promise((resolve) => (grace = setTimeout(resolve, STARTUP_GRACE_MS)))]);
    ev.waitUntil((lastCheck = wait.then(refresh)).catch(() => {}));
  }
  if (hit) return hit;
  const early = cache && (await (await caches.open(INCOMING_CACHE)).match(key, { ignoreVary: true }));
  if (early) {
    ev.waitUntil(absorb(serving));
    return early;
  }
  const resp = await fetch(req);
  if (!cache || !resp.ok || resp.type !== 'basic' || /no-store/.test(resp.headers.get('Cache-Control') || '')) return resp;
  // Cache this very download (a tee of it), reporting its progress to the page.
  const copy = resp.clone();
  const total = expectedBytes(resp.headers);
  const body = total >= PROGRESS_MIN ? counted(copy.body, reporter(ev.clientId, req.url, total)) : copy.body;
  ev.waitUntil(cache.put(req.url, new Response(body, copy)).catch(() => {}));
  return resp;
}

function reporter(clientId, url, total) {
  return (loaded, state) => {
    if (clientId) self.clients.get(clientId).then((c) => c && c.postMessage({ type: 'sb-download', url, loaded, total, state }));
  };
}
