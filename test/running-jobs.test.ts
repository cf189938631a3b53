// Jobs that are running, and reviews that follow the job's settings: an apply waits for the job's
// open run to end (bounded, then failed with the reason), a manual review of a running job answers
// 409 unless forced, an OpenClaw analysis waits while OpenClaw jobs run, the job's mode decides
// what a failure-triggered review reads, scheduled skips make one row a streak, and min_runs is
// bounded by what a review reads. Real Postgres, the Temporal dev server, a worker and the API.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../activities/context.js';
import { MAX_MIN_RUNS } from '../core/job.js';
import type { WaitSettings } from '../core/running.js';
import { reviewWorkflowId, scheduleId, SEARCH_ATTRIBUTES, suggestionWorkflowId } from '../core/temporal.js';
import { closeSkippedReview } from '../db/reviews.js';
import { reconcileJobSchedule } from '../worker/schedules.js';
import { workflowBundle } from '../worker/workers.js';
import { createSuggestion, etlJobYaml } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let openclawLog: string;
/** The worker reads these at each check, so a test sets the bounds it needs. */
const waits: WaitSettings = { applyWaitS: 120, openclawWaitS: 120, openclawWaitTimeout: 'run', checkIntervalS: 1 };

const ETL_YAML = etlJobYaml('  review_schedule:\n    min_runs: 0\n');
const WITH_RETRY = ETL_YAML.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');
const OC_YAML = 'name: Idea digest\ntype: openclaw\ncmd: python3 ~/.procclaw/scripts/oc-runner.py 1b2c 660000\n';

let yamlFile: string;
let runCounter = 0;

beforeAll(async () => {
  openclawLog = path.join(os.tmpdir(), `fake-openclaw-running-${process.pid}-${Date.now()}.log`);
  process.env.FAKE_OPENCLAW_LOG = openclawLog;
  stack = await startStack({ waits });
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  await writeFile(path.join(stack.jobsDir, 'etl.sh'), '#!/bin/bash\nset -e\necho loading\n', { mode: 0o755 });
  await writeFile(path.join(stack.jobsDir, 'oc-digest.yaml'), OC_YAML);
});
afterEach(async () => {
  Object.assign(waits, { applyWaitS: 120, openclawWaitS: 120, openclawWaitTimeout: 'run' });
  stack.analyzer.mode = 'rules';
  // Every run a test left open ends, so the next test starts with no job running.
  await stack.db('job_runs').whereNull('finished_at').update({ finished_at: new Date(), exit_code: 0 });
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.FAKE_OPENCLAW_LOG;
  await rm(openclawLog, { force: true });
});

/** Reports a run of a job that has started and not ended; answers its external id. */
async function startRun(jobId: string, startedAgoMs = 10_000): Promise<string> {
  runCounter += 1;
  const externalId = `${jobId}-run-${runCounter}`;
  const res = await http(stack.api, 'POST', `/api/v1/jobs/${jobId}/runs`, { external_id: externalId, started_at: new Date(Date.now() - startedAgoMs).toISOString() });
  expect(res.status).toBe(201);
  return externalId;
}

/** Reports the end of a run reported open; answers the API's answer. */
async function endRun(jobId: string, externalId: string, exitCode = 0) {
  const row = await stack.db('job_runs').where({ job_id: jobId, external_id: externalId }).first();
  return http(stack.api, 'POST', `/api/v1/jobs/${jobId}/runs`, {
    external_id: externalId,
    started_at: new Date(row.started_at).toISOString(),
    finished_at: new Date().toISOString(),
    exit_code: exitCode,
  });
}

/** Reports a finished run; answers the API's body. */
async function finishedRun(jobId: string, opts: { exitCode?: number; startedAgoMs?: number } = {}) {
  runCounter += 1;
  const started = Date.now() - (opts.startedAgoMs ?? 60_000);
  const res = await http(stack.api, 'POST', `/api/v1/jobs/${jobId}/runs`, {
    external_id: `${jobId}-done-${runCounter}`,
    started_at: new Date(started).toISOString(),
    finished_at: new Date(started + 5_000).toISOString(),
    exit_code: opts.exitCode ?? 0,
  });
  expect(res.status).toBe(201);
  return res.body;
}

