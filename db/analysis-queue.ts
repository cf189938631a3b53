// The analysis queue: reviews that asked for their analysis and wait for a healing-analysis slot
// (HEALING_ANALYSIS_CONCURRENCY), and those analysing now. Positions follow the order the reviews
// asked in; Temporal's task queue is not strictly first in, first out, so it may serve them in
// another order: a position is a place in line, not a promise of when.
import type { ContextFingerprint } from '../core/context-fingerprint.js';
import type { Db } from './knex.js';
import type { RunRecord } from './runs.js';

export interface QueuedReview {
  review_id: number;
  job_id: string;
  trigger: string;
  /** 1 for the first to ask (Temporal may serve the waiting in another order) */
  position: number;
  requested_at: Date;
  waited_s: number;
}

export interface AnalysingReview {
  review_id: number;
  job_id: string;
  trigger: string;
  requested_at: Date;
  started_at: Date;
  /** how long it waited for its slot */
  waited_s: number;
  analysing_s: number;
}

export interface AnalysisQueue {
  waiting: QueuedReview[];
  /** all waiting, whatever the filter and limit */
  waiting_total: number;
  analysing: AnalysingReview[];
}

/** A review's own place: waiting (its position and wait), analysing (since when), or null when neither. */
export type QueuePlace =
  | { state: 'waiting'; position: number; ahead: number; waited_s: number; requested_at: Date }
  | { state: 'analysing'; waited_s: number; analysing_s: number; started_at: Date }
  | null;

/** Records that the review asks for its analysis now (a retried step keeps the first time), with the fingerprint of what it will analyse. */
export async function markAnalysisRequested(db: Db, reviewId: number, fingerprint: ContextFingerprint | null): Promise<void> {
  await db('healing_reviews')
    .where({ id: reviewId })
    .update({
      analysis_requested_at: db.raw('coalesce(analysis_requested_at, now())'),
      ...(fingerprint ? { context_fingerprint: JSON.stringify(fingerprint) } : {}),
    });
}

/** Records that the review's analysis began (its first attempt's time, kept over a retry). */
export async function markAnalysisStarted(db: Db, reviewId: number): Promise<void> {
  await db('healing_reviews').where({ id: reviewId }).update({ analysis_started_at: db.raw('coalesce(analysis_started_at, now())') });
}

// Running reviews that asked for an analysis: waiting until it starts, analysing until
// storeSuggestions records its duration (an analysis that fails closes the review).
const WAITING = "status = 'running' and analysis_requested_at is not null and analysis_started_at is null";
const ANALYSING = "status = 'running' and analysis_started_at is not null and analysis_duration_ms is null";

export async function analysisQueue(db: Db, opts: { jobId?: string; limit: number }): Promise<AnalysisQueue> {
  const waiting: { id: number; job_id: string; trigger: string; analysis_requested_at: Date; position: number; waited_s: number }[] = await db
    .with('q', (q) =>
      q
        .from('healing_reviews')
        .whereRaw(WAITING)
        .select('id', 'job_id', 'trigger', 'analysis_requested_at')
        .select(db.raw('row_number() over (order by analysis_requested_at, id)::int as position'))
        .select(db.raw('extract(epoch from now() - analysis_requested_at)::float8 as waited_s')),
    )
    .from('q')
    .modify((q) => {
      if (opts.jobId) q.where('job_id', opts.jobId);
    })
    .orderBy('position')
    .limit(opts.limit)
    .select('*');
  const [{ n }] = (await db('healing_reviews').whereRaw(WAITING).count({ n: '*' })) as [{ n: number }];
  const analysing: { id: number; job_id: string; trigger: string; analysis_requested_at: Date; analysis_started_at: Date; waited_s: number; analysing_s: number }[] = await db('healing_reviews')
    .whereRaw(ANALYSING)
    .modify((q) => {
      if (opts.jobId) q.where('job_id', opts.jobId);
    })
    .orderBy('analysis_started_at')
    .select(
      'id', 'job_id', 'trigger', 'analysis_requested_at', 'analysis_started_at',
      db.raw('greatest(0, extract(epoch from analysis_started_at - analysis_requested_at))::float8 as waited_s'),
      db.raw('extract(epoch from now() - analysis_started_at)::float8 as analysing_s'),
    );
  return {
    waiting: waiting.map((r) => ({ review_id: r.id, job_id: r.job_id, trigger: r.trigger, position: r.position, requested_at: r.analysis_requested_at, waited_s: round(r.waited_s) })),
    waiting_total: Number(n),
    analysing: analysing.map((r) => ({
      review_id: r.id,
      job_id: r.job_id,
      trigger: r.trigger,
      requested_at: r.analysis_requested_at,
      started_at: r.analysis_started_at,
      waited_s: round(r.waited_s),
      analysing_s: round(r.analysing_s),
    })),
  };
}

/** The queue places of the given reviews (those neither waiting nor analysing are absent). */
export async function queuePlaces(db: Db, reviewIds: number[]): Promise<Map<number, Exclude<QueuePlace, null>>> {
  const places = new Map<number, Exclude<QueuePlace, null>>();
  if (reviewIds.length === 0) return places;
  const rows = await db
    .with('q', (q) =>
      q
        .from('healing_reviews')
        .whereRaw(WAITING)
        .select('id', 'analysis_requested_at')
        .select(db.raw('row_number() over (order by analysis_requested_at, id)::int as position'))
        .select(db.raw('extract(epoch from now() - analysis_requested_at)::float8 as waited_s')),
    )
    .from('q')
    .whereIn('id', reviewIds)
    .select('*');
  for (const r of rows) places.set(r.id, { state: 'waiting', position: r.position, ahead: r.position - 1, waited_s: round(r.waited_s), requested_at: r.analysis_requested_at });
  const analysing = await db('healing_reviews')
    .whereRaw(ANALYSING)
    .whereIn('id', reviewIds)
    .select(
      'id', 'analysis_started_at',
      db.raw('greatest(0, extract(epoch from analysis_started_at - analysis_requested_at))::float8 as waited_s'),
      db.raw('extract(epoch from now() - analysis_started_at)::float8 as analysing_s'),
    );
  for (const r of analysing) places.set(r.id, { state: 'analysing', waited_s: round(r.waited_s), analysing_s: round(r.analysing_s), started_at: r.analysis_started_at });
  return places;
}

/** Whole seconds, as a person reads a wait. */
function round(seconds: number): number {
  return Math.max(0, Math.round(Number(seconds)));
}

/** The current state of runs a review saw, by id (runs since deleted are absent). */
export async function runRecords(db: Db, ids: number[]): Promise<RunRecord[]> {
  if (ids.length === 0) return [];
  return db('job_runs').whereIn('id', ids).select('*');
}
