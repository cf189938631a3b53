// The API's records as JSON (timestamps are ISO strings). They mirror db/*.ts and core/job.ts;
// the dashboard imports nothing from the server, so the shapes are restated here.

export const CATEGORIES = ['performance', 'cost', 'reliability', 'security', 'config', 'prompt', 'script'] as const;
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
/** `acknowledged`: advice said yes to; nothing was written (core/suggestion-state.ts). */
export const SUGGESTION_STATUSES = ['pending', 'approved', 'rejected', 'applied', 'failed', 'expired', 'rolled_back', 'acknowledged'] as const;
/** What an apply still going on after its command answered is doing (core/suggestion-state.ts). */
export const APPLYING_STEP_TEXT = {
  rewrite: 'asking the AI for the new file',
  job_running: "waiting for the job's running run to end",
  window: "waiting for the job's apply window to open",
} as const;
export type ApplyingStep = keyof typeof APPLYING_STEP_TEXT;
export const ACTION_STATUSES = ['success', 'failed', 'rolled_back'] as const;
export const REVIEW_STATUSES = ['running', 'completed', 'skipped', 'failed'] as const;
export const TRIGGERS = ['scheduled', 'manual', 'on_failure', 'on_sla_breach'] as const;
/** The highest review_schedule.min_runs the API takes (core/job.ts MAX_MIN_RUNS). */
export const MAX_MIN_RUNS = 100;
export const FREQUENCIES = ['hourly', 'daily', 'weekly', 'monthly', 'on_failure', 'on_sla_breach', 'manual'] as const;
export const SCOPE_KEYS = [
  'analyze_logs',
  'analyze_runs',
  'analyze_ai_sessions',
  'analyze_sla',
  'analyze_workflows',
  'analyze_script',
  'analyze_prompt',
  'analyze_config',
] as const;

export type Category = (typeof CATEGORIES)[number];
export type Severity = (typeof SEVERITIES)[number];
export type SuggestionStatus = (typeof SUGGESTION_STATUSES)[number];
export type ActionStatus = (typeof ACTION_STATUSES)[number];
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export type Trigger = (typeof TRIGGERS)[number];
export type Frequency = (typeof FREQUENCIES)[number];
export type ScopeKey = (typeof SCOPE_KEYS)[number];

/** A list answer: the rows under their plural noun, with the page it is. */
export interface PageInfo {
  total: number;
  limit: number;
  offset: number;
}

