// Activity groups with their own time-outs and retries: short I/O retries for as long as Postgres
// or the disk needs; analysis is long, heartbeats, and runs on its own task queue.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ANALYSIS_TASK_QUEUE, NON_RETRYABLE_ERROR_TYPES } from '../core/temporal.js';
import { oneLine } from '../core/temporal-ui.js';

const IO_RETRY = {
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '10 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

export const io = proxyActivities<Activities>({
  // Short, so a step lost with a crashed worker is retried on another within seconds.
  startToCloseTimeout: '10 seconds',
  retry: IO_RETRY,
});

/**
 * The same short I/O as local activities: run by the worker inside the workflow task, with no
 * task-queue round trip each. For the review's own steps (idempotent, a few milliseconds of
 * Postgres each), where those round trips were most of what a review cost the Temporal server.
 */
export const ioLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: IO_RETRY,
});

/**
 * The review's collect-and-analyse step (workflows/review.ts, REVIEW_STEPS_FOLDED): I/O retries,
 * with the rules analysis's minute; a rules analysis that fails does so for good (non-retryable).
 */
export const reviewLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: IO_RETRY,
});

/** Notifications: a few tries, then give up; a failed notice never fails a review. */
export const notify = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** Each analysis attempt may cost AI tokens: two at most. */
const ANALYSIS_RETRY = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumAttempts: 2,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

export const analysis = proxyActivities<Activities>({
  taskQueue: ANALYSIS_TASK_QUEUE,
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '30 seconds',
  retry: ANALYSIS_RETRY,
});

/**
 * The rules analysis as a local activity (workflows/review.ts, RULES_ANALYSIS_INLINE): milliseconds
 * of CPU on the context, with the analysis's own few attempts.
 */
export const rulesLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: ANALYSIS_RETRY,
});

/**
 * Calls an activity (of any proxy above, local or not) with a one-line summary, which the Temporal
 * UI shows on its scheduled event or marker: `withSummary(steps.writeApplied, 'write x.yaml (action
 * 12)', { actionId: 12 })`. User metadata only: replay does not compare it, so wording may change.
 */
export function withSummary<A extends unknown[], R>(
  activity: { executeWithOptions(options: { summary?: string }, args: A): Promise<R> },
  summary: string,
  ...args: A
): Promise<R> {
  return activity.executeWithOptions({ summary: oneLine(summary) }, args);
}
