// Time to ready: from navigation to "model ready" (the page's `data-model`)
// in headless Chromium against the local server, on a first visit (a fresh
// browser context) and on a revisit (a reload: the service worker answers).
// Prints one line per visit and a summary; the results go by hand into
// benches/RESULTS-browser.md ("Time to ready"), with the date and the load.
//
//   node benches/ready.mjs [--reps N]
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../www/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'www', 'package.json'));
const { chromium } = require('playwright-core');
const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 3;

const { url, server } = await startServer({ port: 0, quiet: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--enable-unsafe-webgpu'] });
const times = { first: [], revisit: [] };
console.log(`load average before: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
try {
  for (let rep = 0; rep < reps; rep++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const visit of ['first', 'revisit']) {
      const t0 = Date.now();
      if (visit === 'first') await page.goto(url);
      else await page.reload();
      await page.waitForFunction(() => document.body.dataset.model === 'ready', null, { timeout: 120_000 });
      times[visit].push(Date.now() - t0);
      // where the time went: the page's own marks (page/engine.js, page/model.js), from navigation
      const marks = await page.evaluate(() => performance.getEntriesByType('mark').filter((m) => m.name.startsWith('sb:')).map((m) => `${m.name.slice(3)} ${Math.round(m.startTime)}${m.detail?.loadMs ? ` (load ${Math.round(m.detail.loadMs)})` : ''}`));
      console.log(`${visit.padEnd(7)} ${times[visit].at(-1)} ms  (${marks.join(', ')} ms)`);
      await page.waitForTimeout(3000); // the service worker caches and revalidates
    }
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}
const range = (v) => `${Math.min(...v)}–${Math.max(...v)} ms`;
console.log(`first visit ${range(times.first)}, revisit ${range(times.revisit)} (${reps} contexts); load average after: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
