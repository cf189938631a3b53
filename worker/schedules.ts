// The schedule reconciler: makes the Temporal schedules equal what the job files say. One schedule
// `healing-schedule/<jobId>` per proactive job with a timed frequency; paused (with a note) when
// the job no longer asks for one; deleted when the job is gone. Plus the daily retention schedule.
// Safe with several workers at once: every write tolerates the race it can lose.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type Workflow,
} from '@temporalio/client';
import type { Logger } from 'pino';
import { resolveDefaultTimeZone } from '../core/config.js';
import type { DefaultTimeZone } from '../core/job.js';
import { scheduleIntent, stableHash, type ScheduleIntent } from '../core/schedule-spec.js';
import {
  RETENTION_SCHEDULE_ID,
  RETENTION_WORKFLOW_ID,
  SCHEDULE_ID_PREFIX,
  SEARCH_ATTRIBUTES,
  scheduledReviewWorkflowId,
  scheduleId,
  TASK_QUEUE,
  type RetentionInput,
  type ScheduledReviewInput,
} from '../core/temporal.js';
import { DASHBOARD_URL_MEMO, dashboardUrlFrom, retentionMetadata, scheduledReviewMetadata, type StaticMetadata } from '../core/temporal-ui.js';
import { loadCatalog } from '../db/catalog.js';
import type { Db } from '../db/knex.js';

/** Missed actions older than this are skipped: a worker down for a day fires no burst on restart. */
export const CATCHUP_WINDOW = '1 minute';
const RECONCILE_LOCK = 'healing-schedule-reconcile';
/** The hash of the desired schedule, kept in the action's memo (a schedule's own memo cannot be updated). */
const HASH_KEY = 'healingScheduleHash';
/** Bumped when the shape of what we write changes, so every schedule is rewritten once. */
const SHAPE_VERSION = 1;
/** Retention runs daily at this time, UTC, away from the usual 03:00 reviews. */
const RETENTION_CALENDAR = { hour: 4, minute: 17, comment: 'daily retention at 04:17 UTC' };
const CONCURRENCY = 32;

export type ScheduleChange = 'created' | 'updated' | 'paused' | 'deleted' | 'unchanged';

export interface ReconcileResult {
  created: number;
  updated: number;
  paused: number;
  deleted: number;
  unchanged: number;
  /** what happened to the retention schedule, when it was reconciled too */
  retention: ScheduleChange | null;
  failed: { schedule_id: string; error: string }[];
}

type Target =
  | { kind: 'active'; options: ScheduleOptions; hash: string }
  | { kind: 'paused'; options: ScheduleOptions | null; hash: string | null; note: string }
  | { kind: 'absent' };

/**
 * Reconciles every job's schedule (and, unless told not to, the retention schedule). Jobs that set
 * no time zone are reviewed in `defaultTimeZone` (ServiceConfig.defaultTimeZone; unset: this
 * machine's zone); a changed default is part of their spec's hash, so it is applied once.
 */
