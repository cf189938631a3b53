// What the dashboard asks of the API beyond lists and decisions (issue 15): a test notification
// through a job's channel, every problem of a self_healing edit named at once in words a person
// can act on, a skipped review that says whether a forced one would run, and the demo's first
// reviews that fill a fresh workspace. On the real stack with the demo workspace.
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app.js';
import { loadTokens } from '../api/auth.js';
import { FIRST_REVIEWS_MARKER, runFirstReviews, seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { upsertRun } from '../db/runs.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let hook: Server;
let hookUrl: string;
const hookCalls: { path: string; body: any }[] = [];

beforeAll(async () => {
  stack = await startStack();
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
  // A webhook receiver: /fail answers 500, anything else 204.
  hook = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      hookCalls.push({ path: req.url ?? '', body: JSON.parse(text || 'null') });
      res.statusCode = req.url === '/fail' ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
  await stack?.stop();
});

/** Waits for the review to end and answers its detail. */
async function reviewEnded(reviewId: number) {
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${reviewId}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `review ${reviewId} to end`);
}

describe('the demo\'s first reviews', () => {
  it('a fresh demo workspace gets its reviews once: suggestions in every state, a skipped review, and a reactive review of the failed deploy', async () => {
    const marker = path.join(stack.workDir, FIRST_REVIEWS_MARKER);
    expect(JSON.parse(await readFile(marker, 'utf8'))).toEqual({ status: 'pending' });
    const done = await runFirstReviews({ client: stack.env.client, db: stack.db, root: stack.workDir, jobsSource: stack.jobsDir, log: pino({ level: 'silent' }) });
    expect(done).not.toBeNull();
    expect(done!.applied).not.toBeNull();
    expect(done!.rolledBack).not.toBeNull();
    expect(done!.rejected).not.toBeNull();

    const reviews = (await http(stack.api, 'GET', '/api/v1/healing/reviews?limit=50')).body.reviews as any[];
    const byJob = (job: string) => reviews.filter((r) => r.job_id === job);
    for (const job of ['nightly-backup', 'report-sync', 'idea-hunter', 'healthy-cleanup']) expect(byJob(job).some((r) => r.status === 'completed'), job).toBe(true);
    expect(byJob('deploy-hook')).toEqual([expect.objectContaining({ trigger: 'on_failure', status: 'completed' })]);
    const skipped = reviews.filter((r) => r.status === 'skipped');
    expect(skipped).toEqual([expect.objectContaining({ skipped_below_min_runs: true, skip_reason: expect.stringMatching(/^only 0 run\(s\) since .*; min_runs is \d+/) })]);

    const count = async (status: string) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions?status=${status}&limit=1`)).body.total as number;
    expect(await count('pending')).toBeGreaterThan(0);
    expect(await count('applied')).toBe(1);
    expect(await count('rolled_back')).toBe(1);
    expect(await count('rejected')).toBe(1);
    const rejected = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${done!.rejected}`)).body;
    expect(rejected).toMatchObject({ status: 'rejected', reviewed_by: 'demo', rejection_reason: expect.stringContaining('demo') });
    expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({ status: 'done' });

    // a second start finds the marker done and reviews nothing
    const total = (await http(stack.api, 'GET', '/api/v1/healing/reviews?limit=1')).body.total as number;
    expect(await runFirstReviews({ client: stack.env.client, db: stack.db, root: stack.workDir, jobsSource: stack.jobsDir, log: pino({ level: 'silent' }) })).toBeNull();
    expect((await http(stack.api, 'GET', '/api/v1/healing/reviews?limit=1')).body.total).toBe(total);
  });

  it('a workspace without the marker (written before first reviews existed) is left as it is', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'healing-old-demo-'));
    expect(await runFirstReviews({ client: stack.env.client, db: stack.db, root, jobsSource: stack.jobsDir, log: pino({ level: 'silent' }) })).toBeNull();
  });
});

