// The API's only way to change anything: start a review or send a suggestion's workflow a
// command. Refusals come back from the workflow and become 409s naming the state.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type Client,
} from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import {
  reviewWorkflowId,
  SEARCH_ATTRIBUTES,
  suggestionWorkflowId,
  TASK_QUEUE,
  UPDATE_NAMES,
  type CommandResult,
  type ReviewInput,
} from '../core/temporal.js';
import { closedMessage, commandRefusal } from '../core/command-refusal.js';
import { dashboardUrlFrom, reviewMetadata } from '../core/temporal-ui.js';
import type { Db } from '../db/knex.js';
import { HttpError, isUnavailable } from './errors.js';

export interface StartedReview {
  workflowId: string;
  runId: string;
  alreadyRunning: boolean;
}

/**
 * Starts the job's review, or finds the running one. `dashboardUrl` is where the review's static
 * details in the Temporal UI link to (default: HEALING_PUBLIC_URL, else the local API's address).
 */
export async function startReview(client: Client, db: Db, input: ReviewInput, opts: { dashboardUrl?: string } = {}): Promise<StartedReview> {
  const workflowId = reviewWorkflowId(input.jobId);
  // What it is and its job's dashboard page, in the Temporal UI (user metadata: not part of replay).
  const shown = reviewMetadata(input, opts.dashboardUrl ?? dashboardUrlFrom(process.env));
  const start = () =>
    client.workflow.start('reviewWorkflow', {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [input],
      ...shown,
      // the summary again as a search attribute: the Temporal UI's list can show it as a column
      ...(shown.staticSummary ? { searchAttributes: { [SEARCH_ATTRIBUTES.summary]: [shown.staticSummary] } } : {}),
    });
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

/**
 * A command Temporal accepted (from then on it is in the suggestion's workflow history and is
 * carried out whatever happens) but whose outcome it could not report because it became
 * unreachable: the caller gets 202 and reads the suggestion later, never a 503 for a decision
 * that was in fact taken.
 */
export interface AcceptedCommand {
  accepted: true;
  status: string | null;
  action_id: null;
  note: string;
}

export async function sendCommand(
  client: Client,
  suggestionId: number,
  command: keyof typeof UPDATE_NAMES,
  args: unknown,
  statusNow: () => Promise<string | undefined>,
): Promise<CommandResult | AcceptedCommand> {
  const handle = client.workflow.getHandle(suggestionWorkflowId(suggestionId));
  const refusal = async (error: unknown): Promise<unknown> => {
    const refused = commandRefusal(error);
    // Refusals the state or the files explain are conflicts; anything else is the service's.
    if (refused?.kind === 'conflict') return new HttpError(409, refused.message, refused.detail);
    if (refused?.kind === 'error') return new HttpError(500, refused.message);
    if (refused?.kind === 'closed') return new HttpError(409, closedMessage(command, suggestionId, await statusNow()));
    return null;
  };
  let update;
  try {
    // Until the workflow accepts it, nothing has changed: a failure here is a clean 503.
    update = await handle.startUpdate<CommandResult, [unknown]>(UPDATE_NAMES[command], { args: [args], waitForStage: WorkflowUpdateStage.ACCEPTED });
  } catch (error) {
    const refused = await refusal(error);
    if (refused) throw refused;
    // Unreachable, or too slow to say whether it accepted (an overloaded server answers the update
    // RPC past its deadline): the request may have reached the workflow; say so, not "nothing happened".
    if (isUnavailable(error) || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new HttpError(
        503,
        `Temporal did not answer while the ${command} was being sent (${(error as Error).message}); it may have been recorded: read suggestion ${suggestionId} once Temporal is back. Sending it again is safe: a repeat is refused with the state.`,
        { maybe_recorded: true },
      );
    }
    throw error;
  }
  try {
    return await update.result();
  } catch (error) {
    const refused = await refusal(error);
    if (refused) throw refused;
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isUnavailable(error)) {
      return {
        accepted: true,
        status: (await statusNow().catch(() => undefined)) ?? null,
        action_id: null,
        note: `the ${command} is accepted and recorded in the suggestion's workflow, but Temporal became unreachable before it finished; it completes once Temporal is back: read the suggestion for its outcome`,
      };
    }
    throw error;
  }
}

/**
 * 200 for a command carried out; 202 for one only accepted so far, or whose apply goes on after
 * the answer (the AI writes the new file; the suggestion shows `applying_step` until it ends).
 */
export function commandHttpStatus(result: CommandResult | AcceptedCommand): 200 | 202 {
  return 'accepted' in result || result.applying ? 202 : 200;
}

/**
 * An apply that was tried and failed (a write the disk refused, a file that did not verify, an AI
 * rewrite that failed) is a failure, never `success: true`: 422 with the reason, the file restored
 * and the failed action recorded on the suggestion, which takes a retry (after fixing the cause)
 * or a rejection. Refusals before anything was tried (the state, a changed file, the guard) stay
 * 409s.
 */
export function failedApply(suggestionId: number, result: CommandResult | AcceptedCommand): HttpError | null {
  if ('accepted' in result || result.status !== 'failed') return null;
  return new HttpError(422, result.error ?? `applying suggestion ${suggestionId} failed`, {
    code: 'apply_failed',
    suggestion_id: suggestionId,
    status: result.status,
    action_id: result.action_id,
  });
}

async function reviewRowClosed(db: Db, workflowRunId: string): Promise<boolean> {
  const row = await db('healing_reviews').where({ workflow_run_id: workflowRunId }).first('status');
  return Boolean(row && row.status !== 'running');
}

function unavailableOr(error: unknown): unknown {
  if (isUnavailable(error)) return new HttpError(503, `Temporal is unreachable: ${(error as Error).message}`);
  // Not the caller's doing: a server still loading its namespaces (seen under load in the scale
  // drill, once in 1,000 starts) or a TEMPORAL_NAMESPACE that does not exist there.
  if (error instanceof NamespaceNotFoundError) {
    return new HttpError(503, `Temporal answered that namespace "${error.namespace}" does not exist: try again in a moment; if it persists, check TEMPORAL_NAMESPACE`);
  }
  return error;
}
