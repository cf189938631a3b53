// Stats, job summaries and /metrics computed on a known data set written straight to Postgres.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { severityRank } from '../core/policy.js';
import type { Category, Severity } from '../core/job.js';
import { reconcileSchedules } from '../worker/schedules.js';
import { http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
const T0 = new Date(now - 10 * DAY);
const at = (ms: number) => new Date(T0.getTime() + ms);

let reviewSeq = 0;
async function addReview(jobId: string, status: string, trigger: string, startedAt: Date, analysisMs: number | null = null): Promise<number> {
  reviewSeq += 1;
  const [row] = await stack.db('healing_reviews')
    .insert({
      job_id: jobId,
      trigger,
      status,
      workflow_id: `healing-review/${jobId}`,
      workflow_run_id: `run-${reviewSeq}`,
      started_at: startedAt,
      finished_at: status === 'running' ? null : new Date(startedAt.getTime() + 60_000),
      analysis_duration_ms: analysisMs,
    })
    .returning('id');
  return row.id;
}

let ordinal = 0;
async function addSuggestion(
  reviewId: number,
  jobId: string,
  s: { status: string; category: Category; severity: Severity; appliedAfterMs?: number },
): Promise<number> {
  ordinal += 1;
  const [row] = await stack.db('healing_suggestions')
    .insert({
      review_id: reviewId,
      ordinal,
      job_id: jobId,
      category: s.category,
      severity: s.severity,
      severity_rank: severityRank(s.severity),
      title: `${s.category} ${s.severity} ${ordinal}`,
      fingerprint: `fp-${ordinal}`,
      status: s.status,
      created_at: T0,
      updated_at: T0,
      applied_at: s.appliedAfterMs === undefined ? null : at(s.appliedAfterMs),
    })
    .returning('id');
  return row.id;
}

async function addAction(suggestionId: number, jobId: string, attempt: number, status: string, createdAt: Date, durationMs: number | null = null) {
  await stack.db('healing_actions').insert({
    suggestion_id: suggestionId,
    attempt,
    job_id: jobId,
    action_type: 'edit_config',
    status,
    can_rollback: status === 'success',
    execution_duration_ms: durationMs,
    created_at: createdAt,
  });
}

async function addRun(jobId: string, n: number, startedAt: Date, exitCode: number | null, durationMs: number | null) {
  await stack.db('job_runs').insert({ job_id: jobId, external_id: `${jobId}-${n}`, started_at: startedAt, exit_code: exitCode, duration_ms: durationMs });
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  const jobs: Record<string, string> = {
    alpha: 'name: Alpha\ncmd: ./a.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: daily\n    time: "02:00"\n',
    beta: 'name: Beta\ncmd: ./b.sh\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n',
    gamma: 'name: Gamma\ncmd: ./c.sh\n',
  };
  for (const [id, text] of Object.entries(jobs)) await writeFile(path.join(stack.jobsDir, `${id}.yaml`), text);
  await reconcileSchedules(stack.env.client, stack.jobsDir, { retention: false });

  // Reviews: alpha 2 scheduled completed (one in the last day, with analysis times), 1 manual failed; beta 1.
  const r1 = await addReview('alpha', 'completed', 'scheduled', new Date(now - 5 * DAY));
  const r2 = await addReview('alpha', 'completed', 'scheduled', new Date(now - HOUR), 1_000);
  await addReview('alpha', 'failed', 'manual', new Date(now - 2 * HOUR), 3_000);
  const r4 = await addReview('beta', 'completed', 'on_failure', new Date(now - 3 * DAY));

  // Suggestions: ten, every status; four applied at 1 h, 3 h, 2 h (later rolled back) and 5 h.
  await addSuggestion(r1, 'alpha', { status: 'pending', category: 'reliability', severity: 'high' });
  await addSuggestion(r1, 'alpha', { status: 'pending', category: 'config', severity: 'low' });
  await addSuggestion(r1, 'alpha', { status: 'approved', category: 'config', severity: 'medium' });
  await addSuggestion(r1, 'alpha', { status: 'rejected', category: 'security', severity: 'critical' });
  const s5 = await addSuggestion(r2, 'alpha', { status: 'applied', category: 'reliability', severity: 'high', appliedAfterMs: HOUR });
  const s6 = await addSuggestion(r2, 'alpha', { status: 'applied', category: 'performance', severity: 'medium', appliedAfterMs: 3 * HOUR });
  const s7 = await addSuggestion(r2, 'alpha', { status: 'rolled_back', category: 'config', severity: 'low', appliedAfterMs: 2 * HOUR });
  const s8 = await addSuggestion(r2, 'alpha', { status: 'failed', category: 'script', severity: 'medium' });
  await addSuggestion(r2, 'alpha', { status: 'expired', category: 'prompt', severity: 'low' });
  const s10 = await addSuggestion(r4, 'beta', { status: 'applied', category: 'reliability', severity: 'critical', appliedAfterMs: 5 * HOUR });

  // Actions: 3 success, 1 rolled back, 2 failed (one a first attempt that later succeeded).
  await addAction(s5, 'alpha', 1, 'success', new Date(now - HOUR), 200);
  await addAction(s6, 'alpha', 1, 'failed', at(3 * HOUR - 60_000));
  await addAction(s6, 'alpha', 2, 'success', at(3 * HOUR));
  await addAction(s7, 'alpha', 1, 'rolled_back', at(2 * HOUR));
  await addAction(s8, 'alpha', 1, 'failed', at(4 * HOUR));
  await addAction(s10, 'beta', 1, 'success', new Date(now - 2 * HOUR), 400);

  // alpha's runs: 10 before its last applied change (T0 + 3 h), 6 of them succeeding, 100..1000 ms;
  // 6 after it: 5 succeeding in 50..90 ms and one still running.
  for (let i = 1; i <= 10; i++) await addRun('alpha', i, at(3 * HOUR - (11 - i) * HOUR), i <= 6 ? 0 : 1, i * 100);
  for (let i = 1; i <= 5; i++) await addRun('alpha', 10 + i, at(3 * HOUR + i * HOUR), 0, 40 + i * 10);
  await addRun('alpha', 16, at(9 * HOUR), null, null);
  await addRun('ghost', 1, new Date(now - DAY), 0, 1_000); // a job no longer in the catalog
});
afterAll(async () => stack?.stop());

