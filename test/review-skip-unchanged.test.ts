// The AI bill, through the real stack (Postgres, the Temporal dev server, a worker, the API) with
// the fake openclaw CLI: a scheduled review that would show the analyzer nothing new is skipped
// with the reason and no turn; a new run, a run that ended, a changed script, config or prompt, or
// a manual trigger is analysed. And the analysis queue: reviews held behind a slow analysis (one
// slot) show their position and wait, in the queue's answer and in their own.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisQueueAnswer, ReviewDetailAnswer, ReviewListAnswer } from '../api/schemas.js';
import { reviewWorkflowId, TASK_QUEUE, type ReviewOutcome, type ScheduledReviewOutcome } from '../core/temporal.js';
import { upsertRun } from '../db/runs.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let openclawLog: string;
let scheduledCount = 0;

const jobYaml = (name: string, extra = '') => `name: ${name}
cmd: ./scripts/${name}.sh
type: scheduled
schedule: "0 * * * *"
${extra}self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    frequency: daily
    min_runs: 0
`;

const promptedYaml = `name: Prompted
cmd: openclaw agent --local --message-file prompts/prompted.md
type: openclaw
prompt_file: prompts/prompted.md
schedule: "0 8 * * *"
self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    frequency: daily
    min_runs: 0
`;

beforeAll(async () => {
  // Activities run in this process, so the fake openclaw inherits this environment.
  openclawLog = path.join(os.tmpdir(), `fake-openclaw-skip-${process.pid}-${Date.now()}.log`);
  process.env.FAKE_OPENCLAW_LOG = openclawLog;
  stack = await startStack({ analyzer: { mode: 'openclaw', timeoutSeconds: 30 }, analysisConcurrency: 1 });
  await mkdir(path.join(stack.jobsDir, 'scripts'), { recursive: true });
  await mkdir(path.join(stack.jobsDir, 'prompts'), { recursive: true });
  for (const name of ['steady', 'ended', 'queued-a', 'queued-b', 'queued-c']) {
    await writeFile(path.join(stack.jobsDir, `${name}.yaml`), jobYaml(name));
    await writeFile(path.join(stack.jobsDir, 'scripts', `${name}.sh`), '#!/bin/bash\nset -euo pipefail\necho ok\n');
  }
  await writeFile(path.join(stack.jobsDir, 'prompted.yaml'), promptedYaml);
  await writeFile(path.join(stack.jobsDir, 'prompts', 'prompted.md'), 'Summarise the feeds.\n');
}, 120_000);
afterEach(() => {
  delete process.env.FAKE_OPENCLAW_DELAY_MS;
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.FAKE_OPENCLAW_LOG;
  await rm(openclawLog, { force: true });
});

async function agentTurns(): Promise<number> {
  const text = await readFile(openclawLog, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).filter((line) => JSON.parse(line).command === 'agent').length;
}

/** A scheduled review as a job's Temporal schedule starts it; answers the review row as the API shows it. */
async function scheduled(jobId: string) {
  const outcome: ScheduledReviewOutcome = await stack.env.client.workflow.execute('scheduledReviewWorkflow', {
    taskQueue: TASK_QUEUE,
    workflowId: `test-scheduled-${jobId}-${++scheduledCount}`,
    args: [{ jobId }],
  });
  expect(outcome.reviewId, JSON.stringify(outcome)).not.toBeNull();
  return (await http(stack.api, 'GET', `/api/v1/healing/reviews/${outcome.reviewId}`)).body;
}

async function manual(jobId: string) {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
  expect(started.status).toBe(202);
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `review ${started.body.review_id} to finish`);
}

let runCount = 0;
async function addRun(jobId: string, opts: { exit?: number; open?: boolean; key?: string; startedAt?: Date } = {}) {
  const started = opts.startedAt ?? new Date(Date.now() - 1_000);
  const { run } = await upsertRun(stack.db, {
    job_id: jobId,
    external_id: opts.key ?? `run-${++runCount}`,
    started_at: started,
    finished_at: opts.open ? null : new Date(started.getTime() + 500),
    exit_code: opts.open ? null : (opts.exit ?? 0),
    duration_ms: opts.open ? null : 500,
    trigger: 'scheduled',
    error: opts.exit ? 'exit 1' : null,
    sla_status: opts.open ? null : 'pass',
    sla_details: null,
    log_path: null,
    log_tail: 'ok',
    session_messages: null,
  });
  return run;
}

const UNCHANGED = (id: number, what: string) => new RegExp(`^nothing changed since review ${id} on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: ${what}`);