export async function reconcileSchedules(
  client: Client,
  jobsSource: string,
  opts: { retention?: boolean; log?: Logger; defaultTimeZone?: DefaultTimeZone } = {},
): Promise<ReconcileResult> {
  const result: ReconcileResult = { created: 0, updated: 0, paused: 0, deleted: 0, unchanged: 0, retention: null, failed: [] };
  const defaultZone = opts.defaultTimeZone ?? resolveDefaultTimeZone(undefined);
  const catalog = await loadCatalog(jobsSource);
  const intents = new Map<string, ScheduleIntent>();
  for (const job of catalog.jobs) intents.set(job.id, scheduleIntent(job, defaultZone));
  // A job whose file does not load still exists: its schedule is paused, never deleted.
  for (const error of catalog.errors) {
    if (error.job_id && !intents.has(error.job_id)) intents.set(error.job_id, scheduleIntent(null, defaultZone, `${error.field}: ${error.reason}`));
  }
  // A file we could not read at all (or a missing catalog) hides which jobs it holds: delete nothing.
  const unsure = catalog.errors.some((e) => e.job_id === null);

  const existing: string[] = [];
  const listed = new Map<string, Listed>();
  for await (const summary of client.schedule.list()) {
    if (!summary.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) continue;
    existing.push(summary.scheduleId);
    const hash = summary.memo?.[HASH_KEY];
    listed.set(summary.scheduleId, { paused: summary.state.paused, note: summary.state.note ?? null, hash: typeof hash === 'string' ? hash : null });
  }
  const work: [string, Target][] = [...intents].map(([jobId, intent]) => [scheduleId(jobId), targetFor(jobId, intent)]);
  const wanted = new Set(work.map(([id]) => id));
  for (const id of existing) {
    if (wanted.has(id)) continue;
    if (unsure) {
      opts.log?.warn({ scheduleId: id }, 'not deleting the schedule: part of the job catalog could not be read');
      continue;
    }
    work.push([id, { kind: 'absent' }]);
  }

  await inPool(work, CONCURRENCY, async ([id, target]) => {
    try {
      result[await syncSchedule(client, id, target, listed.get(id) ?? null)] += 1;
    } catch (error) {
      result.failed.push({ schedule_id: id, error: (error as Error).message });
      opts.log?.error({ scheduleId: id, err: error }, 'reconciling the schedule failed');
    }
  });

  if (opts.retention !== false) {
    try {
      result.retention = await syncSchedule(client, RETENTION_SCHEDULE_ID, retentionTarget());
    } catch (error) {
      result.failed.push({ schedule_id: RETENTION_SCHEDULE_ID, error: (error as Error).message });
      opts.log?.error({ err: error }, 'reconciling the retention schedule failed');
    }
  }
  const changed = result.created + result.updated + result.paused + result.deleted;
  if (changed > 0 || result.failed.length > 0) opts.log?.info({ ...result }, 'schedules reconciled');
  return result;
}

/** Reconciles one job's schedule, as the API does after editing the job's file (default zone as reconcileSchedules). */
export async function reconcileJobSchedule(client: Client, jobsSource: string, jobId: string, defaultTimeZone?: DefaultTimeZone): Promise<ScheduleChange> {
  const catalog = await loadCatalog(jobsSource);
  const job = catalog.jobs.find((j) => j.id === jobId) ?? null;
  const error = job ? undefined : catalog.errors.find((e) => e.job_id === jobId);
  const intent = scheduleIntent(job, defaultTimeZone ?? resolveDefaultTimeZone(undefined), error ? `${error.field}: ${error.reason}` : undefined);
  if (intent.kind === 'absent' && catalog.errors.some((e) => e.job_id === null)) return 'unchanged';
  return syncSchedule(client, scheduleId(jobId), targetFor(jobId, intent));
}

function targetFor(jobId: string, intent: ScheduleIntent): Target {
  if (intent.kind === 'absent') return { kind: 'absent' };
  if (intent.kind === 'paused') {
    // The note names the calendar too, so the listing tells one paused spec from another.
    const note = intent.spec ? `paused: ${intent.reason}; would review ${intent.spec.calendars[0].comment}` : `paused: ${intent.reason}`;
    const built = intent.spec ? jobScheduleOptions(jobId, intent.spec, note, true) : null;
    return { kind: 'paused', options: built?.options ?? null, hash: built?.hash ?? null, note };
  }
  const built = jobScheduleOptions(jobId, intent.spec, `reviews ${intent.spec.calendars[0].comment}`, false);
  return { kind: 'active', ...built };
}

function jobScheduleOptions(jobId: string, spec: ScheduleOptions['spec'], note: string, paused: boolean): { options: ScheduleOptions; hash: string } {
  const dashboardUrl = dashboardUrlFrom(process.env);
  const purpose = spec.calendars?.[0]?.comment ?? 'on its schedule';
  const shown = scheduledReviewMetadata(jobId, purpose, dashboardUrl);
  const action: ScheduleOptionsStartWorkflowAction<Workflow> = {
    type: 'startWorkflow',
    workflowType: 'scheduledReviewWorkflow',
    workflowId: scheduledReviewWorkflowId(jobId),
    taskQueue: TASK_QUEUE,
    args: [{ jobId } satisfies ScheduledReviewInput],
    staticSummary: shown.staticSummary,
    ...(shown.staticSummary ? { searchAttributes: { [SEARCH_ATTRIBUTES.summary]: [shown.staticSummary] } } : {}),
  };
  return withHash({ scheduleId: scheduleId(jobId), spec, action, memo: { jobId }, state: { paused, note } }, shown, dashboardUrl);
}

