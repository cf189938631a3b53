// The OpenAPI document, built from the same zod schemas that validate requests, so it cannot
// drift from what the API accepts.
import { z } from 'zod';
import { SelfHealingSchema } from '../core/job.js';
import {
  ActionDetailAnswer,
  ActionListAnswer,
  ActionListQuery,
  AnalysisQueueAnswer,
  AnalysisQueueQuery,
  ApproveBody,
  BusinessLogAnswer,
  BusinessLogQuery,
  DetailQuery,
  JobSummaryAnswer,
  NoQuery,
  NotifyTestAnswer,
  NotifyTestBody,
  PendingCountQuery,
  RejectBody,
  ReviewDetailAnswer,
  ReviewListAnswer,
  ReviewListQuery,
  RollbackBody,
  RunListQuery,
  RunReportBody,
  SuggestionDetailAnswer,
  SuggestionListAnswer,
  SuggestionListQuery,
  TriggerBody,
  TriggerForJobBody,
} from './schemas.js';
import { BatchBody, BatchDetailQuery, BatchListQuery } from './routes/batches.js';
import { AiStatsAnswer, AiStatsQuery } from './routes/stats.js';
import { TrendAnswer, TrendQuery } from './routes/trend.js';

/**
 * `answer`: the schema of the success body, where the document describes it. `answers`: the
 * statuses beyond 200 (the first 2xx listed replaces 200 unless 200 is listed too); `meaning`:
 * what a status says, where that is more than "OK" or "error".
 */
type Op = {
  summary: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  answer?: z.ZodType;
  pathId?: 'integer' | 'job';
  /** a second path parameter, an integer id (a job's silence) */
  pathSubId?: string;
  answers?: number[];
  meaning?: Partial<Record<number, string>>;
};

/** How an approve or an apply answers (api/temporal.ts: commandHttpStatus, failedApply). */
const APPLY_MEANING = {
  200: 'Carried out: `status` is the outcome (`applied`; `acknowledged` for advice, a suggestion with no file edit or one the job\'s policy does not allow, where nothing is written; or `approved` when apply is false or more approvals are needed)',
  202:
    'The apply goes on after this answer (`applying` names what it does: `rewrite`, the AI writes the new file; `job_running`, the job has a run ' +
    'reported without its end, named in `waiting_for_run`, and nothing is written until it ends, at most until `wait_until` (HEALING_APPLY_WAIT_S), ' +
    'after which the apply fails with the reason; `window`, outside the job\'s apply window: it applies at `apply_at`, `apply_window` says the window, ' +
    'and the suggestion shows `apply_at` and `apply_wait_reason` meanwhile) or Temporal only accepted the command: read the suggestion, whose `applying_step` is set until it ends `applied` or `failed`',
  409: 'Refused before anything was written: the state does not allow it, the file changed since the review, the guard refused the target (not one of the job\'s own files, a forbidden or shared file, an edit its allowed_actions does not list), the proposal is what the file already holds ("no change": nothing is recorded, the suggestion can still be rejected or expire), or an apply is already going on',
  422: 'The apply was tried and failed (the disk refused the write, the new file did not verify): the file is restored, the failed action recorded, the suggestion `failed` with the reason; `detail` is `{ code: "apply_failed", suggestion_id, status, action_id }`',
};

/** Who may ask a detail for its secrets in full (api/masking.ts rawAllowed). */
const RAW_MEANING = {
  403: 'raw=true asked without an admin token (a viewer or approver): the secrets stay masked; ask without raw, or with an admin token (every raw read is logged)',
};

/** How a manual trigger answers (api/routes/reviews.ts). */
const TRIGGER_MEANING = {
  202: 'Started: `review_id` is its row (answered 200 with `already_running` when a review of the job was running already)',
  409:
    'Self-healing is off for the job, or the job is running (a run reported without its end, started within the last 24 h): `detail` is ' +
    '`{ code: "job_running", job_id, run }`; trigger again once the run has reported its end, or with `force: true`',
};

