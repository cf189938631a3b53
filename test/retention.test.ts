// Retention on the real Temporal dev server: exactly the old rows go, live work stays, and what
// was removed is recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { RETENTION_SCHEDULE_ID, TASK_QUEUE, type RetentionOutcome } from '../core/temporal.js';
import { reconcileSchedules } from '../worker/schedules.js';
import { eventually, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
const DAY = 86_400_000;
const OLD = new Date(Date.now() - 100 * DAY);
const RECENT = new Date(Date.now() - 10 * DAY);

/** Ids by name, so the assertions read as the data set does. */
const ids: Record<string, number> = {};
let seq = 0;

async function review(name: string, status: string, startedAt: Date) {
  seq += 1;
  const [row] = await stack.db('healing_reviews')
    .insert({ job_id: 'keeper', trigger: 'scheduled', status, workflow_id: 'healing-review/keeper', workflow_run_id: `run-${seq}`, started_at: startedAt, created_at: startedAt })
    .returning('id');
  ids[name] = row.id;
}

async function suggestion(name: string, reviewName: string, status: string, createdAt: Date, updatedAt = createdAt) {
  seq += 1;
  const [row] = await stack.db('healing_suggestions')
    .insert({
      review_id: ids[reviewName], ordinal: seq, job_id: 'keeper', category: 'config', severity: 'low', severity_rank: 0,
      title: name, fingerprint: `fp-${seq}`, status, created_at: createdAt, updated_at: updatedAt,
      applied_at: status === 'applied' ? updatedAt : null,
    })
    .returning('id');
  ids[name] = row.id;
}

async function action(name: string, suggestionName: string, status: string, canRollback: boolean, createdAt: Date) {
  const [row] = await stack.db('healing_actions')
    .insert({ suggestion_id: ids[suggestionName], attempt: 1, job_id: 'keeper', action_type: 'edit_config', status, can_rollback: canRollback, created_at: createdAt })
    .returning('id');
  ids[name] = row.id;
}

const remaining = async (table: string) => (await stack.db(table).orderBy('id').pluck('id')) as number[];
const idsOf = (...names: string[]) => names.map((n) => ids[n]!).sort((a, b) => a - b);

beforeAll(async () => {
  stack = await startStack();
  // A review whose suggestions are mixed: it stays while any of them stays.
  await review('old-mixed', 'completed', OLD);
  await suggestion('old-rejected', 'old-mixed', 'rejected', OLD);
  await suggestion('old-applied-window-closed', 'old-mixed', 'applied', OLD);
  await action('old-action-closed', 'old-applied-window-closed', 'success', false, OLD);
  await suggestion('old-pending', 'old-mixed', 'pending', OLD);
  await suggestion('old-approved', 'old-mixed', 'approved', OLD);
  await suggestion('applied-recently', 'old-mixed', 'applied', OLD, RECENT); // created long ago, changed lately
  await action('recent-action', 'applied-recently', 'success', false, RECENT);
  // A review held by an action still inside its rollback window.
  await review('old-in-window', 'completed', OLD);
  await suggestion('old-expired', 'old-in-window', 'expired', OLD);
  await suggestion('old-rollbackable', 'old-in-window', 'applied', OLD);
  await action('old-action-open', 'old-rollbackable', 'success', true, OLD);
  // Reviews that go entirely.
  await review('old-empty', 'skipped', OLD);
  await review('old-all-decided', 'completed', OLD);
  await suggestion('old-rejected-2', 'old-all-decided', 'rejected', OLD);
  await suggestion('old-failed', 'old-all-decided', 'failed', OLD);
  await action('old-action-failed', 'old-failed', 'failed', false, OLD);
  // Live or recent: kept.
  await review('old-running', 'running', OLD);
  await review('recent', 'completed', RECENT);
  await suggestion('recent-rejected', 'recent', 'rejected', RECENT);

  for (const [i, at] of [OLD, OLD, OLD, RECENT, RECENT].entries()) {
    const [row] = await stack.db('job_runs').insert({ job_id: 'keeper', external_id: `r${i}`, started_at: at, exit_code: 0 }).returning('id');
    ids[`run-${i}`] = row.id;
  }
  for (const [i, at] of [OLD, OLD, RECENT].entries()) {
    const [row] = await stack.db('healing_notifications')
      .insert({ review_id: ids.recent, job_id: 'keeper', channel: `c${i}`, status: 'sent', attempts: 1, created_at: at })
      .returning('id');
    ids[`notification-${i}`] = row.id;
  }
});
afterAll(async () => stack?.stop());

describe('retention', () => {
  it('removes exactly the rows older than the window, keeping pending and approved suggestions, open rollback windows and the reviews they hold', async () => {
    const outcome: RetentionOutcome = await stack.env.client.workflow.execute('retentionWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: 'retention-test-first',
      // tiny batches and runs, so the batching loop and continue-as-new are both exercised
      args: [{ retentionDays: 90, batchSize: 2, batchesPerRun: 2 }],
    });
    expect(outcome.retentionDays).toBe(90);
    expect(outcome.removed).toEqual({ reviews: 2, suggestions: 5, actions: 2, runs: 3, notifications: 2 });

    expect(await remaining('healing_reviews')).toEqual(idsOf('old-mixed', 'old-in-window', 'old-running', 'recent'));
    expect(await remaining('healing_suggestions')).toEqual(
      idsOf('old-pending', 'old-approved', 'applied-recently', 'old-rollbackable', 'recent-rejected'),
    );
    expect(await remaining('healing_actions')).toEqual(idsOf('recent-action', 'old-action-open'));
    expect(await remaining('job_runs')).toEqual(idsOf('run-3', 'run-4'));
    expect(await remaining('healing_notifications')).toEqual(idsOf('notification-2'));

    const [record] = await stack.db('healing_retention_runs').where({ workflow_id: 'retention-test-first' });
    expect(record).toMatchObject({
      retention_days: 90, reviews_deleted: 2, suggestions_deleted: 5, actions_deleted: 2, runs_deleted: 3, notifications_deleted: 2,
    });
    expect(Math.abs(new Date(record.cutoff).getTime() - (Date.now() - 90 * DAY))).toBeLessThan(60_000);
  });

  it('when nothing is old enough any more, a second pass removes nothing and records zeros', async () => {
    const before = await remaining('healing_suggestions');
    const outcome: RetentionOutcome = await stack.env.client.workflow.execute('retentionWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: 'retention-test-second',
      args: [{ retentionDays: 90 }],
    });
    expect(outcome.removed).toEqual({ reviews: 0, suggestions: 0, actions: 0, runs: 0, notifications: 0 });
    expect(await remaining('healing_suggestions')).toEqual(before);
  });

  it('the daily retention schedule exists after a reconcile and, triggered, runs a recorded pass', async () => {
    await reconcileSchedules(stack.env.client, stack.jobsDir);
    const handle = stack.env.client.schedule.getHandle(RETENTION_SCHEDULE_ID);
    const described = await handle.describe();
    expect(described.spec.calendars).toHaveLength(1);
    expect(described.spec.timezone).toBe('UTC');
    expect(described.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 60_000 });
    const runsBefore = await stack.db('healing_retention_runs').count<{ n: number }[]>({ n: '*' });
    await handle.trigger();
    await eventually(async () => {
      const [row] = await stack.db('healing_retention_runs').count<{ n: number }[]>({ n: '*' });
      return Number(row!.n) > Number(runsBefore[0]!.n) ? true : undefined;
    }, 30_000, 'the scheduled retention pass');
    const [latest] = await stack.db('healing_retention_runs').orderBy('id', 'desc').limit(1);
    expect(latest.workflow_id).toMatch(/^healing-retention/);
    expect(latest.retention_days).toBe(90); // the worker's default
  });

  it('HEALING_RETENTION_DAYS sets the window, 90 by default; a bad value names the variable', () => {
    expect(loadConfig({}, '/tmp', '/root').retentionDays).toBe(90);
    expect(loadConfig({ HEALING_RETENTION_DAYS: '30' }, '/tmp', '/root').retentionDays).toBe(30);
    expect(() => loadConfig({ HEALING_RETENTION_DAYS: '0' }, '/tmp', '/root')).toThrow(ConfigError);
    expect(() => loadConfig({ HEALING_RETENTION_DAYS: 'soon' }, '/tmp', '/root')).toThrow(/HEALING_RETENTION_DAYS/);
  });
});