function retentionTarget(): Target {
  const dashboardUrl = dashboardUrlFrom(process.env);
  const shown = retentionMetadata(`daily at ${String(RETENTION_CALENDAR.hour).padStart(2, '0')}:${String(RETENTION_CALENDAR.minute).padStart(2, '0')} UTC`, dashboardUrl);
  const action: ScheduleOptionsStartWorkflowAction<Workflow> = {
    type: 'startWorkflow',
    workflowType: 'retentionWorkflow',
    workflowId: RETENTION_WORKFLOW_ID,
    taskQueue: TASK_QUEUE,
    args: [{} satisfies RetentionInput],
    staticSummary: shown.staticSummary,
    ...(shown.staticSummary ? { searchAttributes: { [SEARCH_ATTRIBUTES.summary]: [shown.staticSummary] } } : {}),
  };
  const spec = { calendars: [RETENTION_CALENDAR], timezone: 'UTC' };
  return { kind: 'active', ...withHash({ scheduleId: RETENTION_SCHEDULE_ID, spec, action, state: { note: 'deletes healing data older than HEALING_RETENTION_DAYS' } }, shown, dashboardUrl) };
}

/**
 * Adds the policies and stores the hash of spec, action and policies where describe() returns it.
 * The action's static details and the dashboard address it carries in its memo (for the metadata
 * of the review it starts) are added after hashing: they depend on this process's settings
 * (HEALING_PUBLIC_URL, PORT), and a worker and an API set up differently must not take turns
 * rewriting every schedule. They follow when anything hashed changes (SHAPE_VERSION).
 */
function withHash(options: Omit<ScheduleOptions, 'policies'>, shown: StaticMetadata, dashboardUrl: string): { options: ScheduleOptions; hash: string } {
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false };
  const hash = stableHash({ v: SHAPE_VERSION, spec: options.spec, action: options.action, policies });
  return {
    hash,
    options: {
      ...options,
      policies,
      action: { ...options.action, staticDetails: shown.staticDetails, memo: { [HASH_KEY]: hash, [DASHBOARD_URL_MEMO]: dashboardUrl } },
      memo: { ...options.memo, [HASH_KEY]: hash },
    },
  };
}

/** What the schedule listing says of a schedule: enough to skip describing one that is as wanted. */
interface Listed {
  paused: boolean;
  note: string | null;
  /** the hash in the schedule's own memo: what it was created with */
  hash: string | null;
}

/**
 * True when the listing shows the schedule as the target wants it: created with the target's hash
 * and showing its note (which names the calendar, so a later update to another calendar shows)
 * and paused state. Describing a schedule costs the Temporal server a query of the schedule's
 * workflow; with 10,000 jobs, describing each on every pass kept the server busy for two minutes
 * a minute (bench/schedule-reconcile.ts). A schedule updated since its creation keeps its
 * creation hash in the listing, so it is still described each pass, as before.
 */
function listedAsWanted(listed: Listed | null, target: Target): boolean {
  if (!listed || target.kind === 'absent' || listed.hash === null) return false;
  if (target.kind === 'paused') return listed.paused && listed.note === target.note && (target.hash === null || listed.hash === target.hash);
  return !listed.paused && listed.hash === target.hash && listed.note === (target.options.state?.note ?? null);
}

/**
 * Brings one schedule to its target; answers what it had to do. `listed` is what the listing
 * showed of it (null: not listed, or not known), which spares the describe when it settles it.
 */
export async function syncSchedule(client: Client, id: string, target: Target, listed?: Listed | null): Promise<ScheduleChange> {
  const handle = client.schedule.getHandle(id);
  if (listed !== undefined && listedAsWanted(listed, target)) return 'unchanged';
  // Not listed: create it straight away (the listing may lag; an existing one is described below).
  let current = listed === null && target.kind === 'active' ? null : await describeOrNull(client, id);

  if (target.kind === 'absent') {
    if (!current) return 'unchanged';
    try {
      await handle.delete();
    } catch (error) {
      if (isNotFound(error)) return 'unchanged'; // another worker deleted it first
      throw error;
    }
    return 'deleted';
  }

  if (target.kind === 'paused') {
    if (!current) return 'unchanged'; // a job that asks for no schedule does not get a paused one
    if (current.state.paused && (target.hash === null || hashOf(current) === target.hash)) return 'unchanged';
    if (target.options) {
      // Keep what the YAML now says visible in `temporal schedule describe`, paused.
      const options = target.options;
      await handle.update(() => updateOptions(options));
    } else {
      await handle.pause(target.note);
    }
    return 'paused';
  }

  if (!current) {
    try {
      await client.schedule.create(target.options);
      return 'created';
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      current = await describeOrNull(client, id); // another worker created it first
      if (!current) throw error;
    }
  }
  if (!current.state.paused && hashOf(current) === target.hash) return 'unchanged';
  const options = target.options;
  await handle.update(() => updateOptions(options));
  return 'updated';
}

