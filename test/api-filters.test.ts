// Every filter the list endpoints document narrows the list to exactly the matching rows; an
// unknown query parameter is a 400 naming it; the job summary tells what the last review did and
// how many changes can still be rolled back; an analyzer's unknown severity is medium. Rows are
// written straight to Postgres so each filter's answer is known in advance.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobSummaryAnswer } from '../api/schemas.js';
import type { Category, Severity } from '../core/job.js';
import { severityRank } from '../core/policy.js';
import { reconcileSchedules } from '../worker/schedules.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
const now = Date.now();
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (d: Date) => d.toISOString();

let seq = 0;
async function addReview(r: {
  jobId: string;
  trigger: string;
  status: string;
  startedAt: Date;
  tookMs: number | null;
  analysisMs?: number | null;
  runsAnalyzed?: number;
  error?: string;
  skip?: string;
}): Promise<number> {
  seq += 1;
  const [row] = await stack.db('healing_reviews')
    .insert({
      job_id: r.jobId,
      trigger: r.trigger,
      status: r.status,
      workflow_id: `healing-review/${r.jobId}`,
      workflow_run_id: `filters-${seq}`,
      started_at: r.startedAt,
      finished_at: r.tookMs === null ? null : new Date(r.startedAt.getTime() + r.tookMs),
      analysis_duration_ms: r.analysisMs ?? null,
      runs_analyzed: r.runsAnalyzed ?? 0,
      error_message: r.error ?? null,
      skip_reason: r.skip ?? null,
    })
    .returning('id');
  return row.id;
}

async function addSuggestion(reviewId: number, jobId: string, status: string, category: Category, severity: Severity): Promise<number> {
  seq += 1;
  const [row] = await stack.db('healing_suggestions')
    .insert({
      review_id: reviewId,
      ordinal: seq,
      job_id: jobId,
      category,
      severity,
      severity_rank: severityRank(severity),
      title: `${category} ${severity} ${seq}`,
      fingerprint: `filters-${seq}`,
      status,
    })
    .returning('id');
  return row.id;
}

async function addAction(suggestionId: number, jobId: string, attempt: number, status: string, canRollback: boolean): Promise<number> {
  const [row] = await stack.db('healing_actions')
    .insert({ suggestion_id: suggestionId, attempt, job_id: jobId, action_type: 'edit_config', status, can_rollback: canRollback })
    .returning('id');
  return row.id;
}