describe('a scheduled review whose context has not changed', () => {
  it('is skipped with the reason, runs no analysis and spends no tokens; a new run is analysed again', async () => {
    await addRun('steady');
    const first = await scheduled('steady');
    expect(first).toMatchObject({ status: 'completed', analyzer: 'openclaw', skipped_unchanged: false, analysis_queue: null });
    expect(first.ai_tokens_used).toBeGreaterThan(0);
    expect(first.analysis_requested_at).not.toBeNull();
    expect(first.analysis_started_at).not.toBeNull();
    expect(first.context_fingerprint, 'hashes stay out of the answer').toBeUndefined();
    const stored = await stack.db('healing_reviews').where({ id: first.id }).first('context_fingerprint');
    expect(stored.context_fingerprint).toMatchObject({ version: 1, runs: [{ key: 'run-1' }] });
    expect(stored.context_fingerprint.script).toMatch(/^[0-9a-f]{64}$/);

    const turns = await agentTurns();
    const skipped = await scheduled('steady');
    expect(skipped).toMatchObject({ status: 'skipped', skipped_unchanged: true, analyzer: null, ai_tokens_used: 0, analysis_started_at: null, analysis_requested_at: null });
    expect(skipped.skip_reason).toMatch(UNCHANGED(first.id, 'no new runs, same config and script; not analysed again \\(no AI tokens spent\\)'));
    expect(await agentTurns(), 'no OpenClaw turn for a skipped review').toBe(turns);

    // A second skip in a row joins the first's row, as other scheduled skips do.
    const again = await scheduled('steady');
    expect(again).toMatchObject({ id: skipped.id, status: 'skipped', skip_count: 2, skipped_unchanged: true });
    const list = (await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=steady')).body;
    expect(list.reviews.find((r: any) => r.id === skipped.id)).toMatchObject({ skipped_unchanged: true, skip_reason: skipped.skip_reason });
    expect(ReviewListAnswer.safeParse(list).error).toBeUndefined();
    expect(ReviewDetailAnswer.safeParse(again).error).toBeUndefined();

    // Started now: the runs a review reads are those started after the last analysed review began,
    // which on a fast machine can be less than the usual second ago.
    await addRun('steady', { exit: 1, startedAt: new Date() });
    const analysed = await scheduled('steady');
    expect(analysed).toMatchObject({ status: 'completed', analyzer: 'openclaw', runs_analyzed: 1 });
    expect(await agentTurns()).toBe(turns + 1);
  });

  it('is analysed when the script or the config changed; the next unchanged one is skipped again', async () => {
    expect((await scheduled('steady')).skipped_unchanged).toBe(true);

    await writeFile(path.join(stack.jobsDir, 'scripts', 'steady.sh'), '#!/bin/bash\nset -euo pipefail\necho changed\n');
    const script = await scheduled('steady');
    expect(script).toMatchObject({ status: 'completed', analyzer: 'openclaw' });
    expect((await scheduled('steady')).skip_reason).toMatch(UNCHANGED(script.id, 'no new runs'));

    await writeFile(path.join(stack.jobsDir, 'steady.yaml'), jobYaml('steady', 'timeout: 300\n'));
    const config = await scheduled('steady');
    expect(config).toMatchObject({ status: 'completed', analyzer: 'openclaw' });
    expect((await scheduled('steady')).skip_reason).toMatch(UNCHANGED(config.id, 'no new runs'));
  });

  it("is analysed when an OpenClaw job's prompt changed", async () => {
    const first = await scheduled('prompted');
    expect(first.status).toBe('completed');
    const same = await scheduled('prompted');
    expect(same.skip_reason).toMatch(UNCHANGED(first.id, 'no new runs, same config and prompt'));
    await writeFile(path.join(stack.jobsDir, 'prompts', 'prompted.md'), 'Summarise the feeds, in three lines.\n');
    expect(await scheduled('prompted')).toMatchObject({ status: 'completed', analyzer: 'openclaw' });
  });

  it('is analysed when a run the last review saw open has ended since', async () => {
    await addRun('ended', { open: true, key: 'long-run' });
    const first = await scheduled('ended');
    expect(first).toMatchObject({ status: 'completed', runs_analyzed: 1 });
    expect((await scheduled('ended')).skipped_unchanged).toBe(true);
    const open = await stack.db('job_runs').where({ job_id: 'ended', external_id: 'long-run' }).first();
    await addRun('ended', { key: 'long-run', exit: 1, startedAt: open.started_at });
    expect(await scheduled('ended')).toMatchObject({ status: 'completed', analyzer: 'openclaw' });
  });

  it('a manual review of the same context is never skipped, and becomes the one the next scheduled review compares with', async () => {
    const before = await scheduled('steady');
    expect(before.status).toBe('skipped');
    const turns = await agentTurns();
    const byHand = await manual('steady');
    expect(byHand).toMatchObject({ status: 'completed', analyzer: 'openclaw', trigger: 'manual', skipped_unchanged: false });
    expect(await agentTurns()).toBe(turns + 1);
    expect((await scheduled('steady')).skip_reason).toMatch(UNCHANGED(byHand.id, 'no new runs'));
  });

  it('a review for a failure is never skipped either', async () => {
    expect((await scheduled('steady')).skipped_unchanged).toBe(true);
    const failed = await stack.db('job_runs').where({ job_id: 'steady' }).whereNot('exit_code', 0).first();
    const outcome: ReviewOutcome = await stack.env.client.workflow.execute('reviewWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: reviewWorkflowId('steady'),
      args: [{ jobId: 'steady', trigger: 'on_failure', runId: failed.id }],
    });
    expect(outcome.status).toBe('completed');
    const review = (await http(stack.api, 'GET', `/api/v1/healing/reviews/${outcome.reviewId}`)).body;
    expect(review).toMatchObject({ trigger: 'on_failure', status: 'completed', analyzer: 'openclaw', skip_reason: null });
  });
});