function updateOptions(options: ScheduleOptions) {
  return { spec: options.spec, action: options.action, policies: options.policies, state: { paused: options.state?.paused ?? false, note: options.state?.note } };
}

function hashOf(description: ScheduleDescription): string | null {
  const value = description.action.memo?.[HASH_KEY];
  return typeof value === 'string' ? value : null;
}

async function describeOrNull(client: Client, id: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof ScheduleNotFoundError || /not found/i.test((error as Error)?.message ?? '');
}

async function inPool<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  });
  await Promise.all(lanes);
}

export interface ScheduleReconciler {
  /** the first reconcile, run at start-up */
  ready: Promise<ReconcileResult | null>;
  /** reconciles now (joining a pass in progress, then running once more) */
  reconcileNow(): Promise<ReconcileResult>;
  stop(): Promise<void>;
}

/**
 * Runs the reconciler at start-up, within `debounceMs` of any change to the job files, and every
 * `intervalMs` as a safety net (a missed file event, a schedule edited by hand).
 */
export function startScheduleReconciler(opts: {
  client: Client;
  jobsSource: string;
  log: Logger;
  debounceMs?: number;
  intervalMs?: number;
  retention?: boolean;
  /** ServiceConfig.defaultTimeZone: the review zone of jobs that set none */
  defaultTimeZone?: DefaultTimeZone;
  /**
   * The service's database: passes of all workers then run one at a time (an advisory lock), so a
   * new job's schedule is created by one worker and the others list it as there. Without it, N
   * workers each tried every creation and the losers described the schedule (a query of its
   * scheduler workflow), filling the server's query buffer at 1,000 new jobs (scale drill).
   */
  db?: Db;
}): ScheduleReconciler {
  const debounceMs = opts.debounceMs ?? 500;
  const intervalMs = opts.intervalMs ?? 60_000;
  let stopped = false;
  let running: Promise<ReconcileResult> | null = null;
  let again = false;

  const reconcileNow = (): Promise<ReconcileResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let result: ReconcileResult;
      do {
        again = false;
        const pass = () => reconcileSchedules(opts.client, opts.jobsSource, { retention: opts.retention, log: opts.log, defaultTimeZone: opts.defaultTimeZone });
        result = opts.db
          ? await opts.db.transaction(async (trx) => {
              await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [RECONCILE_LOCK]);
              return pass();
            })
          : await pass();
      } while (again && !stopped);
      return result;
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const quietly = () => {
    if (stopped) return;
    if (!watcher) void startWatching(); // the jobs folder may have appeared since
    reconcileNow().catch((error) => opts.log.error({ err: error }, 'schedule reconcile failed; retrying within a minute'));
  };

  let debounce: NodeJS.Timeout | null = null;
  const onChange = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(quietly, debounceMs);
  };

  let watcher: FSWatcher | null = null;
  const startWatching = async () => {
    const info = await stat(opts.jobsSource).catch(() => null);
    if (!info || stopped || watcher) return;
    const dir = info.isDirectory() ? opts.jobsSource : path.dirname(opts.jobsSource);
    const only = info.isDirectory() ? null : path.basename(opts.jobsSource);
    try {
      watcher = watch(dir, (_event, filename) => {
        const name = filename?.toString() ?? null;
        if (name === null || (only ? name === only : /\.ya?ml$/i.test(name))) onChange();
      });
      watcher.on('error', (error) => {
        opts.log.warn({ err: error }, 'watching the job files failed; the periodic reconcile continues');
        watcher?.close();
        watcher = null;
      });
    } catch (error) {
      opts.log.warn({ err: error, dir }, 'cannot watch the job files; the periodic reconcile continues');
    }
  };

  const timer = setInterval(quietly, intervalMs);
  timer.unref();
  const ready = (async () => {
    await startWatching();
    try {
      return await reconcileNow();
    } catch (error) {
      opts.log.error({ err: error }, 'the first schedule reconcile failed; retrying within a minute');
      return null;
    }
  })();

  return {
    ready,
    reconcileNow,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
      await running?.catch(() => undefined);
    },
  };
}
