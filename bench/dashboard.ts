// Dashboard: 10,000 suggestions stored; the time from navigation to the first suggestion cards on
// screen in Chromium (a fresh browser context each load: nothing cached), median of several
// loads, beside the same first screen as static HTML loaded the same way in turn (the baseline), with
// where the time went by the page's own clock (resource and navigation timings); and the built
// bundle, gzipped. The dashboard is built from web/ into a temporary folder (web/dist is left
// alone) and served by the API as `healing api` serves it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
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
// Before/after in one run: another build of the dashboard (`vite build --base /compare/`, say of the
// last commit), served at /compare/ and loaded in turn with this one.
const COMPARE_DIST = process.env.BENCH_DASHBOARD_COMPARE ?? null;

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

  // The baseline: the same page's first screen as static HTML (the built stylesheet and one page of
  // cards, no script, no API call) from the same server, loaded and timed the same way.
  const cardsHtml = Array.from({ length: 50 }, (_, i) => `<article class="card"><h3>Suggestion ${i + 1}</h3><p>job-${i}: a static card of the baseline page</p></article>`).join('');
  const indexHtml = readFileSync(path.join(outDir, 'index.html'), 'utf8');
  const stylesheets = [...indexHtml.matchAll(/<link rel="stylesheet"[^>]*>/g)].map((m) => m[0]).join('');
  writeFileSync(
    path.join(outDir, 'bench-static.html'),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>static</title>${stylesheets}</head><body><main><div class="container"><div data-testid="suggestion-list">${cardsHtml}</div></div></main></body></html>`,
  );

  if (COMPARE_DIST) await cp(COMPARE_DIST, path.join(outDir, 'compare'), { recursive: true });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  /** navigation -> the first card visible, in a fresh context (nothing cached), and the page's own timings */
  const load = async (pagePath: string) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // when the first card enters the DOM, by the page's clock (the breakdown below uses the same clock)
    await page.addInitScript(() => {
      const w = window as unknown as { __firstCard?: number };
      new MutationObserver((_, observer) => {
        if (document.querySelector('[data-testid=suggestion-list] article')) {
          w.__firstCard = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const t0 = Date.now();
    await page.goto(`${api.url}${pagePath}`, { waitUntil: 'commit' });
    await page.locator('[data-testid=suggestion-list] article').first().waitFor({ state: 'visible', timeout: 30_000 });
    const firstCards = Date.now() - t0;
    const timing = await page.evaluate(() => {
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const resources = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((r) => ({
        path: new URL(r.name).pathname + new URL(r.name).search,
        type: r.initiatorType,
        start: Math.round(r.startTime),
        first_byte: Math.round(r.responseStart),
        end: Math.round(r.responseEnd),
        bytes: r.transferSize,
      }));
      return {
        fcp: paint ? paint.startTime : null,
        html_end: nav ? nav.responseEnd : 0,
        dcl: nav ? nav.domContentLoadedEventEnd : 0,
        first_card_dom: (window as unknown as { __firstCard?: number }).__firstCard ?? null,
        resources,
      };
    });
    await context.close();
    return { firstCards, timing };
  };
  type Load = { first_cards_ms: number; fcp_ms: number | null; html_end_ms: number; dom_content_loaded_ms: number; first_card_in_dom_ms: number | null; resources: unknown[] };
  const loads: Load[] = [];
  const staticLoads: number[] = [];
  const compareLoads: number[] = [];
  try {
    for (let i = 0; i <= LOADS; i++) {
      // one of each, alternating, so both see the same moment of a noisy machine
      const app = await load('/');
      const still = await load('/bench-static.html');
      const compared = COMPARE_DIST ? await load('/compare/') : null;
      if (i === 0) continue; // the browser's own first start
      if (compared) compareLoads.push(compared.firstCards);
      const t = app.timing;
      loads.push({
        first_cards_ms: app.firstCards,
        fcp_ms: t.fcp === null ? null : round(t.fcp, 0),
        html_end_ms: round(t.html_end, 0),
        dom_content_loaded_ms: round(t.dcl, 0),
        first_card_in_dom_ms: t.first_card_dom === null ? null : round(t.first_card_dom, 0),
        resources: t.resources,
      });
      staticLoads.push(still.firstCards);
    }
  } finally {
    await browser.close();
  }
  const render = summary(loads.map((l) => l.first_cards_ms), 0);
  const fcp = median(loads.map((l) => l.fcp_ms ?? Number.NaN).filter((v) => !Number.isNaN(v)));
  const staticCards = median(staticLoads);
  // where the time before the first cards goes, by the page's clock (medians over the loads)
  const at = (pick: (l: Load) => number | null | undefined) => round(median(loads.map(pick).filter((v): v is number => typeof v === 'number')), 0);
  const resourceEnd = (l: Load, match: RegExp, field: 'start' | 'first_byte' | 'end') => (l.resources as { path: string; start: number; first_byte: number; end: number }[]).find((r) => match.test(r.path))?.[field];
  const breakdown = {
    html_received_ms: at((l) => l.html_end_ms),
    entry_script_received_ms: at((l) => resourceEnd(l, /^\/assets\/index-.*\.js$/, 'end')),
    dom_content_loaded_ms: at((l) => l.dom_content_loaded_ms),
    first_contentful_paint_ms: fcp,
    suggestions_request_sent_ms: at((l) => resourceEnd(l, /^\/api\/v1\/healing\/suggestions\?/, 'start')),
    suggestions_answer_received_ms: at((l) => resourceEnd(l, /^\/api\/v1\/healing\/suggestions\?/, 'end')),
    first_card_in_dom_ms: at((l) => l.first_card_in_dom_ms),
  };
  bench.log(`breakdown (medians, page clock): ${JSON.stringify(breakdown)}`);
  if (COMPARE_DIST) bench.log(`first cards: this build ${render.p50} ms, ${COMPARE_DIST} ${median(compareLoads)} ms (medians, loaded in turn)`);
  bench.add({
    figure: `dashboard: navigation -> first suggestion cards (${data.suggestions} stored)`,
    target: '< 800 ms',
    measured: render.p50,
    unit: 'ms',
    pass: render.p50 < 800,
    baseline: { label: 'the same first screen as static HTML', value: staticCards, unit: 'ms' },
    ratio: round(render.p50 / staticCards, 2),
    note: `median of ${loads.length} loads, each in a fresh context; max ${render.max} ms; first contentful paint ${fcp} ms; suggestions answer at ${breakdown.suggestions_answer_received_ms} ms`,
  });
  bench.add({
    figure: 'dashboard bundle, gzipped (js + css + html)',
    target: '< 250 KB',
    measured: gzipKb,
    unit: 'KB',
    pass: gzipKb < 250,
    note: `${rawKb} KB before gzip -9`,
  });
  Object.assign(bench.details, { suggestions: data.suggestions, files, breakdown_ms: breakdown, static_page_first_cards_ms: staticLoads, ...(COMPARE_DIST ? { compare: { dist: COMPARE_DIST, first_cards_ms: compareLoads } } : {}), loads, render_ms: render, api_rss_mb: api.rssMb() });
} finally {
  await stack.stop();
  await rm(outDir, { recursive: true, force: true });
}
await bench.finish();
