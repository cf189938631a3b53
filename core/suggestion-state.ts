// The suggestion state machine: which command each status allows. The suggestion workflow
// checks every command against it, so the API gets a clear refusal naming the state.
export const SUGGESTION_STATUSES = ['pending', 'approved', 'rejected', 'applied', 'failed', 'expired', 'rolled_back', 'acknowledged'] as const;
export type SuggestionStatus = (typeof SUGGESTION_STATUSES)[number];

/**
 * `acknowledged`: advice a person said yes to. A suggestion with no file edit (no target_file),
 * or one whose edit the job's policy does not allow (advisory_reason), has nothing to apply: its
 * approval ends here, with no action, no applied_at and no rollback, so the apply figures
 * (db/stats.ts: changes in place, time to resolution, rollback rate, before/after) count only
 * changes that were made. Not `applied`, which ProcClaw's clients read as "the file changed".
 */
export const ADVICE_STATUS = 'acknowledged' satisfies SuggestionStatus;

/**
 * What an apply still in progress after its command answered is doing. Not a status: the
 * suggestion is `approved` with this mark until the apply ends `applied` or `failed`. The seed's
 * statuses (which ProcClaw's clients and the counters know) stay as they are, the mark says why
 * and since when, and the status written at the end clears it (db/suggestions.ts).
 */
export const APPLYING_STEPS = ['rewrite', 'job_running', 'window'] as const;
export type ApplyingStep = (typeof APPLYING_STEPS)[number];
export const APPLYING_STEP_TEXT: Record<ApplyingStep, string> = {
  rewrite: 'asking the AI for the new file',
  // nothing is written while the job runs: the apply starts once the run reports its end
  job_running: 'waiting for the job\'s running run to end',
  // approved outside the job's apply window (core/apply-window.ts): the row's apply_at says when
  window: 'waiting for the job\'s apply window to open',
};

export const ACTION_STATUSES = ['success', 'failed', 'rolled_back'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

export type SuggestionCommand = 'approve' | 'reject' | 'apply' | 'rollback';

const ALLOWED: Record<SuggestionCommand, readonly SuggestionStatus[]> = {
  approve: ['pending'],
  reject: ['pending', 'approved', 'failed'],
  apply: ['approved', 'failed'],
  rollback: ['applied'],
};

/** The statuses that take this command: what a bulk decision by filter selects (api/routes/batches.ts). */
export function statusesTaking(command: SuggestionCommand): readonly SuggestionStatus[] {
  return ALLOWED[command];
}

/** Null when the command is allowed, else the reason it is refused, naming the state. */
export function refusal(command: SuggestionCommand, status: SuggestionStatus): string | null {
  if (ALLOWED[command].includes(status)) return null;
  const hint: Partial<Record<SuggestionCommand, string>> = {
    apply: status === 'pending' ? ' Approve it first.' : '',
  };
  return `cannot ${command} a suggestion that is ${status.replace('_', ' ')}.${hint[command] ?? ''}`;
}

