// Notifications of pending suggestions: through a fake `openclaw message send` and to a local
// webhook server, once the review has completed; failures are retried, recorded, and never delay
// or fail the review.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyWorkflowId, reviewWorkflowId, type NotifyOutcome } from '../core/temporal.js';
import { upsertRun } from '../db/runs.js';
import { workflowBundle } from '../worker/workers.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let openclawLog: string;
let hookServer: Server;
let hookUrl: string;
const hookCalls: { path: string; body: any }[] = [];

/** A job whose runs fail with passing network errors: the rules analyzer proposes retries for it. */
async function flakyJob(id: string, suggestions: string) {
  await writeFile(
    path.join(stack.jobsDir, `${id}.yaml`),
    `# ${id}\nname: Backup ${id}\ncmd: ./backup.sh\ntype: scheduled\nschedule: "0 2 * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n` +
      `  review_schedule:\n    frequency: manual\n    min_runs: 3\n  suggestions:\n${suggestions}`,
  );
  for (let i = 0; i < 6; i++) {
    const fails = i % 2 === 0;
    const started = new Date(Date.now() - (6 - i) * 3_600_000);
    await upsertRun(stack.db, {
      job_id: id,
      external_id: `${id}-${i}`,
      started_at: started,
      finished_at: new Date(started.getTime() + 60_000),
      exit_code: fails ? 1 : 0,
      duration_ms: 60_000,
      trigger: 'scheduled',
      error: fails ? 'upload failed: connection reset by peer' : null,
      sla_status: fails ? 'fail' : 'pass',
      sla_details: null,
      log_path: null,
      log_tail: fails ? 'starting dump\nERROR: upload failed: connection reset by peer' : 'starting dump\nbackup done',
      session_messages: null,
    });
  }
}

/** Triggers a review of the job and waits until its row is closed, completed with pending suggestions. */
async function reviewClosed(jobId: string) {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const reviewId = started.body.review_id as number;
  const done = await eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${reviewId}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `review of ${jobId}`);
  expect(done.status).toBe('completed');
  const pending = done.suggestions.filter((s: any) => s.status === 'pending');
  expect(pending.length, 'the review leaves pending suggestions').toBeGreaterThan(0);
  return { review: done, pending };
}

/** The review's notification workflow, which the review starts once its row is closed. */
const notification = (reviewId: number) => stack.env.client.workflow.getHandle(notifyWorkflowId(reviewId));

/** Waits for the review's notification to start and then to end. */
async function notified(reviewId: number): Promise<NotifyOutcome> {
  await eventually(async () => notification(reviewId).describe(), 10_000, `the notification of review ${reviewId} to start`);
  return notification(reviewId).result();
}

/** A review of the job, its workflow ended (whatever it was to start, it has started). */
async function reviewEnded(jobId: string) {
  const closed = await reviewClosed(jobId);
  await stack.env.client.workflow.getHandle(reviewWorkflowId(jobId)).result();
  return closed;
}

/** A review of the job and its notification, both ended. */
async function review(jobId: string) {
  const closed = await reviewClosed(jobId);
  return { ...closed, notice: await notified(closed.review.id) };
}

const notificationsOf = (reviewId: number) => stack.db('healing_notifications').where({ review_id: reviewId });

async function sends(): Promise<any[]> {
  const text = await readFile(openclawLog, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.command === 'message send');
}

beforeAll(async () => {
  // Activities run in this process, so the fake openclaw inherits this environment.
  openclawLog = path.join(os.tmpdir(), `fake-openclaw-${process.pid}-${Date.now()}.log`);
  process.env.FAKE_OPENCLAW_LOG = openclawLog;
  hookServer = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      hookCalls.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.statusCode = req.url === '/hook-broken' ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', () => resolve()));
  const address = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
});
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => hookServer?.close(() => resolve()));
  delete process.env.FAKE_OPENCLAW_LOG;
  delete process.env.FAKE_OPENCLAW_MODE;
  await rm(openclawLog, { force: true });
});

