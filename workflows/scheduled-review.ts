// scheduledReviewWorkflow: what a job's Temporal schedule starts. A schedule appends the scheduled
// time to the id of the workflow it starts, so this one starts the review itself under the job's
// one-per-job id `healing-review/<jobId>`: a scheduled review joins the rule that a manual or
// reactive review already follows, and finds a running review instead of starting a second.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { reviewWorkflowId, type ScheduledReviewInput, type ScheduledReviewOutcome } from '../core/temporal.js';
import { reviewWorkflow } from './review.js';

export async function scheduledReviewWorkflow(input: ScheduledReviewInput): Promise<ScheduledReviewOutcome> {
  const workflowId = reviewWorkflowId(input.jobId);
  let child;
  try {
    child = await startChild(reviewWorkflow, {
      workflowId,
      args: [{ jobId: input.jobId, trigger: 'scheduled' }],
      // the review outlives this workflow if the schedule's run is terminated
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { started: false, reviewWorkflowId: workflowId, status: 'already_running', reviewId: null };
    }
    throw error;
  }
  try {
    const outcome = await child.result();
    return { started: true, reviewWorkflowId: workflowId, status: outcome.status, reviewId: outcome.reviewId };
  } catch (error) {
    // The review recorded its own failure on its row; the schedule keeps running.
    if (error instanceof ChildWorkflowFailure) return { started: true, reviewWorkflowId: workflowId, status: 'failed', reviewId: null };
    throw error;
  }
}
