// Browser tests of the page's status words, times and read-outs (a new
// user's trial, round 3). Registered by run.mjs.   node tests/browser/run.mjs status:

export function statusTests(h) {
  // eslint-disable-next-line no-unused-vars
  const { test, check } = h;
}
