// Request schemas: every query, path id and body is validated before anything reads it. Below
// them, the answers the OpenAPI document describes.
import { z } from 'zod';
import { CATEGORIES, JobIdSchema, SEVERITIES } from '../core/job.js';
import { VERDICTS } from '../core/regression.js';
import { MISSING_CONTEXT_KINDS, REVIEW_STATUSES, SLA_STATUSES, TRIGGERS } from '../core/review.js';
import { RUN_REPORT_LIMITS } from '../core/run-report.js';
import { ACTION_STATUSES, APPLYING_STEPS, SUGGESTION_STATUSES } from '../core/suggestion-state.js';
import type { ActionVerification } from '../db/actions.js';
import type { ToolAttempt } from '../db/reviews.js';
import { decodeCursor } from '../db/paging.js';
import { LIST_FIELDS, LONG_TEXTS, SUGGESTION_SORTS, suggestionOrder } from '../db/suggestions.js';
import { ROLES } from './auth.js';

/** A row id as digits only ("1e3", "0x10" and " 7" are no ids), within what a JavaScript number holds exactly. */
export const IdParam = z.object({
  id: z.string().regex(/^[1-9]\d{0,15}$/, 'must be a positive whole number, written in digits').transform(Number).pipe(z.number().max(Number.MAX_SAFE_INTEGER, 'is too large for an id')),
});
export const JobIdParam = z.object({ id: JobIdSchema });

const paging = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
};

// Query schemas are strict: a misspelt filter (`?stauts=`) is a 400 naming it, not a list that
// silently ignores it.
export const AnalysisQueueQuery = z.strictObject({
  job_id: JobIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const ReviewListQuery = z.strictObject({
  job_id: JobIdSchema.optional(),
  status: z.enum(REVIEW_STATUSES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  ...paging,
});

/** The longest search the suggestions list takes: a few words, not a document. */
export const MAX_SEARCH_LENGTH = 200;

/** What the suggestions list filters on: the list's query, and a bulk decision's `filter` (api/routes/batches.ts). */
export const SUGGESTION_FILTERS = {
  job_id: JobIdSchema.optional(),
  status: z.enum(SUGGESTION_STATUSES).optional(),
  category: z.enum(CATEGORIES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  review_id: z.coerce.number().int().positive().optional(),
  q: z
    .string()
    .trim()
    .max(MAX_SEARCH_LENGTH, `a search is at most ${MAX_SEARCH_LENGTH} characters`)
    .optional()
    .transform((v) => v || undefined)
    .meta({ description: 'words searched in every suggestion\'s title, description and job id, any case (%, _ and \\ match themselves)' }),
};

export const SuggestionListQuery = z
  .strictObject({
    ...SUGGESTION_FILTERS,
    sort: z.enum(SUGGESTION_SORTS).default('priority').meta({
      description:
        'priority (default): pending first, then the most severe, newest first within; newest; oldest; severity: most severe first, newest first within',
    }),
    /** next_cursor of the previous page: deep pages without OFFSET */
    cursor: z.string().max(200).optional().meta({ description: 'next_cursor of the previous page, with the same sort and status: deep pages without OFFSET' }),
    fields: z.enum(LIST_FIELDS).default('slim').meta({
      description: `slim (default): each suggestion without its long texts (${LONG_TEXTS.join(', ')}), which GET /healing/suggestions/{id} has; full: with them`,
    }),
    ...paging,
  })
  .superRefine((query, ctx) => {
    if (query.cursor !== undefined && decodeCursor(query.cursor, suggestionOrder(query.sort, query)) === null) {
      ctx.addIssue({ code: 'custom', path: ['cursor'], message: 'not a cursor this API gave out for this sort and status: pass next_cursor from the previous page as it is' });
    }
  });

/** `true` or `false` only: z.coerce.boolean would read the string "false" as true. */
const queryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ActionListQuery = z.strictObject({
  job_id: JobIdSchema.optional(),
  status: z.enum([...ACTION_STATUSES, 'running']).optional(),
  suggestion_id: z.coerce.number().int().positive().optional(),
  can_rollback: queryBoolean.optional().meta({ description: 'true: the changes that can still be rolled back; false: those that cannot' }),
  ...paging,
});

export const RunListQuery = z.strictObject({ ...paging });

export const PendingCountQuery = z.strictObject({ job_id: JobIdSchema.optional() });

/** Endpoints that take no parameter: one sent anyway (`/healing/stats?job_id=x`) is a mistake to report. */
export const NoQuery = z.strictObject({});

/** A suggestion, action or review: secrets in its file contents are masked unless an admin asks for them. */
export const DetailQuery = z.strictObject({
  raw: queryBoolean.optional().meta({
    description: 'true: the contents with their secrets, as stored (admin token only, else 403; every such read is logged with who asked). Default: secrets masked',
  }),
});

/** What every answer that holds file content says about its secrets. */
const maskingFields = {
  masked: z.boolean().meta({ description: 'false only when an admin asked for raw=true: the contents are as stored, secrets included' }),
  secrets_masked: z.number().int().meta({
    description: 'distinct secrets (tokens, keys, passwords, the job\'s env values: what the prompt redaction hides) shown as masks such as "sk_l…(34 chars)" in this answer',
  }),
};

/** One force for both holds on a manual review: the job's min_runs, and the job running now. */
const TriggerForce = z.boolean().default(false).meta({
  description:
    'review now whatever holds a manual review back: fewer runs than min_runs since the last review (else it is skipped with the reason), ' +
    'or a run of the job still open (else 409 with detail.code job_running)',
});

export const TriggerBody = z.strictObject({
  job_id: JobIdSchema,
  force: TriggerForce,
});

export const TriggerForJobBody = z.strictObject({ force: TriggerForce }).default({ force: false });

export const ApproveBody = z.strictObject({
  comment: z.string().max(2_000).nullable().optional(),
  apply: z.boolean().default(true),
}).default({ apply: true });

/** Longest "not now" a rejection may ask for; past that, "never" (which can be lifted) says it better. */
export const SILENCE_MAX_DAYS = 365;

export const SilenceSpec = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('never') }),
  z.strictObject({
    kind: z.literal('not_now'),
    days: z.number().int('days is a whole number of days').min(1, 'days is at least 1').max(SILENCE_MAX_DAYS, `days is at most ${SILENCE_MAX_DAYS}; use kind "never" (it can be lifted) for longer`),
  }),
]).meta({
  description:
    'Silence the finding for this job: `never` (until lifted) or `not_now` for `days` days. A review then does not store a suggestion with its fingerprint ' +
    '(counted in the review\'s silenced_count). Lift it with DELETE /jobs/{id}/silences/{silenceId}',
});

