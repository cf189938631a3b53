// The regression watch after an apply (issue 18), through the real stack: the suggestion's
// workflow counts the job's runs since the apply on durable timers (one second apart here,
// HEALING's default is an hour), judges them against the runs before, stores the verdict on the
// action, and rolls back by itself where the job allows, notifying the job's webhook.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionDetailAnswer, ActionListAnswer, SuggestionDetailAnswer } from '../api/schemas.js';
import { suggestionWorkflowId } from '../core/temporal.js';
import { upsertRun } from '../db/runs.js';
import { createSuggestion } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let hookServer: Server;
let hookUrl: string;
const notices: any[] = [];

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      notices.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const address = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  stack = await startStack({ waits: { watchCheckS: 1 } });
  await mkdir(stack.jobsDir, { recursive: true });
});
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => hookServer?.close(() => resolve()));
});

/** A job whose file the suggestions edit, watching its next 3 runs; `watch` lines go under self_healing.watch. */
async function watchedJob(jobId: string, watch = ''): Promise<{ file: string; original: string; proposed: string }> {
  const file = path.join(stack.jobsDir, `${jobId}.yaml`);
  const original =
    `# ${jobId}: loads the warehouse.\nname: ETL ${jobId}\ncmd: ./etl.sh\ntype: scheduled\nschedule: "0 * * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n` +
    `  review_schedule:\n    frequency: manual\n  suggestions:\n    notify_channel: webhook\n    notify_target: ${hookUrl}\n  watch:\n    runs: 3\n${watch}`;
  await writeFile(file, original);
  const proposed = original.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');
  return { file, original, proposed };
}

interface RunShape {
  ok: boolean;
  durationMs?: number;
  error?: string;
}

/** Runs before the apply: hours ago, stored as an import or a report would. */
async function history(jobId: string, runs: RunShape[]) {
  for (const [i, run] of runs.entries()) {
    const started = new Date(Date.now() - (runs.length - i + 1) * 3_600_000);
    await upsertRun(stack.db, {
      job_id: jobId,
      external_id: `${jobId}-before-${i}`,
      started_at: started,
      finished_at: new Date(started.getTime() + (run.durationMs ?? 60_000)),
      exit_code: run.ok ? 0 : 1,
      duration_ms: run.durationMs ?? 60_000,
      trigger: 'scheduled',
      error: run.ok ? null : (run.error ?? 'upload failed: connection reset by peer'),
      sla_status: null,
      sla_details: null,
      log_path: null,
      log_tail: null,
      session_messages: null,
    });
  }
}

