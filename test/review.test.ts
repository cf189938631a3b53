// The review pipeline end to end: real Postgres, the Temporal dev server, a real worker, the API.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { WorkflowFailedError } from '@temporalio/client';
import { reviewWorkflowId, TASK_QUEUE } from '../core/temporal.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
});
afterAll(async () => stack?.stop());

async function triggerAndWait(jobId: string, body: object = {}) {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, body);
  expect([200, 202]).toContain(started.status);
  const reviewId = started.body.review_id as number;
  const review = await eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${reviewId}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `review ${reviewId} to finish`);
  return { started: started.body, review };
}

describe('a review of a demo job', () => {
  it('when a job fails with transient errors and has no retry, the rules analyzer stores a retry edit of its YAML that keeps comments', async () => {
    const { review } = await triggerAndWait('nightly-backup');
    expect(review.status).toBe('completed');
    expect(review.analyzer).toBe('rules');
    expect(review.runs_analyzed).toBe(7);
    expect(review.suggestions_count).toBeGreaterThan(0);
    expect(review.suggestions).toHaveLength(review.suggestions_count);

    const retry = review.suggestions.find((s: any) => s.category === 'reliability' && s.target_file?.endsWith('nightly-backup.yaml'));
    expect(retry, JSON.stringify(review.suggestions.map((s: any) => s.title))).toBeDefined();
    const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${retry.id}`);
    expect(detail.body.proposed_content).toContain('# Nightly backup of the app database');
    expect(detail.body.proposed_content).toContain('owner: ops-team');
    expect(parse(detail.body.proposed_content).retry.enabled).toBe(true);
    expect(detail.body.diff).toContain('+retry:');
    expect(detail.body.status).toBe('pending');
    expect(detail.body.workflow_id).toBe(`healing-suggestion/${retry.id}`);
  });

  it('when a job is healthy, the review completes with no suggestions', async () => {
    const { review } = await triggerAndWait('healthy-cleanup');
    expect(review.status).toBe('completed');
    expect(review.suggestions).toEqual([]);
  });

  it('when the same review runs again, suggestions still pending are counted as duplicates, not stored twice', async () => {
    const before = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=report-sync');
    const first = await triggerAndWait('report-sync');
    expect(first.review.suggestions_count).toBeGreaterThan(0);
    const second = await triggerAndWait('report-sync', { force: true });
    expect(second.review.status).toBe('completed');
    expect(second.review.suggestions_count).toBe(0);
    expect(second.review.duplicates_count).toBeGreaterThan(0);
    const after = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=report-sync');
    expect(after.body.total).toBe(before.body.total + first.review.suggestions_count);
  });

  it('when a pending suggestion\'s file changed since (stale), a re-review stores one made against the file as it is now', async () => {
    const pending = (await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=report-sync&status=pending')).body.suggestions;
    const onScript = pending.find((s: any) => s.target_file?.endsWith('sync_report.py'));
    expect(onScript, JSON.stringify(pending.map((s: any) => s.title))).toBeDefined();
    await writeFile(onScript.target_file, `${await readFile(onScript.target_file, 'utf8')}# edited by hand\n`);
    expect((await http(stack.api, 'GET', `/api/v1/healing/suggestions/${onScript.id}`)).body.stale).toBe(true);

    const again = await triggerAndWait('report-sync', { force: true });
    expect(again.review.status).toBe('completed');
    const fresh = again.review.suggestions.find((s: any) => s.title === onScript.title);
    expect(fresh, JSON.stringify(again.review.suggestions.map((s: any) => s.title))).toBeDefined();
    const detail = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${fresh.id}`)).body;
    expect(detail.stale).toBe(false);
    expect(detail.current_content).toContain('# edited by hand');
    expect(fresh.id).not.toBe(onScript.id);
    expect((await http(stack.api, 'GET', `/api/v1/healing/suggestions/${onScript.id}`)).body).toMatchObject({ status: 'pending', stale: true });
  });

  it('when a job has fewer runs than min_runs, the review is skipped with the reason, unless forced', async () => {
    await writeFile(
      path.join(stack.jobsDir, 'fresh-job.yaml'),
      'name: Fresh\ncmd: ./scripts/cleanup.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    min_runs: 3\n',
    );
    const skipped = await triggerAndWait('fresh-job');
    expect(skipped.review.status).toBe('skipped');
    expect(skipped.review.skip_reason).toMatch(/only 0 run\(s\).*min_runs is 3/);
    const forced = await triggerAndWait('fresh-job', { force: true });
    expect(forced.review.status).toBe('completed');
  });

  it('when a reactive job reports a failed run, a review of that one run starts by itself', async () => {
    const report = await http(stack.api, 'POST', '/api/v1/jobs/deploy-hook/runs', {
      external_id: 'deploy-41',
      started_at: new Date(Date.now() - 60_000).toISOString(),
      finished_at: new Date().toISOString(),
      exit_code: 1,
      error: 'npm ci failed',
      log_tail: 'npm ERR! network ETIMEDOUT\nnpm ERR! network timeout fetching registry',
    });
    expect(report.status).toBe(201);
    expect(report.body.review.workflow_id).toBe('healing-review/deploy-hook');
    const review = await eventually(async () => {
      const list = await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=deploy-hook');
      const r = list.body.reviews[0];
      return r && r.status !== 'running' ? r : undefined;
    }, 60_000, 'the reactive review');
    expect(review.trigger).toBe('on_failure');
    expect(review.runs_analyzed).toBe(1);
    expect(review.status).toBe('completed');
  });

  it('when the same run is reported twice, it is stored once and starts no second review', async () => {
    const body = { external_id: 'deploy-41', started_at: new Date().toISOString(), exit_code: 1 };
    const again = await http(stack.api, 'POST', '/api/v1/jobs/deploy-hook/runs', body);
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    expect(again.body.review).toBeNull();
    const runs = await http(stack.api, 'GET', '/api/v1/jobs/deploy-hook/runs');
    expect(runs.body.runs.filter((r: any) => r.external_id === 'deploy-41')).toHaveLength(1);
  });
});

describe('the review API', () => {
  it('when a job is unknown, trigger answers 404; when healing is off, 409 saying so', async () => {
    const unknown = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'no-such-job' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ success: false, error: expect.stringContaining('no-such-job') });
    await writeFile(path.join(stack.jobsDir, 'plain.yaml'), 'name: Plain\ncmd: echo hi\n');
    const disabled = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'plain' });
    expect(disabled.status).toBe(409);
    expect(disabled.body.error).toMatch(/not enabled/);
  });

  it('when bodies or queries are malformed, it answers 400 with success false, the error and the fields', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/v1/healing/trigger', {}],
      ['POST', '/api/v1/healing/trigger', { job_id: '../etc/passwd' }],
      ['POST', '/api/v1/healing/trigger', '{"job_id": '],
      ['POST', '/api/v1/healing/trigger', { job_id: 'nightly-backup', force: 'yes' }],
      ['GET', '/api/v1/healing/suggestions?limit=100000', undefined],
      ['GET', '/api/v1/healing/suggestions?severity=apocalyptic', undefined],
      ['GET', '/api/v1/healing/suggestions/abc', undefined],
      ['POST', '/api/v1/healing/suggestions/1/reject', { reason: '' }],
      ['POST', '/api/v1/jobs/nightly-backup/runs', { started_at: 'yesterday' }],
    ];
    for (const [method, url, body] of cases) {
      const answer = await http(stack.api, method, url, body);
      expect(answer.status, `${method} ${url}`).toBe(400);
      expect(answer.body.success).toBe(false);
      expect(typeof answer.body.error).toBe('string');
      expect(answer.body).toHaveProperty('detail');
    }
  });

  it('when one job file is invalid, it is reported with file, field and reason and the other jobs still load', async () => {
    await writeFile(path.join(stack.jobsDir, 'broken.yaml'), 'name: Broken\ncmd: ./x.sh\nself_healing:\n  review_schedule:\n    frequency: fortnightly\n');
    const jobs = await http(stack.api, 'GET', '/api/v1/jobs');
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs.map((j: any) => j.id)).toContain('nightly-backup');
    expect(jobs.body.errors).toContainEqual(
      expect.objectContaining({ job_id: 'broken', file: path.join(stack.jobsDir, 'broken.yaml'), field: 'self_healing.review_schedule.frequency' }),
    );
    const one = await http(stack.api, 'GET', '/api/v1/jobs/broken');
    expect(one.status).toBe(200);
    expect(one.body.loaded).toBe(false);
    expect(one.body.errors[0].reason).toBeTruthy();
  });

  it('lists filter and page: total counts every match, limit and offset slice it', async () => {
    const all = await http(stack.api, 'GET', '/api/v1/healing/suggestions?status=pending&limit=500');
    expect(all.body.total).toBeGreaterThan(2);
    const page = await http(stack.api, 'GET', '/api/v1/healing/suggestions?status=pending&limit=2&offset=1');
    expect(page.body).toMatchObject({ total: all.body.total, limit: 2, offset: 1 });
    expect(page.body.suggestions.map((s: any) => s.id)).toEqual(all.body.suggestions.slice(1, 3).map((s: any) => s.id));
    const count = await http(stack.api, 'GET', '/api/v1/healing/suggestions/pending/count');
    expect(count.body.count).toBe(all.body.total);
    const manual = await http(stack.api, 'GET', '/api/v1/healing/reviews?trigger=on_failure');
    expect(manual.body.reviews.every((r: any) => r.trigger === 'on_failure')).toBe(true);
  });

  it('publishes an OpenAPI document naming every endpoint of the seed with its request schemas', async () => {
    const doc = await http(stack.api, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    for (const route of ['/healing/reviews', '/healing/reviews/{id}', '/healing/trigger', '/healing/suggestions', '/healing/suggestions/{id}/approve',
      '/healing/suggestions/{id}/reject', '/healing/suggestions/{id}/apply', '/healing/actions', '/healing/actions/{id}/rollback', '/healing/stats',
      '/jobs/{id}/healing/summary', '/jobs/{id}/runs', '/jobs/{id}/self-healing']) {
      expect(doc.body.paths, route).toHaveProperty([route]);
    }
    expect(doc.body.paths['/healing/suggestions/{id}/reject'].post.requestBody.content['application/json'].schema.required).toEqual(['reason']);
  });

  it('health says Postgres, Temporal and a worker are reachable and which analyzer is active', async () => {
    const health = await http(stack.api, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', postgres: { ok: true }, temporal: { ok: true }, worker: { ok: true }, analyzer: { active: 'rules' } });
  });
});

describe('a review cancelled from Temporal', () => {
  it('when the job has left the catalog by the time its review runs, the review fails with the reason and its row is closed as failed', async () => {
    // started as a schedule or an earlier trigger would have, for a job whose file is gone since
    const handle = await stack.env.client.workflow.start('reviewWorkflow', { workflowId: reviewWorkflowId('gone-job'), taskQueue: TASK_QUEUE, args: [{ jobId: 'gone-job', trigger: 'manual' }] });
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const row = await stack.db('healing_reviews').where({ workflow_run_id: handle.firstExecutionRunId }).first();
    expect(row).toMatchObject({ job_id: 'gone-job', status: 'failed', error_message: 'job "gone-job" is not in the job catalog' });
    expect(row.finished_at).not.toBeNull();
  });

  it('when cancelled while the analyzer works, its row is closed as failed, not left running', async () => {
    const calls = path.join(stack.workDir, 'openclaw-calls.jsonl');
    stack.analyzer.mode = 'openclaw';
    process.env.FAKE_OPENCLAW_LOG = calls;
    process.env.FAKE_OPENCLAW_DELAY_MS = '10000';
    try {
      const started = await http(stack.api, 'POST', '/api/v1/healing/reviews/report-sync/trigger', { force: true });
      expect(started.status).toBe(202);
      await eventually(async () => (await readFile(calls, 'utf8').catch(() => '')).includes('"command":"agent"'), 30_000, 'the analyzer to start');
      await stack.env.client.workflow.getHandle(reviewWorkflowId('report-sync')).cancel();
      const review = await eventually(async () => {
        const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
        return r.body.status !== 'running' ? r.body : undefined;
      }, 20_000, 'the cancelled review to close its row');
      expect(review.status).toBe('failed');
      expect(review.error_message).toMatch(/cancel/i);
    } finally {
      stack.analyzer.mode = 'rules';
      delete process.env.FAKE_OPENCLAW_LOG;
      delete process.env.FAKE_OPENCLAW_DELAY_MS;
    }
  });
});
