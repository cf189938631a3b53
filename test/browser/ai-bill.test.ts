// The month's AI spend beside the budgets in a real browser (issue 19): the stats tab shows the
// service's tokens and cost against its budget, and each job's spend against its own.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';
import { DEFAULT_AI_BILL, utcMonth } from '../../core/ai-bill.js';
import { startStack } from '../helpers/stack.js';
import { browserSession, ensureWebBuilt, waitForText } from './support.js';

const BUDGET_NOTE = "job etl's monthly token budget: 60,000 of 50,000 tokens spent in 2026-12 (UTC month) is reached; the AI analysis was skipped (on_exceed: skip)";

const session = browserSession(async () => {
  const stack = await startStack({ webDist: await ensureWebBuilt() });
  stack.analyzer.bill = { ...DEFAULT_AI_BILL, budgetTokens: 100_000, budgetCost: 2 };
  await mkdir(stack.jobsDir, { recursive: true });
  await writeFile(path.join(stack.jobsDir, 'etl.yaml'), 'name: ETL\ncmd: ./etl.sh\nself_healing:\n  enabled: true\n  budget:\n    monthly_tokens: 50000\n    on_exceed: skip\n');
  const review = (job: string, n: number, tokens: number, cost: number | null) => ({
    job_id: job, trigger: 'manual', status: 'completed', workflow_id: `seed/${job}`, workflow_run_id: `seed-${job}-${n}`, analyzer: 'openclaw',
    started_at: new Date(), finished_at: new Date(), ai_tokens_used: tokens, ai_tokens_in: tokens - 1000, ai_tokens_out: 1000, ai_cost: cost,
  });
  await stack.db('healing_reviews').insert([review('etl', 1, 30_000, 0.5), review('etl', 2, 30_000, 0.7), review('backup', 1, 25_000, null)]);
  await stack.db('healing_reviews').insert({ ...review('etl', 3, 0, null), analyzer: null, ai_tokens_in: 0, ai_tokens_out: 0, budget_note: BUDGET_NOTE });
  return stack;
});

test('the stats tab shows the month\'s AI spend beside the service budget and each job\'s, the job past its budget marked', async () => {
  const page = await session.open('#/stats');
  const card = page.getByTestId('ai-bill');
  await card.waitFor();
  expect(await card.locator('h3').textContent()).toBe(`AI spend in ${utcMonth(new Date()).name} (UTC month)`);
  await waitForText(card.getByTestId('ai-bill-service-tokens'), '85,000 of 100,000 tokens');
  expect(await card.getByTestId('ai-bill-service-cost').textContent()).toBe('cost 1.20 of 2.00 (+ 1 review(s) of unknown price)');
  expect(await card.getByTestId('ai-bill-service-share').textContent()).toMatch(/^85(\.0)?% of the service budget$/);
  const etl = await card.getByTestId('ai-bill-job-etl').locator('td').allTextContents();
  expect(etl).toEqual(['60,000 of 50,000 tokens', 'cost 1.20', expect.stringMatching(/^120(\.0)?%, AI skipped$/)]);
  const backup = await card.getByTestId('ai-bill-job-backup').locator('td').allTextContents();
  expect(backup).toEqual(['25,000 tokens', 'cost 0.0000 (+ 1 review(s) of unknown price)', '–']);
});

test('a review a budget kept from the AI says so in the reviews list, and a priced one shows its cost', async () => {
  const page = await session.open('#/reviews');
  await waitForText(page.getByTestId('review-budget-note').first(), `AI budget: ${BUDGET_NOTE}`);
  expect(await page.getByText('30000 tokens · cost 0.7000').count()).toBe(1);
});

test("the jobs list shows each job's AI spend this month beside its budget, a job past it marked", async () => {
  const page = await session.open('#/jobs');
  const etl = page.getByTestId('job-etl').getByTestId('job-ai-month');
  await waitForText(etl, '60,000 of 50,000 tokens · cost 1.20');
  expect(await etl.locator('.over').count()).toBe(1);
});