export const RejectBody = z.strictObject({
  reason: z.string().trim().min(1, 'say why it is rejected').max(2_000),
  silence: SilenceSpec.nullable().optional(),
});

export const SilenceIdParam = z.object({ id: JobIdSchema, silenceId: IdParam.shape.id });

export const ApplyBody = z.strictObject({}).default({});

export const RollbackBody = z.strictObject({ force: z.boolean().default(false) }).default({ force: false });

const isoDate = z.iso.datetime({ offset: true });

/** How far ahead of this server's clock a reported run's times may be: clocks of two machines drift. */
export const RUN_CLOCK_SKEW_MS = 5 * 60_000;

/** Runs before this are none a scheduler of today reports (a year 0000 is a client's bug). */
const EARLIEST_RUN = Date.UTC(2000, 0, 1);

/** A run's time as reported: a run cannot start or finish in the future (beyond the clock skew). */
const reportedTime = isoDate
  .refine((t) => Date.parse(t) <= Date.now() + RUN_CLOCK_SKEW_MS, {
    message: `is in the future (more than ${RUN_CLOCK_SKEW_MS / 60_000} minutes ahead of this server's clock); send the time the run really started or finished, in UTC or with its offset`,
    when: (payload) => payload.issues.length === 0, // one reason for a time that is no ISO time at all
  })
  .refine((t) => Date.parse(t) >= EARLIEST_RUN, { message: 'is before 2000-01-01; send the time the run really started or finished', when: (payload) => payload.issues.length === 0 });