const OPERATIONS: Record<string, Record<string, Op>> = {
  '/healing/reviews': { get: { summary: 'List reviews, each with the model, tokens and tool calls of its analysis', query: ReviewListQuery, answer: ReviewListAnswer } },
  '/healing/reviews/{id}': {
    get: { summary: 'A review with its suggestions; secrets in its answer masked', query: DetailQuery, pathId: 'integer', answer: ReviewDetailAnswer, answers: [404], meaning: RAW_MEANING },
  },
  '/healing/analysis-queue': {
    get: {
      summary: 'The analysis queue: reviews waiting for a healing-analysis slot (HEALING_ANALYSIS_CONCURRENCY) with their position (in request order; Temporal may serve them in another order) and wait, and those analysing now',
      query: AnalysisQueueQuery,
      answer: AnalysisQueueAnswer,
    },
  },
  '/healing/trigger': { post: { summary: 'Start a review of a job', body: TriggerBody, answers: [202, 404, 409], meaning: TRIGGER_MEANING } },
  '/healing/reviews/{id}/trigger': {
    post: { summary: 'Start a review of the job {id}', body: TriggerForJobBody, pathId: 'job', answers: [202, 404, 409], meaning: TRIGGER_MEANING },
  },
  '/healing/suggestions': {
    get: {
      summary: 'List suggestions (slim unless fields=full); every answer has an ETag, and If-None-Match with it answers 304 while the page is unchanged',
      query: SuggestionListQuery,
      answer: SuggestionListAnswer,
      answers: [200, 304],
      meaning: { 304: 'Not Modified: If-None-Match holds the ETag of this page as it is (no row on it, its total or its next page changed); no body' },
    },
  },
  '/healing/suggestions/pending/count': { get: { summary: 'How many suggestions wait for a decision', query: PendingCountQuery } },
  '/healing/batches': {
    get: { summary: 'Recent bulk decisions: who ran each (and their role), the decision, the filter or ids, the counts by outcome', query: BatchListQuery },
    post: {
      summary: 'Decide many suggestions at once (approve, reject with one reason, apply), by ids or by the list\'s filter; each decision goes to each suggestion\'s own workflow, a few at a time (HEALING_BATCH_CONCURRENCY)',
      body: BatchBody,
      answers: [200, 202, 400, 403],
      meaning: {
        200: 'dry_run: `count` suggestions (and the first `ids`) would be decided, `skipped` `{not_found, wrong_state}` would not (an ids batch still records an item for each); nothing was',
        202: 'Recorded and started: `batch_id`; follow it with GET /healing/batches/{id} (or /events, table `batches`)',
        400: 'A bad body (a reject without a reason, both or neither of ids and filter, more than 5,000 ids), or a filter that selects none or more than 5,000',
      },
    },
  },
  '/healing/batches/{id}': {
    get: { summary: 'A bulk decision\'s progress (total, done, counts by outcome) and its items, each with its outcome, status after, and the reason of a refusal', query: BatchDetailQuery, pathId: 'integer', answers: [404] },
  },
  '/healing/suggestions/{id}': {
    get: { summary: 'A suggestion with the diff of its change; secrets in its contents and diff masked', query: DetailQuery, pathId: 'integer', answer: SuggestionDetailAnswer, answers: [404], meaning: RAW_MEANING },
  },
  '/healing/suggestions/{id}/approve': {
    post: { summary: 'Approve (and by default apply)', body: ApproveBody, pathId: 'integer', answers: [200, 202, 404, 409, 422], meaning: APPLY_MEANING },
  },
  '/healing/suggestions/{id}/reject': {
    post: {
      summary: 'Reject with a reason; with `silence`, also silence the finding for its job (never, or not now for some days)',
      body: RejectBody,
      pathId: 'integer',
      answers: [404, 409],
      meaning: { 200: 'Rejected; with a silence asked for, `silence` is the row made (lift it with DELETE /jobs/{id}/silences/{silenceId})' },
    },
  },
  '/healing/suggestions/{id}/apply': {
    post: { summary: 'Apply an approved suggestion, or retry a failed apply', pathId: 'integer', answers: [200, 202, 404, 409, 422], meaning: APPLY_MEANING },
  },
  '/healing/suggestions/{id}/apply-now': {
    post: {
      summary: 'Admin only: end an apply\'s wait for the job\'s apply window and apply now (an open run of the job is still waited for); recorded as applied_now_by and applied_now_at',
      pathId: 'integer',
      answers: [200, 202, 404, 409, 422],
      meaning: {
        ...APPLY_MEANING,
        403: 'Not an admin token: "apply now" overrides the job\'s apply window and needs admin',
        409: 'The suggestion is not waiting for its job\'s apply window (nothing to end), or is closed',
      },
    },
  },
  '/healing/actions': { get: { summary: 'List applied changes, each with how its file was verified', query: ActionListQuery, answer: ActionListAnswer } },
  '/healing/actions/{id}': {
    get: {
      summary: 'An applied change with its diff and how its file was verified; secrets in its contents and diff masked',
      query: DetailQuery,
      pathId: 'integer',
      answer: ActionDetailAnswer,
      answers: [404],
      meaning: RAW_MEANING,
    },
  },
  '/healing/actions/{id}/rollback': {
    post: {
      summary: 'Restore the original content',
      body: RollbackBody,
      pathId: 'integer',
      answers: [404, 409],
      meaning: { 409: 'Not rolled back: the action is not applied, the file is gone (deleted after the apply: with force it is recreated with its original content and mode), or it changed after the apply (`detail.diff`, secrets masked, shows how; `detail.secrets_masked` counts them); roll back with force to overwrite' },
    },
  },
  '/healing/stats': { get: { summary: 'Global statistics' } },
  '/healing/stats/ai': {
    get: {
      summary: 'The AI bill: tokens (in, out, total) and cost per job, per UTC day and per analyzer over `days`; the UTC month\'s spend beside the service\'s and each job\'s budget, with the 80 %/100 % notices (a job whose id is "ai" has its figures at /jobs/ai/healing/summary)',
      query: AiStatsQuery,
      answer: AiStatsAnswer,
    },
  },
  '/healing/stats/{id}': { get: { summary: 'One job’s statistics (the same answer as /jobs/{id}/healing/summary)', pathId: 'job', answer: JobSummaryAnswer, answers: [404] } },
  '/jobs/{id}/healing/summary': {
    get: { summary: 'One job’s healing summary: reviews, the last one (duration, runs analyzed, error), suggestions, rollbackable changes, runs before and after', pathId: 'job', answer: JobSummaryAnswer, answers: [404] },
  },
  '/jobs': { get: { summary: 'The job catalog, with load errors' } },
  '/jobs/{id}': { get: { summary: 'One job', pathId: 'job', answers: [404] } },
  '/jobs/{id}/self-healing': {
    put: {
      summary: 'Edit a job’s self_healing block in its file: fields merge into the block, null removes one; comments and unknown fields are kept',
      body: SelfHealingSchema,
      pathId: 'job',
      answers: [404, 409],
      meaning: { 400: "A field is invalid (named in `detail`), e.g. a business_log.path or summary_path outside the job's folders" },
    },
  },
  '/jobs/{id}/runs': {
    get: { summary: 'A job’s run reports', query: RunListQuery, pathId: 'job' },
    post: {
      summary: 'Report a run (idempotent on external_id)',
      body: RunReportBody,
      pathId: 'job',
      answers: [201, 404],
      meaning: { 400: "A field is invalid (named in `detail`): e.g. started_at or finished_at more than 5 minutes in the future, or a log_path outside the job's folders" },
    },
  },
  '/jobs/{id}/notify-test': {
    post: {
      summary: "Send a test notification through the job's notify_channel and notify_target (or the channel and target given); needs the approver role",
      body: NotifyTestBody,
      pathId: 'job',
      answer: NotifyTestAnswer,
      answers: [404],
      meaning: {
        200: 'The test was tried: `sent` says whether the channel took it, `error` why not (the webhook answered an error status, openclaw message send failed)',
        400: 'No target to send to, or one the channel cannot use (a webhook target that is not an http(s) URL): `detail` names `target`',
      },
    },
  },
  '/jobs/{id}/silences': {
    get: { summary: 'The silences people put on rejected findings of the job: those in force (`active`) first, then the last 50 lifted or expired', pathId: 'job', answers: [404] },
  },
  '/jobs/{id}/silences/{silenceId}': {
    delete: { summary: 'Lift a silence (needs the approver role): the finding may be proposed again at the next review', pathId: 'job', pathSubId: 'silenceId', answers: [404] },
  },
  '/jobs/{id}/trend': {
    get: {
      summary: "Did healing help? The job's success rate and p95 duration (of successful runs) per day in its review time zone, or per run when it runs less than twice a day, over the last `days`, with a marker at every applied change (its regression-watch verdict) and rollback",
      query: TrendQuery,
      pathId: 'job',
      answer: TrendAnswer,
      answers: [404],
    },
  },
  '/jobs/{id}/business-logs': {
    get: {
      summary: "The last lines of the job's business_log (bounded, secrets redacted); `configured: false` when it has none, `refused: true` when its path lies outside the job's folders",
      query: BusinessLogQuery,
      pathId: 'job',
      answer: BusinessLogAnswer,
      answers: [404],
    },
  },
  '/health': { get: { summary: 'Postgres, Temporal, worker and analyzer', answers: [503] } },
  '/events': {
    get: {
      summary: 'Live updates: every change to a suggestion, review or action, as server-sent events (text/event-stream)',
      query: NoQuery,
      answers: [200, 503],
      meaning: {
        200:
          'A text/event-stream that stays open. `ready` { live } first; then `change` { table: suggestions|reviews|actions, op: insert|update|delete, id, job_id, status } ' +
          'per row written (id null with `rows`: many rows at once, reload everything); `live` { live: false } when the service lost its Postgres notifications, ' +
          '{ live: true } when it has them again (reload: changes meanwhile were not sent); a comment line every 15 s. Send the token in the Authorization header, as for every read',
        503: 'Live updates are off in this process, or too many streams are open (Retry-After): poll the lists instead',
      },
    },
  },
};