/** Ids of the rows the data set below holds, by name. */
const R: Record<string, number> = {};
const S: Record<string, number> = {};
const A: Record<string, number> = {};
const RUNS: number[] = [];

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  const healing = '\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: daily\n    time: "02:00"\n';
  for (const id of ['alpha', 'beta', 'gamma']) await writeFile(path.join(stack.jobsDir, `${id}.yaml`), `name: ${id}\ncmd: ./${id}.sh${healing}`);
  await reconcileSchedules(stack.env.client, stack.jobsDir, { retention: false });

  // Reviews: alpha's last one failed; beta's last one was skipped; gamma's is still running.
  R.a1 = await addReview({ jobId: 'alpha', trigger: 'scheduled', status: 'completed', startedAt: new Date(now - 3 * HOUR), tookMs: 90_000, analysisMs: 60_000, runsAnalyzed: 7 });
  R.a2 = await addReview({ jobId: 'alpha', trigger: 'manual', status: 'failed', startedAt: new Date(now - HOUR), tookMs: 30_500, analysisMs: 20_000, runsAnalyzed: 3, error: 'the analyzer did not answer within 20 s' });
  R.b1 = await addReview({ jobId: 'beta', trigger: 'on_sla_breach', status: 'completed', startedAt: new Date(now - 4 * HOUR), tookMs: 45_000, analysisMs: 40_000, runsAnalyzed: 2 });
  R.b2 = await addReview({ jobId: 'beta', trigger: 'on_failure', status: 'skipped', startedAt: new Date(now - 2 * HOUR), tookMs: 1_000, skip: 'no run since the last review' });
  R.g1 = await addReview({ jobId: 'gamma', trigger: 'scheduled', status: 'running', startedAt: new Date(now - 5 * MIN), tookMs: null, runsAnalyzed: 4 });

  // Suggestions of every status, category and severity the filters below pick apart.
  S.approved = await addSuggestion(R.a1, 'alpha', 'approved', 'reliability', 'high');
  S.appliedA = await addSuggestion(R.a1, 'alpha', 'applied', 'config', 'low');
  S.rejected = await addSuggestion(R.a1, 'alpha', 'rejected', 'security', 'critical');
  S.pendingA = await addSuggestion(R.a1, 'alpha', 'pending', 'prompt', 'low');
  S.manual = await addSuggestion(R.a2, 'alpha', 'applied', 'performance', 'medium');
  S.pendingB = await addSuggestion(R.b1, 'beta', 'pending', 'config', 'medium');
  S.rolledBack = await addSuggestion(R.b1, 'beta', 'rolled_back', 'script', 'low');
  S.appliedB = await addSuggestion(R.b1, 'beta', 'applied', 'cost', 'high');

  // Actions: two can still be rolled back (one per job); the others failed, are final, were
  // rolled back, or are still being applied.
  A.failed = await addAction(S.appliedA, 'alpha', 1, 'failed', false);
  A.open = await addAction(S.appliedA, 'alpha', 2, 'success', true);
  A.final = await addAction(S.manual, 'alpha', 1, 'success', false);
  A.rolledBack = await addAction(S.rolledBack, 'beta', 1, 'rolled_back', false);
  A.openB = await addAction(S.appliedB, 'beta', 1, 'success', true);
  A.running = await addAction(S.approved, 'alpha', 1, 'running', false);

  for (let i = 1; i <= 5; i++) {
    const [row] = await stack.db('job_runs').insert({ job_id: 'alpha', external_id: `alpha-${i}`, started_at: new Date(now - i * HOUR), exit_code: 0, duration_ms: 1_000 }).returning('id');
    RUNS.push(row.id);
  }
});
afterAll(async () => stack?.stop());

const LIST_KEY: Record<string, string> = { '/healing/reviews': 'reviews', '/healing/suggestions': 'suggestions', '/healing/actions': 'actions' };

