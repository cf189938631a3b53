// The AI bill through the real stack (issue 19): each review's tokens in/out and cost, monthly
// budgets (a job's and the service's) that make reviews fall back to the rules analyzer or skip the
// AI and say so on the review, the 80 % and 100 % notices sent once, and GET /healing/stats/ai.
import { createServer, type Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AI_BILL, utcMonth, type AiBillSettings } from '../core/ai-bill.js';
import { upsertRun } from '../db/runs.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let hookServer: Server;
let hookUrl: string;
const notices: { path: string; body: any }[] = [];
const PRICES = { 'fake/fake-model': { input_per_mtok: 3, output_per_mtok: 15 } };

/** A proactive job with failing runs (the rules analyzer finds them); `extra` goes under self_healing. */
async function job(id: string, extra = '') {
  await writeFile(
    path.join(stack.jobsDir, `${id}.yaml`),
    `name: Backup ${id}\ncmd: ./backup.sh\ntype: scheduled\nschedule: "0 2 * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n` +
      `  review_schedule:\n    frequency: manual\n    min_runs: 3\n  suggestions:\n    notify_channel: webhook\n    notify_target: "${hookUrl}/${id}"\n${extra}`,
  );
  for (let i = 0; i < 6; i++) {
    const fails = i % 2 === 0;
    const started = new Date(Date.now() - (6 - i) * 3_600_000);
    await upsertRun(stack.db, {
      job_id: id, external_id: `${id}-${i}`, started_at: started, finished_at: new Date(started.getTime() + 60_000),
      exit_code: fails ? 1 : 0, duration_ms: 60_000, trigger: 'scheduled', error: fails ? 'upload failed: connection reset by peer' : null,
      sla_status: fails ? 'fail' : 'pass', sla_details: null, log_path: null,
      log_tail: fails ? 'starting dump\nERROR: upload failed: connection reset by peer' : 'starting dump\nbackup done', session_messages: null,
    });
  }
}

let seeded = 0;
/** A finished review of this month that spent `tokens` (an earlier AI analysis). */
async function spent(jobId: string, tokens: number, cost: number | null = null) {
  seeded += 1;
  await stack.db('healing_reviews').insert({
    job_id: jobId, trigger: 'manual', status: 'completed', workflow_id: `seed/${jobId}`, workflow_run_id: `seed-${jobId}-${seeded}`,
    analyzer: 'openclaw', started_at: new Date(), finished_at: new Date(), ai_tokens_used: tokens, ai_tokens_in: tokens, ai_cost: cost,
  });
}

/** Triggers a review and answers it (GET /healing/reviews/{id}) once it is no longer running. */
async function review(jobId: string): Promise<any> {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, { force: true });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const done = await eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 45_000, `review of ${jobId}`);
  expect(done.status, JSON.stringify(done)).toBe('completed');
  return done;
}

const budgetNotices = (p: string) => notices.filter((n) => n.path === p && n.body.kind === 'ai_budget');
const noticeRows = (scope: string) => stack.db('healing_budget_notices').where({ scope }).orderBy('threshold');
const setBill = (bill: Partial<AiBillSettings>) => (stack.analyzer.bill = { ...DEFAULT_AI_BILL, prices: PRICES, ...bill });

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      // the first notice to /bill-retry fails, as a receiver that is down
      const failing = req.url === '/bill-retry' && !notices.some((n) => n.path === '/bill-retry');
      notices.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.statusCode = failing ? 503 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', () => resolve()));
  const address = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  stack = await startStack({ analyzer: { mode: 'openclaw', timeoutSeconds: 20 } });
  setBill({});
  await mkdir(stack.jobsDir, { recursive: true });
});
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => hookServer?.close(() => resolve()));
});

