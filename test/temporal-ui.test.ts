// What a person sees of this service in the Temporal UI (and the `temporal` CLI), through the real
// dev server: every workflow's static summary and details with its dashboard link, current details
// that follow a suggestion's life, summaries on activities and timers, and the search attributes
// that answer "everything alice approved" and "everything that touched this file".
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startReview } from '../api/temporal.js';
import { loadTokens } from '../api/auth.js';
import { seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { importProcclawOnce } from '../cli/procclaw/import.js';
import { reviewWorkflowId, scheduleId, suggestionWorkflowId } from '../core/temporal.js';
import { reconcileJobSchedule } from '../worker/schedules.js';
import { ProcclawDb } from './helpers/procclaw-db.js';
import { createSuggestion } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

const { temporal } = proto; // a CommonJS module: named imports do not resolve under Node's ESM loader
const TOKENS = { alice: 'alice-approver-token-0123456789ab', bob: 'bob-approver-token-9876543210xy' };
const DASHBOARD = 'http://dashboard.test';
const HOUR = 3_600_000;

let stack: Stack;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'healing-temporal-ui-'));
  const tokensFile = path.join(tmp, 'tokens.yaml');
  await writeFile(tokensFile, `tokens:\n  - { name: alice, role: approver, token: ${TOKENS.alice} }\n  - { name: bob, role: approver, token: ${TOKENS.bob} }\n`);
  // The API's reviews and the schedules link to HEALING_PUBLIC_URL, as the worker's activities do.
  stack = await startStack({ tokens: loadTokens({ apiToken: null, tokensFile }), env: { HEALING_PUBLIC_URL: DASHBOARD } });
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
});
afterAll(async () => {
  await stack?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const api = (method: string, url: string, body?: unknown, token = TOKENS.alice) => http(stack.api, method, url, body, token);

async function reviewToEnd(jobId: string): Promise<any> {
  const started = await api('POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
  expect([200, 202], JSON.stringify(started.body)).toContain(started.status);
  return eventually(async () => {
    const r = await api('GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `the review of ${jobId}`);
}

/** The workflow ids a visibility query lists (visibility follows a write by a moment). */
async function listed(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of stack.env.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

/** The current details the Temporal UI shows, by the query it sends (a worker answers it, closed workflows too). */
async function currentDetails(handle: WorkflowHandle): Promise<string> {
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

/** The summaries of a workflow's history events (activities, local activities' markers, timers, children), by event type. */
async function summaries(handle: WorkflowHandle): Promise<{ type: string; summary: string }[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const payload = event.userMetadata?.summary;
    if (!payload) return [];
    const type = temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? String(event.eventType);
    return [{ type, summary: defaultPayloadConverter.fromPayload<string>(payload) }];
  });
}

describe('a suggestion in the Temporal UI', () => {
  let review: any;
  let applied: any;
  let rejected: any;
  let actionId: number;

  it('when a review stores suggestions, each suggestion workflow says its job, severity, category and title, and links to its dashboard page', async () => {
    review = await reviewToEnd('nightly-backup');
    expect(review.status).toBe('completed');
    applied = review.suggestions.find((s: any) => s.target_file?.endsWith('nightly-backup.yaml'));
    expect(applied, JSON.stringify(review.suggestions.map((s: any) => [s.title, s.target_file]))).toBeDefined();
    rejected = review.suggestions.find((s: any) => s.id !== applied.id);
    expect(rejected).toBeDefined();

    const description = await stack.env.client.workflow.getHandle(suggestionWorkflowId(applied.id)).describe();
    const summary = await description.staticSummary();
    expect(summary).toBe(`#${applied.id} nightly-backup: ${applied.severity} ${applied.category}: ${applied.title}`);
    const details = await description.staticDetails();
    expect(details).toContain(`**Suggestion #${applied.id}** for job \`nightly-backup\``);
    expect(details).toContain(`Edits \`${applied.target_file}\` when applied`);
    expect(details).toContain(`(${DASHBOARD}/#/suggestions/${applied.id})`);
    expect(description.searchAttributes.HealingTargetFile).toEqual([applied.target_file]);
    // The list of workflows carries no static summary: the same line is a search attribute, which it does.
    const listed = [];
    for await (const w of stack.env.client.workflow.list({ query: `WorkflowId = '${suggestionWorkflowId(applied.id)}'` })) listed.push(w);
    expect(listed.map((w) => w.searchAttributes.HealingSummary)).toEqual([[summary]]);
  });

  it('when the review ran, its workflow says the job and trigger, its step and outcome, and its analysis step what it read', async () => {
    const handle = stack.env.client.workflow.getHandle(reviewWorkflowId('nightly-backup'));
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe('Review of nightly-backup: started by hand');
    expect(description.searchAttributes.HealingSummary).toEqual(['Review of nightly-backup: started by hand']);
    expect(await description.staticDetails()).toContain(`[Job nightly-backup in the dashboard](${DASHBOARD}/#/jobs/nightly-backup)`);

    const details = await currentDetails(handle);
    expect(details).toMatch(new RegExp(`^\\*\\*completed\\*\\*: ${review.suggestions_count} suggestions? \\(#${review.suggestions[0].id}`));
    expect(details).toContain(`(${DASHBOARD}/#/reviews/${review.id})`);

    // what the analysis read, once it is known
    expect(details).toMatch(/; the rules analysed 7 runs, \d+ files?, \d+ logs?$/m);

    const steps = await summaries(handle);
    // a rules review opens, collects, analyses and stores in one local activity (one marker, with its summary)
    const first = steps.find((s) => s.summary.startsWith('open the review row of nightly-backup (started by hand), collect its context; with the rules, analyse it'));
    expect(first?.type).toBe('EVENT_TYPE_MARKER_RECORDED');
    expect(steps.find((s) => s.type === 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED')?.summary).toMatch(/^#\d+ nightly-backup: /);
  });

  it('when alice approves and bob rolls back, the details say who did what and when, what was written, its backup and verification', async () => {
    // a high reliability edit: one approver applies it
    const answer = await api('POST', `/api/v1/healing/suggestions/${applied.id}/approve`, { comment: 'go [ahead](javascript:alert(1))' });
    expect(answer.body, JSON.stringify(answer.body)).toMatchObject({ status: 'applied', action_id: expect.any(Number) });
    actionId = answer.body.action_id;
    const action = (await stack.db('healing_actions').where({ id: actionId }).first())!;
    const handle = stack.env.client.workflow.getHandle(suggestionWorkflowId(applied.id));

    const whileApplied = await currentDetails(handle);
    expect(whileApplied).toMatch(/^\*\*applied\*\*\nwaiting: a rollback, possible until \d{4}-\d\d-\d\d \d\d:\d\d UTC\n/);
    // who and when, with the comment's would-be link made inert
    expect(whileApplied).toMatch(/\n- approved by alice: "go ahead \(javascript:alert\(1\)\)" \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n/);
    expect(whileApplied).toContain(`- backed up ${action.file_path} to ${action.backup_path} (action ${actionId})`);
    expect(whileApplied).toContain(`- wrote ${action.file_path} (action ${actionId})`);
    expect(whileApplied).toMatch(/- (verified \(|not verified: )/);
    expect(whileApplied).not.toContain('](javascript');

    const rolledBack = await api('POST', `/api/v1/healing/actions/${actionId}/rollback`, {}, TOKENS.bob);
    expect(rolledBack.body, JSON.stringify(rolledBack.body)).toMatchObject({ status: 'rolled_back' });
    expect(await readFile(action.file_path, 'utf8')).toBe(action.original_content);
    const after = await eventually(async () => {
      const text = await currentDetails(handle);
      return text.startsWith('**rolled_back**') ? text : undefined;
    }, 10_000, 'the details to say rolled back');
    expect(after).toContain(`- rolled back by bob: ${applied.target_file} restored as it was before action ${actionId}`);
    expect(after).not.toContain('waiting:');
  });

  it('when the suggestion was applied and rolled back, its history shows the timers\' and steps\' summaries', async () => {
    const handle = stack.env.client.workflow.getHandle(suggestionWorkflowId(applied.id));
    const action = (await stack.db('healing_actions').where({ id: actionId }).first())!;
    const steps = await summaries(handle);
    const texts = steps.map((s) => s.summary);
    expect(steps.find((s) => s.summary.startsWith('wait for approval until '))?.type).toBe('EVENT_TYPE_TIMER_STARTED');
    expect(texts).toContainEqual(expect.stringMatching(/^keep the rollback window of action \d+ open until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/));
    expect(texts).toContain(`write ${action.file_path} (action ${actionId}; backup ${action.backup_path})`);
    expect(texts).toContain(`verify ${action.file_path} (action ${actionId})`);
    expect(texts).toContain(`record alice's approval of suggestion ${applied.id}`);
    expect(steps.find((s) => s.summary.startsWith(`roll back action ${actionId}: restore ${applied.target_file}`))?.summary).toContain('(by bob)');
    // Local activities carry theirs on their markers.
    expect(steps.find((s) => s.summary.startsWith('write '))?.type).toBe('EVENT_TYPE_MARKER_RECORDED');
  });

  it('when bob rejects another, HealingDecidedBy and HealingTargetFile answer "what did alice approve", "what did bob decide" and "what touched this file"', async () => {
    const answer = await api('POST', `/api/v1/healing/suggestions/${rejected.id}/reject`, { reason: 'not now' }, TOKENS.bob);
    expect(answer.body).toMatchObject({ status: 'rejected' });
    const appliedId = suggestionWorkflowId(applied.id);
    const rejectedId = suggestionWorkflowId(rejected.id);

    const byAlice = await eventually(async () => {
      const ids = await listed(`HealingDecidedBy = 'alice' AND HealingStatus != 'rejected' AND HealingDecidedAt > '${new Date(Date.now() - HOUR).toISOString()}'`);
      return ids.includes(appliedId) ? ids : undefined;
    }, 10_000, 'alice\'s decisions');
    expect(byAlice).not.toContain(rejectedId);
    const byBob = await eventually(async () => {
      const ids = await listed(`HealingDecidedBy = 'bob'`);
      return ids.includes(rejectedId) ? ids : undefined;
    }, 10_000, 'bob\'s decisions');
    expect(byBob).not.toContain(appliedId); // bob rolled it back: a rollback is not a decision
    expect(await listed(`HealingDecidedBy = 'alice' AND HealingDecidedAt > '${new Date(Date.now() + HOUR).toISOString()}'`)).toEqual([]);
    expect(await listed(`HealingTargetFile = '${applied.target_file}'`)).toContain(appliedId);
    expect(await listed(`HealingTargetFile = '${applied.target_file}' AND HealingDecidedBy = 'alice'`)).toEqual([appliedId]);
    expect(await listed(`WorkflowType = 'suggestionWorkflow' AND HealingJobId = 'nightly-backup' AND HealingStatus = 'pending'`)).not.toContain(rejectedId);

    const rejectedDetails = await currentDetails(stack.env.client.workflow.getHandle(rejectedId));
    expect(rejectedDetails).toMatch(/^\*\*rejected\*\*\n\n- rejected by bob \(the reason is in the dashboard\) \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/);
  });

  it('when a suggestion needs two approvers, the first approval is searchable at once and the second adds its approver', async () => {
    const id = await createSuggestion(stack, { jobId: 'nightly-backup', targetFile: null, proposed: null, severity: 'critical', input: { requiredApprovals: 2 } });
    const workflowId = suggestionWorkflowId(id);
    const first = await api('POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(first.body).toMatchObject({ status: 'pending', approvals_needed: 1 });
    await eventually(async () => (await listed(`HealingDecidedBy = 'alice'`)).includes(workflowId), 10_000, 'the first approval to be searchable');
    expect((await stack.env.client.workflow.getHandle(workflowId).describe()).searchAttributes.HealingDecidedBy).toEqual(['alice']);
    expect(await currentDetails(stack.env.client.workflow.getHandle(workflowId))).toMatch(/^\*\*pending\*\*\n\n- approved by alice; 1 more approver needed \(/);

    const second = await api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.bob);
    expect(second.body).toMatchObject({ status: 'acknowledged' });
    const description = await eventually(async () => {
      const d = await stack.env.client.workflow.getHandle(workflowId).describe();
      return (d.searchAttributes.HealingDecidedBy as string[] | undefined)?.length === 2 ? d : undefined;
    }, 10_000, 'both approvers to be searchable');
    expect(description.searchAttributes.HealingDecidedBy).toEqual(['alice', 'bob']);
    expect(description.searchAttributes.HealingStatus).toEqual(['acknowledged']);
    expect((description.searchAttributes.HealingDecidedAt as Date[])[0]!.getTime()).toBeGreaterThan(Date.now() - HOUR);
  });

  it('when listed with the temporal CLI, the query of the README finds alice\'s approval', async () => {
    const cli = inject('temporalCliPath');
    const { stdout } = await promisify(execFile)(cli, ['workflow', 'list', '--address', stack.env.address, '--query', `HealingDecidedBy = 'alice'`, '--output', 'json']);
    // one JSON array, or one object a line (JSON Lines), depending on the CLI's version
    const rows: any[] = stdout.trim().startsWith('[') ? JSON.parse(stdout) : stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(rows.map((r: any) => r.execution?.workflowId)).toContain(suggestionWorkflowId(applied.id));
  });
});

describe('workflows started by schedules and the ProcClaw import', () => {
  it('when a job\'s schedule fires, the schedule action, the scheduled workflow and the review it starts each say what they are', async () => {
    expect(await reconcileJobSchedule(stack.env.client, stack.jobsDir, 'healthy-cleanup')).toBe('created');
    const schedule = stack.env.client.schedule.getHandle(scheduleId('healthy-cleanup'));
    const described = await schedule.describe();
    expect(described.action.staticSummary).toMatch(/^Scheduled review of healthy-cleanup: daily at \d\d:\d\d /);
    expect(described.action.staticDetails).toContain(`(${DASHBOARD}/#/jobs/healthy-cleanup)`);

    await schedule.trigger();
    const runId = await eventually(async () => (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId, 10_000, 'the schedule to start its workflow');
    const scheduled = await stack.env.client.workflow.getHandle(runId).describe();
    expect(await scheduled.staticSummary()).toBe(described.action.staticSummary);
    const reviewHandle = stack.env.client.workflow.getHandle(reviewWorkflowId('healthy-cleanup'));
    const reviewed = await eventually(async () => reviewHandle.describe().catch(() => undefined), 10_000, 'the scheduled review');
    expect(await reviewed.staticSummary()).toBe('Review of healthy-cleanup: scheduled');
    expect(await reviewed.staticDetails()).toContain(`(${DASHBOARD}/#/jobs/healthy-cleanup)`);
  });

  it('when the ProcClaw import starts a reactive review, its workflow names the failed run', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'procclaw', 'procclaw.db'));
    const started = new Date(Date.now() - 5 * 60_000);
    const runId = procclaw.run({ job: 'deploy-hook', at: started, finishedAt: new Date(started.getTime() + 20_000), exit: 2, stderr: ['deploy failed: connection reset'] });
    procclaw.close();
    const summary = await importProcclawOnce(
      { db: stack.db, jobsSource: stack.jobsDir, startReview: (input) => startReview(stack.env.client, stack.db, input), api: null },
      { dbFile: procclaw.file },
    );
    expect(summary.reviews).toHaveLength(1);
    const imported = await stack.db('job_runs').where({ job_id: 'deploy-hook', external_id: `procclaw-${runId}` }).first();
    const description = await stack.env.client.workflow.getHandle(reviewWorkflowId('deploy-hook')).describe();
    expect(await description.staticSummary()).toBe(`Review of deploy-hook: a failed run (run ${imported.id})`);
    expect(await description.staticDetails()).toContain(`(${DASHBOARD}/#/jobs/deploy-hook)`);
  });
});