describe('a skipped review says whether a forced one would run', () => {
  it('below min_runs the review is skipped with skipped_below_min_runs true, and with force it completes', async () => {
    // healthy-cleanup (min_runs 3) was just reviewed: no run since
    const first = await http(stack.api, 'POST', '/api/v1/healing/reviews/healthy-cleanup/trigger', {});
    expect(first.status).toBe(202);
    const skipped = await reviewEnded(first.body.review_id);
    expect(skipped).toMatchObject({ status: 'skipped', skipped_below_min_runs: true, skip_reason: expect.stringContaining('min_runs is 3') });
    const listed = (await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=healthy-cleanup&status=skipped')).body.reviews as any[];
    expect(listed[0]).toMatchObject({ skipped_below_min_runs: true });

    const forced = await http(stack.api, 'POST', '/api/v1/healing/reviews/healthy-cleanup/trigger', { force: true });
    expect(forced.status).toBe(202);
    expect(await reviewEnded(forced.body.review_id)).toMatchObject({ status: 'completed', skipped_below_min_runs: false });
  });

  it('a reactive job with no failed run in its window is skipped with skipped_below_min_runs false: force would not help', async () => {
    await writeFile(path.join(stack.jobsDir, 'quiet-hook.yaml'), 'name: Quiet hook\ncmd: ./scripts/deploy.sh\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n');
    await upsertRun(stack.db, {
      job_id: 'quiet-hook', external_id: 'ok-1', started_at: new Date(Date.now() - 60_000), finished_at: new Date(), exit_code: 0, duration_ms: 60_000,
      trigger: 'manual', error: null, sla_status: 'pass', sla_details: null, log_path: null, log_tail: 'ok', session_messages: null,
    });
    const started = await http(stack.api, 'POST', '/api/v1/healing/reviews/quiet-hook/trigger', { force: true });
    expect(started.status).toBe(202);
    expect(await reviewEnded(started.body.review_id)).toMatchObject({ status: 'skipped', skipped_below_min_runs: false, skip_reason: expect.stringContaining('no failed run') });
  });
});

describe('messages a person can act on', () => {
  it('a self_healing edit with four problems answers all four at once, each in plain words, and writes nothing', async () => {
    const file = path.join(stack.jobsDir, 'report-sync.yaml');
    const before = await readFile(file, 'utf8');
    const res = await http(stack.api, 'PUT', '/api/v1/jobs/report-sync/self-healing', {
      mode: 'sometimes',
      enabeld: true,
      review_schedule: { min_runs: -1, time: '25:00' },
      suggestions: { suggestion_ttl_days: 'soon' },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toEqual(
      expect.arrayContaining([
        { field: 'enabeld', reason: expect.stringMatching(/^unknown field; self_healing has enabled, mode/) },
        { field: 'mode', reason: 'must be reactive or proactive' },
        { field: 'review_schedule.min_runs', reason: 'must be 0 or more' },
        { field: 'review_schedule.time', reason: 'must be HH:MM (24-hour), e.g. "03:00"' },
        { field: 'suggestions.suggestion_ttl_days', reason: 'must be a number, not the text "soon"' },
      ]),
    );
    expect(res.body.detail).toHaveLength(5);
    expect(res.body.error).toContain('review_schedule.min_runs: must be 0 or more');
    expect(res.body.error).not.toMatch(/Too small|Invalid input|expected/);
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('a list filter with a value outside its choices answers 400 naming the choices in words', async () => {
    const res = await http(stack.api, 'GET', '/api/v1/healing/suggestions?status=bogus');
    expect(res.status).toBe(400);
    expect(res.body.detail).toEqual([{ field: 'status', reason: expect.stringMatching(/^must be one of pending, approved, rejected, applied, failed, expired, rolled_back/) }]);
    expect(res.body.error).not.toMatch(/Invalid option|expected/);
  });
});

describe('a test notification', () => {
  it('through a webhook given in the body, it posts a test payload and answers sent', async () => {
    const res = await http(stack.api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', { channel: 'webhook', target: `${hookUrl}/ok` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, job_id: 'nightly-backup', channel: 'webhook', target: `${hookUrl}/ok`, sent: true, error: null });
    const call = hookCalls.find((c) => c.path === '/ok');
    expect(call?.body).toMatchObject({ test: true, job_id: 'nightly-backup', job_name: 'Nightly backup', sent_by: 'human', text: expect.stringContaining('test notification') });
  });

  it('when the webhook answers 500, it answers sent false with the reason', async () => {
    const res = await http(stack.api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', { channel: 'webhook', target: `${hookUrl}/fail` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sent: false, error: 'the webhook answered HTTP 500' });
  });

  it('with no target in the job or the body, 400 naming target', async () => {
    const res = await http(stack.api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', {});
    expect(res.status).toBe(400);
    expect(res.body.detail).toEqual([{ field: 'target', reason: 'no target for channel whatsapp: set the target (a phone number, chat id or webhook URL) first' }]);
  });

  it('with the job\'s own webhook target from its file, it sends there', async () => {
    const file = path.join(stack.jobsDir, 'idea-hunter.yaml');
    const saved = await http(stack.api, 'PUT', '/api/v1/jobs/idea-hunter/self-healing', { suggestions: { notify_channel: 'webhook', notify_target: `${hookUrl}/from-file` } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(await readFile(file, 'utf8')).toContain(`${hookUrl}/from-file`);
    const res = await http(stack.api, 'POST', '/api/v1/jobs/idea-hunter/notify-test', {});
    expect(res.body).toMatchObject({ channel: 'webhook', target: `${hookUrl}/from-file`, sent: true });
    expect(hookCalls.some((c) => c.path === '/from-file')).toBe(true);
  });

  it('a webhook target that is not a URL, an unknown field, an unknown job: 400, 400, 404', async () => {
    const notUrl = await http(stack.api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', { channel: 'webhook', target: 'not a url' });
    expect(notUrl.status).toBe(400);
    expect(notUrl.body.detail).toEqual([{ field: 'target', reason: 'notify_target "not a url" is not a URL; channel webhook needs an http(s) URL' }]);
    const unknown = await http(stack.api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', { chanel: 'webhook' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail[0]).toMatchObject({ field: 'chanel' });
    const missing = await http(stack.api, 'POST', '/api/v1/jobs/no-such-job/notify-test', { channel: 'webhook', target: hookUrl });
    expect(missing.status).toBe(404);
  });

  it('needs the approver role, and is rate limited like every command', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-notify-tokens-'));
    const file = path.join(dir, 'tokens.yaml');
    await writeFile(file, 'tokens:\n  - { name: vera, role: viewer, token: vera-viewer-token-0123456789 }\n  - { name: amos, role: approver, token: amos-approver-token-0123456789 }\n');
    const app = createApp({
      db: stack.db,
      temporal: async () => stack.env.client,
      temporalNamespace: 'default',
      jobsSource: stack.jobsDir,
      temporalUiUrl: null,
      analyzerStatus: async () => ({ active: 'rules', openclaw: { available: false, version: null, problem: 'not installed' } }),
      log: pino({ level: 'silent' }),
      webDist: null,
      tokens: loadTokens({ apiToken: null, tokensFile: file }),
      commandRateLimit: 2,
      notify: { openclawBin: 'openclaw', openclawNode: null, dashboardUrl: 'http://dash.test/' },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const api = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const body = { channel: 'webhook', target: `${hookUrl}/roles` };
      const asViewer = await http(api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', body, 'vera-viewer-token-0123456789');
      expect(asViewer.status).toBe(403);
      expect(asViewer.body.error).toBe('token "vera" has role viewer; this needs approver');
      const asApprover = await http(api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', body, 'amos-approver-token-0123456789');
      expect(asApprover.body).toMatchObject({ sent: true });
      expect(hookCalls.find((c) => c.path === '/roles')?.body).toMatchObject({ sent_by: 'amos', dashboard_url: 'http://dash.test/#/jobs' });
      await http(api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', body, 'amos-approver-token-0123456789');
      const limited = await http(api, 'POST', '/api/v1/jobs/nightly-backup/notify-test', body, 'amos-approver-token-0123456789');
      expect(limited.status).toBe(429);
      expect(hookCalls.filter((c) => c.path === '/roles')).toHaveLength(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
