// The dashboard with 10,000 suggestions stored: the first page renders quickly (only one page is
// ever fetched), the counts are exact, and the last page is one click on the URL away.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, startStack, type Stack } from '../helpers/stack.js';
import { ensureWebBuilt, launchChromium } from './support.js';

const COUNT = 10_000;
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  const webDist = await ensureWebBuilt();
  [stack, browser] = await Promise.all([startStack({ webDist }), launchChromium()]);
  const [review] = await stack
    .db('healing_reviews')
    .insert({ job_id: 'bulk-job', trigger: 'scheduled', status: 'completed', workflow_id: 'healing-review/bulk-job', workflow_run_id: 'scale-test', analyzer: 'rules' })
    .returning('id');
  // one statement: 10,000 rows spread over 30 days, every category, severity and status
  await stack.db.raw(
    `insert into healing_suggestions
       (review_id, ordinal, job_id, category, severity, severity_rank, title, description, affected_files, fingerprint, status, created_at, updated_at)
     select ?, i, 'bulk-job',
            (array['performance','cost','reliability','security','config','prompt','script'])[1 + i % 7],
            (array['low','medium','high','critical'])[1 + i % 4], i % 4,
            'Bulk suggestion ' || i, 'Generated for the scale test: **' || i || '**', '[]', 'scale-' || i,
            case when i % 10 = 0 then 'rejected' when i % 10 = 1 then 'applied' else 'pending' end,
            now() - (i || ' minutes')::interval * 4, now()
       from generate_series(0, ? - 1) as i`,
    [review.id, COUNT],
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

test(`with ${COUNT} suggestions stored, the first page renders one page of cards and the counts are exact`, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  const started = Date.now();
  await page.goto(stack.api + '/');
  await page.locator('[data-testid=suggestion-list] article').first().waitFor({ timeout: 30_000 });
  const firstCardMs = Date.now() - started;
  const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
  await page.getByTestId('overview-pending-count').filter({ hasText: '8000' }).waitFor({ timeout: 30_000 });
  const countsMs = Date.now() - started;
  console.log(`[scale] ${COUNT} suggestions: first contentful paint ${paint === null ? '?' : Math.round(paint)} ms, first suggestion card ${firstCardMs} ms, overview counts ${countsMs} ms`);

  expect(await page.locator('[data-testid=suggestion-list] article').count()).toBe(25); // one page, not 10,000 cards
  expect(await page.getByTestId('page-range').textContent()).toBe(`1–25 of ${COUNT}`);
  expect(await page.getByTestId('overview-rejected-count').textContent()).toBe('1000');
  expect(await page.getByTestId('overview-applied-count').textContent()).toBe('1000');

  // the last page, newest first (the default order puts pending ones first, by severity)
  await page.goto(`${stack.api}/#/suggestions?sort=newest&limit=100&offset=9900`);
  await page.getByTestId('page-range').filter({ hasText: `9901–10000 of ${COUNT}` }).waitFor({ timeout: 15_000 });
  await eventually(async () => (await page.locator('[data-testid=suggestion-list] article').count()) === 100 || undefined, 15_000, 'the last 100 cards');
  expect(await page.locator('[data-testid=suggestion-list] h3').last().textContent()).toBe('Bulk suggestion 9999'); // the oldest
  expect(await page.getByTestId('page-next').isDisabled()).toBe(true);
  expect(errors).toEqual([]);
  await context.close();
});