describe('notifications of pending suggestions', () => {
  it('when a review leaves pending suggestions, openclaw message send gets the job, the count, the top titles and a dashboard link', async () => {
    await flakyJob('notify-telegram', '    notify_channel: telegram\n    notify_target: "@ops-team"\n');
    const { review: done, pending, notice } = await review('notify-telegram');
    expect(notice).toEqual({ sent: true, detail: 'sent to telegram @ops-team' });
    const sent = (await sends()).filter((s) => s.message?.includes('notify-telegram'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ channel: 'telegram', target: '@ops-team', json: true });
    const lines: string[] = sent[0].message.split('\n');
    const noun = pending.length === 1 ? 'suggestion' : 'suggestions';
    expect(lines[0]).toBe(`ProcClaw Healing: ${pending.length} new ${noun} for job "Backup notify-telegram" (notify-telegram).`);
    const mostSevere = [...pending].sort((a, b) => ['low', 'medium', 'high', 'critical'].indexOf(b.severity) - ['low', 'medium', 'high', 'critical'].indexOf(a.severity) || a.id - b.id)[0];
    expect(lines[1]).toBe(`- [${mostSevere.severity.toUpperCase()}] ${mostSevere.title}: http://dashboard.test/#/suggestions/${mostSevere.id}`);
    expect(lines.at(-1)).toBe(`Review: http://dashboard.test/#/reviews/${done.id}`);
    expect(await notificationsOf(done.id)).toEqual([
      expect.objectContaining({ channel: 'telegram', target: '@ops-team', status: 'sent', attempts: 1, error: null, suggestions_count: pending.length }),
    ]);
  });

  it('when the channel is webhook, the URL gets a JSON body with the job, the review, the count, the suggestions and the link', async () => {
    await flakyJob('notify-hook', `    notify_channel: webhook\n    notify_target: ${hookUrl}/hook-ok\n`);
    const { review: done, pending } = await review('notify-hook');
    const calls = hookCalls.filter((c) => c.body.job_id === 'notify-hook');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.path).toBe('/hook-ok');
    expect(calls[0]!.body).toMatchObject({
      job_id: 'notify-hook',
      review_id: done.id,
      count: pending.length,
      dashboard_url: `http://dashboard.test/#/reviews/${done.id}`,
    });
    expect(calls[0]!.body.suggestions.map((s: any) => s.id).sort()).toEqual(pending.map((s: any) => s.id).sort());
    expect(Object.keys(calls[0]!.body.suggestions[0]).sort()).toEqual(['category', 'id', 'severity', 'title', 'url']);
    for (const s of calls[0]!.body.suggestions) expect(s.url).toBe(`http://dashboard.test/#/suggestions/${s.id}`);
    expect(await notificationsOf(done.id)).toEqual([expect.objectContaining({ channel: 'webhook', status: 'sent', attempts: 1 })]);
  });

  it('when openclaw cannot send, the review completes at once while the notification is retried three times, then recorded as failed', async () => {
    await flakyJob('notify-broken-cli', '    notify_channel: discord\n    notify_target: "#ops"\n');
    process.env.FAKE_OPENCLAW_MODE = 'failing';
    try {
      const { review: done } = await reviewClosed('notify-broken-cli');
      // The review's row is completed and its workflow has returned while the notice still retries
      // (2 s, then 4 s, between its three tries).
      expect(await stack.env.client.workflow.getHandle(reviewWorkflowId('notify-broken-cli')).result()).toMatchObject({ reviewId: done.id, status: 'completed' });
      const during = await eventually(async () => notification(done.id).describe(), 10_000, 'the notification to start');
      expect(during.status.name).toBe('RUNNING');
      expect((await sends()).filter((s) => s.channel === 'discord').length).toBeLessThan(3);
      expect((await http(stack.api, 'GET', `/api/v1/healing/reviews/${done.id}`)).body.status).toBe('completed');

      expect(await notified(done.id)).toEqual({ sent: false, detail: 'notification to discord failed: openclaw message send exited 1: Channel is unavailable: discord' });
      const [row] = await notificationsOf(done.id);
      expect(row).toMatchObject({ channel: 'discord', status: 'failed', attempts: 3 });
      expect(row.error).toBe('openclaw message send exited 1: Channel is unavailable: discord');
      expect((await sends()).filter((s) => s.channel === 'discord')).toHaveLength(3);
      // the review's history (closing, then starting the notification) replays on today's code
      const history = await stack.env.client.workflow.getHandle(reviewWorkflowId('notify-broken-cli')).fetchHistory();
      await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, reviewWorkflowId('notify-broken-cli'))).resolves.toBeUndefined();
    } finally {
      delete process.env.FAKE_OPENCLAW_MODE;
    }
  });

  it('when the webhook answers 500, the notification is retried, recorded as failed with the status, and the review still completes', async () => {
    await flakyJob('notify-broken-hook', `    notify_channel: webhook\n    notify_target: ${hookUrl}/hook-broken\n`);
    const { review: done } = await review('notify-broken-hook');
    const [row] = await notificationsOf(done.id);
    expect(row).toMatchObject({ channel: 'webhook', status: 'failed', attempts: 3, error: 'the webhook answered HTTP 500' });
    expect(hookCalls.filter((c) => c.body.job_id === 'notify-broken-hook')).toHaveLength(3);
  });

  it('when no target is configured, the notification is recorded as skipped with the reason and nothing is sent (no notify workflow)', async () => {
    const before = (await sends()).length;
    await flakyJob('notify-no-target', '    notify_channel: whatsapp\n');
    const { review: done, pending } = await reviewEnded('notify-no-target');
    const [row] = await notificationsOf(done.id);
    expect(row).toMatchObject({ channel: 'whatsapp', status: 'skipped', target: null, attempts: 0, suggestions_count: pending.length });
    expect(row.error).toBe("no notify_target is configured for channel whatsapp: set self_healing.suggestions.notify_target in the job's file");
    await expect(notification(done.id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect((await sends()).length).toBe(before);
  });

  it('when notify_on_suggestion is off, nothing is sent or recorded, and no notify workflow starts', async () => {
    const before = (await sends()).length;
    await flakyJob('notify-off', '    notify_on_suggestion: false\n    notify_channel: telegram\n    notify_target: "@ops-team"\n');
    const { review: done } = await reviewEnded('notify-off');
    expect(await notificationsOf(done.id)).toEqual([]);
    await expect(notification(done.id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect((await sends()).length).toBe(before);
  });
});
