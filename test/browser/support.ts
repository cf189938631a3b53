// What the browser tests share: a built dashboard, Debian's chromium, the demo stack with real
// reviews, the per-file session (hooks, pages that fail on script errors), and small helpers to
// read the page, the API and the database.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { ensureDashboard, WEB_DIST } from '../../cli/dashboard.js';
import { seedDemoRuns, writeDemoWorkspace } from '../../cli/demo.js';
import { eventually, http, startStack, type Stack } from '../helpers/stack.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds web/dist when it is missing or older than its sources, the way `healing start` does. */
export async function ensureWebBuilt(): Promise<string> {
  const problem = await ensureDashboard(() => undefined);
  if (problem) throw new Error(problem);
  return WEB_DIST;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests drive Debian's chromium (apt-get install -y chromium), or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface DemoStack extends Stack {
  /** suggestion ids by `${job_id}:${title}` */
  suggestionIds: Map<string, number>;
}

/** The real stack with the demo workspace, its run history, and one completed review per job. */
export async function startDemoStack(jobs: string[] = ['nightly-backup', 'report-sync', 'idea-hunter']): Promise<DemoStack> {
  const webDist = await ensureWebBuilt();
  const stack = await startStack({ webDist });
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
  for (const job of jobs) {
    const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${job}/trigger`, {});
    if (started.status !== 202 && started.status !== 200) throw new Error(`trigger ${job}: ${started.status} ${JSON.stringify(started.body)}`);
  }
  await eventually(
    async () => {
      const page = await http(stack.api, 'GET', '/api/v1/healing/reviews?limit=50');
      const reviews = page.body.reviews as { job_id: string; status: string }[];
      return jobs.every((j) => reviews.some((r) => r.job_id === j && r.status !== 'running'));
    },
    60_000,
    'the demo reviews to finish',
  );
  const list = await http(stack.api, 'GET', '/api/v1/healing/suggestions?limit=500');
  const suggestionIds = new Map<string, number>();
  for (const s of list.body.suggestions as { id: number; job_id: string; title: string }[]) suggestionIds.set(`${s.job_id}:${s.title}`, s.id);
  return Object.assign(stack, { suggestionIds });
}

/** Inserts suggestion rows directly (as if an analyzer had written them), under a review of their own. */
export async function insertSuggestions(
  stack: Stack,
  rows: { job_id?: string; title: string; description?: string; category?: string; severity?: string; status?: string; created_at?: Date }[],
): Promise<number[]> {
  const jobId = rows[0]?.job_id ?? 'report-sync';
  const runId = `test-insert-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const [review] = await stack
    .db('healing_reviews')
    .insert({ job_id: jobId, trigger: 'manual', status: 'completed', workflow_id: `healing-review/${jobId}`, workflow_run_id: runId, analyzer: 'rules', finished_at: new Date() })
    .returning('id');
  const rank: Record<string, number> = { low: 0, medium: 1, high: 2, critical: 3 };
  const inserted = (await stack
    .db('healing_suggestions')
    .insert(
      rows.map((r, i) => ({
        review_id: review.id,
        ordinal: i,
        job_id: r.job_id ?? jobId,
        category: r.category ?? 'config',
        severity: r.severity ?? 'low',
        severity_rank: rank[r.severity ?? 'low'],
        title: r.title,
        description: r.description ?? '',
        affected_files: JSON.stringify([]),
        fingerprint: `${runId}-${i}`,
        status: r.status ?? 'pending',
        workflow_id: null,
        ...(r.created_at ? { created_at: r.created_at, updated_at: r.created_at } : {}),
      })),
    )
    .returning('id')) as { id: number }[];
  return inserted.map((r) => r.id);
}

export type OpenOptions = BrowserContextOptions & { setup?: (page: Page) => Promise<unknown> };

export interface BrowserSession<S extends Stack> {
  readonly stack: S;
  readonly browser: Browser;
  /** A fresh 1280x900 context on the dashboard at `hash`; `setup` runs on the page before it loads. */
  open(hash?: string, options?: OpenOptions): Promise<Page>;
}

/**
 * Registers the hooks every browser test file needs: the stack (from `start`) and chromium before
 * the tests, both closed after them, and after each test its contexts closed and no script error
 * left in any page it opened (a page error fails the test that caused it).
 */
export function browserSession<S extends Stack>(start: () => Promise<S>, startTimeoutMs = 180_000): BrowserSession<S> {
  let stack: S | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [stack, browser] = await Promise.all([start(), launchChromium()]);
  }, startTimeoutMs);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
    expect(pageErrors.splice(0)).toEqual([]);
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} is not started: use it inside a test, after beforeAll`);
    return value;
  };

  return {
    get stack() {
      return started(stack, 'stack');
    },
    get browser() {
      return started(browser, 'browser');
    },
    async open(hash = '', options = {}) {
      const { setup, ...contextOptions } = options;
      const context = await started(browser, 'browser').newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await setup?.(page);
      await page.goto(`${started(stack, 'stack').api}/${hash}`);
      return page;
    },
  };
}

/** Waits until the locator's text matches, and returns that text. */
export async function waitForText(locator: Locator, pattern: RegExp | string, timeoutMs = 15_000): Promise<string> {
  return eventually(
    async () => {
      const text = (await locator.textContent({ timeout: 1000 })) ?? '';
      return (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) ? text : undefined;
    },
    timeoutMs,
    `text ${pattern} in ${locator}`,
  );
}

/** Lookups into a demo session: a demo suggestion's id by `${job_id}:${title}`, a suggestion as the API shows it, a job file's path. */
export function demoLookups(session: { readonly stack: DemoStack }) {
  return {
    suggestionId(key: string): number {
      const id = session.stack.suggestionIds.get(key);
      if (id === undefined) throw new Error(`the demo review did not propose "${key}"; it proposed ${[...session.stack.suggestionIds.keys()].join(', ')}`);
      return id;
    },
    getSuggestion: async (id: number) => (await http(session.stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body,
    jobFile: (name: string) => path.join(session.stack.jobsDir, name),
  };
}
