// What a refused suggestion command means, read from the error Temporal gave back: one reading
// for the API's single decisions (api/temporal.ts, a 409 or a 500) and the batch activity's items
// (activities/batch.ts, a refused or failed item), so the two never disagree.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { findApplicationFailure } from './failures.js';
import { ERROR_TYPES } from './temporal.js';

export type CommandRefusal =
  /** the state or the files explain it (HTTP 409): `type` is one of ERROR_TYPES, `detail` the failure's first detail */
  | { kind: 'conflict'; type: string; message: string; detail: unknown }
  /** the suggestion's workflow has ended: it takes no more commands */
  | { kind: 'closed' }
  /** the workflow failed the command for a reason of its own: the service's fault */
  | { kind: 'error'; message: string };

/** Refusal types the state or the files explain: conflicts a person can act on, not faults. */
export const CONFLICT_TYPES = new Set<string>([
  ERROR_TYPES.refused,
  ERROR_TYPES.staleFile,
  ERROR_TYPES.guardRefusal,
  ERROR_TYPES.rollbackConflict,
  ERROR_TYPES.fileError,
  ERROR_TYPES.verifyFailed,
  ERROR_TYPES.noChange,
]);

/** The refusal an error from sending a command carries, or null when it is no refusal (Temporal unreachable, a bug). */
export function commandRefusal(error: unknown): CommandRefusal | null {
  if (error instanceof WorkflowUpdateFailedError) {
    const failure = findApplicationFailure(error);
    if (failure && CONFLICT_TYPES.has(failure.type ?? '')) return { kind: 'conflict', type: failure.type!, message: failure.message, detail: failure.details?.[0] ?? null };
    return { kind: 'error', message: failure?.message ?? error.message };
  }
  if (error instanceof WorkflowNotFoundError || /workflow execution already completed/i.test((error as Error).message)) return { kind: 'closed' };
  return null;
}

/** What a command sent to a suggestion whose workflow has ended is told. */
export function closedMessage(command: string, suggestionId: number, status: string | undefined): string {
  return `cannot ${command} suggestion ${suggestionId}: it is ${status ?? 'closed'} and no longer takes commands`;
}
