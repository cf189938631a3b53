// healing_reviews: one row per review workflow run.
import type { Db } from './knex.js';
import { fetchPage, type Page, type Paged } from './paging.js';
import type { ContextFingerprint } from '../core/context-fingerprint.js';
import type { ReviewStatus, Trigger } from '../core/review.js';

/** Tools the model called during an analysis turn: refused while the service denies every tool. */
export interface ToolAttempt {
  calls: number;
  tools: string[];
  refused: number;
  /** tools whose call succeeded: never, unless the no-tools guarantee broke */
  ran: string[];
}

export interface ReviewRecord {
  id: number;
  job_id: string;
  trigger: Trigger;
  status: ReviewStatus;
  workflow_id: string;
  workflow_run_id: string;
  run_id: number | null;
  analyzer: string | null;
  started_at: Date;
  finished_at: Date | null;
  runs_analyzed: number;
  logs_lines: number;
  ai_sessions_count: number;
  sla_violations_count: number;
  suggestions_count: number;
  duplicates_count: number;
  /** suggestions left out because a person silenced their finding for the job (job_silences) */
  silenced_count: number;
  dropped_count: number;
  auto_applied_count: number;
  error_message: string | null;
  skip_reason: string | null;
  analysis_duration_ms: number | null;
  ai_tokens_used: number;
  /** input (cache reads and writes included) and output tokens of the AI turn */
  ai_tokens_in: number;
  ai_tokens_out: number;
  /** the turn's cost when known (OpenClaw's meta, else HEALING_AI_PRICES); 0 for the rules analyzer */
  ai_cost: number | null;
  ai_cost_source: 'openclaw' | 'configured' | null;
  /** why a monthly budget made the review use the rules analyzer or skip the AI */
  budget_note: string | null;
  /** the model and provider that answered, and the OpenClaw session the turn ran as */
  ai_model: string | null;
  ai_provider: string | null;
  ai_session_id: string | null;
  tool_calls: ToolAttempt | null;
  raw_response: string | null;
  /** a skipped row stands for this many skipped scheduled reviews in a row (finished_at: the last); 0 on other rows */
  skip_count: number;
  /** while the review waits before its analysis (OpenClaw jobs running): why, and since when */
  waiting_reason: string | null;
  waiting_since: Date | null;
  /** what the analyzer was shown, hashed (core/context-fingerprint.ts); null before the analysis or on older reviews */
  context_fingerprint: ContextFingerprint | null;
  /** when the review asked for its analysis, and when the analysis began (the analysis queue) */
  analysis_requested_at: Date | null;
  analysis_started_at: Date | null;
  created_at: Date;
}

export interface ReviewFilters {
  job_id?: string;
  status?: ReviewStatus;
  trigger?: Trigger;
}

/** Opens the review row for a workflow run; a retried activity gets the same row back. */
export async function openReview(
  db: Db,
  input: { job_id: string; trigger: Trigger; workflow_id: string; workflow_run_id: string; run_id: number | null },
): Promise<ReviewRecord> {
  const inserted = await db('healing_reviews')
    .insert({ ...input, status: 'running' })
    .onConflict('workflow_run_id')
    .ignore()
    .returning('*');
  if (inserted.length > 0) return inserted[0] as ReviewRecord;
  return db('healing_reviews').where({ workflow_run_id: input.workflow_run_id }).first() as Promise<ReviewRecord>;
}

export type ReviewPatch = Partial<Omit<ReviewRecord, 'id' | 'job_id' | 'workflow_id' | 'workflow_run_id' | 'created_at'>>;

export async function updateReview(db: Db, id: number, patch: ReviewPatch): Promise<void> {
  // An analyzer's raw answer or error is kept for debugging as it came, but Postgres text holds no NUL.
  const clean = { ...patch };
  for (const key of ['raw_response', 'error_message', 'skip_reason'] as const) {
    const value = clean[key];
    if (typeof value === 'string') clean[key] = value.replaceAll('\0', '');
  }
  await db('healing_reviews').where({ id }).update(clean);
}

export async function getReview(db: Db, id: number): Promise<ReviewRecord | undefined> {
  return db('healing_reviews').where({ id }).first();
}

export async function lastCompletedReview(db: Db, jobId: string): Promise<ReviewRecord | undefined> {
  return db('healing_reviews').where({ job_id: jobId, status: 'completed' }).orderBy('started_at', 'desc').first();
}

