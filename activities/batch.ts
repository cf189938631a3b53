// The batch workflow's steps: decide the next chunk of a batch's items, each by a command sent to
// the suggestion's own workflow (it stays the single writer of its state), at most `concurrency`
// at once; then close the batch. Each item's outcome is written as soon as it is known, so a
// retried chunk (a worker lost mid-chunk) sends again only what has no outcome yet.
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateStage, type Client } from '@temporalio/client';
import type { BatchChunkResult, BatchDecision, BatchResult, RefusalCode } from '../core/batch.js';
import { closedMessage, commandRefusal } from '../core/command-refusal.js';
import { createLimiter } from '../core/concurrency.js';
import { describeRun } from '../core/running.js';
import { innermostMessage } from '../core/failures.js';
import { ERROR_TYPES, suggestionWorkflowId, UPDATE_NAMES, type CommandResult } from '../core/temporal.js';
import { closeBatch, countUndecided, getBatch, recordItem, refreshCounts, undecidedItems, type BatchRecord, type ItemResult } from '../db/batches.js';
import { getSuggestion } from '../db/suggestions.js';
import type { ActivityDeps } from './deps.js';

/** How often a chunk tells Temporal it is alive while its decisions run. */
const HEARTBEAT_MS = 5_000;
/**
 * A suggestion busy with another command (another batch's, a person's) takes this one a moment
 * later: waits before each new try, doubling. Still busy after them, the item is refused `busy`.
 */
const BUSY_RETRY_MS = [250, 500, 1_000, 2_000] as const;
/** How the suggestion workflow words that refusal (workflows/suggestion.ts check). */
const BUSY = /is busy with another command/;

export function createBatchActivities({ db }: ActivityDeps) {
  /** One item's decision, sent as the single approve/reject/apply routes send it (api/routes/suggestions.ts). */
  const decide = async (client: Client, batch: BatchRecord, suggestionId: number, tries = 0): Promise<ItemResult> => {
    const args = { by: batch.created_by, identified: batch.identified, ...decisionArgs(batch) };
    const statusNow = async () => (await getSuggestion(db, suggestionId))?.status;
    let accepted = false;
    try {
      const handle = client.workflow.getHandle(suggestionWorkflowId(suggestionId));
      const update = await handle.startUpdate<CommandResult, [unknown]>(UPDATE_NAMES[batch.decision], { args: [args], waitForStage: WorkflowUpdateStage.ACCEPTED });
      accepted = true;
      return decidedItem(await update.result());
    } catch (error) {
      const refused = commandRefusal(error);
      if (refused?.kind === 'conflict' && BUSY.test(refused.message)) {
        const wait = BUSY_RETRY_MS[tries];
        if (wait !== undefined) {
          await sleep(wait);
          return decide(client, batch, suggestionId, tries + 1);
        }
        return refusedItem('busy', `${refused.message} (still busy after ${tries + 1} tries)`, statusOf(refused.detail) ?? (await statusNow()) ?? null);
      }
      if (refused?.kind === 'conflict') return refusedItem(refusalCode(batch.decision, refused.type, refused.message), refused.message, statusOf(refused.detail) ?? (await statusNow()) ?? null);
      if (refused?.kind === 'closed') {
        const status = await statusNow();
        return refusedItem(status === undefined ? 'not_found' : 'wrong_state', closedMessage(batch.decision, suggestionId, status), status ?? null);
      }
      // Accepted, the decision is in the suggestion's history and is carried out; only its answer was lost.
      const message = accepted
        ? `the ${batch.decision} was accepted by suggestion ${suggestionId}'s workflow, but its outcome could not be read (${innermostMessage(error)}): read the suggestion`
        : innermostMessage(error);
      return { outcome: 'failed', status_after: (await statusNow().catch(() => undefined)) ?? null, code: null, message, approvals_needed: null, action_id: null };
    }
  };

  return {
    /** Decides up to `chunkSize` undecided items, `concurrency` at a time, and writes the batch's progress. */
    async decideBatchChunk(input: { batchId: number; chunkSize: number; concurrency: number }): Promise<BatchChunkResult> {
      const context = Context.current();
      const batch = await getBatch(db, input.batchId);
      if (!batch) throw new Error(`batch ${input.batchId} not found`);
      const items = await undecidedItems(db, input.batchId, input.chunkSize);
      const limited = createLimiter(input.concurrency);
      // Counted here, around each update: what the Temporal server sees from this batch at once.
      let inFlight = 0;
      let peak = 0;
      const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
      try {
        await Promise.all(
          items.map((item) =>
            limited(async () => {
              inFlight += 1;
              peak = Math.max(peak, inFlight);
              try {
                await recordItem(db, input.batchId, item.position, await decide(context.client, batch, item.suggestion_id));
              } finally {
                inFlight -= 1;
              }
            }),
          ),
        );
      } finally {
        clearInterval(heartbeat);
      }
      await refreshCounts(db, input.batchId, peak);
      return { remaining: await countUndecided(db, input.batchId), done: items.length };
    },

    /** Closes the batch, `failed` with `error` when the workflow could not finish it. */
    async closeBatch(input: { batchId: number; error?: string | null }): Promise<BatchResult> {
      await refreshCounts(db, input.batchId, 0);
      const row = await closeBatch(db, input.batchId, input.error ? 'failed' : 'finished', input.error ?? null);
      return {
        batchId: row.id,
        status: row.status,
        total: row.total,
        counts: { decided: row.decided, waiting_approver: row.waiting_approver, refused: row.refused, failed: row.failed },
      };
    },
  };
}