/** [endpoint, query, the ids it must answer]: one or more cases for every documented filter. */
const cases = (): [string, string, number[]][] => [
  ['/healing/reviews', 'job_id=alpha', [R.a1!, R.a2!]],
  ['/healing/reviews', 'status=failed', [R.a2!]],
  ['/healing/reviews', 'status=running', [R.g1!]],
  ['/healing/reviews', 'trigger=on_failure', [R.b2!]],
  ['/healing/reviews', 'job_id=beta&status=completed', [R.b1!]],

  ['/healing/suggestions', 'status=pending', [S.pendingA!, S.pendingB!]],
  ['/healing/suggestions', 'category=config', [S.appliedA!, S.pendingB!]],
  ['/healing/suggestions', 'severity=high', [S.approved!, S.appliedB!]],
  ['/healing/suggestions', 'job_id=beta', [S.pendingB!, S.rolledBack!, S.appliedB!]],
  ['/healing/suggestions', `review_id=${R.a1}`, [S.approved!, S.appliedA!, S.rejected!, S.pendingA!]],
  ['/healing/suggestions', 'trigger=manual', [S.manual!]],
  ['/healing/suggestions', 'trigger=on_sla_breach', [S.pendingB!, S.rolledBack!, S.appliedB!]],
  ['/healing/suggestions', 'job_id=alpha&status=applied', [S.appliedA!, S.manual!]],
  ['/healing/suggestions', 'status=applied&severity=high', [S.appliedB!]],
  ['/healing/suggestions', 'q=CONFIG', [S.appliedA!, S.pendingB!]], // titles are "<category> <severity> <n>"
  ['/healing/suggestions', 'sort=oldest&status=pending', [S.pendingA!, S.pendingB!]],
  ['/healing/suggestions', 'fields=full&status=pending', [S.pendingA!, S.pendingB!]],

  ['/healing/actions', 'can_rollback=true', [A.open!, A.openB!]],
  ['/healing/actions', 'can_rollback=false', [A.failed!, A.final!, A.rolledBack!, A.running!]],
  ['/healing/actions', 'status=success', [A.open!, A.final!, A.openB!]],
  ['/healing/actions', 'status=running', [A.running!]],
  ['/healing/actions', 'job_id=beta', [A.rolledBack!, A.openB!]],
  ['/healing/actions', `suggestion_id=${S.appliedA}`, [A.failed!, A.open!]],
  ['/healing/actions', 'job_id=alpha&can_rollback=true', [A.open!]],
];

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe('list filters', () => {
  it('every filter of every list narrows it to exactly the matching rows, and total counts them', async () => {
    for (const [endpoint, query, expected] of cases()) {
      const res = await http(stack.api, 'GET', `/api/v1${endpoint}?${query}`);
      expect(res.status, `${endpoint}?${query}`).toBe(200);
      const rows: { id: number }[] = res.body[LIST_KEY[endpoint]!];
      expect(sorted(rows.map((r) => r.id)), `${endpoint}?${query}`).toEqual(sorted(expected));
      expect(res.body.total, `${endpoint}?${query} total`).toBe(expected.length);
    }
  });

  it('GET /healing/actions?can_rollback=true answers only actions with can_rollback true, and false only those without', async () => {
    const open = await http(stack.api, 'GET', '/api/v1/healing/actions?can_rollback=true');
    expect(open.body.actions.length).toBeGreaterThan(0);
    expect(open.body.actions.every((a: { can_rollback: boolean }) => a.can_rollback)).toBe(true);
    const closed = await http(stack.api, 'GET', '/api/v1/healing/actions?can_rollback=false');
    expect(closed.body.actions.length).toBeGreaterThan(0);
    expect(closed.body.actions.some((a: { can_rollback: boolean }) => a.can_rollback)).toBe(false);
  });

  it('every query parameter the OpenAPI document lists for a list is covered here, and answers 200 with a valid value', async () => {
    const doc = await http(stack.api, 'GET', '/api/v1/openapi.json');
    const paging = new Set(['limit', 'offset', 'cursor']);
    for (const endpoint of Object.keys(LIST_KEY)) {
      const documented = (doc.body.paths[endpoint].get.parameters as { name: string; in: string }[]).filter((p) => p.in === 'query').map((p) => p.name);
      const tested = new Set(cases().filter(([e]) => e === endpoint).flatMap(([, q]) => [...new URLSearchParams(q).keys()]));
      expect(documented.filter((name) => !paging.has(name) && !tested.has(name)), `${endpoint}: documented filters without a case`).toEqual([]);
      expect([...tested].filter((name) => !documented.includes(name)), `${endpoint}: filters in use but not documented`).toEqual([]);
    }
    expect(doc.body.paths['/healing/actions'].get.parameters.map((p: { name: string }) => p.name)).toContain('can_rollback');
    expect(doc.body.paths['/healing/suggestions/pending/count'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['job_id']);
  });

  it('a job\'s runs page with limit and offset, newest first, and total counts them all', async () => {
    const all = await http(stack.api, 'GET', '/api/v1/jobs/alpha/runs');
    expect(all.status).toBe(200);
    expect(all.body.runs.map((r: { id: number }) => r.id)).toEqual(RUNS); // inserted newest first
    const page = await http(stack.api, 'GET', '/api/v1/jobs/alpha/runs?limit=2&offset=1');
    expect(page.body).toMatchObject({ total: 5, limit: 2, offset: 1 });
    expect(page.body.runs.map((r: { id: number }) => r.id)).toEqual(RUNS.slice(1, 3));
    const past = await http(stack.api, 'GET', '/api/v1/jobs/alpha/runs?offset=5');
    expect(past.body).toMatchObject({ runs: [], total: 5 });
  });

  it('the suggestions list pages by cursor: the page after next_cursor is the one offset would give', async () => {
    const first = await http(stack.api, 'GET', '/api/v1/healing/suggestions?limit=3');
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const byCursor = await http(stack.api, 'GET', `/api/v1/healing/suggestions?limit=3&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    const byOffset = await http(stack.api, 'GET', '/api/v1/healing/suggestions?limit=3&offset=3');
    expect(byCursor.status).toBe(200);
    expect(byCursor.body.suggestions.map((s: { id: number }) => s.id)).toEqual(byOffset.body.suggestions.map((s: { id: number }) => s.id));
    expect(byCursor.body.suggestions).toHaveLength(3);
  });
});

describe('unknown query parameters', () => {
  const refused: [string, string, string[]][] = [
    ['/healing/reviews?stauts=failed', 'stauts', ['job_id', 'status', 'trigger', 'limit', 'offset']],
    ['/healing/suggestions?catgory=config&status=pending', 'catgory', ['job_id', 'status', 'category', 'severity', 'trigger', 'review_id', 'q', 'sort', 'cursor', 'fields', 'limit', 'offset']],
    ['/healing/actions?can_rolback=true', 'can_rolback', ['job_id', 'status', 'suggestion_id', 'can_rollback', 'limit', 'offset']],
    ['/healing/suggestions/pending/count?status=pending', 'status', ['job_id']],
    ['/jobs/alpha/runs?page=2', 'page', ['limit', 'offset']],
    ['/healing/actions?_=1731400000000', '_', ['job_id', 'status', 'suggestion_id', 'can_rollback', 'limit', 'offset']],
  ];

  it('each list answers 400 naming the unknown parameter and the ones it accepts, instead of ignoring it', async () => {
    for (const [url, name, accepted] of refused) {
      const res = await http(stack.api, 'GET', `/api/v1${url}`);
      expect(res.status, url).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.error, url).toBe(`invalid query: ${name}: unknown parameter; accepted: ${accepted.join(', ')}`);
      expect(res.body.detail, url).toEqual([{ field: name, reason: `unknown parameter; accepted: ${accepted.join(', ')}` }]);
    }
  });

  it('the stats and summary endpoints, which take no parameter, answer 400 naming one sent anyway', async () => {
    for (const [url, name] of [['/healing/stats?job_id=alpha', 'job_id'], ['/healing/stats/alpha?days=7', 'days'], ['/jobs/alpha/healing/summary?_=1', '_']]) {
      const res = await http(stack.api, 'GET', `/api/v1${url}`);
      expect(res.status, url).toBe(400);
      expect(res.body.error, url).toBe(`invalid query: ${name}: unknown parameter; this endpoint takes none`);
      expect(res.body.detail, url).toEqual([{ field: name, reason: 'unknown parameter; this endpoint takes none' }]);
    }
  });

  it('the job catalog and a job answer 400 naming a parameter sent anyway', async () => {
    for (const url of ['/jobs?foo=1', '/jobs/alpha?x=1']) {
      const res = await http(stack.api, 'GET', `/api/v1${url}`);
      expect(res.status, url).toBe(400);
      expect(res.body.error, url).toMatch(/^invalid query: (foo|x): unknown parameter; this endpoint takes none$/);
    }
  });

  it('an id written other than in digits (1e3, 0x10, -1, abc) answers 400 saying how to write it', async () => {
    for (const id of ['1e3', '0x10', '-1', 'abc', '01']) {
      const res = await http(stack.api, 'GET', `/api/v1/healing/actions/${id}`);
      expect(res.status, id).toBe(400);
      expect(res.body.error, id).toBe('invalid action id: id: must be a positive whole number, written in digits');
    }
    expect((await http(stack.api, 'GET', '/api/v1/healing/suggestions/99999999')).status).toBe(404);
  });

  it('a can_rollback that is not true or false answers 400 naming can_rollback', async () => {
    for (const value of ['yes', '1', 'TRUE', '']) {
      const res = await http(stack.api, 'GET', `/api/v1/healing/actions?can_rollback=${value}`);
      expect(res.status, value).toBe(400);
      expect(res.body.detail.map((d: { field: string }) => d.field), value).toEqual(['can_rollback']);
    }
  });
});

describe('job summary', () => {
  it('the last review gives its duration, analysis time, runs analyzed and error; rollbackable_actions counts the changes that can still be undone', async () => {
    const res = await http(stack.api, 'GET', '/api/v1/jobs/alpha/healing/summary');
    expect(res.status).toBe(200);
    const started = new Date(now - HOUR);
    expect(res.body.last_review).toEqual({
      id: R.a2,
      status: 'failed',
      trigger: 'manual',
      started_at: iso(started),
      finished_at: iso(new Date(started.getTime() + 30_500)),
      duration_ms: 30_500,
      analysis_duration_ms: 20_000,
      runs_analyzed: 3,
      suggestions_count: 0,
      error_message: 'the analyzer did not answer within 20 s',
      skip_reason: null,
    });
    expect(res.body.rollbackable_actions).toBe(1);
    // the answer is the one the OpenAPI document describes
    expect(JobSummaryAnswer.safeParse(res.body).error).toBeUndefined();
    const doc = await http(stack.api, 'GET', '/api/v1/openapi.json');
    const documented = doc.body.paths['/jobs/{id}/healing/summary'].get.responses['200'].content['application/json'].schema;
    expect(documented.properties).toHaveProperty('rollbackable_actions');
    expect(documented.properties.last_review.anyOf[0].properties).toHaveProperty('error_message');
  });

  it('a skipped last review gives its skip reason; a running one has no duration; a job with no change applied has nothing to roll back', async () => {
    const beta = await http(stack.api, 'GET', '/api/v1/healing/stats/beta');
    expect(beta.body.last_review).toMatchObject({ id: R.b2, status: 'skipped', skip_reason: 'no run since the last review', error_message: null, duration_ms: 1_000, runs_analyzed: 0 });
    expect(beta.body.rollbackable_actions).toBe(1);
    const gamma = await http(stack.api, 'GET', '/api/v1/healing/stats/gamma');
    expect(gamma.body.last_review).toMatchObject({ id: R.g1, status: 'running', finished_at: null, duration_ms: null, runs_analyzed: 4 });
    expect(gamma.body.rollbackable_actions).toBe(0);
    expect(JobSummaryAnswer.safeParse(gamma.body).error).toBeUndefined();
  });

  it('after a change is rolled back or its window closes, it no longer counts as rollbackable', async () => {
    await stack.db('healing_actions').where({ id: A.openB }).update({ status: 'rolled_back', can_rollback: false });
    const beta = await http(stack.api, 'GET', '/api/v1/healing/stats/beta');
    expect(beta.body.rollbackable_actions).toBe(0);
    const listed = await http(stack.api, 'GET', '/api/v1/healing/actions?job_id=beta&can_rollback=true');
    expect(listed.body).toMatchObject({ actions: [], total: 0 });
  });
});

describe('a severity the analyzer made up', () => {
  it('when the analyzer marks a suggestion "urgent", it is stored as medium with "urgent" kept, and one approver is enough', async () => {
    const jobFile = path.join(stack.jobsDir, 'urgent-job.yaml');
    const yaml = 'name: Urgent job\ncmd: ./urgent.sh\nself_healing:\n  enabled: true\n  mode: proactive\n';
    await writeFile(jobFile, yaml);
    const reply = path.join(stack.workDir, 'urgent-reply.json');
    await writeFile(
      reply,
      JSON.stringify({
        suggestions: [
          {
            category: 'reliability',
            severity: 'urgent',
            title: 'Retry the upload',
            description: 'The upload fails on a reset connection.',
            suggested_change: 'retry.enabled: true',
            target_file: jobFile,
            proposed_content: `${yaml}retry:\n  enabled: true\n`,
            auto_apply: null,
          },
        ],
      }),
    );
    stack.analyzer.mode = 'openclaw';
    process.env.FAKE_OPENCLAW_MODE = 'reply-file';
    process.env.FAKE_OPENCLAW_REPLY = reply;
    try {
      const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'urgent-job', force: true });
      expect(started.status).toBe(202);
      const review = await eventually(async () => {
        const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      }, 60_000, 'the review');
      expect(review.status).toBe('completed');

      const list = await http(stack.api, 'GET', `/api/v1/healing/suggestions?review_id=${review.id}`);
      expect(list.body.suggestions).toHaveLength(1);
      const listed = list.body.suggestions[0];
      expect(listed).toMatchObject({ severity: 'medium', severity_reported: 'urgent' });
      const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${listed.id}`);
      expect(detail.body).toMatchObject({ severity: 'medium', severity_reported: 'urgent' });

      // Critical would need two approvers, each with a token; medium needs one, without tokens.
      const approved = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${listed.id}/approve`, { apply: false });
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ success: true, status: 'approved' });
      expect(approved.body.approvals_needed).toBeUndefined();
    } finally {
      stack.analyzer.mode = 'rules';
      delete process.env.FAKE_OPENCLAW_MODE;
      delete process.env.FAKE_OPENCLAW_REPLY;
    }
  });
});