export const RunReportBody = z
  .strictObject({
    external_id: z.string().trim().min(1).max(200).optional(),
    id: z.union([z.string().trim().min(1).max(200), z.number().int()]).optional(),
    started_at: reportedTime,
    finished_at: reportedTime.nullable().optional(),
    exit_code: z.number().int().min(-255).max(255).nullable().optional(),
    duration_ms: z.number().int().min(0).max(10 * 365 * 86_400_000).nullable().optional(),
    duration_seconds: z.number().min(0).max(10 * 365 * 86_400).nullable().optional(),
    trigger: z.string().max(64).nullable().optional(),
    error: z.string().max(RUN_REPORT_LIMITS.error_chars).nullable().optional(),
    sla_status: z.enum(SLA_STATUSES).nullable().optional(),
    sla_details: z.record(z.string(), z.unknown()).nullable().optional(),
    log_path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => !p.includes('\0'), 'must not contain NUL')
      .nullable()
      .optional()
      .meta({ description: "an absolute path inside the job's folders (its cwd, its YAML's folder, the ProcClaw logs folder) or HEALING_LOG_ROOTS, symlinks resolved; else 400" }),
    log_tail: z.string().max(RUN_REPORT_LIMITS.log_tail_chars).nullable().optional(),
    session_messages: z.array(z.unknown()).max(RUN_REPORT_LIMITS.session_messages).nullable().optional(),
  })
  .refine((b) => b.external_id !== undefined || b.id !== undefined, { message: 'external_id (the run id in your scheduler) is required', path: ['external_id'] })
  .refine((b) => !b.finished_at || Date.parse(b.finished_at) >= Date.parse(b.started_at), { message: 'is before started_at: a run finishes after it starts', path: ['finished_at'] });

const ActionVerificationAnswer = z
  .discriminatedUnion('status', [
    z.object({ status: z.literal('verified'), check: z.string() }),
    z.object({ status: z.literal('skipped'), check: z.string().nullable(), reason: z.string() }),
    z.object({ status: z.literal('failed'), check: z.string(), reason: z.string() }),
  ])
  .nullable()
  .meta({
    description:
      'How the written file was checked: the check that passed (e.g. "bash -n", "job schema"), the one skipped and why ' +
      '(e.g. "python3 is not installed on the worker"; check null when the file type has none), or what it rejected. ' +
      'Null while the apply runs and for actions applied before it was recorded.',
  }) satisfies z.ZodType<ActionVerification | null>;

/** The regression watch after an apply (README: "After an apply: the regression watch"). */
const WatchFields = {
  watch_status: z.enum(['watching', 'done']).nullable().meta({ description: 'null: not watched (watching disabled for the job, or applied before the watch existed); watching; done' }),
  verdict: z.enum(VERDICTS).nullable().meta({ description: 'improved, no_change, regressed or inconclusive; null while watching, and when a rollback ended the watch first' }),
  verdict_details: z.unknown().meta({
    description:
      'the figures behind the verdict: runs_before, runs_after (and the runs read after), each measure before and after with its margin, ' +
      'the rule, summary; while watching, how far it has got ("not enough runs yet: 2 of 5"); `stopped` when a rollback ended it',
  }),
  verdict_at: isoDate.nullable(),
  auto_reverted: z.boolean().meta({ description: 'true when the watch rolled the change back by itself' }),
};

export const ActionAnswer = z.strictObject({
  id: z.number().int(),
  suggestion_id: z.number().int(),
  attempt: z.number().int(),
  job_id: z.string(),
  action_type: z.enum(['edit_script', 'edit_prompt', 'edit_config']),
  file_path: z.string().nullable(),
  original_sha256: z.string().nullable(),
  new_sha256: z.string().nullable(),
  status: z.enum([...ACTION_STATUSES, 'running']),
  error_message: z.string().nullable(),
  can_rollback: z.boolean(),
  rolled_back_at: isoDate.nullable(),
  rolled_back_by: z.string().nullable(),
  execution_duration_ms: z.number().int().nullable(),
  ai_session_key: z.string().nullable(),
  verification: ActionVerificationAnswer,
  ...WatchFields,
  created_at: isoDate,
});