describe('the analysis queue', () => {
  it('shows the reviews held behind a slow analysis (one slot) with their position and wait, in the queue and in each review', async () => {
    process.env.FAKE_OPENCLAW_DELAY_MS = '4000';
    const started: number[] = [];
    for (const jobId of ['queued-a', 'queued-b', 'queued-c']) {
      const r = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
      expect(r.status).toBe(202);
      started.push(r.body.review_id);
    }
    const queue = await eventually(async () => {
      const q = (await http(stack.api, 'GET', '/api/v1/healing/analysis-queue')).body;
      return q.analysing.length === 1 && q.waiting.length === 2 ? q : undefined;
    }, 30_000, 'one review analysing and two waiting');
    expect(AnalysisQueueAnswer.safeParse(queue).error).toBeUndefined();
    expect(queue.waiting_total).toBe(2);
    expect(queue.waiting.map((w: any) => w.position)).toEqual([1, 2]);
    expect(queue.waiting.every((w: any) => Number.isInteger(w.waited_s) && w.waited_s >= 0 && w.requested_at)).toBe(true);
    expect(new Set([queue.analysing[0].review_id, ...queue.waiting.map((w: any) => w.review_id)])).toEqual(new Set(started));
    expect(queue.analysing[0]).toMatchObject({ trigger: 'manual' });

    const second = queue.waiting[1];
    const own = (await http(stack.api, 'GET', `/api/v1/healing/reviews/${second.review_id}`)).body;
    expect(own).toMatchObject({ status: 'running', analysis_queue: { state: 'waiting', position: 2, ahead: 1 } });
    expect(ReviewDetailAnswer.safeParse(own).error).toBeUndefined();
    const listed = (await http(stack.api, 'GET', `/api/v1/healing/reviews?job_id=${second.job_id}`)).body.reviews[0];
    expect(listed.analysis_queue).toMatchObject({ state: 'waiting', position: 2 });
    const filtered = (await http(stack.api, 'GET', `/api/v1/healing/analysis-queue?job_id=${second.job_id}`)).body;
    expect(filtered).toMatchObject({ waiting: [{ review_id: second.review_id, position: 2 }], waiting_total: 2 });

    // Each waits its turn; when all are analysed the queue is empty and the waits are recorded.
    for (const id of started) {
      await eventually(async () => ((await http(stack.api, 'GET', `/api/v1/healing/reviews/${id}`)).body.status === 'completed' ? true : undefined), 60_000, `review ${id}`);
    }
    expect((await http(stack.api, 'GET', '/api/v1/healing/analysis-queue')).body).toEqual({ waiting: [], waiting_total: 0, analysing: [] });
    const last = (await http(stack.api, 'GET', `/api/v1/healing/reviews/${second.review_id}`)).body;
    expect(new Date(last.analysis_started_at).getTime() - new Date(last.analysis_requested_at).getTime()).toBeGreaterThan(3_000);
  }, 120_000);

  it('refuses a bad query with a 400 naming it', async () => {
    const bad = await http(stack.api, 'GET', '/api/v1/healing/analysis-queue?limit=0');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('limit');
    const unknown = await http(stack.api, 'GET', '/api/v1/healing/analysis-queue?jobid=x');
    expect(unknown.status).toBe(400);
  });
});
