// Dashboard: 10,000 suggestions stored; the time from navigation to the first suggestion cards on
// screen in Chromium (a fresh browser context each load: nothing cached), median of several
// loads; and the built bundle, gzipped. The dashboard is built from web/ into a temporary folder
// (web/dist is left alone) and served by the API as `healing api` serves it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { seedHistory } from './lib/dataset.js';
import { writeJobs } from './lib/jobs.js';
import { median, round, startBench, summary } from './lib/report.js';
import { ROOT, startBenchStack } from './lib/stack.js';

const SUGGESTIONS = 10_000;
const LOADS = Number(process.env.BENCH_DASHBOARD_LOADS ?? 7);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const bench = startBench('dashboard');
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium, or set CHROMIUM_PATH`);
const outDir = await mkdtemp(path.join(os.tmpdir(), 'healing-bench-web-'));
const stack = await startBenchStack();
try {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
  const files: { file: string; bytes: number; gzip: number }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(js|css|html)$/.test(entry.name)) {
        const content = readFileSync(full);
        files.push({ file: path.relative(outDir, full), bytes: statSync(full).size, gzip: gzipSync(content, { level: 9 }).length });
      }
    }
  };
  walk(outDir);
  const gzipKb = round(files.reduce((n, f) => n + f.gzip, 0) / 1024, 1);
  const rawKb = round(files.reduce((n, f) => n + f.bytes, 0) / 1024, 1);
  bench.log(`bundle: ${rawKb} KB, ${gzipKb} KB gzipped (${files.length} files)`);

  const jobs = await writeJobs(stack.jobsDir, 'job', 50);
  const data = await seedHistory(stack.db, { suggestions: SUGGESTIONS, jobs, runsPerJob: 50 });
  const api = await stack.startApi({ webDist: outDir });
  bench.log(`${data.suggestions} suggestions; dashboard at ${api.url}/`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const loads: { first_cards_ms: number; fcp_ms: number | null; dom_content_loaded_ms: number }[] = [];
  try {
    for (let i = 0; i <= LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto(`${api.url}/`, { waitUntil: 'commit' });
      await page.locator('[data-testid=suggestion-list] article').first().waitFor({ state: 'visible', timeout: 30_000 });
      const firstCards = Date.now() - t0;
      const timing = await page.evaluate(() => {
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return { fcp: paint ? paint.startTime : null, dcl: nav ? nav.domContentLoadedEventEnd : 0 };
      });
      await context.close();
      if (i === 0) continue; // the browser's own first start
      loads.push({ first_cards_ms: firstCards, fcp_ms: timing.fcp === null ? null : round(timing.fcp, 0), dom_content_loaded_ms: round(timing.dcl, 0) });
    }
  } finally {
    await browser.close();
  }
  const render = summary(loads.map((l) => l.first_cards_ms), 0);
  const fcp = median(loads.map((l) => l.fcp_ms ?? Number.NaN).filter((v) => !Number.isNaN(v)));
  bench.add({
    figure: `dashboard: navigation -> first suggestion cards (${data.suggestions} stored)`,
    target: '< 1 s',
    measured: render.p50,
    unit: 'ms',
    pass: render.p50 < 1000,
    baseline: { label: 'first contentful paint', value: fcp, unit: 'ms' },
    note: `median of ${loads.length} loads, each in a fresh context; max ${render.max} ms`,
  });
  bench.add({
    figure: 'dashboard bundle, gzipped (js + css + html)',
    target: '< 250 KB',
    measured: gzipKb,
    unit: 'KB',
    pass: gzipKb < 250,
    note: `${rawKb} KB before gzip -9`,
  });
  Object.assign(bench.details, { suggestions: data.suggestions, files, loads, render_ms: render, api_rss_mb: api.rssMb() });
} finally {
  await stack.stop();
  await rm(outDir, { recursive: true, force: true });
}
await bench.finish();
