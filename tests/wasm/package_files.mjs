// Is the npm package folder self-contained? Lists what `npm pack` would
// publish and checks that every module, worker, glue and .wasm the package's
// JS names by a relative path (import … from, import(), new URL(…,
// import.meta.url), exports in package.json) is among those files.
// Prints JSON: { files, missing: [{ from, to }] }.
//   node tests/wasm/package_files.mjs [PACKAGE_DIR]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'www', 'package'));
const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' }));
const files = new Set(packed[0].files.map((f) => f.path));

const missing = [];
const need = (from, rel) => {
  const to = path.posix.normalize(path.posix.join(path.posix.dirname(from), rel));
  if (!files.has(to)) missing.push({ from, to });
};
const RELATIVE = [
  /\bfrom\s+['"](\.\.?\/[^'"]+)['"]/g,
  /\bimport\(\s*['"](\.\.?\/[^'"]+)['"]/g,
  /new URL\(\s*['"](\.\.?\/[^'"]+)['"]\s*,\s*import\.meta\.url/g,
];
for (const f of files) {
  if (!f.endsWith('.js')) continue;
  const src = readFileSync(path.join(dir, f), 'utf8');
  for (const re of RELATIVE) for (const m of src.matchAll(re)) need(f, m[1]);
}
const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
const targets = (v) => (typeof v === 'string' ? [v] : Object.values(v).flatMap(targets));
for (const t of [pkg.main, pkg.types, ...targets(pkg.exports)]) need('package.json', t);
console.log(JSON.stringify({ files: [...files].sort(), missing }));
