// reviewWorkflow: open the review, collect context, analyze, store suggestions, start one
// suggestion workflow per suggestion, close the review, then hand the notification to its own
// workflow.
import {
  ApplicationFailure,
  CancellationScope,
  log,
  ParentClosePolicy,
  patched,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
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
    const collected = await steps.collectContext({ reviewId: review.id, ...input });
    if (collected.skip !== undefined) {
      await steps.finishReview({ reviewId: review.id, status: 'skipped', skipReason: collected.skip });
      markStatus('skipped');
      return { ...outcome, status: 'skipped' };
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

/** The analyzer's raw answer, which a failed analysis carries in its failure details. */
function rawAnswer(error: unknown): string | null {
  const detail = findApplicationFailure(error)?.details?.[0];
  return typeof detail === 'string' ? detail : null;
}