const suggestion = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
const review = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/reviews/${id}`)).body;
const reviewEnded = (id: number, what: string) =>
  eventually(async () => {
    const r = await review(id);
    return r.status !== 'running' ? r : undefined;
  }, 60_000, what);
/** What the Temporal UI shows as the workflow's current details. */
const currentDetails = async (workflowId: string) =>
  ((await stack.env.client.workflow.getHandle(workflowId).query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails ?? '';
const searchStatus = async (workflowId: string) =>
  (await stack.env.client.workflow.getHandle(workflowId).describe()).searchAttributes[SEARCH_ATTRIBUTES.status];

async function expectReplays(workflowId: string): Promise<void> {
  const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId)).resolves.toBeUndefined();
}

describe('an apply while the job runs', () => {
  it('when the job has an open run, approve answers 202 waiting for that run, writes nothing until its end is reported, then applies', async () => {
    await writeFile(yamlFile, ETL_YAML);
    const runId = await startRun('etl');
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });

    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      success: true,
      status: 'approved',
      action_id: null,
      applying: 'job_running',
      waiting_for_run: { job_id: 'etl', external_id: runId },
    });
    expect(answer.body.note).toContain(`waiting for run ${runId} of job etl`);

    const waiting = await suggestion(id);
    expect(waiting).toMatchObject({ status: 'approved', applying_step: 'job_running' });
    expect(waiting.applying_since).not.toBeNull();
    const refused = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'changed my mind' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain("waiting for the job's running run to end");
    expect(await currentDetails(suggestionWorkflowId(id))).toContain(`waiting for run ${runId} of job etl (started ${answer.body.waiting_for_run.started_at}) to end`);
    expect(await readFile(yamlFile, 'utf8')).toBe(ETL_YAML);
    expect(await stack.db('healing_actions').where({ suggestion_id: id })).toHaveLength(0);

    const ended = await endRun('etl', runId);
    expect(ended.status).toBe(200);
    expect(ended.body.run.finished_at).not.toBeNull();
    const applied = await eventually(async () => {
      const s = await suggestion(id);
      return s.status === 'applied' ? s : undefined;
    }, 30_000, 'the apply after the run ended');
    expect(applied.applying_step).toBeNull();
    expect(await readFile(yamlFile, 'utf8')).toBe(WITH_RETRY);
    // The wait is over: the details say what was written, no longer what it waits for.
    const details = await currentDetails(suggestionWorkflowId(id));
    expect(details).toContain('**applied**');
    expect(details).not.toContain('waiting for run');
    await expectReplays(suggestionWorkflowId(id));
  });

  it('when the run has not ended within HEALING_APPLY_WAIT_S, the apply fails with the reason and nothing written; an apply after its end applies', async () => {
    waits.applyWaitS = 2;
    await writeFile(yamlFile, ETL_YAML);
    const runId = await startRun('etl');
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });

    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(202);
    const failed = await eventually(async () => {
      const s = await suggestion(id);
      return s.status === 'failed' ? s : undefined;
    }, 30_000, 'the apply to give up');
    expect(failed.error_message).toBe(
      `not applied: run ${runId} of job etl (started ${answer.body.waiting_for_run.started_at}) had not reported its end after the apply waited 2 s ` +
        '(HEALING_APPLY_WAIT_S); nothing was written. Apply again once the run has ended (a run that ended without saying so: report its finished_at to POST /api/v1/jobs/etl/runs)',
    );
    expect(failed.applying_step).toBeNull();
    expect(await readFile(yamlFile, 'utf8')).toBe(ETL_YAML);
    expect(await stack.db('healing_actions').where({ suggestion_id: id })).toHaveLength(0);

    await endRun('etl', runId);
    const retried = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('applied');
    expect(await readFile(yamlFile, 'utf8')).toBe(WITH_RETRY);
  });

  it('when an auto-apply meets an open run, it waits the same way and applies once the run has ended', async () => {
    await writeFile(yamlFile, ETL_YAML);
    const runId = await startRun('etl');
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY, input: { autoApply: true } });
    const waiting = await eventually(async () => {
      const s = await suggestion(id);
      return s.applying_step === 'job_running' ? s : undefined;
    }, 20_000, 'the auto-apply to wait');
    expect(waiting).toMatchObject({ status: 'approved', reviewed_by: 'auto' });
    expect(await readFile(yamlFile, 'utf8')).toBe(ETL_YAML);

    await endRun('etl', runId);
    const ended = await eventually(async () => {
      const s = await suggestion(id);
      return s.applying_step === null ? s : undefined;
    }, 30_000, 'the auto-apply after the run ended');
    expect(ended.status, ended.error_message).toBe('applied');
    expect(await readFile(yamlFile, 'utf8')).toBe(WITH_RETRY);
  });

  it('when a run reported without its end started more than a day ago, it no longer counts as running', async () => {
    await writeFile(yamlFile, ETL_YAML);
    await startRun('etl', 25 * 3_600_000);
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('applied');
  });
});

describe('a manual review of a running job', () => {
  it('answers 409 job_running naming the run, unless forced; forced it starts (202)', async () => {
    await writeFile(yamlFile, ETL_YAML);
    const runId = await startRun('etl');
    const reviewsBefore = (await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=etl')).body.total;
    const refused = await http(stack.api, 'POST', '/api/v1/healing/reviews/etl/trigger', {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain(`run ${runId} of job etl`);
    expect(refused.body.detail).toMatchObject({ code: 'job_running', job_id: 'etl', run: { external_id: runId } });
    const refusedToo = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'etl' });
    expect(refusedToo.status).toBe(409);
    expect(refusedToo.body.detail.code).toBe('job_running');
    expect((await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=etl')).body.total).toBe(reviewsBefore);

    const forced = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'etl', force: true });
    expect(forced.status).toBe(202);
    expect((await reviewEnded(forced.body.review_id, 'the forced review')).status).toBe('completed');
  });
});

describe('an OpenClaw analysis while OpenClaw jobs run', () => {
  const agentTurns = async () =>
    (await readFile(openclawLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).filter((l) => JSON.parse(l).command === 'agent').length;

  it('waits in the review (row, status and Temporal UI say why) while the OpenClaw job runs, then analyses once its run has ended', async () => {
    await writeFile(yamlFile, ETL_YAML);
    stack.analyzer.mode = 'openclaw';
    const runId = await startRun('oc-digest');
    const turnsBefore = await agentTurns();
    const started = await http(stack.api, 'POST', '/api/v1/healing/reviews/etl/trigger', {});
    expect(started.status).toBe(202);

    const waiting = await eventually(async () => {
      const r = await review(started.body.review_id);
      return r.waiting_reason ? r : undefined;
    }, 20_000, 'the review to wait');
    expect(waiting.status).toBe('running');
    expect(waiting.waiting_reason).toContain(`OpenClaw job running: run ${runId} of job oc-digest`);
    expect(waiting.waiting_since).not.toBeNull();
    const listed = (await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=etl')).body.reviews[0];
    expect(listed).toMatchObject({ id: waiting.id, waiting_reason: waiting.waiting_reason, skip_count: 0 });
    expect(await searchStatus(reviewWorkflowId('etl'))).toEqual(['waiting']);
    expect(await currentDetails(reviewWorkflowId('etl'))).toContain(`run ${runId} of job oc-digest`);
    expect(await agentTurns()).toBe(turnsBefore);

    await endRun('oc-digest', runId);
    const done = await reviewEnded(started.body.review_id, 'the review after the OpenClaw job ended');
    expect(done).toMatchObject({ status: 'completed', analyzer: 'openclaw', waiting_reason: null, waiting_since: null });
    expect(await agentTurns()).toBe(turnsBefore + 1);
    await expectReplays(reviewWorkflowId('etl'));
  });

  it('when the OpenClaw job still runs after HEALING_OPENCLAW_WAIT_S, the review is skipped with the reason (skip) or analyses anyway (run)', async () => {
    await writeFile(yamlFile, ETL_YAML);
    stack.analyzer.mode = 'openclaw';
    Object.assign(waits, { openclawWaitS: 2, openclawWaitTimeout: 'skip' });
    const runId = await startRun('oc-digest');
    const skipped = await http(stack.api, 'POST', '/api/v1/healing/reviews/etl/trigger', {});
    const closed = await reviewEnded(skipped.body.review_id, 'the review to give up');
    expect(closed).toMatchObject({ status: 'skipped', analyzer: null, waiting_reason: null });
    expect(closed.skip_reason).toBe(
      `OpenClaw job running: run ${runId} of job oc-digest (started ${(await stack.db('job_runs').where({ external_id: runId }).first()).started_at.toISOString()}), ` +
        'still after waiting 2 s (HEALING_OPENCLAW_WAIT_S); not analysed while they compete for tokens (HEALING_OPENCLAW_WAIT_TIMEOUT=skip)',
    );

    waits.openclawWaitTimeout = 'run';
    const ran = await http(stack.api, 'POST', '/api/v1/healing/reviews/etl/trigger', {});
    expect(ran.status).toBe(202);
    const completed = await reviewEnded(ran.body.review_id, 'the review that analyses anyway');
    expect(completed).toMatchObject({ status: 'completed', analyzer: 'openclaw', waiting_reason: null });
  });

  it('when the analyzer is the rules (no model, no tokens), the review does not wait for OpenClaw jobs', async () => {
    await writeFile(yamlFile, ETL_YAML);
    waits.openclawWaitS = 600;
    await startRun('oc-digest');
    const started = await http(stack.api, 'POST', '/api/v1/healing/reviews/etl/trigger', {});
    const done = await reviewEnded(started.body.review_id, 'the rules review');
    expect(done).toMatchObject({ status: 'completed', analyzer: 'rules', waiting_reason: null, waiting_since: null });
  });
});

describe('what a review reads follows the job\'s mode', () => {
  it('when a proactive job with frequency on_failure fails, the review reads the runs since the last review, below min_runs too, and an older failed run with them', async () => {
    const job = 'proactive-fail';
    await writeFile(
      path.join(stack.jobsDir, `${job}.yaml`),
      `name: Proactive on failure\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: on_failure\n    min_runs: 50\n`,
    );
    await finishedRun(job);
    await finishedRun(job);
    const failed = await finishedRun(job, { exitCode: 1 });
    expect(failed.review.workflow_id).toBe(reviewWorkflowId(job));
    const first = await eventually(async () => {
      const r = await stack.db('healing_reviews').where({ job_id: job }).first();
      return r && r.status !== 'running' ? r : undefined;
    }, 60_000, 'the first failure review');
    expect(first).toMatchObject({ trigger: 'on_failure', status: 'completed', run_id: failed.run.id, runs_analyzed: 3 });

    // After that review: one new good run, then a failed run reported late, started before the review.
    await finishedRun(job, { startedAgoMs: 0 });
    const late = await finishedRun(job, { exitCode: 2, startedAgoMs: 3 * 86_400_000 });
    const second = await eventually(async () => {
      const r = await stack.db('healing_reviews').where({ job_id: job, run_id: late.run.id }).first();
      return r && r.status !== 'running' ? r : undefined;
    }, 60_000, 'the second failure review');
    expect(second).toMatchObject({ trigger: 'on_failure', status: 'completed', runs_analyzed: 2 });
  });
});

describe('skipped scheduled reviews', () => {
  it('when three scheduled fires find fewer runs than min_runs, the reviews list shows one skipped row with skip_count 3', async () => {
    const job = 'fresh-job';
    await writeFile(
      path.join(stack.jobsDir, `${job}.yaml`),
      'name: Fresh\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: daily\n    min_runs: 5\n',
    );
    expect(await reconcileJobSchedule(stack.env.client, stack.jobsDir, job)).toBe('created');
    const schedule = stack.env.client.schedule.getHandle(scheduleId(job));
    for (let fire = 1; fire <= 3; fire++) {
      // A fire's workflow id ends with its time in whole seconds: two fires in one second would be one.
      if (fire > 1) await new Promise((resolve) => setTimeout(resolve, 1_050 - (Date.now() % 1_000)));
      await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      await eventually(async () => {
        const rows = await stack.db('healing_reviews').where({ job_id: job });
        return rows.length === 1 && rows[0].status === 'skipped' && rows[0].skip_count === fire ? true : undefined;
      }, 30_000, `fire ${fire} to be counted`);
      // the next fire starts once this one's review workflow has closed
      await eventually(async () => ((await stack.env.client.workflow.getHandle(reviewWorkflowId(job)).describe()).status.name !== 'RUNNING' ? true : undefined));
    }
    const list = await http(stack.api, 'GET', `/api/v1/healing/reviews?job_id=${job}`);
    expect(list.body.total).toBe(1);
    const row = list.body.reviews[0];
    expect(row).toMatchObject({ trigger: 'scheduled', status: 'skipped', skip_count: 3 });
    expect(row.skip_reason).toMatch(/^only 0 run\(s\) since .*; min_runs is 5/);
    expect(new Date(row.finished_at).getTime()).toBeGreaterThan(new Date(row.started_at).getTime());

    // Closing a merged review again (a retried activity) counts nothing twice.
    const again = await closeSkippedReview(stack.db, { reviewId: row.id + 1_000_000, jobId: job, skipReason: 'retried' });
    expect(again).toEqual({ reviewId: row.id, skipCount: 3, merged: true });

    // A person's trigger is never merged away: the id it answers stays readable.
    const manual = await http(stack.api, 'POST', `/api/v1/healing/reviews/${job}/trigger`, {});
    const manualRow = await reviewEnded(manual.body.review_id, 'the manual review');
    expect(manualRow).toMatchObject({ id: manual.body.review_id, status: 'skipped', skip_count: 1, trigger: 'manual' });
    await schedule.delete();
  });
});

describe('min_runs is bounded by what a review reads', () => {
  it(`the bound (${MAX_MIN_RUNS}) is within the runs a review reads`, () => {
    expect(MAX_MIN_RUNS).toBeLessThanOrEqual(LIMITS.runs);
  });

  it('when a job file sets min_runs 101, the job does not load and the error names the field; PUT answers 400 naming it; 100 is accepted', async () => {
    const file = path.join(stack.jobsDir, 'too-many.yaml');
    await writeFile(file, 'name: Too many\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    min_runs: 101\n');
    const jobs = await http(stack.api, 'GET', '/api/v1/jobs');
    expect(jobs.body.jobs.map((j: any) => j.id)).not.toContain('too-many');
    expect(jobs.body.errors).toContainEqual(
      expect.objectContaining({
        job_id: 'too-many',
        file,
        field: 'self_healing.review_schedule.min_runs',
        reason: 'must be at most 100: a review reads a bounded number of runs (200 at most), so a larger min_runs might never be met and the job never reviewed',
      }),
    );

    const before = await readFile(yamlFile, 'utf8');
    const put = await http(stack.api, 'PUT', '/api/v1/jobs/etl/self-healing', { review_schedule: { min_runs: 101 } });
    expect(put.status).toBe(400);
    expect(put.body.error).toMatch(/^invalid self_healing: review_schedule\.min_runs: must be at most 100/);
    expect(put.body.detail).toEqual([{ field: 'review_schedule.min_runs', reason: expect.stringContaining('must be at most 100') }]);
    expect(await readFile(yamlFile, 'utf8')).toBe(before);

    const ok = await http(stack.api, 'PUT', '/api/v1/jobs/etl/self-healing', { review_schedule: { min_runs: 100 } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.self_healing.review_schedule.min_runs).toBe(100);
    await rm(file);
  });
});
