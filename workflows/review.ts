// reviewWorkflow: open the review, collect context, analyze, store suggestions, start one
// suggestion workflow per suggestion, close the review, then hand the notification to its own
// workflow.
import {
  ApplicationFailure,
  CancellationScope,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
import { describeOpenclawRuns } from '../core/running.js';
import { notifyWorkflowId, SEARCH_ATTRIBUTES, suggestionWorkflowId, type ReviewInput, type ReviewOutcome } from '../core/temporal.js';
import { analysis, io, ioLocal, notify } from './activity-proxies.js';
import { notifyWorkflow } from './notify.js';
import { suggestionWorkflow } from './suggestion.js';

/**
 * The review's own Postgres steps run as local activities, its suggestion workflows start
 * together and its first search attributes go in one write: half the workflow tasks and a sixth
 * of the activity tasks a review used to cost the Temporal server (bench/review-throughput.ts).
 * Reviews started before replay the old way.
 */
export const LOCAL_REVIEW_STEPS = 'review-local-steps';

/**
 * A review cancelled mid-step (from the Temporal UI or CLI) still closes its row as `failed`:
 * before, the closing step was cancelled with the rest and the row said `running` for ever.
 * Reviews cancelled before replay the old way; deprecate the patch once their histories are no
 * longer read (the retention window after this shipped).
 */
export const FAILED_REVIEW_CLOSES_ROW = 'review-failure-closes-row';

/**
 * A review completes when its suggestions are stored: its row is closed and its result returned
 * first, and the notification (with its retries) runs after in its own abandoned workflow
 * `healing-notify/<reviewId>`, so it neither delays the review (nor a next trigger, which waits for
 * this one-per-job id to be free) nor fails it. Reviews that notified before closing replay the old
 * way; deprecate the patch once their histories are no longer read (the retention window after
 * this shipped).
 */
export const NOTIFY_AFTER_CLOSE = 'review-notify-after-close';

/**
 * An OpenClaw analysis waits while OpenClaw jobs run (their tokens compete with it, as ProcClaw's
 * own engine waits for them): durable timers, looking again after each, up to the bound the check
 * answers with (HEALING_OPENCLAW_WAIT_S); then it runs anyway or is skipped with the reason
 * (HEALING_OPENCLAW_WAIT_TIMEOUT). The row shows waiting_reason/waiting_since, the Temporal UI the
 * status `waiting`, the current details and the timers' summaries; the context is collected again
 * after a wait. A rules analysis (no model, no tokens) never waits. And a scheduled skip continues
 * the job's streak of skipped scheduled reviews (one row with skip_count) instead of adding a row.
 * Reviews started before replay the old way; deprecate the patch once no history from before it
 * is read (the retention window after this shipped).
 */
export const WAIT_FOR_OPENCLAW_JOBS = 'review-waits-for-openclaw-jobs';

export async function reviewWorkflow(input: ReviewInput): Promise<ReviewOutcome> {
  const info = workflowInfo();
  const local = patched(LOCAL_REVIEW_STEPS);
  const steps = local ? ioLocal : io;
  const review = await steps.openReview({
    jobId: input.jobId,
    trigger: input.trigger,
    runId: input.runId ?? null,
    workflowId: info.workflowId,
    workflowRunId: info.runId,
  });
  // The review's dashboard page, shown in the Temporal UI (absent from the answers of older workers).
  const details = review.details ?? '';
  if (details) setCurrentDetails(details);
  const outcome: ReviewOutcome = { reviewId: review.id, status: 'completed', suggestionIds: [], duplicates: 0, autoApplied: 0 };
  const markStatus = (status: string) => upsertSearchAttributes({ [SEARCH_ATTRIBUTES.status]: [status] });
  const identity = { [SEARCH_ATTRIBUTES.jobId]: [input.jobId], [SEARCH_ATTRIBUTES.trigger]: [input.trigger] };
  if (local) {
    upsertSearchAttributes({ ...identity, [SEARCH_ATTRIBUTES.status]: ['running'] }); // one visibility write, not two
  } else {
    upsertSearchAttributes(identity);
    markStatus('running');
  }

  try {
    const waits = patched(WAIT_FOR_OPENCLAW_JOBS);
    let collected = await steps.collectContext({ reviewId: review.id, ...input });
    if (collected.skip === undefined && waits) {
      const waited = await waitForOpenclawJobs(review.id, steps, markStatus, details);
      if (waited.skip !== undefined) collected = { skip: waited.skip };
      else if (waited.waited) collected = await steps.collectContext({ reviewId: review.id, ...input }); // what changed meanwhile
    }
    if (collected.skip !== undefined) {
      if (!waits) {
        await steps.finishReview({ reviewId: review.id, status: 'skipped', skipReason: collected.skip });
        markStatus('skipped');
        return { ...outcome, status: 'skipped' };
      }
      const closed = await steps.closeSkippedReview({ reviewId: review.id, jobId: input.jobId, skipReason: collected.skip });
      markStatus('skipped');
      return { ...outcome, reviewId: closed.reviewId, status: 'skipped' };
    }
    const context = collected.context;
    const result = await analysis.analyze({ reviewId: review.id, context });
    const stored = await steps.storeSuggestions({ reviewId: review.id, context, analysis: result });
    outcome.suggestionIds = stored.suggestions.map((s) => s.id);
    outcome.duplicates = stored.duplicates;

    const start = (suggestion: (typeof stored.suggestions)[number]) =>
      startChild(suggestionWorkflow, {
        workflowId: suggestionWorkflowId(suggestion.id),
        args: [suggestion.input],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // what it is and its dashboard link, in the Temporal UI (user metadata: not part of replay)
        staticSummary: suggestion.summary,
        staticDetails: suggestion.details,
        searchAttributes: {
          [SEARCH_ATTRIBUTES.jobId]: [input.jobId],
          [SEARCH_ATTRIBUTES.trigger]: [input.trigger],
          [SEARCH_ATTRIBUTES.category]: [suggestion.category],
          [SEARCH_ATTRIBUTES.severity]: [suggestion.severity],
          [SEARCH_ATTRIBUTES.status]: ['pending'],
        },
      });
    if (local) await Promise.all(stored.suggestions.map(start));
    else for (const suggestion of stored.suggestions) await start(suggestion);
    outcome.autoApplied = stored.suggestions.filter((s) => s.input.autoApply).length;

    const pending = stored.suggestions.filter((s) => !s.input.autoApply).map((s) => s.id);
    const notifyAfterClose = patched(NOTIFY_AFTER_CLOSE);
    if (pending.length > 0 && !notifyAfterClose) {
      try {
        await notify.notifySuggestions({ reviewId: review.id, jobId: input.jobId, suggestionIds: pending });
      } catch {
        // The notification activity records its own failure; a review never fails for it.
      }
    }
    await steps.finishReview({
      reviewId: review.id,
      status: 'completed',
      suggestionsCount: stored.suggestions.length,
      duplicatesCount: stored.duplicates,
      autoAppliedCount: outcome.autoApplied,
    });
    markStatus('completed');
    if (pending.length > 0 && notifyAfterClose) {
      await startChild(notifyWorkflow, {
        workflowId: notifyWorkflowId(review.id),
        args: [{ reviewId: review.id, jobId: input.jobId, suggestionIds: pending }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        searchAttributes: identity,
      }).catch((error: unknown) => {
        // The review is complete and stays so: a notice that could not even start is only logged.
        log.warn('notification not started', { reviewId: review.id, jobId: input.jobId, error: innermostMessage(error) });
      });
    }
    return outcome;
  } catch (error) {
    const message = innermostMessage(error);
    const closeRow = () => steps.finishReview({ reviewId: review.id, status: 'failed', error: message, rawResponse: rawAnswer(error) });
    await (patched(FAILED_REVIEW_CLOSES_ROW) ? CancellationScope.nonCancellable(closeRow) : closeRow());
    markStatus('failed');
    throw ApplicationFailure.nonRetryable(`review ${review.id} of ${input.jobId} failed: ${message}`, 'ReviewFailed');
  }
}

/**
 * Waits while OpenClaw jobs have open runs, when the analysis would use OpenClaw. Answers whether
 * it waited, or the skip reason when the bound passed and the configuration says skip.
 */
async function waitForOpenclawJobs(
  reviewId: number,
  steps: typeof io,
  markStatus: (status: string) => void,
  /** the review's own current details (its dashboard link), shown again once the wait ends */
  details: string,
): Promise<{ waited: boolean; skip?: string }> {
  let check = await steps.openclawRuns();
  if (check.runs.length === 0) return { waited: false };
  const until = Date.now() + check.waitS * 1000;
  markStatus('waiting');
  let shown: string | null = null;
  while (check.runs.length > 0) {
    const running = describeOpenclawRuns(check.runs);
    const left = until - Date.now();
    if (left <= 0) {
      setCurrentDetails(details);
      if (check.onTimeout === 'skip') {
        return { waited: true, skip: `${running}, still after waiting ${check.waitS} s (HEALING_OPENCLAW_WAIT_S); not analysed while they compete for tokens (HEALING_OPENCLAW_WAIT_TIMEOUT=skip)` };
      }
      log.warn('OpenClaw jobs still running at the end of the wait; analysing anyway', { reviewId, running });
      break;
    }
    const reason = `${running}; the OpenClaw analysis waits until they end (at most until ${new Date(until).toISOString()}) so they do not compete for tokens`;
    if (reason !== shown) {
      await steps.markReviewWaiting({ reviewId, reason });
      shown = reason;
    }
    setCurrentDetails(details ? `waiting: ${reason}\n\n${details}` : `waiting: ${reason}`);
    await sleep(Math.min(check.checkS * 1000, left), { summary: `waiting for OpenClaw jobs to end before the analysis of review ${reviewId}` });
    check = await steps.openclawRuns();
  }
  setCurrentDetails(details);
  await steps.markReviewWaiting({ reviewId, reason: null });
  markStatus('running');
  return { waited: true };
}

/** The analyzer's raw answer, which a failed analysis carries in its failure details. */
function rawAnswer(error: unknown): string | null {
  const detail = findApplicationFailure(error)?.details?.[0];
  return typeof detail === 'string' ? detail : null;
}