export interface Suggestion {
  id: number;
  review_id: number;
  job_id: string;
  category: Category;
  severity: Severity;
  /** the analyzer's own word when it was none of the four severities (then stored as medium) */
  severity_reported?: string | null;
  title: string;
  /** the long texts: in the detail, and in a list only with fields=full (the dashboard's list is slim) */
  description?: string;
  current_state?: string | null;
  suggested_change?: string | null;
  expected_impact?: string | null;
  affected_files: string[];
  target_file: string | null;
  status: SuggestionStatus;
  /** an apply going on after its command answered (the status is approved meanwhile) */
  applying_step: ApplyingStep | null;
  applying_since: string | null;
  /** with applying_step window: when it applies (the job's apply window opens) and why it waits */
  apply_at?: string | null;
  apply_wait_reason?: string | null;
  /** an admin who ended the window wait with "apply now", and when */
  applied_now_by?: string | null;
  applied_now_at?: string | null;
  workflow_id: string | null;
  reviewed_at: string | null;
  reviewed_by: string | null;
  review_comment: string | null;
  rejection_reason: string | null;
  error_message: string | null;
  approvals: { by: string; at: string; comment?: string | null }[];
  /** why its file edit cannot be applied (a shared or forbidden file, an action the job does not allow): advice only */
  advisory_reason?: string | null;
  applied_at: string | null;
  action_id: number | null;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** GET /healing/suggestions/{id}: the whole row, with the unified diff of current vs proposed. */
export interface SuggestionDetail extends Suggestion {
  description: string;
  current_state: string | null;
  suggested_change: string | null;
  expected_impact: string | null;
  proposed_content: string | null;
  current_content: string | null;
  diff: string | null;
  /** false only when an admin asked raw=true; secrets_masked: secrets shown as masks ("sk_l…(34 chars)") */
  masked: boolean;
  secrets_masked: number;
  /** target_file is gone or changed since the review read it: current_content is the file as it was then */
  stale: boolean;
  stale_reason: string | null;
  /** different approvers needed (2 under the job's two_person_rule for critical and security) */
  approvals_required: number;
  /** the API has no tokens: one anonymous person, who cannot be two approvers */
  api_open: boolean;
  /** who asks ("human", admin, when the API is open) */
  viewer: { name: string; role: 'viewer' | 'approver' | 'admin' | null };
  /** no file edit, or one the job's policy does not allow: approving acknowledges it, nothing is written */
  advice: boolean;
  /** what it stands on (null for suggestions stored before evidence was kept) */
  evidence?: Evidence | null;
  /** what its review could not see: it was made without it */
  missing_context?: MissingContext[] | null;
}

/** A range of cited lines: 1-based, inclusive; `lines` as the review had them (at most 40), secrets masked. */
export interface CitedLines {
  from: number;
  to: number;
  lines: string[];
}

/** api/schemas.ts SuggestionDetailAnswer.evidence (core/review.ts EvidenceSchema). */
export interface Evidence {
  runs: { id: number; external_id: string | null }[];
  /** a run's log (run_id) or the business log (file "business_log") */
  log_lines: (CitedLines & { run_id: number | null; file: string | null })[];
  /** lines of the job's YAML, script or prompt */
  config_lines: (CitedLines & { file: string })[];
  sla: Record<string, number | string | null> | null;
  /** the analyzer's citations of runs or lines the review did not send: dropped */
  dropped_citations: number;
}

export interface MissingContext {
  kind: string;
  detail: string;
}

/** GET /jobs/{id}/runs: a run as stored (the fields the dashboard shows). */
export interface JobRun {
  id: number;
  job_id: string;
  external_id: string;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  duration_ms: number | null;
  trigger: string | null;
  sla_status: string | null;
}

export interface Review {
  id: number;
  job_id: string;
  trigger: Trigger;
  status: ReviewStatus;
  workflow_id: string;
  /** the Temporal run of this review (every review of a job shares workflow_id) */
  workflow_run_id: string;
  run_id: number | null;
  analyzer: string | null;
  started_at: string;
  finished_at: string | null;
  runs_analyzed: number;
  logs_lines: number;
  ai_sessions_count: number;
  sla_violations_count: number;
  suggestions_count: number;
  duplicates_count: number;
  dropped_count: number;
  auto_applied_count: number;
  error_message: string | null;
  skip_reason: string | null;
  analysis_duration_ms: number | null;
  ai_tokens_used: number;
  /** the analysis's cost when known (0 for the rules analyzer); absent from older APIs */
  ai_cost?: number | null;
  /** why a monthly AI budget made the review use the rules analyzer or skip the AI */
  budget_note?: string | null;
  /** the model that answered the analysis and its provider (openclaw), failed analyses included */
  ai_model: string | null;
  ai_provider: string | null;
  ai_session_id: string | null;
  /** tools the model tried to call: refused, since the service denies them all; null when none */
  tool_calls: ToolAttempt | null;
  /** a skipped scheduled row stands for this many skips in a row (finished_at: the last); 1 for another skipped review, 0 else */
  skip_count: number;
  /** skipped for too few runs (below min_runs): a forced review would run */
  skipped_below_min_runs?: boolean;
  /** while the review waits before its analysis (OpenClaw jobs running): why, and since when */
  waiting_reason: string | null;
  waiting_since: string | null;
  /** skipped: nothing the analyzer sees changed since the last analysed review (no tokens spent) */
  skipped_unchanged?: boolean;
  /** while it waits for an analysis slot, its place in the queue; while analysed, since when; else null */
  analysis_queue?: AnalysisQueuePlace | null;
  created_at: string;
}

export type AnalysisQueuePlace =
  | { state: 'waiting'; position: number; ahead: number; waited_s: number; requested_at: string }
  | { state: 'analysing'; waited_s: number; analysing_s: number; started_at: string };

export interface ToolAttempt {
  calls: number;
  tools: string[];
  refused: number;
  ran: string[];
}

export interface ReviewDetail extends Review {
  suggestions: Suggestion[];
}

/**
 * How the written file was checked after the apply: the check that passed, the one skipped and why
 * (check null when the file type has none), or what it rejected. Null for older actions.
 */
export type ActionVerification =
  | { status: 'verified'; check: string }
  | { status: 'skipped'; check: string | null; reason: string }
  | { status: 'failed'; check: string; reason: string };

export interface Action {
  id: number;
  suggestion_id: number;
  attempt: number;
  job_id: string;
  action_type: 'edit_script' | 'edit_prompt' | 'edit_config';
  file_path: string | null;
  original_sha256: string | null;
  new_sha256: string | null;
  status: ActionStatus | 'running';
  error_message: string | null;
  can_rollback: boolean;
  rolled_back_at: string | null;
  rolled_back_by: string | null;
  execution_duration_ms: number | null;
  ai_session_key: string | null;
  verification: ActionVerification | null;
  /** the regression watch after the apply: null (not watched), watching, done */
  watch_status: 'watching' | 'done' | null;
  /** null while watching, and when a rollback ended the watch first */
  verdict: Verdict | null;
  /** the figures behind the verdict, or how far the watch has got */
  verdict_details: WatchDetails | null;
  verdict_at: string | null;
  /** rolled back by the watch itself */
  auto_reverted: boolean;
  created_at: string;
}

export type Verdict = 'improved' | 'no_change' | 'regressed' | 'inconclusive';

/** What the watch stored (core/regression.ts): the summary always; the measures once judged. */
export interface WatchDetails {
  summary?: string;
  runs_before?: number;
  runs_after?: number;
  measures?: { measure: string; before: number | null; after: number | null; change: 'worse' | 'better' | 'same' | 'not_judged'; text: string }[];
  auto_revert?: boolean;
  until?: string;
  /** why the watch ended without a verdict */
  stopped?: string;
}

export interface ActionDetail extends Action {
  original_content: string | null;
  new_content: string | null;
  backup_path: string | null;
  diff: string | null;
  /** false only when an admin asked raw=true; secrets_masked: secrets shown as masks ("sk_l…(34 chars)") */
  masked: boolean;
  secrets_masked: number;
}

/** Answer of approve, reject, apply and rollback. */
export interface CommandResult {
  success: true;
  suggestion_id: number;
  status: SuggestionStatus;
  action_id: number | null;
  approvals_needed?: number;
  error?: string | null;
  /** 202: the apply goes on after the answer; the suggestion's applying_step says so until it ends */
  applying?: ApplyingStep;
  /** with applying job_running: the run the apply waits for, and until when at most */
  waiting_for_run?: { job_id: string; id: number; external_id: string; started_at: string };
  wait_until?: string;
  /** with applying window: when the job's apply window opens, and the window in words */
  apply_at?: string;
  apply_window?: string;
}

export interface TriggerResult {
  success: true;
  review_id: number | null;
  job_id: string;
  workflow_id: string;
  already_running: boolean;
  status: string;
}

export interface ReviewSchedule {
  frequency: Frequency;
  time: string;
  day: number;
  day_of_month: number;
  min_runs: number;
  max_lookback_days?: number;
  timezone?: string;
  [key: string]: unknown;
}

export interface SuggestionBehavior {
  auto_apply: boolean;
  auto_apply_categories: Category[];
  min_severity_for_approval: Severity;
  notify_on_suggestion: boolean;
  notify_channel: string;
  notify_target?: string;
  suggestion_ttl_days?: number;
  rollback_window_days?: number;
  two_person_rule?: boolean;
  [key: string]: unknown;
}

export interface SelfHealing {
  enabled: boolean;
  mode: 'reactive' | 'proactive';
  review_schedule: ReviewSchedule;
  review_scope: Record<ScopeKey, boolean>;
  suggestions: SuggestionBehavior;
  [key: string]: unknown;
}

export interface Job {
  id: string;
  name?: string;
  type?: string;
  file?: string;
  schedule?: string | null;
  timezone?: string | null;
  /** the zone reviews run in, and whose it is: the review schedule's, the job's, or the default for jobs that set none */
  review_timezone?: string;
  review_timezone_source?: 'schedule' | 'job' | 'HEALING_DEFAULT_TIMEZONE' | 'machine';
  enabled?: boolean;
  loaded: boolean;
  self_healing?: SelfHealing;
  /** when its Temporal schedule next starts a review (null: paused or no schedule) */
  next_review_at?: string | null;
  healing_schedule?: { schedule_id: string; paused: boolean; note: string | null; next_review_at: string | null } | null;
}

export interface JobLoadError {
  job_id: string | null;
  file: string;
  field: string;
  reason: string;
}

export interface JobList {
  jobs: Job[];
  errors: JobLoadError[];
  total: number;
}

/** With tokens configured and none sent, /health tells only reachability: no namespace, UI or analyzer. */
export interface Health {
  status: 'ok' | 'degraded';
  postgres: { ok: boolean };
  temporal: { ok: boolean; namespace?: string; ui?: string | null };
  worker: { ok: boolean };
  analyzer?: { active: 'openclaw' | 'rules'; openclaw: { available: boolean; version: string | null; problem: string | null } };
}

/** A (field, reason) pair of a 400 answer. */
export interface FieldError {
  field: string;
  reason: string;
}

/** A silence asked for with a rejection (api/schemas.ts SilenceSpec). */
export type SilenceSpec = { kind: 'never' } | { kind: 'not_now'; days: number };

/** GET /jobs/{id}/silences (db/silences.ts): a person's "never" or "not now" on a rejected finding of the job. */
export interface JobSilence {
  id: number;
  job_id: string;
  fingerprint: string;
  kind: 'never' | 'not_now';
  /** a not_now silence ends then */
  until: string | null;
  suggestion_id: number | null;
  title: string | null;
  created_by: string | null;
  created_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
  /** still keeping the finding away */
  active: boolean;
}
