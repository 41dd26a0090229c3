// Browser tests of what the page reads from a file before decoding it, and
// of its words while a job waits (a new user's trial, round 3). Registered by
// run.mjs.   node tests/browser/run.mjs inputs:

export function inputTests(h) {
  // eslint-disable-next-line no-unused-vars
  const { test, check } = h;
}
