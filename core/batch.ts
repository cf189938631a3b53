// Bulk decisions (issue 19): one person's approve, reject or apply of many suggestions, carried
// out by a batch workflow that sends each decision to each suggestion's own workflow, a few at a
// time. Names and shapes shared by the API, the workflow and its activity.

export const BATCH_DECISIONS = ['approve', 'reject', 'apply'] as const;
export type BatchDecision = (typeof BATCH_DECISIONS)[number];

/** The most suggestions one batch decides: a bigger selection is narrowed by its filter first. */
export const MAX_BATCH_ITEMS = 5_000;
/** Decisions at once when HEALING_BATCH_CONCURRENCY is unset. */
export const DEFAULT_BATCH_CONCURRENCY = 8;
/** Items per activity call: progress is written (and shown) after each chunk. */
export const BATCH_CHUNK_SIZE = 50;

export const batchWorkflowId = (batchId: number): string => `healing-batch/${batchId}`;

/**
 * What became of one item. `waiting_approver`: the approval is recorded as this person's, and the
 * suggestion still needs `approvals_needed` more approvers (the two-person rule) before it applies.
 */
export const BATCH_OUTCOMES = ['decided', 'waiting_approver', 'refused', 'failed'] as const;
export type BatchOutcome = (typeof BATCH_OUTCOMES)[number];

/** Why an item was refused: what a person can act on. */
export const REFUSAL_CODES = [
  'wrong_state', // the suggestion's status does not take this decision (its workflow may have ended)
  'busy', // still busy with another command (another batch, a person) after a few tries: send it again later
  'needs_second_approver', // this person already approved it, or the API is open and it needs two approvers
  'stale_file', // its file changed since the review read it
  'not_allowed', // the write guard refused the file
  'no_change', // the file already holds the proposal
  'not_found', // no such suggestion (removed since it was selected)
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export const BATCH_STATUSES = ['running', 'finished', 'failed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchInput {
  batchId: number;
  /** decisions sent at once */
  concurrency: number;
  /** items per activity call (BATCH_CHUNK_SIZE unless a test says otherwise) */
  chunkSize?: number;
}

export interface BatchChunkResult {
  /** items still without an outcome */
  remaining: number;
  /** items decided by this call */
  done: number;
}

export interface BatchResult {
  batchId: number;
  status: BatchStatus;
  total: number;
  counts: Record<BatchOutcome, number>;
}
