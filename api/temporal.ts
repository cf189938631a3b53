// The API's only way to change anything: start a review or send a suggestion's workflow a
// command. Refusals come back from the workflow and become 409s naming the state.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import {
  ERROR_TYPES,
  reviewWorkflowId,
  suggestionWorkflowId,
  TASK_QUEUE,
  UPDATE_NAMES,
  type CommandResult,
  type ReviewInput,
} from '../core/temporal.js';
import { findApplicationFailure } from '../core/failures.js';
import type { Db } from '../db/knex.js';
import { HttpError, isUnavailable } from './errors.js';

export interface StartedReview {
  workflowId: string;
  runId: string;
  alreadyRunning: boolean;
}

export async function startReview(client: Client, db: Db, input: ReviewInput): Promise<StartedReview> {
  const workflowId = reviewWorkflowId(input.jobId);
  const start = () => client.workflow.start('reviewWorkflow', { workflowId, taskQueue: TASK_QUEUE, args: [input] });
  try {
    const handle = await start();
    return { workflowId, runId: handle.firstExecutionRunId, alreadyRunning: false };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw unavailableOr(error);
    const running = client.workflow.getHandle(workflowId);
    const { runId } = await running.describe();
    // A review whose row is already closed is only returning: let it, then start the new one.
    if (await reviewRowClosed(db, runId)) {
      await Promise.race([running.result().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      try {
        const handle = await start();
        return { workflowId, runId: handle.firstExecutionRunId, alreadyRunning: false };
      } catch (retryError) {
        if (!(retryError instanceof WorkflowExecutionAlreadyStartedError)) throw unavailableOr(retryError);
      }
    }
    return { workflowId, runId: (await running.describe()).runId, alreadyRunning: true };
  }
}

export async function sendCommand(
  client: Client,
  suggestionId: number,
  command: keyof typeof UPDATE_NAMES,
  args: unknown,
  statusNow: () => Promise<string | undefined>,
): Promise<CommandResult> {
  const handle = client.workflow.getHandle(suggestionWorkflowId(suggestionId));
  try {
    return await handle.executeUpdate<CommandResult, [unknown]>(UPDATE_NAMES[command], { args: [args] });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const failure = findApplicationFailure(error);
      // Refusals the state or the files explain are conflicts; anything else is the service's.
      if (failure && CONFLICT_TYPES.has(failure.type ?? '')) throw new HttpError(409, failure.message, failure.details?.[0] ?? null);
      throw new HttpError(500, failure?.message ?? error.message);
    }
    if (error instanceof WorkflowNotFoundError || /workflow execution already completed/i.test((error as Error).message)) {
      const status = await statusNow();
      throw new HttpError(409, `cannot ${command} suggestion ${suggestionId}: it is ${status ?? 'closed'} and no longer takes commands`);
    }
    throw unavailableOr(error);
  }
}

const CONFLICT_TYPES = new Set<string>([ERROR_TYPES.refused, ERROR_TYPES.staleFile, ERROR_TYPES.guardRefusal, ERROR_TYPES.rollbackConflict]);

async function reviewRowClosed(db: Db, workflowRunId: string): Promise<boolean> {
  const row = await db('healing_reviews').where({ workflow_run_id: workflowRunId }).first('status');
  return Boolean(row && row.status !== 'running');
}

function unavailableOr(error: unknown): unknown {
  if (isUnavailable(error)) return new HttpError(503, `Temporal is unreachable: ${(error as Error).message}`);
  return error;
}
