// A classic script, run while the page is parsed, before its modules: a file
// dropped in the first second (app.js not yet wired) would make the browser
// open it and leave the page. It is kept instead, and app.js analyses it once
// it has started (`takeEarlyDrop`).
'use strict';
addEventListener('dragover', (ev) => ev.preventDefault());
addEventListener('drop', (ev) => {
  ev.preventDefault();
  if (!globalThis.scatterbrainWired) globalThis.scatterbrainEarlyDrop = Array.from(ev.dataTransfer?.files || []);
});