export async function listReviews(db: Db, filters: ReviewFilters, page: Page): Promise<Paged<ReviewRecord>> {
  const query = db('healing_reviews').select(
    'id', 'job_id', 'trigger', 'status', 'workflow_id', 'workflow_run_id', 'run_id', 'analyzer', 'started_at', 'finished_at',
    'runs_analyzed', 'logs_lines', 'ai_sessions_count', 'sla_violations_count', 'suggestions_count',
    'duplicates_count', 'silenced_count', 'dropped_count', 'auto_applied_count', 'error_message', 'skip_reason',
    'analysis_duration_ms', 'ai_tokens_used', 'ai_tokens_in', 'ai_tokens_out', 'ai_cost', 'ai_cost_source', 'budget_note', 'ai_model', 'ai_provider', 'ai_session_id', 'tool_calls', 'skip_count',
    'waiting_reason', 'waiting_since', 'analysis_requested_at', 'analysis_started_at', 'created_at',
  );
  if (filters.job_id) query.where('job_id', filters.job_id);
  if (filters.status) query.where('status', filters.status);
  if (filters.trigger) query.where('trigger', filters.trigger);
  return fetchPage<ReviewRecord>(query, page, 'started_at');
}

/**
 * Closes a review as skipped. A scheduled skip continues the streak of the job's latest review
 * when that is a skipped scheduled one: that row counts one more skip (finished_at and skip_reason
 * become this one's) and this row is deleted, so a new job's schedule does not fill the list with
 * one row a fire. Anything else starts a streak of one. Answers the row that holds the skip.
 * Safe to repeat: a job's reviews run one at a time (healing-review/<jobId>), so when this row is
 * already gone it was merged into the job's latest review, which nothing has followed yet.
 */
export async function closeSkippedReview(
  db: Db,
  input: { reviewId: number; jobId: string; skipReason: string },
): Promise<{ reviewId: number; skipCount: number; merged: boolean }> {
  return db.transaction(async (trx) => {
    const latestOf = (q: ReturnType<typeof trx>) =>
      q.where({ job_id: input.jobId }).orderBy([{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }]).forUpdate().first();
    const row = (await trx('healing_reviews').where({ id: input.reviewId }).forUpdate().first()) as ReviewRecord | undefined;
    if (!row) {
      const latest = (await latestOf(trx('healing_reviews'))) as ReviewRecord | undefined;
      if (!latest) throw new Error(`review ${input.reviewId} of ${input.jobId} is gone and the job has no other review`);
      return { reviewId: latest.id, skipCount: latest.skip_count, merged: true };
    }
    if (row.status === 'skipped') return { reviewId: row.id, skipCount: row.skip_count, merged: false }; // closed by an earlier try
    const previous =
      row.trigger === 'scheduled'
        ? ((await latestOf(trx('healing_reviews').whereNot({ id: row.id }).andWhere('started_at', '<=', row.started_at))) as ReviewRecord | undefined)
        : undefined;
    const reason = input.skipReason.replaceAll('\0', '');
    if (previous && previous.status === 'skipped' && previous.trigger === 'scheduled') {
      const [merged] = (await trx('healing_reviews')
        .where({ id: previous.id })
        // rows skipped before skip_count existed hold 0 and stand for one skip
        .update({ skip_count: trx.raw('greatest(skip_count, 1) + 1'), finished_at: trx.fn.now(), skip_reason: reason })
        .returning(['id', 'skip_count'])) as { id: number; skip_count: number }[];
      await trx('healing_reviews').where({ id: row.id }).delete();
      return { reviewId: merged!.id, skipCount: merged!.skip_count, merged: true };
    }
    await trx('healing_reviews')
      .where({ id: row.id })
      .update({ status: 'skipped', finished_at: trx.fn.now(), skip_reason: reason, skip_count: 1, waiting_reason: null, waiting_since: null });
    return { reviewId: row.id, skipCount: 1, merged: false };
  });
}

/** Marks a review as waiting before its analysis (null: no longer waiting); its first mark keeps its time. */
export async function markReviewWaiting(db: Db, id: number, reason: string | null): Promise<void> {
  await db('healing_reviews')
    .where({ id })
    .update(reason === null ? { waiting_reason: null, waiting_since: null } : { waiting_reason: reason, waiting_since: db.raw('coalesce(waiting_since, now())') });
}
