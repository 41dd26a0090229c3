// "The page's network is quiet", for tests that wait for a page to finish
// loading before they count its requests or give it a file.
//
// Playwright's waitForLoadState('networkidle') is not used: Chromium
// sometimes never reports the end of a nested worker's script load (the
// coordinator's two helper.js workers, answered by the service worker on a
// reload) although the worker runs and answers, and 'networkidle' then never
// comes: 3 reloads in 60 under load here, and a CI failure ("backend: … the
// choice persists over a reload", stop 48). `quiet` waits as 'networkidle'
// does, for 500 ms without an unanswered request of the page or its workers,
// but counts a worker's script as answered once that worker has run it.

/** context → {open: Map(request → when it started), changed: page → when one of its requests last started or ended}. */
const networks = new WeakMap();

/** The page a request belongs to (its own or its workers'); null for the service worker's. */
function pageOf(r) {
  if (r.serviceWorker()) return null;
  try {
    return r.frame().page();
  } catch {
    return null;
  }
}

/** Follow the requests of `context` (its pages, their workers, its service worker) from now on. */
export function watchNetwork(context) {
  const net = { open: new Map(), changed: new WeakMap() };
  const touch = (r) => {
    const page = pageOf(r);
    if (page) net.changed.set(page, Date.now());
  };
  context.on('request', (r) => {
    net.open.set(r, Date.now());
    touch(r);
  });
  const end = (r) => {
    net.open.delete(r);
    touch(r);
  };
  context.on('requestfinished', end);
  context.on('requestfailed', end);
  networks.set(context, net);
}

/** The requests of `context` not answered yet, in words (for a failed test's message). */
export function openRequests(context) {
  const from = (r) => (r.serviceWorker() ? 'the service worker' : 'the page or its workers');
  return [...(networks.get(context)?.open ?? [])].map(([r, at]) => `${r.method()} ${r.url()} (${r.resourceType()}, from ${from(r)}, open for ${((Date.now() - at) / 1000).toFixed(1)} s)`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Script URLs of the page's workers that have run their script (set `onmessage`), one entry per worker. */
async function workersThatRan(page) {
  const ran = await Promise.all(
    page.workers().map((w) =>
      // A worker busy with a job has run its script, but cannot say so now: asked again on the next round.
      Promise.race([w.evaluate(() => (typeof self.onmessage === 'function' ? self.location.href : null)).catch(() => null), sleep(1000).then(() => null)]),
    ),
  );
  return ran.filter(Boolean);
}

/** The requests still waiting for an answer, less the scripts of workers that have run them. */
async function unanswered(page, net) {
  const open = [...net.open.keys()].filter((r) => pageOf(r) === page);
  if (!open.some((r) => r.resourceType() === 'script')) return open;
  const ran = await workersThatRan(page);
  // n open requests of one worker script are answered when n workers of it have run.
  const count = (list, url) => list.filter((u) => u === url).length;
  const openScripts = open.filter((r) => r.resourceType() === 'script').map((r) => r.url());
  return open.filter((r) => !(r.resourceType() === 'script' && count(ran, r.url()) >= count(openScripts, r.url())));
}

/** Wait until `page` has had no unanswered request for 500 ms (at most `timeout` ms). */
export async function quiet(page, timeout = 30_000) {
  const net = networks.get(page.context());
  if (!net) throw new Error("quiet(page): the page's context was not given to watchNetwork before it loaded");
  const deadline = Date.now() + timeout;
  let busy = 0; // when a request was last seen waiting (quiet for 500 ms already: no wait)
  for (;;) {
    const waiting = await unanswered(page, net);
    const now = Date.now();
    if (waiting.length) busy = now;
    else if (now - Math.max(busy, net.changed.get(page) ?? 0) >= 500) return;
    if (now > deadline) {
      const list = waiting.map((r) => `${r.method()} ${r.url()} (${r.resourceType()})`).join(', ');
      throw new Error(`the page's network did not go quiet in ${timeout / 1000} s; waiting for: ${list || '(a request came and went in the last 500 ms)'}`);
    }
    await sleep(100);
  }
}
