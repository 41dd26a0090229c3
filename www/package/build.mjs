// Makes the npm package folder self-contained (run by www/build.sh after it
// has written www/pkg): copies the wasm-bindgen glue and the WASM from
// www/pkg, the page's header sniffer (www/sniff.js: the package decodes files
// at their own rate, as the page does) and the repository's LICENSE into
// www/package/ (pkg/ and LICENSE are git-ignored).
//   node www/package/build.mjs
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const www = path.resolve(here, '..');
const FILES = [
  [path.join(www, 'pkg', 'scatterbrain.js'), 'pkg/scatterbrain.js'],
  [path.join(www, 'pkg', 'scatterbrain_bg.wasm'), 'pkg/scatterbrain_bg.wasm'],
  [path.join(www, 'sniff.js'), 'pkg/sniff.js'],
  [path.join(www, '..', 'LICENSE'), 'LICENSE'],
];

for (const [from] of FILES) {
  if (!existsSync(from)) {
    console.error(`package: ${path.relative(process.cwd(), from)} is missing (run www/build.sh)`);
    process.exit(1);
  }
}
// Into a fresh folder first, then one rename, so a running server never
// serves a glue and a WASM from two builds.
const tmp = path.join(here, 'pkg.tmp');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp);
for (const [from, to] of FILES) {
  copyFileSync(from, to.startsWith('pkg/') ? path.join(tmp, to.slice(4)) : path.join(here, to));
}
rmSync(path.join(here, 'pkg'), { recursive: true, force: true });
renameSync(tmp, path.join(here, 'pkg'));
console.log(`== package: ${path.relative(process.cwd(), here)} is self-contained (${FILES.map(([, to]) => to).join(', ')})`);
