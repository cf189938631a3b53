// Names and messages shared by the workflows, the worker and the API: one place, so a renamed
// update or task queue cannot leave one side behind.
import type { OpenRun } from './running.js';
import type { ApplyingStep, SuggestionStatus } from './suggestion-state.js';
import type { Trigger } from './review.js';

export const TASK_QUEUE = 'healing';
/** Analysis runs on its own queue, one at a time by default, so reviews never compete for AI tokens. */
export const ANALYSIS_TASK_QUEUE = 'healing-analysis';

export const reviewWorkflowId = (jobId: string): string => `healing-review/${jobId}`;
export const suggestionWorkflowId = (suggestionId: number): string => `healing-suggestion/${suggestionId}`;
export const scheduleId = (jobId: string): string => `healing-schedule/${jobId}`;
/** Tells people about a review's pending suggestions once the review has closed. */
export const notifyWorkflowId = (reviewId: number): string => `healing-notify/${reviewId}`;
export const RETENTION_SCHEDULE_ID = 'healing-retention';
/** Every per-job schedule id starts with this; the reconciler owns all of them. */
export const SCHEDULE_ID_PREFIX = 'healing-schedule/';
/**
 * The id a schedule gives the workflow it starts (the server appends the scheduled time), which
 * then starts the job's review under the one-per-job id `healing-review/<jobId>`.
 */
export const scheduledReviewWorkflowId = (jobId: string): string => `healing-scheduled-review/${jobId}`;
export const RETENTION_WORKFLOW_ID = 'healing-retention';

export const UPDATE_NAMES = { approve: 'approve', reject: 'reject', apply: 'apply', rollback: 'rollback', applyNow: 'applyNow' } as const;
export const QUERY_NAMES = { state: 'state' } as const;

/** Custom search attributes, registered by the worker at start-up (types below). */
export const SEARCH_ATTRIBUTES = {
  jobId: 'HealingJobId',
  trigger: 'HealingTrigger',
  category: 'HealingCategory',
  severity: 'HealingSeverity',
  status: 'HealingStatus',
  /** a suggestion's file to edit, set at its start: "everything that touched this file" */
  targetFile: 'HealingTargetFile',
  /** who approved (each approver) or rejected a suggestion, set when decided */
  decidedBy: 'HealingDecidedBy',
  /** when its last decision was taken: "what alice approved this week" (a workflow closes weeks later) */
  decidedAt: 'HealingDecidedAt',
  /** the workflow's one-line summary, set at its start: the Temporal UI's list can show it as a column (its static summary it cannot) */
  summary: 'HealingSummary',
} as const;

export type SearchAttributeName = (typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES];

/** Each one's Temporal type: Keyword, but a list for the deciders (a two-person rule has two) and a time for the decision. */
export const SEARCH_ATTRIBUTE_TYPES: Record<SearchAttributeName, 'Keyword' | 'KeywordList' | 'Datetime' | 'Text'> = {
  HealingJobId: 'Keyword',
  HealingTrigger: 'Keyword',
  HealingCategory: 'Keyword',
  HealingSeverity: 'Keyword',
  HealingStatus: 'Keyword',
  HealingTargetFile: 'Keyword',
  HealingDecidedBy: 'KeywordList',
  HealingDecidedAt: 'Datetime',
  HealingSummary: 'Text',
};

/** Error types activities throw that retrying cannot fix. */
export const ERROR_TYPES = {
  jobNotFound: 'JobNotFound',
  guardRefusal: 'GuardRefusal',
  staleFile: 'StaleFile',
  verifyFailed: 'VerifyFailed',
  rollbackConflict: 'RollbackConflict',
  /** the disk refused a read or write of a job's file (permissions, read-only, full) */
  fileError: 'FileError',
  /** core/parse-ai's error class: Temporal names a thrown error's failure type after its class */
  analyzerOutput: 'AnalyzerOutputError',
  analyzerFailed: 'AnalyzerFailed',
  refused: 'CommandRefused',
  /** the proposal is what the file already holds: nothing is applied or recorded */
  noChange: 'NoChange',
} as const;
export const NON_RETRYABLE_ERROR_TYPES: string[] = Object.values(ERROR_TYPES);

