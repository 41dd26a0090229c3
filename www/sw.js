// Offline support: the page's files are cached when it loads, so it keeps
// working without a network once loaded. Network first (a rebuilt package is
// picked up at once when online), cache when offline. Same-origin GETs only;
// the audio itself is never fetched (it stays in the page as a Blob).
const CACHE = 'scatterbrain-v2'; // = OFFLINE_CACHE in constants.js
const SHELL = [
  './',
  'index.html',
  'style.css',
  'pictures.css',
  'app.js',
  'constants.js',
  'plot.js',
  'sniff.js',
  'mic-worklet.js',
  'page/analyse.js',
  'page/backend.js',
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
  'worker/coordinator.js',
  'worker/helper.js',
  'worker/live.js',
  'worker/pool.js',
  'worker/protocol.js',
  'pkg/scatterbrain.js',
  'pkg/scatterbrain_bg.wasm',
];

// The tagging model is not in SHELL: a build may ship none, and the page
// puts the copy it has downloaded into this cache itself (app.js), so it is
// downloaded once.
self.addEventListener('install', (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  ev.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok && resp.type === 'basic') {
          const copy = resp.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return resp;
      })
      .catch(() =>
        caches.match(req, { ignoreSearch: true }).then((hit) => hit || Response.error()),
      ),
  );
});
