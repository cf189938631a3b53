// Jobs that are running now: what counts as an open run, which jobs are OpenClaw jobs, and the
// bounds of the waits for them (an apply waits for its job's run to end; an OpenClaw analysis
// waits while OpenClaw jobs run, since their tokens compete). Pure: shared by activities,
// workflows and the API.
import type { ApplyWindow } from './apply-window.js';
import type { JobConfig } from './job.js';

/**
 * A run reported without `finished_at` counts as open (the job is running) only when it started
 * within this window. A run whose end was never reported (a crashed reporter, a lost request)
 * would otherwise block applies and manual reviews of its job for ever; a day is longer than any
 * job ProcClaw's SLA presets allow, and short enough that a lost end report unblocks by itself.
 */
export const OPEN_RUN_MAX_AGE_MS = 24 * 3_600_000;

/** How long an apply waits for the job's run to end before it fails with the reason (HEALING_APPLY_WAIT_S). */
export const DEFAULT_APPLY_WAIT_S = 3_600;
/** How long an OpenClaw analysis waits while OpenClaw jobs run (HEALING_OPENCLAW_WAIT_S). */
export const DEFAULT_OPENCLAW_WAIT_S = 1_800;
/** How often a waiting workflow looks again (a durable timer, then one short read). */
export const DEFAULT_RUN_CHECK_INTERVAL_S = 30;

/** What an analysis does when OpenClaw jobs still run at the end of its wait (HEALING_OPENCLAW_WAIT_TIMEOUT). */
export const OPENCLAW_WAIT_TIMEOUTS = ['run', 'skip'] as const;
export type OpenclawWaitTimeout = (typeof OPENCLAW_WAIT_TIMEOUTS)[number];

export interface WaitSettings {
  applyWaitS: number;
  openclawWaitS: number;
  openclawWaitTimeout: OpenclawWaitTimeout;
  checkIntervalS: number;
  /** how often the regression watch after an apply counts the job's runs (activities/watch.ts); DEFAULT_WATCH_CHECK_S when unset */
  watchCheckS?: number;
  /** HEALING_APPLY_WINDOW: the apply window of jobs that set no self_healing.apply_window; null or unset: any time */
  applyWindow?: ApplyWindow | null;
}

/** The regression watch looks at the job's runs once an hour (a durable timer, then one short read). */
export const DEFAULT_WATCH_CHECK_S = 3_600;

export const DEFAULT_WAITS: WaitSettings = {
  applyWaitS: DEFAULT_APPLY_WAIT_S,
  openclawWaitS: DEFAULT_OPENCLAW_WAIT_S,
  openclawWaitTimeout: 'run',
  checkIntervalS: DEFAULT_RUN_CHECK_INTERVAL_S,
};

/** An open run, as workflows and answers carry it (plain JSON). */
export interface OpenRun {
  job_id: string;
  /** job_runs.id */
  id: number;
  /** the run's id in the scheduler that reported it */
  external_id: string;
  started_at: string;
}

/** Failure type of an apply whose job was still running at the end of the wait. */
export const JOB_STILL_RUNNING = 'JobStillRunning';

/** ProcClaw's wrapper that runs an OpenClaw cron job (`python3 ~/.procclaw/scripts/oc-runner.py <id> <timeout>`, oc-runner-v3.py...). */
const OPENCLAW_RUNNER = /(?:^|[\s/'"])oc-runner[\w.-]*\.py(?:$|[\s'"])/;
/** A command that starts the OpenClaw CLI itself (`openclaw agent ...`, `/usr/local/bin/openclaw ...`). */
const OPENCLAW_CLI = /^\s*(?:\S*\/)?openclaw(?:\.mjs)?(?:\s|$)/;

/**
 * An OpenClaw job: ProcClaw's type `openclaw`, or a command that runs the OpenClaw runner or the
 * CLI. Its runs spend the same model's tokens an OpenClaw analysis would.
 */
export function isOpenClawJob(config: Pick<JobConfig, 'type' | 'cmd'>): boolean {
  return config.type === 'openclaw' || OPENCLAW_RUNNER.test(config.cmd) || OPENCLAW_CLI.test(config.cmd);
}

/** "run nightly-41 of job etl (started 2026-…)" */
export function describeRun(run: OpenRun): string {
  return `run ${run.external_id} of job ${run.job_id} (started ${run.started_at})`;
}

/** The OpenClaw jobs a review waits for, named with their runs. */
export function describeOpenclawRuns(runs: OpenRun[]): string {
  const shown = runs.slice(0, 5).map(describeRun).join(', ');
  return `OpenClaw job${runs.length === 1 ? '' : 's'} running: ${shown}${runs.length > 5 ? ` and ${runs.length - 5} more` : ''}`;
}