export const ActionListAnswer = z.strictObject({ actions: z.array(ActionAnswer), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const ActionDetailAnswer = ActionAnswer.extend({
  original_content: z.string().nullable(),
  new_content: z.string().nullable(),
  backup_path: z.string().nullable(),
  file_mode: z.number().int().nullable().meta({ description: 'the mode of the file the apply replaced (a forced rollback of a deleted file recreates it with it)' }),
  command_executed: z.string().nullable(),
  diff: z.string().nullable().meta({ description: 'unified diff of the original and the applied content, both masked' }),
  ...maskingFields,
});

const ToolAttemptAnswer = z
  .strictObject({ calls: z.number().int(), tools: z.array(z.string()), refused: z.number().int(), ran: z.array(z.string()) })
  .nullable()
  .meta({
    description:
      'Tools the model tried to call during the analysis: every one refused, since the service runs OpenClaw with all tools ' +
      'denied (`ran` lists any that succeeded, which fails the review). Null when it tried none.',
  }) satisfies z.ZodType<ToolAttempt | null>;

/** A running review's place in the analysis queue (api/routes/analysis-queue.ts). */
export const AnalysisQueuePlace = z
  .union([
    z.strictObject({
      state: z.literal('waiting'),
      position: z.number().int().meta({ description: 'the place in request order, 1 the first to ask; Temporal may serve waiting reviews in another order' }),
      ahead: z.number().int().meta({ description: 'reviews waiting before it' }),
      waited_s: z.number().int(),
      requested_at: isoDate,
    }),
    z.strictObject({ state: z.literal('analysing'), waited_s: z.number().int().meta({ description: 'how long it waited for its slot' }), analysing_s: z.number().int(), started_at: isoDate }),
  ])
  .nullable()
  .meta({ description: 'While the review waits for an analysis slot: its position and wait; while analysed: since when. Null otherwise' });

export const ReviewAnswer = z.strictObject({
  id: z.number().int(),
  job_id: z.string(),
  trigger: z.enum(TRIGGERS),
  status: z.enum(REVIEW_STATUSES),
  workflow_id: z.string(),
  workflow_run_id: z.string().meta({ description: 'the Temporal run of this review: every review of a job shares its workflow_id, the run tells them apart' }),
  run_id: z.number().int().nullable(),
  analyzer: z.enum(['openclaw', 'rules']).nullable(),
  started_at: isoDate,
  finished_at: isoDate.nullable(),
  runs_analyzed: z.number().int(),
  logs_lines: z.number().int(),
  ai_sessions_count: z.number().int(),
  sla_violations_count: z.number().int(),
  suggestions_count: z.number().int(),
  duplicates_count: z.number().int(),
  silenced_count: z.number().int().meta({ description: 'suggestions left out because a person silenced their finding for the job (never, or not now)' }),
  dropped_count: z.number().int(),
  auto_applied_count: z.number().int(),
  error_message: z.string().nullable(),
  skip_reason: z.string().nullable(),
  analysis_duration_ms: z.number().int().nullable(),
  ai_tokens_used: z.number().int().meta({ description: 'tokens the analysis spent, failed analyses included' }),
  ai_tokens_in: z.number().int().meta({ description: 'of ai_tokens_used, those sent to the model (cache reads and writes included)' }),
  ai_tokens_out: z.number().int().meta({ description: 'of ai_tokens_used, those the model wrote' }),
  ai_cost: z.number().nullable().meta({ description: "the analysis's cost: 0 for the rules analyzer, null when the model's price is unknown" }),
  ai_cost_source: z.enum(['openclaw', 'configured']).nullable().meta({ description: "openclaw: the cost OpenClaw's meta reported; configured: from HEALING_AI_PRICES" }),
  budget_note: z.string().nullable().meta({ description: 'why a monthly AI budget made this review use the rules analyzer or skip the AI analysis (which budget, spent and limit)' }),
  ai_model: z.string().nullable().meta({ description: 'the model that answered the analysis (openclaw), failed ones included' }),
  ai_provider: z.string().nullable(),
  ai_session_id: z.string().nullable().meta({ description: 'the OpenClaw session the analysis turn ran as (deleted with the turn)' }),
  tool_calls: ToolAttemptAnswer,
  skip_count: z.number().int().meta({
    description:
      'A skipped scheduled review stands for this many scheduled reviews skipped in a row (below min_runs, say): one row a streak, ' +
      'finished_at the last of them, skip_reason its reason. 1 for another skipped review, 0 for the rest',
  }),
  skipped_below_min_runs: z.boolean().meta({
    description: 'true: skipped for too few runs since the last review (below min_runs); a trigger with force: true reviews it anyway',
  }),
  waiting_reason: z.string().nullable().meta({
    description: 'Set while a running review waits before its analysis: the OpenClaw jobs running, whose tokens an OpenClaw analysis would compete with',
  }),
  waiting_since: isoDate.nullable(),
  skipped_unchanged: z.boolean().meta({
    description: 'true: a scheduled review skipped because nothing the analyzer sees changed since the last analysed review (skip_reason names it); no tokens spent',
  }),
  analysis_requested_at: isoDate.nullable().meta({ description: 'when the review asked for its analysis (joined the analysis queue)' }),
  analysis_started_at: isoDate.nullable().meta({ description: 'when its analysis began, on a healing-analysis slot (HEALING_ANALYSIS_CONCURRENCY)' }),
  analysis_queue: AnalysisQueuePlace,
  created_at: isoDate,
});

export const ReviewListAnswer = z.strictObject({ reviews: z.array(ReviewAnswer), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

const QueueEntry = { review_id: z.number().int(), job_id: z.string(), trigger: z.enum(TRIGGERS), requested_at: isoDate, waited_s: z.number().int() };
export const AnalysisQueueAnswer = z.strictObject({
  waiting: z.array(z.strictObject({ ...QueueEntry, position: z.number().int().meta({ description: 'the place in request order, 1 the first to ask; Temporal may serve waiting reviews in another order' }) })).meta({ description: 'reviews waiting for an analysis slot, in the order they asked (Temporal may serve them in another order)' }),
  waiting_total: z.number().int().meta({ description: 'all reviews waiting, whatever job_id and limit' }),
  analysing: z.array(z.strictObject({ ...QueueEntry, started_at: isoDate, analysing_s: z.number().int() })).meta({ description: 'reviews whose analysis runs now' }),
});

export const ReviewDetailAnswer = ReviewAnswer.extend({
  workflow_run_id: z.string(),
  raw_response: z.string().nullable().meta({ description: "the analyzer's answer with its meta, without the prompt OpenClaw echoes back; secrets masked" }),
  suggestions: z.array(z.looseObject({ id: z.number().int() })).meta({ description: 'its suggestions, without file contents; secrets in their texts masked' }),
  ...maskingFields,
});

const ServedLines = { from: z.number().int(), to: z.number().int(), lines: z.array(z.string()).meta({ description: 'the lines quoted (at most 40 of from..to), secrets masked' }) };

/** A suggestion's evidence as served (core/review.ts EvidenceSchema; its lines masked, so of any length). */
const ServedEvidence = z.strictObject({
  runs: z.array(z.strictObject({ id: z.number().int(), external_id: z.string().nullable() })),
  log_lines: z.array(z.strictObject({ run_id: z.number().int().nullable(), file: z.string().nullable().meta({ description: '"business_log" for the business log' }), ...ServedLines })),
  config_lines: z.array(z.strictObject({ file: z.string(), ...ServedLines })),
  sla: z.record(z.string(), z.union([z.number(), z.string(), z.null()])).nullable(),
  dropped_citations: z.number().int(),
});

/** One suggestion of GET /healing/suggestions, its texts masked; the long texts only with fields=full. */
const SuggestionListItem = z.strictObject({
  id: z.number().int(),
  review_id: z.number().int(),
  job_id: z.string(),
  category: z.enum(CATEGORIES),
  severity: z.enum(SEVERITIES),
  severity_reported: z.string().nullable(),
  advisory_reason: z.string().nullable(),
  title: z.string(),
  description: z.string().optional(),
  current_state: z.string().nullable().optional(),
  suggested_change: z.string().nullable().optional(),
  expected_impact: z.string().nullable().optional(),
  affected_files: z.array(z.string()),
  target_file: z.string().nullable(),
  status: z.enum(SUGGESTION_STATUSES),
  applying_step: z.enum(APPLYING_STEPS).nullable(),
  applying_since: isoDate.nullable(),
  apply_at: isoDate.nullable(),
  apply_wait_reason: z.string().nullable(),
  workflow_id: z.string().nullable(),
  reviewed_at: isoDate.nullable(),
  reviewed_by: z.string().nullable(),
  review_comment: z.string().nullable(),
  rejection_reason: z.string().nullable(),
  error_message: z.string().nullable(),
  approvals: z.array(z.strictObject({ by: z.string(), at: z.string(), comment: z.string().nullable().optional() })),
  applied_at: isoDate.nullable(),
  action_id: z.number().int().nullable(),
  expires_at: isoDate.nullable(),
  created_at: isoDate,
  updated_at: isoDate,
});

export const SuggestionListAnswer = z.strictObject({
  suggestions: z.array(SuggestionListItem),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  next_cursor: z.string().nullable().meta({ description: 'the cursor of the next page, when this one is full' }),
});

/** GET /healing/suggestions/{id}: the row (loose: the list's fields and more), its contents and diff masked. */
export const SuggestionDetailAnswer = z.looseObject({
  id: z.number().int(),
  target_file: z.string().nullable(),
  current_content: z.string().nullable().meta({ description: 'the file when the review read it, secrets masked' }),
  proposed_content: z.string().nullable().meta({ description: 'the new file, secrets masked (the apply writes the real content)' }),
  diff: z.string().nullable().meta({ description: 'unified diff of the masked current and proposed content: a line whose only change is a secret shows changed, without the value' }),
  ...maskingFields,
  stale: z.boolean().meta({
    description: 'true when target_file is gone or no longer holds current_content (its sha256 differs): the diff is against the file as the review read it and an apply would be refused; re-review the job. false once decided for good',
  }),
  stale_reason: z.string().nullable().meta({ description: 'what happened to the file, when stale' }),
  approvals_required: z.number().int().meta({ description: "different approvers needed before it applies: 2 for critical and security suggestions under the job's two_person_rule, else 1" }),
  api_open: z.boolean().meta({ description: 'true when the API has no tokens: one anonymous person, who cannot be the second approver of a two-person suggestion' }),
  viewer: z.strictObject({ name: z.string(), role: z.enum(ROLES).nullable() }).meta({ description: 'who asks: the token\'s name and role ("human" and admin when the API is open)' }),
  advice: z.boolean().meta({ description: "true when it edits no file, or an edit the job's policy does not allow (advisory_reason): approving it acknowledges it (status acknowledged), nothing is written" }),
  evidence: ServedEvidence.nullable().optional().meta({
    description: "what it stands on: the runs it cites (with their external ids), log and file line ranges with the lines quoted (secrets masked), SLA figures, and dropped_citations: the analyzer's citations of anything the review did not send, dropped. null for suggestions stored before evidence was kept",
  }),
  missing_context: z
    .array(z.strictObject({ kind: z.enum(MISSING_CONTEXT_KINDS), detail: z.string() }))
    .nullable()
    .optional()
    .meta({ description: 'what its review could not see (truncated logs, a missing script, secrets redacted, runs beyond the look-back...): the suggestion was made without it' }),
  watch: z
    .strictObject({ action_id: z.number().int(), ...WatchFields })
    .nullable()
    .meta({ description: 'the regression watch of its applied change (its action\'s watch fields); null when nothing applied was watched' }),
});

const RunWindowAnswer = z.strictObject({
  runs: z.number().int(),
  finished: z.number().int(),
  succeeded: z.number().int(),
  success_rate: z.number().nullable(),
  p95_duration_ms: z.number().nullable(),
});

/** GET /jobs/{id}/healing/summary and GET /healing/stats/{id} (db/stats.ts jobStats, api/routes/stats.ts). */
export const JobSummaryAnswer = z.strictObject({
  job_id: z.string(),
  reviews: z.strictObject({ total: z.number().int(), by_status: z.record(z.enum(REVIEW_STATUSES), z.number().int()) }),
  last_review: z
    .strictObject({
      id: z.number().int(),
      status: z.enum(REVIEW_STATUSES),
      trigger: z.enum(TRIGGERS),
      started_at: isoDate,
      finished_at: isoDate.nullable(),
      duration_ms: z.number().int().nullable().meta({ description: 'finished_at - started_at; null while it runs' }),
      analysis_duration_ms: z.number().int().nullable().meta({ description: "the analyzer's part of duration_ms" }),
      runs_analyzed: z.number().int(),
      suggestions_count: z.number().int(),
      error_message: z.string().nullable().meta({ description: 'why it failed' }),
      skip_reason: z.string().nullable().meta({ description: 'why it was skipped' }),
    })
    .nullable(),
  rollbackable_actions: z.number().int().meta({ description: 'applied changes of the job that can still be rolled back (status success, rollback window open)' }),
  suggestions: z.strictObject({
    total: z.number().int(),
    pending: z.number().int(),
    applied: z.number().int(),
    by_status: z.record(z.enum(SUGGESTION_STATUSES), z.number().int()),
  }),
  acceptance_rate: z.number().nullable(),
  rollback_rate: z.number().nullable(),
  time_to_resolution: z.strictObject({ applied: z.number().int(), median_seconds: z.number().nullable(), p90_seconds: z.number().nullable() }),
  improvement: z.strictObject({
    last_applied_at: isoDate.nullable(),
    before: RunWindowAnswer,
    after: RunWindowAnswer.nullable(),
    success_rate_change: z.number().nullable(),
    p95_duration_change_ms: z.number().nullable(),
  }),
  in_catalog: z.boolean(),
  healing: z.strictObject({ enabled: z.boolean(), mode: z.string(), frequency: z.string() }).nullable(),
  next_review_at: isoDate.nullable(),
  schedule: z.strictObject({ schedule_id: z.string(), paused: z.boolean(), note: z.string().nullable(), next_review_at: isoDate.nullable() }).nullable(),
});

/** GET /jobs/{id}/business-logs: how many of the last lines; the job's business_log.max_lines when unset. */
export const BusinessLogQuery = z.strictObject({ lines: z.coerce.number().int().min(1).max(10_000).optional() });

export const BusinessLogAnswer = z.strictObject({
  job_id: z.string(),
  configured: z.boolean().meta({ description: 'false: the job has no self_healing.business_log.path' }),
  path: z.string().nullable().meta({ description: 'business_log.path as the job names it' }),
  lines: z.array(z.string()).meta({ description: 'the last lines (oldest first; only the last 256 KB of the file are read), secrets replaced by [REDACTED:<kind>#<n>]' }),
  max_lines: z.number().int(),
  redacted: z.number().int().meta({ description: 'secrets replaced in these lines' }),
  refused: z.boolean().meta({ description: "true: the path lies outside the job's folders, so it is never read" }),
  reason: z.string().nullable().meta({ description: 'why no lines are shown: not configured, refused, missing or unreadable' }),
});

/**
 * POST /jobs/{id}/notify-test: a test notification through the job's channel and target, or
 * through those given (the values a person is editing, before saving them).
 */
export const NotifyTestBody = z
  .strictObject({
    channel: z.string().trim().min(1).max(64).optional().meta({ description: "the channel to test; the job's notify_channel when absent" }),
    target: z.string().trim().max(2_048).optional().meta({ description: "the target to test; the job's notify_target when absent" }),
  })
  .default({});

export const NotifyTestAnswer = z.strictObject({
  success: z.literal(true),
  job_id: z.string(),
  channel: z.string(),
  target: z.string(),
  sent: z.boolean().meta({ description: 'false: the channel refused it or could not be reached; `error` says why' }),
  error: z.string().nullable(),
});