const ErrorBody = {
  type: 'object',
  required: ['success', 'error'],
  properties: { success: { const: false }, error: { type: 'string' }, detail: {} },
};

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(schema, { io, unrepresentable: 'any' });

export function openApiDocument(): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [route, methods] of Object.entries(OPERATIONS)) {
    paths[route] = {};
    for (const [method, op] of Object.entries(methods)) {
      const parameters: unknown[] = [];
      if (op.pathId) parameters.push({ name: 'id', in: 'path', required: true, schema: op.pathId === 'integer' ? { type: 'integer', minimum: 1 } : { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } });
      if (op.pathSubId) parameters.push({ name: op.pathSubId, in: 'path', required: true, schema: { type: 'integer', minimum: 1 } });
      for (const [name, schema] of Object.entries(op.query?.shape ?? {})) parameters.push({ name, in: 'query', required: false, schema: jsonSchema(schema as z.ZodType) });
      const responses: Record<string, unknown> = {};
      const successes = op.answers?.filter((c) => c < 300) ?? [];
      for (const code of successes.length > 0 ? successes : [200]) {
        const description = op.meaning?.[code] ?? 'OK';
        responses[code] = op.answer ? { description, content: { 'application/json': { schema: jsonSchema(op.answer, 'output') } } } : { description };
      }
      for (const code of (op.answers ?? []).filter((c) => c >= 300 && c < 400)) responses[code] = { description: op.meaning?.[code] ?? 'Not Modified' };
      for (const code of [400, 401, 403, 503, ...(op.answers ?? []).filter((c) => c >= 400)]) {
        responses[code] = { description: op.meaning?.[code] ?? 'error', content: { 'application/json': { schema: ErrorBody } } };
      }
      paths[route][method] = {
        summary: op.summary,
        parameters,
        ...(op.body ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
        responses,
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'ProcClaw Healing API', version: '1' },
    servers: [{ url: '/api/v1' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