export interface ReviewInput {
  jobId: string;
  trigger: Trigger;
  /** the run that triggered a reactive review */
  runId?: number | null;
  /**
   * review even below min_runs (a manual review; the API's trigger also takes it to review a job
   * whose run is still open)
   */
  force?: boolean;
}

export interface ReviewOutcome {
  reviewId: number;
  status: 'completed' | 'skipped' | 'failed';
  suggestionIds: number[];
  duplicates: number;
  autoApplied: number;
}

export interface SuggestionInput {
  suggestionId: number;
  jobId: string;
  autoApply: boolean;
  ttlMs: number;
  rollbackWindowMs: number;
  /** distinct approvers needed before it applies (two for critical or security suggestions) */
  requiredApprovals: number;
  /** the file it edits, named in its timers' and steps' summaries (absent from older reviews' input) */
  targetFile?: string | null;
}

export interface ApproveArgs {
  by: string;
  /** whether `by` comes from an API token (open mode has one anonymous person) */
  identified?: boolean;
  comment?: string | null;
  /** apply at once after approving (the default) */
  apply?: boolean;
}
export interface RejectArgs {
  by: string;
  reason: string;
}
export interface ApplyArgs {
  by: string;
}
/** An admin ends an apply's wait for the job's apply window (an open run is still waited for). */
export interface ApplyNowArgs {
  by: string;
}
export interface RollbackArgs {
  by: string;
  /** the action to undo: refused unless it is the suggestion's applied one */
  actionId: number;
  force?: boolean;
}

export interface CommandResult {
  status: SuggestionStatus;
  action_id: number | null;
  /** approvals still needed before it applies */
  approvals_needed?: number;
  error?: string | null;
  /** the apply goes on after this answer (the AI writes the new file): read the suggestion for its end */
  applying?: ApplyingStep;
  /** with applying `job_running`: the run the apply waits for, and until when at most (ISO) */
  waiting_for_run?: OpenRun;
  wait_until?: string;
  /** with applying `window`: when the job's apply window opens (ISO) and the window in words */
  apply_at?: string;
  apply_window?: string;
}

export interface SuggestionState {
  status: SuggestionStatus;
  /** a command, or an apply that goes on after its answer, is being carried out */
  busy: boolean;
  action_id: number | null;
  approvals: string[];
  /** an apply going on after its command answered */
  applying: ApplyingStep | null;
}

export interface NotifyInput {
  reviewId: number;
  jobId: string;
  /** the review's suggestions that wait for a person */
  suggestionIds: number[];
}

export interface NotifyOutcome {
  sent: boolean;
  detail: string;
}

export interface ScheduledReviewInput {
  jobId: string;
}

export interface ScheduledReviewOutcome {
  /** false when a review of the job was already running: the scheduled one joins it */
  started: boolean;
  reviewWorkflowId: string;
  status: ReviewOutcome['status'] | 'already_running';
  reviewId: number | null;
}

/** Row counts a retention pass removed (or may still remove), per table. */
export interface RetentionCounts {
  reviews: number;
  suggestions: number;
  actions: number;
  runs: number;
  notifications: number;
}

export interface RetentionInput {
  /** overrides the worker's HEALING_RETENTION_DAYS */
  retentionDays?: number;
  /** rows per table per activity call */
  batchSize?: number;
  /** batches before the workflow continues as new (keeps its history short) */
  batchesPerRun?: number;
  /** carried across continue-as-new: the cut-off fixed by the first run, and the totals so far */
  cutoff?: string;
  retentionDaysUsed?: number;
  totals?: RetentionCounts;
  startedAt?: string;
}

export interface RetentionOutcome {
  cutoff: string;
  retentionDays: number;
  removed: RetentionCounts;
}