describe('healing stats', () => {
  it('the global stats count suggestions, reviews and actions and compute the four metrics and breakdowns', async () => {
    const res = await http(stack.api, 'GET', '/api/v1/healing/stats');
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s.suggestions).toEqual({
      total: 10,
      by_status: { pending: 2, approved: 1, rejected: 1, applied: 3, failed: 1, expired: 1, rolled_back: 1, acknowledged: 0 },
    });
    expect(s.reviews).toMatchObject({ total: 4, by_status: { completed: 3, failed: 1, running: 0, skipped: 0 }, by_trigger: { scheduled: 2, manual: 1, on_failure: 1, on_sla_breach: 0 } });
    expect(s.actions).toEqual({ total: 6, by_status: { success: 3, failed: 2, rolled_back: 1, running: 0 } });
    expect(s.jobs).toMatchObject({ total: 3, with_healing: 2, proactive: 1 });
    // (approved 1 + applied 3 + failed 1 + rolled back 1) / (those 6 + rejected 1)
    expect(s.acceptance_rate).toBe(0.8571);
    // (success 3 + rolled back 1) / (3 + 1 + failed 2)
    expect(s.apply_success_rate).toBe(0.6667);
    // applied after 1 h, 2 h, 3 h and 5 h: median 2.5 h, p90 interpolated 4.4 h
    expect(s.time_to_resolution).toEqual({ applied: 4, median_seconds: 9_000, p90_seconds: 15_840 });
    expect(s.rollback_rate).toBe(0.25);
    expect(s.by_category.reliability).toMatchObject({ total: 3, pending: 1, applied: 2 });
    expect(s.by_category.config).toMatchObject({ total: 3, pending: 1, approved: 1, rolled_back: 1 });
    expect(s.by_category.cost).toMatchObject({ total: 0 });
    expect(Object.fromEntries(Object.entries(s.by_severity).map(([k, v]: [string, any]) => [k, v.total]))).toEqual({ low: 3, medium: 3, high: 2, critical: 2 });
    expect(s.definitions.acceptance_rate).toContain('rejected');
  });

  it('a job summary gives its reviews, last review, next scheduled review, counts and runs before and after its last applied change', async () => {
    const res = await http(stack.api, 'GET', '/api/v1/jobs/alpha/healing/summary');
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s.reviews).toMatchObject({ total: 3, by_status: { completed: 2, failed: 1 } });
    expect(s.last_review).toMatchObject({ status: 'completed', trigger: 'scheduled' });
    expect(new Date(s.last_review.started_at).getTime()).toBe(new Date(now - HOUR).getTime());
    expect(s.suggestions).toMatchObject({ total: 9, pending: 2, applied: 2 });
    expect(s.acceptance_rate).toBe(0.8333);
    expect(s.rollback_rate).toBe(0.3333);
    expect(s.time_to_resolution).toEqual({ applied: 3, median_seconds: 7_200, p90_seconds: 10_080 });
    expect(s.healing).toEqual({ enabled: true, mode: 'proactive', frequency: 'daily' });
    expect(new Date(s.next_review_at).getUTCHours()).toBe(2);
    expect(new Date(s.next_review_at).getTime()).toBeGreaterThan(Date.now());

    expect(new Date(s.improvement.last_applied_at).getTime()).toBe(at(3 * HOUR).getTime());
    expect(s.improvement.before).toEqual({ runs: 10, finished: 10, succeeded: 6, success_rate: 0.6, p95_duration_ms: 955 });
    expect(s.improvement.after).toEqual({ runs: 6, finished: 5, succeeded: 5, success_rate: 1, p95_duration_ms: 88 });
    expect(s.improvement.success_rate_change).toBe(0.4);
    expect(s.improvement.p95_duration_change_ms).toBe(-867);

    const same = await http(stack.api, 'GET', '/api/v1/healing/stats/alpha');
    expect(same.body).toEqual(s);
  });

  it('a job with no applied change has only a before window; a reactive job has no next review', async () => {
    const res = await http(stack.api, 'GET', '/api/v1/healing/stats/gamma');
    expect(res.status).toBe(200);
    expect(res.body.improvement).toMatchObject({ last_applied_at: null, after: null, success_rate_change: null });
    expect(res.body.reviews.total).toBe(0);
    const beta = await http(stack.api, 'GET', '/api/v1/healing/stats/beta');
    expect(beta.body.next_review_at).toBeNull();
    expect(beta.body.suggestions).toMatchObject({ total: 1, applied: 1 });
  });

  it('a job known only from its history answers with in_catalog false; an unknown job is 404', async () => {
    const ghost = await http(stack.api, 'GET', '/api/v1/healing/stats/ghost');
    expect(ghost.status).toBe(200);
    expect(ghost.body).toMatchObject({ in_catalog: false, healing: null });
    expect(ghost.body.improvement.before.runs).toBe(1);
    const unknown = await http(stack.api, 'GET', '/api/v1/jobs/nobody/healing/summary');
    expect(unknown.status).toBe(404);
    const invalid = await http(stack.api, 'GET', '/api/v1/healing/stats/..%2Fetc');
    expect(invalid.status).toBe(400);
  });
});