describe('the AI bill', () => {
  it('an AI review records its tokens in and out and, OpenClaw reporting a cost of 0, the cost from HEALING_AI_PRICES', async () => {
    await job('bill-plain');
    const done = await review('bill-plain');
    expect(done.analyzer).toBe('openclaw');
    expect(done.ai_tokens_in).toBeGreaterThan(0);
    expect(done.ai_tokens_out).toBeGreaterThan(0);
    expect(done.ai_tokens_in + done.ai_tokens_out).toBe(done.ai_tokens_used);
    expect(done.ai_cost_source).toBe('configured');
    expect(done.ai_cost).toBeCloseTo((done.ai_tokens_in * 3 + done.ai_tokens_out * 15) / 1e6, 6);
    expect(done.budget_note).toBeNull();
  });

  it("a job's token budget: 80 % noticed once, the AI runs until 100 % (noticed once), then the rules analyzer runs and the review says why", async () => {
    await job('bill-budget', '  budget:\n    monthly_tokens: 1000\n');
    await spent('bill-budget', 850);

    stack.analyzer.mode = 'rules'; // a rules review spends nothing but still checks the notices
    try {
      const first = await review('bill-budget');
      expect(first).toMatchObject({ analyzer: 'rules', ai_tokens_used: 0, ai_cost: 0, budget_note: null });
    } finally {
      stack.analyzer.mode = 'openclaw';
    }
    expect(budgetNotices('/bill-budget')).toEqual([expect.objectContaining({ path: '/bill-budget' })]);
    expect(budgetNotices('/bill-budget')[0]!.body).toMatchObject({ scope: 'job', job_id: 'bill-budget', threshold: 80, measure: 'tokens', spent: 850, limit: 1000, month: utcMonth(new Date()).name });

    const second = await review('bill-budget'); // 850 < 1000: the AI still runs, and crosses 100 %
    expect(second.analyzer).toBe('openclaw');
    expect(second.ai_tokens_used).toBeGreaterThan(150);
    expect(budgetNotices('/bill-budget').map((n) => n.body.threshold)).toEqual([80, 100]);
    expect(budgetNotices('/bill-budget')[1]!.body.text).toContain('Reviews now use the rules analyzer');

    const third = await review('bill-budget');
    expect(third.analyzer).toBe('rules');
    expect(third.ai_tokens_used).toBe(0);
    expect(third.ai_cost).toBe(0);
    expect(third.budget_note).toBe(
      `job bill-budget's monthly token budget: ${(850 + second.ai_tokens_used).toLocaleString('en-US')} of 1,000 tokens spent in ${utcMonth(new Date()).name} (UTC month) is reached; the rules analyzer ran instead of the AI (on_exceed: rules)`,
    );
    await review('bill-budget');
    expect(budgetNotices('/bill-budget'), 'each notice goes out once a month').toHaveLength(2);
    expect((await noticeRows('bill-budget')).map((r) => [r.threshold, r.status, r.attempts])).toEqual([[80, 'sent', 1], [100, 'sent', 1]]);
  });

  it('with on_exceed: skip, a review past its budget completes with no suggestions, no analyzer and the reason; 100 % reached at once sends one notice', async () => {
    await job('bill-skip', '  budget:\n    monthly_cost: 0.01\n    on_exceed: skip\n');
    await spent('bill-skip', 5000, 0.02);
    const done = await review('bill-skip');
    expect(done).toMatchObject({ analyzer: null, suggestions_count: 0, ai_tokens_used: 0, suggestions: [] });
    expect(done.budget_note).toBe(`job bill-skip's monthly cost budget: cost 0.0200 of 0.0100 spent in ${utcMonth(new Date()).name} (UTC month) is reached; the AI analysis was skipped (on_exceed: skip)`);
    expect(budgetNotices('/bill-skip').map((n) => [n.body.threshold, n.body.measure])).toEqual([[100, 'cost']]);
    expect(budgetNotices('/bill-skip')[0]!.body.text).toContain('Reviews now skip the AI analysis');
    expect((await noticeRows('bill-skip')).map((r) => [r.threshold, r.status])).toEqual([[80, 'superseded'], [100, 'sent']]);
  });

  it('a notice that could not go out is recorded and sent at the next analysis, once', async () => {
    await job('bill-retry', '  budget:\n    monthly_tokens: 1000\n');
    await spent('bill-retry', 900);
    stack.analyzer.mode = 'rules';
    try {
      const first = await review('bill-retry');
      expect(first.budget_note).toBeNull(); // the rules analyzer runs whatever the budget
      expect((await noticeRows('bill-retry')).map((r) => [r.threshold, r.status, r.attempts])).toEqual([[80, 'failed', 1]]);
      expect((await noticeRows('bill-retry'))[0].error).toMatch(/503/);
      await review('bill-retry');
      await review('bill-retry');
    } finally {
      stack.analyzer.mode = 'openclaw';
    }
    expect((await noticeRows('bill-retry')).map((r) => [r.threshold, r.status, r.attempts, r.error])).toEqual([[80, 'sent', 2, null]]);
    expect(budgetNotices('/bill-retry').map((n) => n.body.threshold)).toEqual([80, 80]);
  });

  it('the service-wide budget applies to every job and notifies its own channel once', async () => {
    await job('bill-service');
    const { rows } = await stack.db.raw('select coalesce(sum(ai_tokens_used), 0)::int as n from healing_reviews');
    setBill({ budgetTokens: rows[0].n, notifyChannel: 'webhook', notifyTarget: `${hookUrl}/service` });
    try {
      const done = await review('bill-service');
      expect(done.analyzer).toBe('rules');
      expect(done.budget_note).toMatch(/^the service-wide monthly token budget: [\d,]+ of [\d,]+ tokens spent in \d{4}-\d{2} \(UTC month\) is reached; the rules analyzer ran instead/);
      await review('bill-service');
      expect(budgetNotices('/service').map((n) => [n.body.scope, n.body.job_id, n.body.threshold])).toEqual([['service', null, 100]]);
      expect(budgetNotices('/bill-service')).toEqual([]);
    } finally {
      setBill({});
    }
  });

  it('GET /healing/stats/ai: tokens and cost per job, per day and per analyzer, and the month beside the budgets', async () => {
    const stats = await http(stack.api, 'GET', '/api/v1/healing/stats/ai?days=7');
    expect(stats.status, JSON.stringify(stats.body)).toBe(200);
    const rows = await stack.db('healing_reviews').select('job_id', 'analyzer', 'ai_tokens_in', 'ai_tokens_out', 'ai_tokens_used', 'ai_cost');
    const sum = (rs: typeof rows, k: string) => rs.reduce((n, r) => n + Number(r[k] ?? 0), 0);
    const plain = rows.filter((r) => r.job_id === 'bill-plain');
    expect(stats.body.by_job.find((j: any) => j.job_id === 'bill-plain')).toEqual({
      job_id: 'bill-plain', reviews: 1, tokens_in: sum(plain, 'ai_tokens_in'), tokens_out: sum(plain, 'ai_tokens_out'), tokens: sum(plain, 'ai_tokens_used'),
      cost: Math.round(sum(plain, 'ai_cost') * 1e6) / 1e6, unknown_cost_reviews: 0,
    });
    expect(stats.body.totals).toMatchObject({ reviews: rows.length, tokens: sum(rows, 'ai_tokens_used') });
    expect(stats.body.by_day).toEqual([expect.objectContaining({ day: new Date().toISOString().slice(0, 10), reviews: rows.length })]);
    const byAnalyzer = Object.fromEntries(stats.body.by_analyzer.map((a: any) => [String(a.analyzer), a.reviews]));
    expect(byAnalyzer).toEqual({
      openclaw: rows.filter((r) => r.analyzer === 'openclaw').length,
      rules: rows.filter((r) => r.analyzer === 'rules').length,
      null: rows.filter((r) => r.analyzer === null).length,
    });
    expect(stats.body.by_analyzer.find((a: any) => a.analyzer === 'rules').tokens).toBe(0);
    // bill-budget's seeded 850 tokens have no known cost; bill-skip's seed has one
    expect(stats.body.totals.unknown_cost_reviews).toBe(rows.filter((r) => r.ai_cost === null && r.ai_tokens_used > 0).length);

    const budget = stats.body.month.jobs.find((j: any) => j.job_id === 'bill-budget');
    expect(budget).toMatchObject({ budget: { tokens: 1000, cost: null }, on_exceed: 'rules', spent: { tokens: sum(rows.filter((r) => r.job_id === 'bill-budget'), 'ai_tokens_used') } });
    expect(budget.share).toBeGreaterThanOrEqual(1);
    expect(budget.notices.map((n: any) => [n.threshold, n.status])).toEqual([[80, 'sent'], [100, 'sent']]);
    expect(stats.body.month.jobs.find((j: any) => j.job_id === 'bill-skip')).toMatchObject({ budget: { tokens: null, cost: 0.01 }, on_exceed: 'skip', share: 2 });
    expect(stats.body.month.service).toMatchObject({ budget: { tokens: null, cost: null }, share: null, spent: { tokens: sum(rows, 'ai_tokens_used') } });
    expect(stats.body.month.service.notices.map((n: any) => [n.threshold, n.status])).toEqual([[80, 'superseded'], [100, 'sent']]);

    for (const bad of ['days=0', 'days=abc', 'days=1.5', 'job_id=x']) {
      const answer = await http(stack.api, 'GET', `/api/v1/healing/stats/ai?${bad}`);
      expect(answer.status, bad).toBe(400);
    }
    expect(JSON.stringify((await http(stack.api, 'GET', '/api/v1/healing/stats/ai?days=0')).body)).toContain('days is at least 1');
  });
});
