// job_runs: run reports, idempotent on (job_id, external_id).
import type { Db } from './knex.js';
import { fetchPage, type Page, type Paged } from './paging.js';
import type { SlaStatus } from '../core/review.js';

export interface RunRecord {
  id: number;
  job_id: string;
  external_id: string;
  started_at: Date;
  finished_at: Date | null;
  exit_code: number | null;
  duration_ms: number | null;
  trigger: string | null;
  error: string | null;
  sla_status: SlaStatus | null;
  sla_details: unknown;
  log_path: string | null;
  log_tail: string | null;
  session_messages: unknown;
  /** how an imported local time was read where the clock changed (ambiguous, skipped, a duration corrected); null else */
  time_note?: string | null;
  created_at: Date;
}

export type NewRun = Omit<RunRecord, 'id' | 'created_at'>;

/**
 * Inserts a run once; a repeated report of the same external id returns the stored row, except
 * that a run stored without an end takes the report that brings its end (a job reports its start,
 * then its end): until then the job counts as running (core/running.ts).
 */
export async function upsertRun(db: Db, run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
  const row = {
    ...run,
    sla_details: run.sla_details === undefined || run.sla_details === null ? null : JSON.stringify(run.sla_details),
    session_messages:
      run.session_messages === undefined || run.session_messages === null ? null : JSON.stringify(run.session_messages),
  };
  const { job_id: _job, external_id: _external, ...changes } = row;
  const written = await db('job_runs')
    .insert(row)
    .onConflict(['job_id', 'external_id'])
    .merge(changes)
    .whereRaw('job_runs.finished_at is null and excluded.finished_at is not null')
    // xmax is 0 only for a row this statement inserted
    .returning(db.raw('job_runs.*, (xmax = 0) as inserted'));
  const first = written[0] as (RunRecord & { inserted: boolean }) | undefined;
  if (first) {
    const { inserted, ...stored } = first;
    return { run: stored, created: inserted };
  }
  const existing = await db('job_runs').where({ job_id: run.job_id, external_id: run.external_id }).first();
  return { run: existing as RunRecord, created: false };
}

export async function listRuns(db: Db, jobId: string, page: Page): Promise<Paged<RunRecord>> {
  return fetchPage<RunRecord>(db('job_runs').where({ job_id: jobId }), page, 'started_at');
}

export async function getRun(db: Db, id: number): Promise<RunRecord | undefined> {
  return db('job_runs').where({ id }).first();
}

/** Runs started after `since` (or in the lookback window), newest first, bounded. */
export async function runsSince(db: Db, jobId: string, since: Date, max: number): Promise<RunRecord[]> {
  return db('job_runs').where('job_id', jobId).andWhere('started_at', '>', since).orderBy('started_at', 'desc').limit(max);
}


/**
 * Runs reported without an end that started within `maxAgeMs` of `now` (core/running.ts,
 * OPEN_RUN_MAX_AGE_MS): the job is running. Of one job when `jobId` is given, else of every job;
 * oldest first.
 */
export async function openRuns(db: Db, opts: { jobId?: string; now: Date; maxAgeMs: number; limit?: number }): Promise<RunRecord[]> {
  const query = db('job_runs')
    .select('id', 'job_id', 'external_id', 'started_at')
    .whereNull('finished_at')
    .andWhere('started_at', '>', new Date(opts.now.getTime() - opts.maxAgeMs))
    .orderBy([{ column: 'started_at' }, { column: 'id' }])
    .limit(opts.limit ?? 1_000);
  if (opts.jobId !== undefined) query.andWhere('job_id', opts.jobId);
  return query;
}