let reported = 0;
/** Runs after the apply, reported through the API as a scheduler would. */
async function report(jobId: string, runs: RunShape[]) {
  for (const run of runs) {
    reported += 1;
    const started = new Date(Date.now() + 10);
    const answer = await http(stack.api, 'POST', `/api/v1/jobs/${jobId}/runs`, {
      external_id: `${jobId}-after-${reported}`,
      started_at: started.toISOString(),
      finished_at: new Date(started.getTime() + (run.durationMs ?? 60_000)).toISOString(),
      exit_code: run.ok ? 0 : 1,
      error: run.ok ? null : (run.error ?? 'KeyError: customer_id'),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  }
}

const suggestion = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
const action = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/actions/${id}`)).body;
const applied = (id: number) => eventually(async () => ((await suggestion(id)).status === 'applied' ? suggestion(id) : undefined), 20_000, `suggestion ${id} applied`);
const watching = (actionId: number) => eventually(async () => ((await action(actionId)).watch_status === 'watching' ? true : undefined), 20_000, `action ${actionId} watched`);
const judged = (actionId: number, timeoutMs = 30_000) => eventually(async () => {
  const a = await action(actionId);
  return a.watch_status === 'done' ? a : undefined;
}, timeoutMs, `a verdict on action ${actionId}`);
const noticesOf = (actionId: number) => notices.filter((n) => n.action_id === actionId);
const currentDetails = async (id: number) =>
  ((await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails ?? '';

/** An auto-applied change of `jobId`'s file, watched. */
async function autoApplied(jobId: string, job: { file: string; proposed: string }) {
  const id = await createSuggestion(stack, { jobId, targetFile: job.file, proposed: job.proposed, input: { autoApply: true } });
  const row = await applied(id);
  await watching(row.action_id);
  return { id, actionId: row.action_id as number };
}

/** A change a person approved (and so applied), watched. */
async function humanApproved(jobId: string, job: { file: string; proposed: string }) {
  const id = await createSuggestion(stack, { jobId, targetFile: job.file, proposed: job.proposed });
  const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
  expect(answer.body.status, JSON.stringify(answer.body)).toBe('applied');
  await watching(answer.body.action_id);
  return { id, actionId: answer.body.action_id as number };
}

const clean = (n: number): RunShape[] => Array.from({ length: n }, () => ({ ok: true }));
const broken = (n: number): RunShape[] => Array.from({ length: n }, () => ({ ok: false }));

describe('an applied change is watched', () => {
  it('when an auto-applied change is followed by worse runs, the watch rolls it back by itself and notifies with the figures', async () => {
    const job = await watchedJob('auto-worse');
    await history('auto-worse', clean(6));
    const { id, actionId } = await autoApplied('auto-worse', job);
    expect((await action(actionId)).verdict_details.summary).toBe('not enough runs yet: 0 of 3 since the apply');

    await report('auto-worse', broken(3));
    await eventually(async () => ((await suggestion(id)).status === 'rolled_back' ? true : undefined), 30_000, 'the automatic rollback');
    expect(await readFile(job.file, 'utf8')).toBe(job.original);
    // marked automatic by the watch's next step, just after the rollback itself
    await eventually(async () => ((await action(actionId)).auto_reverted ? true : undefined), 10_000, 'the rollback marked automatic');
    const after = await action(actionId);
    expect(ActionDetailAnswer.safeParse(after).error).toBeUndefined();
    expect(after).toMatchObject({ status: 'rolled_back', rolled_back_by: 'regression-watch', watch_status: 'done', verdict: 'regressed', auto_reverted: true });
    expect(after.verdict_details).toMatchObject({ runs_before: 6, runs_after: 3, auto_revert: true });
    expect(after.verdict_details.measures.find((m: any) => m.measure === 'success_rate')).toMatchObject({ before: 100, after: 0, change: 'worse' });

    const notice = await eventually(async () => noticesOf(actionId)[0], 10_000, 'the notification');
    expect(notice).toMatchObject({ event: 'regression_watch', outcome: 'auto_reverted', job_id: 'auto-worse', suggestion_id: id, verdict: 'regressed', action_url: `http://dashboard.test/#/actions/${actionId}` });
    expect(notice.summary).toMatch(/success rate 100% -> 0% \(down 100 points; the margin is 20\)/);

    const list = (await http(stack.api, 'GET', `/api/v1/healing/actions?job_id=auto-worse`)).body;
    expect(ActionListAnswer.safeParse(list).error).toBeUndefined();
    expect(list.actions[0]).toMatchObject({ id: actionId, verdict: 'regressed', auto_reverted: true });
    const detail = await suggestion(id);
    expect(SuggestionDetailAnswer.safeParse(detail).error).toBeUndefined();
    expect(detail.watch).toMatchObject({ action_id: actionId, verdict: 'regressed', auto_reverted: true });
    const details = await currentDetails(id);
    expect(details).toContain('regression watch: **regressed**');
    expect(details).toContain('rolled back by the regression watch');
  });

  it('when a human-approved change is followed by better runs, it is marked improved and stays, with no notification', async () => {
    const job = await watchedJob('human-better');
    await history('human-better', [...clean(3), ...broken(3)]);
    const { id, actionId } = await humanApproved('human-better', job);
    await report('human-better', clean(2));
    await eventually(async () => ((await action(actionId)).verdict_details.runs_after === 2 ? true : undefined), 10_000, 'the progress stored');
    expect((await action(actionId)).verdict_details.summary).toBe('not enough runs yet: 2 of 3 since the apply');
    await report('human-better', clean(1));
    const after = await judged(actionId);
    expect(after).toMatchObject({ status: 'success', verdict: 'improved', auto_reverted: false });
    expect(after.verdict_details.measures.find((m: any) => m.measure === 'success_rate')).toMatchObject({ before: 50, after: 100, change: 'better' });
    expect((await suggestion(id)).status).toBe('applied');
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
    expect(noticesOf(actionId)).toEqual([]);
    expect(await currentDetails(id)).toContain('regression watch: **improved**');
  });

  it('when a human-approved change is followed by worse runs, it is not rolled back: the person is notified with a one-click rollback link', async () => {
    const job = await watchedJob('human-worse');
    await history('human-worse', clean(5));
    const { id, actionId } = await humanApproved('human-worse', job);
    await report('human-worse', broken(3));
    const after = await judged(actionId);
    expect(after).toMatchObject({ status: 'success', verdict: 'regressed', auto_reverted: false, can_rollback: true });
    const notice = await eventually(async () => noticesOf(actionId)[0], 10_000, 'the notification');
    expect(notice).toMatchObject({ outcome: 'needs_person', action_url: `http://dashboard.test/#/actions/${actionId}` });
    expect((await suggestion(id)).status).toBe('applied');
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
    // the link's Rollback still works: the watch has not closed anything
    const rollback = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, {});
    expect(rollback.body.status).toBe('rolled_back');
  });

  it('when the file was edited by hand after an auto-applied change, a regression does not overwrite it: the watch notifies instead', async () => {
    const job = await watchedJob('edited');
    await history('edited', clean(5));
    const { id, actionId } = await autoApplied('edited', job);
    const handEdited = `${job.proposed}# tuned by hand after the apply\n`;
    await writeFile(job.file, handEdited);
    await report('edited', broken(3));
    const after = await judged(actionId);
    expect(after).toMatchObject({ status: 'success', verdict: 'regressed', auto_reverted: false });
    const notice = await eventually(async () => noticesOf(actionId)[0], 10_000, 'the notification');
    expect(notice.outcome).toBe('revert_refused');
    expect(notice.reason).toMatch(/was changed after the apply/);
    expect(await readFile(job.file, 'utf8')).toBe(handEdited);
    expect((await suggestion(id)).status).toBe('applied');
  });

  it('when the worker is down while the worse runs arrive, the watch judges them once it is back: one verdict, one rollback, one notification', async () => {
    const job = await watchedJob('restart');
    await history('restart', clean(5));
    const { id, actionId } = await autoApplied('restart', job);
    await stack.stopWorker();
    try {
      await report('restart', broken(3));
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // past a timer or two, with no worker
      expect((await action(actionId)).watch_status).toBe('watching');
      expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
    } finally {
      await stack.startWorker();
    }
    await eventually(async () => ((await suggestion(id)).status === 'rolled_back' ? true : undefined), 30_000, 'the automatic rollback');
    expect(await readFile(job.file, 'utf8')).toBe(job.original);
    // marked automatic by the watch's next step, just after the rollback itself
    await eventually(async () => ((await action(actionId)).auto_reverted ? true : undefined), 10_000, 'the rollback marked automatic');
    expect(await action(actionId)).toMatchObject({ verdict: 'regressed', auto_reverted: true, rolled_back_by: 'regression-watch' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(noticesOf(actionId)).toHaveLength(1);
    expect(await stack.db('healing_actions').where({ suggestion_id: id })).toHaveLength(1);
  });

  it('when the job stops running, the watch ends inconclusive at its max_days bound, the change kept', async () => {
    const job = await watchedJob('stopped', '    max_days: 0.00005\n'); // 4.3 seconds
    await history('stopped', clean(5));
    const { id, actionId } = await autoApplied('stopped', job);
    await report('stopped', broken(1));
    const after = await judged(actionId, 30_000);
    expect(after).toMatchObject({ status: 'success', verdict: 'inconclusive', auto_reverted: false });
    expect(after.verdict_details.summary).toBe('not enough runs to judge: 1 after the apply and 5 before it (at least 3 each)');
    expect((await suggestion(id)).status).toBe('applied');
    expect(noticesOf(actionId)).toEqual([]);
  });

  it('when a person rolls back during the watch, the watch ends with no verdict and the rollback is theirs', async () => {
    const job = await watchedJob('rolled');
    await history('rolled', clean(5));
    const { id, actionId } = await humanApproved('rolled', job);
    const rollback = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, {});
    expect(rollback.body.status).toBe('rolled_back');
    const after = await judged(actionId);
    expect(after).toMatchObject({ status: 'rolled_back', rolled_back_by: 'human', verdict: null, auto_reverted: false });
    expect(after.verdict_details.stopped).toBe('the change was rolled back before a verdict');
    await report('rolled', broken(3));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await action(actionId)).verdict).toBeNull();
    expect(await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).result()).toBe('rolled_back');
  });

  it('when the rollback window closes before enough runs came, the watch ends with it, inconclusive, and the workflow ends applied', async () => {
    const job = await watchedJob('short-window');
    await history('short-window', clean(5));
    const id = await createSuggestion(stack, { jobId: 'short-window', targetFile: job.file, proposed: job.proposed, input: { autoApply: true, rollbackWindowMs: 3_000 } });
    const row = await applied(id);
    await report('short-window', broken(1));
    expect(await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).result()).toBe('applied');
    expect(await action(row.action_id)).toMatchObject({ status: 'success', can_rollback: false, watch_status: 'done', verdict: 'inconclusive', auto_reverted: false });
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
  });

  it('when the job turns the watch off, the change is not watched', async () => {
    const job = await watchedJob('unwatched', '    enabled: false\n');
    await history('unwatched', clean(5));
    const id = await createSuggestion(stack, { jobId: 'unwatched', targetFile: job.file, proposed: job.proposed, input: { autoApply: true } });
    const row = await applied(id);
    await eventually(async () => ((await currentDetails(id)).includes('not watched: self_healing.watch.enabled is false') ? true : undefined), 10_000, 'the workflow says so');
    expect(await action(row.action_id)).toMatchObject({ watch_status: null, verdict: null });
    expect((await suggestion(id)).watch).toBeNull();
  });
});
