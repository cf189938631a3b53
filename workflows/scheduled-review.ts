// scheduledReviewWorkflow: what a job's Temporal schedule starts. A schedule appends the scheduled
// time to the id of the workflow it starts, so this one starts the review itself under the job's
// one-per-job id `healing-review/<jobId>`: a scheduled review joins the rule that a manual or
// reactive review already follows, and finds a running review instead of starting a second.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, ParentClosePolicy, setCurrentDetails, startChild, workflowInfo } from '@temporalio/workflow';
import { reviewWorkflowId, type ScheduledReviewInput, type ScheduledReviewOutcome } from '../core/temporal.js';
import { DASHBOARD_URL_MEMO, reviewMetadata } from '../core/temporal-ui.js';
import { reviewWorkflow } from './review.js';

export async function scheduledReviewWorkflow(input: ScheduledReviewInput): Promise<ScheduledReviewOutcome> {
  const workflowId = reviewWorkflowId(input.jobId);
  // The schedule's action carries the dashboard address (absent from schedules written before).
  const dashboardUrl = workflowInfo().memo?.[DASHBOARD_URL_MEMO];
  let child;
  try {
    child = await startChild(reviewWorkflow, {
      workflowId,
      args: [{ jobId: input.jobId, trigger: 'scheduled' }],
      // the review outlives this workflow if the schedule's run is terminated
      parentClosePolicy: ParentClosePolicy.ABANDON,
      ...reviewMetadata({ jobId: input.jobId, trigger: 'scheduled' }, typeof dashboardUrl === 'string' ? dashboardUrl : null),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      setCurrentDetails(`a review of ${input.jobId} was already running (\`${workflowId}\`): this scheduled one joined it`);
      return { started: false, reviewWorkflowId: workflowId, status: 'already_running', reviewId: null };
    }
    throw error;
  }
  setCurrentDetails(`started the review \`${workflowId}\`; waiting for its outcome`);
  try {
    const outcome = await child.result();
    setCurrentDetails(`review #${outcome.reviewId} of ${input.jobId}: ${outcome.status}, ${outcome.suggestionIds.length} suggestion${outcome.suggestionIds.length === 1 ? '' : 's'}`);
    return { started: true, reviewWorkflowId: workflowId, status: outcome.status, reviewId: outcome.reviewId };
  } catch (error) {
    // The review recorded its own failure on its row; the schedule keeps running.
    if (error instanceof ChildWorkflowFailure) {
      setCurrentDetails(`the review \`${workflowId}\` failed; its row in the dashboard says why`);
      return { started: true, reviewWorkflowId: workflowId, status: 'failed', reviewId: null };
    }
    throw error;
  }
}