function decisionArgs(batch: BatchRecord): object {
  if (batch.decision === 'approve') return { comment: batch.comment, apply: true };
  if (batch.decision === 'reject') return { reason: batch.reason ?? '' };
  return {};
}

/**
 * A command the workflow answered. A failed apply (the file restored, the reason on the
 * suggestion) is a failed item; a first of two approvals is this person's approval, waiting for
 * another approver; an apply that goes on after its answer (the AI's rewrite, a running job, the
 * job's apply window) is decided, with what it waits for.
 */
function decidedItem(result: CommandResult): ItemResult {
  const base = { status_after: result.status, code: null, approvals_needed: null, action_id: result.action_id };
  if (result.status === 'failed') return { ...base, outcome: 'failed', message: result.error ?? 'the apply failed' };
  if (result.approvals_needed && result.approvals_needed > 0) {
    const n = result.approvals_needed;
    return { ...base, outcome: 'waiting_approver', approvals_needed: n, message: `approval recorded; ${n} more approver${n === 1 ? '' : 's'} needed before it applies` };
  }
  return { ...base, outcome: 'decided', message: result.applying ? applyingMessage(result) : null };
}

/** What an apply going on after its answer waits for, as the single approve's answer tells it (api/routes/suggestions.ts). */
function applyingMessage(result: CommandResult): string {
  if (result.applying === 'window') return `applies ${result.apply_at ? `at ${result.apply_at} ` : ''}when the job's apply window opens${result.apply_window ? ` (${result.apply_window})` : ''}`;
  if (result.applying === 'job_running') {
    const run = result.waiting_for_run ? describeRun(result.waiting_for_run) : "the job's running run";
    return `the apply goes on: waiting for ${run} to end${result.wait_until ? `, until ${result.wait_until} at most` : ''}`;
  }
  return 'the apply goes on: the AI writes the new file';
}

function refusedItem(code: RefusalCode, message: string, status: string | null): ItemResult {
  return { outcome: 'refused', status_after: status, code, message, approvals_needed: null, action_id: null };
}

/**
 * Why the workflow refused. The approver rules (this person approved already; an open API cannot
 * be two approvers) are plain refusals of a pending suggestion's approve, told apart by what they say.
 */
function refusalCode(decision: BatchDecision, type: string, message: string): RefusalCode {
  if (type === ERROR_TYPES.staleFile) return 'stale_file';
  if (type === ERROR_TYPES.guardRefusal) return 'not_allowed';
  if (type === ERROR_TYPES.noChange) return 'no_change';
  if (decision === 'approve' && /approver/.test(message)) return 'needs_second_approver';
  return 'wrong_state';
}

function statusOf(detail: unknown): string | null {
  const status = (detail as { status?: unknown } | null)?.status;
  return typeof status === 'string' ? status : null;
}
