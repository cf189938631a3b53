// Event triggers: run reports start reactive reviews for the jobs that ask for them, one per job
// at a time, on the real Temporal dev server.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;

const JOBS: Record<string, string> = {
  flaky: 'name: Flaky\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n',
  bursty: 'name: Bursty\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n',
  'sla-watch': 'name: SLA watch\ncmd: ./run.sh\nsla:\n  max_duration: 60\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_sla_breach\n',
  'by-hand': 'name: By hand\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: manual\n',
  nightly: 'name: Nightly\ncmd: ./run.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: daily\n',
  'healing-off': 'name: Healing off\ncmd: ./run.sh\nself_healing:\n  enabled: false\n  review_schedule:\n    frequency: on_failure\n',
};

let runNumber = 0;
function report(jobId: string, over: Record<string, unknown> = {}) {
  runNumber += 1;
  return http(stack.api, 'POST', `/api/v1/jobs/${jobId}/runs`, {
    external_id: `run-${runNumber}`,
    started_at: new Date(Date.now() - 30_000).toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: 30_000,
    exit_code: 0,
    ...over,
  });
}

const reviewsOf = (jobId: string) => stack.db('healing_reviews').where({ job_id: jobId }).orderBy('id');

async function finishedReviews(jobId: string, count: number) {
  return eventually(async () => {
    const rows = await reviewsOf(jobId);
    return rows.length >= count && rows.every((r) => r.status !== 'running') ? rows : undefined;
  }, 60_000, `${count} finished review(s) of ${jobId}`);
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  for (const [id, text] of Object.entries(JOBS)) await writeFile(path.join(stack.jobsDir, `${id}.yaml`), text);
});
afterAll(async () => stack?.stop());

describe('run reports as review triggers', () => {
  it('when an on_failure job reports a failed run, exactly one reactive review of that run starts', async () => {
    const ok = await report('flaky', { exit_code: 0 });
    expect(ok.status).toBe(201);
    expect(ok.body.review).toBeNull();

    const failed = await report('flaky', { exit_code: 2, error: 'boom', log_tail: 'Error: boom' });
    expect(failed.status).toBe(201);
    expect(failed.body.review).toEqual({ workflow_id: 'healing-review/flaky', already_running: false });
    const [review, ...others] = await finishedReviews('flaky', 1);
    expect(others).toEqual([]);
    expect(review).toMatchObject({ trigger: 'on_failure', run_id: failed.body.run.id, status: 'completed', runs_analyzed: 1 });
  });

  it('when an on_sla_breach job reports a run whose SLA failed, a review starts; a failure within the SLA starts none', async () => {
    const withinSla = await report('sla-watch', { exit_code: 1, sla_status: 'pass' });
    expect(withinSla.body.review).toBeNull();
    const breach = await report('sla-watch', { exit_code: 0, duration_ms: 95_000, sla_status: 'fail' });
    expect(breach.body.review).toMatchObject({ workflow_id: 'healing-review/sla-watch', already_running: false });
    const reviews = await finishedReviews('sla-watch', 1);
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ trigger: 'on_sla_breach', run_id: breach.body.run.id });
  });

  it('when a report carries no SLA verdict, the job\'s sla settings give it, and a breach starts a review', async () => {
    const quick = await report('sla-watch', { exit_code: 0, duration_ms: 10_000 });
    expect(quick.body.run).toMatchObject({ sla_status: 'pass' });
    expect(quick.body.review).toBeNull();
    const slow = await report('sla-watch', { exit_code: 0, duration_ms: undefined, started_at: '2026-11-23T02:00:00Z', finished_at: '2026-11-23T02:02:00Z' });
    expect(slow.body.run).toMatchObject({ sla_status: 'fail', sla_details: { max_duration: 60, duration_check: false } });
    expect(slow.body.review).toMatchObject({ workflow_id: 'healing-review/sla-watch' });
    const reviews = await finishedReviews('sla-watch', 2);
    expect(reviews.map((r: { run_id: number }) => r.run_id)).toContain(slow.body.run.id);
  });

  it('when manual, proactive or healing-off jobs report failed runs, no review starts', async () => {
    for (const jobId of ['by-hand', 'nightly', 'healing-off']) {
      const res = await report(jobId, { exit_code: 1, sla_status: 'fail' });
      expect(res.status, jobId).toBe(201);
      expect(res.body.review, jobId).toBeNull();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stack.db('healing_reviews').whereIn('job_id', ['by-hand', 'nightly', 'healing-off'])).toEqual([]);

    const manual = await http(stack.api, 'POST', '/api/v1/healing/reviews/by-hand/trigger', { force: true });
    expect(manual.status).toBe(202);
    const [review] = await finishedReviews('by-hand', 1);
    expect(review.trigger).toBe('manual');
  });

  it('when ten failed runs arrive at once, one review starts and the other nine join it', async () => {
    // With the worker stopped the first review cannot finish while the burst arrives.
    await stack.stopWorker();
    let answers;
    try {
      answers = await Promise.all(Array.from({ length: 10 }, (_, i) => report('bursty', { exit_code: 1, error: `failure ${i}` })));
    } finally {
      await stack.startWorker();
    }
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.body.review.workflow_id))).toEqual(new Set(['healing-review/bursty']));
    expect(answers.filter((a) => a.body.review.already_running === false)).toHaveLength(1);

    const reviews = await finishedReviews('bursty', 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second review would have started by now
    expect(await reviewsOf('bursty')).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ trigger: 'on_failure', status: 'completed' });
    expect((await stack.db('job_runs').where({ job_id: 'bursty' })).length).toBe(10); // every run is kept
  });
});
