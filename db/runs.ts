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
  created_at: Date;
}

export type NewRun = Omit<RunRecord, 'id' | 'created_at'>;

/** Inserts a run once; a repeated report of the same external id returns the stored row. */
export async function upsertRun(db: Db, run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
  const row = {
    ...run,
    sla_details: run.sla_details === undefined || run.sla_details === null ? null : JSON.stringify(run.sla_details),
    session_messages:
      run.session_messages === undefined || run.session_messages === null ? null : JSON.stringify(run.session_messages),
  };
  const inserted = await db('job_runs').insert(row).onConflict(['job_id', 'external_id']).ignore().returning('*');
  if (inserted.length > 0) return { run: inserted[0] as RunRecord, created: true };
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