describe('GET /metrics', () => {
  it('answers the Prometheus text format with reviews, suggestions, actions and durations from Postgres', async () => {
    const res = await fetch(`${stack.api}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE healing_reviews gauge');
    expect(text).toContain('healing_reviews{status="completed",trigger="scheduled"} 2');
    expect(text).toContain('healing_reviews{status="failed",trigger="manual"} 1');
    expect(text).toContain('healing_suggestions{status="pending"} 2');
    expect(text).toContain('healing_suggestions{status="applied"} 3');
    expect(text).toContain('healing_actions{status="success"} 3');
    // reviews in the last day took 1 s and 3 s to analyse; applies in the last day 200 and 400 ms
    expect(text).toContain('healing_analysis_duration_seconds{quantile="0.5"} 2');
    expect(text).toContain('healing_analysis_duration_samples 2');
    expect(text).toContain('healing_apply_duration_seconds{quantile="0.5"} 0.3');
    expect(text).toContain('healing_apply_duration_samples 2');
  });
});

describe('stats at scale', () => {
  it('on 100,000 suggestions the counts kept by triggers equal what a scan of the table finds', async () => {
    const [review] = await stack.db('healing_reviews').where({ job_id: 'alpha' }).orderBy('id').limit(1);
    await stack.db.raw(
      `insert into healing_suggestions (review_id, ordinal, job_id, category, severity, severity_rank, title, fingerprint, status, created_at, updated_at, applied_at)
       select ?, 1000 + g, 'job-' || (g % 200), (array['performance','cost','reliability','security','config','prompt','script'])[1 + g % 7],
              (array['low','medium','high','critical'])[1 + g % 4], g % 4, 'bulk ' || g, 'bulk-' || g,
              (array['pending','approved','rejected','applied','failed','expired','rolled_back'])[1 + g % 7],
              now() - (g % 90) * interval '1 day', now(), case when g % 7 in (3, 6) then now() - (g % 80) * interval '1 day' end
         from generate_series(1, 100000) g`,
      [review.id],
    );
    // A bulk update and delete move the counters too.
    await stack.db('healing_suggestions').where('job_id', 'job-3').andWhere('status', 'pending').update({ status: 'expired' });
    await stack.db('healing_suggestions').where('job_id', 'job-5').del();
    const scanned = await stack.db('healing_suggestions').select('status').count<{ status: string; count: string }[]>({ count: '*' }).groupBy('status');
    const stats = await http(stack.api, 'GET', '/api/v1/healing/stats');
    expect(stats.body.suggestions.total).toBe(100_010 - 500);
    for (const row of scanned) expect(stats.body.suggestions.by_status[row.status]).toBe(Number(row.count));
    const pending = await http(stack.api, 'GET', '/api/v1/healing/suggestions/pending/count');
    expect(pending.body.count).toBe(Number(scanned.find((r) => r.status === 'pending')?.count ?? 0));
    const summary = await http(stack.api, 'GET', '/api/v1/healing/stats/job-7');
    expect(summary.body.suggestions.total).toBe(500);
  });
});
