// Request schemas: every query, path id and body is validated before anything reads it. Below
// them, the answers the OpenAPI document describes.
import { z } from 'zod';
import { CATEGORIES, JobIdSchema, SEVERITIES } from '../core/job.js';
import { REVIEW_STATUSES, SLA_STATUSES, TRIGGERS } from '../core/review.js';
import { ACTION_STATUSES, SUGGESTION_STATUSES } from '../core/suggestion-state.js';
import type { ActionVerification } from '../db/actions.js';
import type { ToolAttempt } from '../db/reviews.js';
import { decodeCursor } from '../db/paging.js';

export const IdParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
export const JobIdParam = z.object({ id: JobIdSchema });

const paging = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
};

export const ReviewListQuery = z.object({
  job_id: JobIdSchema.optional(),
  status: z.enum(REVIEW_STATUSES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  ...paging,
});

export const SuggestionListQuery = z.object({
  job_id: JobIdSchema.optional(),
  status: z.enum(SUGGESTION_STATUSES).optional(),
  category: z.enum(CATEGORIES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  review_id: z.coerce.number().int().positive().optional(),
  /** next_cursor of the previous page: deep pages without OFFSET */
  cursor: z.string().max(200).refine((c) => decodeCursor(c) !== null, 'not a cursor this API gave out: pass next_cursor from the previous page as it is').optional(),
  ...paging,
});

export const ActionListQuery = z.object({
  job_id: JobIdSchema.optional(),
  status: z.enum(ACTION_STATUSES).optional(),
  suggestion_id: z.coerce.number().int().positive().optional(),
  ...paging,
});

export const RunListQuery = z.object({ ...paging });

export const PendingCountQuery = z.object({ job_id: JobIdSchema.optional() });

export const TriggerBody = z.strictObject({
  job_id: JobIdSchema,
  force: z.boolean().default(false),
});

export const TriggerForJobBody = z.strictObject({ force: z.boolean().default(false) }).default({ force: false });

export const ApproveBody = z.strictObject({
  comment: z.string().max(2_000).nullable().optional(),
  apply: z.boolean().default(true),
}).default({ apply: true });

export const RejectBody = z.strictObject({ reason: z.string().trim().min(1, 'say why it is rejected').max(2_000) });

export const ApplyBody = z.strictObject({}).default({});

export const RollbackBody = z.strictObject({ force: z.boolean().default(false) }).default({ force: false });

const isoDate = z.iso.datetime({ offset: true });

export const RunReportBody = z
  .strictObject({
    external_id: z.string().trim().min(1).max(200).optional(),
    id: z.union([z.string().trim().min(1).max(200), z.number().int()]).optional(),
    started_at: isoDate,
    finished_at: isoDate.nullable().optional(),
    exit_code: z.number().int().min(-255).max(255).nullable().optional(),
    duration_ms: z.number().int().min(0).max(10 * 365 * 86_400_000).nullable().optional(),
    duration_seconds: z.number().min(0).max(10 * 365 * 86_400).nullable().optional(),
    trigger: z.string().max(64).nullable().optional(),
    error: z.string().max(20_000).nullable().optional(),
    sla_status: z.enum(SLA_STATUSES).nullable().optional(),
    sla_details: z.record(z.string(), z.unknown()).nullable().optional(),
    log_path: z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'must not contain NUL').nullable().optional(),
    log_tail: z.string().max(256 * 1024).nullable().optional(),
    session_messages: z.array(z.unknown()).max(10_000).nullable().optional(),
  })
  .refine((b) => b.external_id !== undefined || b.id !== undefined, { message: 'external_id (the run id in your scheduler) is required', path: ['external_id'] });

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
  created_at: isoDate,
});

export const ActionListAnswer = z.strictObject({ actions: z.array(ActionAnswer), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const ActionDetailAnswer = ActionAnswer.extend({
  original_content: z.string().nullable(),
  new_content: z.string().nullable(),
  backup_path: z.string().nullable(),
  command_executed: z.string().nullable(),
  diff: z.string().nullable().meta({ description: 'unified diff of the original and the applied content' }),
});

const ToolAttemptAnswer = z
  .strictObject({ calls: z.number().int(), tools: z.array(z.string()), refused: z.number().int(), ran: z.array(z.string()) })
  .nullable()
  .meta({
    description:
      'Tools the model tried to call during the analysis: every one refused, since the service runs OpenClaw with all tools ' +
      'denied (`ran` lists any that succeeded, which fails the review). Null when it tried none.',
  }) satisfies z.ZodType<ToolAttempt | null>;

export const ReviewAnswer = z.strictObject({
  id: z.number().int(),
  job_id: z.string(),
  trigger: z.enum(TRIGGERS),
  status: z.enum(REVIEW_STATUSES),
  workflow_id: z.string(),
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
  dropped_count: z.number().int(),
  auto_applied_count: z.number().int(),
  error_message: z.string().nullable(),
  skip_reason: z.string().nullable(),
  analysis_duration_ms: z.number().int().nullable(),
  ai_tokens_used: z.number().int().meta({ description: 'tokens the analysis spent, failed analyses included' }),
  ai_model: z.string().nullable().meta({ description: 'the model that answered the analysis (openclaw), failed ones included' }),
  ai_provider: z.string().nullable(),
  ai_session_id: z.string().nullable().meta({ description: 'the OpenClaw session the analysis turn ran as (deleted with the turn)' }),
  tool_calls: ToolAttemptAnswer,
  created_at: isoDate,
});

export const ReviewListAnswer = z.strictObject({ reviews: z.array(ReviewAnswer), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const ReviewDetailAnswer = ReviewAnswer.extend({
  workflow_run_id: z.string(),
  raw_response: z.string().nullable().meta({ description: "the analyzer's answer with its meta, without the prompt OpenClaw echoes back" }),
  suggestions: z.array(z.looseObject({ id: z.number().int() })),
});
