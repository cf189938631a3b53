// reviewWorkflow: open the review, collect context, analyze, store suggestions, notify, start
// one suggestion workflow per suggestion, close the review.
import {
  ApplicationFailure,
  ParentClosePolicy,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
import { SEARCH_ATTRIBUTES, suggestionWorkflowId, type ReviewInput, type ReviewOutcome } from '../core/temporal.js';
import { analysis, io, notify } from './activity-proxies.js';
import { suggestionWorkflow } from './suggestion.js';

export async function reviewWorkflow(input: ReviewInput): Promise<ReviewOutcome> {
  const info = workflowInfo();
  const review = await io.openReview({
    jobId: input.jobId,
    trigger: input.trigger,
    runId: input.runId ?? null,
    workflowId: info.workflowId,
    workflowRunId: info.runId,
  });
  const outcome: ReviewOutcome = { reviewId: review.id, status: 'completed', suggestionIds: [], duplicates: 0, autoApplied: 0 };
  const markStatus = (status: string) => upsertSearchAttributes({ [SEARCH_ATTRIBUTES.status]: [status] });
  upsertSearchAttributes({
    [SEARCH_ATTRIBUTES.jobId]: [input.jobId],
    [SEARCH_ATTRIBUTES.trigger]: [input.trigger],
  });
  markStatus('running');

  try {
    const collected = await io.collectContext({ reviewId: review.id, ...input });
    if (collected.skip !== undefined) {
      await io.finishReview({ reviewId: review.id, status: 'skipped', skipReason: collected.skip });
      markStatus('skipped');
      return { ...outcome, status: 'skipped' };
    }
    const context = collected.context;
    const result = await analysis.analyze({ reviewId: review.id, context });
    const stored = await io.storeSuggestions({ reviewId: review.id, context, analysis: result });
    outcome.suggestionIds = stored.suggestions.map((s) => s.id);
    outcome.duplicates = stored.duplicates;

    for (const suggestion of stored.suggestions) {
      await startChild(suggestionWorkflow, {
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
      if (suggestion.input.autoApply) outcome.autoApplied += 1;
    }

    const pending = stored.suggestions.filter((s) => !s.input.autoApply).map((s) => s.id);
    if (pending.length > 0) {
      try {
        await notify.notifySuggestions({ reviewId: review.id, jobId: input.jobId, suggestionIds: pending });
      } catch {
        // The notification activity records its own failure; a review never fails for it.
      }
    }
    await io.finishReview({
      reviewId: review.id,
      status: 'completed',
      suggestionsCount: stored.suggestions.length,
      duplicatesCount: stored.duplicates,
      autoAppliedCount: outcome.autoApplied,
    });
    markStatus('completed');
    return outcome;
  } catch (error) {
    const message = innermostMessage(error);
    await io.finishReview({ reviewId: review.id, status: 'failed', error: message, rawResponse: rawAnswer(error) });
    markStatus('failed');
    throw ApplicationFailure.nonRetryable(`review ${review.id} of ${input.jobId} failed: ${message}`, 'ReviewFailed');
  }
}

/** The analyzer's raw answer, which a failed analysis carries in its failure details. */
function rawAnswer(error: unknown): string | null {
  const detail = findApplicationFailure(error)?.details?.[0];
  return typeof detail === 'string' ? detail : null;
}
