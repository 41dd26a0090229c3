// Download progress, shared by the service worker (sw.js) and the page
// (page/downloads.js): a body stream that reports the bytes it has passed on.

/**
 * The size of a response's body as fetch() will deliver it (decoded), or 0
 * when unknown: with Content-Encoding, Content-Length counts the compressed
 * bytes, so the server says the decoded size in X-Uncompressed-Length.
 */
export function expectedBytes(headers) {
  const raw = headers.get('X-Uncompressed-Length');
  if (raw) return Number(raw) || 0;
  if (headers.get('Content-Encoding')) return 0;
  return Number(headers.get('Content-Length')) || 0;
}

/**
 * `body` passed through unchanged; `report(loaded, state)` after each chunk
 * (state 'loading'), at the end ('done') or on failure ('failed'), at most
 * every `everyMs` except for the last call.
 */
export function counted(body, report, everyMs = 100) {
  const reader = body.getReader();
  let loaded = 0;
  let last = 0;
  return new ReadableStream({
    async pull(ctl) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        report(loaded, 'failed');
        throw e;
      }
      if (chunk.done) {
        report(loaded, 'done');
        return ctl.close();
      }
      loaded += chunk.value.byteLength;
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        report(loaded, 'loading');
      }
      ctl.enqueue(chunk.value);
    },
    cancel(reason) {
      report(loaded, 'failed');
      return reader.cancel(reason);
    },
  });
}
