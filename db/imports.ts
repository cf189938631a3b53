// Import bookkeeping (import_cursors) and the write path for imported runs: inserted once on
// (job_id, external_id), and updated while the stored row is still unfinished, so a run that was
// running at one import gets its end at the next; a finished row takes only late log lines and
// session messages.
import type { Db } from './knex.js';
import type { NewRun, RunRecord } from './runs.js';

export interface ImportCursor {
  source: string;
  kind: string;
  /** the highest source run id imported (or deliberately passed over) */
  last_run_id: number;
  /** source run ids still running, or finished moments ago (late logs may follow), at the last pass: looked at again next time */
  pending_run_ids: number[];
  runs_imported: number;
  /** which database this is: 1, then one more each time the file was replaced by a fresh one */
  generation: number;
  /** the job id and start time of the run at last_run_id, as the source wrote them: tells a new file from this one */
  last_run_key: string | null;
  /** where each earlier generation's file stopped: one put back (a restored backup) is read on from there */
  earlier_generations: GenerationMark[];
  updated_at: Date | null;
}

export interface GenerationMark {
  generation: number;
  last_run_id: number;
  last_run_key: string | null;
}

export async function getCursor(db: Db, source: string, kind: string): Promise<ImportCursor> {
  const row = await db('import_cursors').where({ source }).first();
  if (!row) return { source, kind, last_run_id: 0, pending_run_ids: [], runs_imported: 0, generation: 1, last_run_key: null, earlier_generations: [], updated_at: null };
  return {
    source,
    kind: row.kind as string,
    last_run_id: Number(row.last_run_id),
    pending_run_ids: Array.isArray(row.pending_run_ids) ? (row.pending_run_ids as unknown[]).map(Number).filter(Number.isSafeInteger) : [],
    runs_imported: Number(row.runs_imported),
    generation: Number(row.generation ?? 1),
    last_run_key: (row.last_run_key as string | null) ?? null,
    earlier_generations: Array.isArray(row.earlier_generations) ? (row.earlier_generations as GenerationMark[]) : [],
    updated_at: row.updated_at as Date,
  };
}

export async function saveCursor(
  db: Db,
  cursor: {
    source: string;
    kind: string;
    last_run_id: number;
    pending_run_ids: number[];
    imported: number;
    generation: number;
    last_run_key: string | null;
    /** left as stored when not given */
    earlier_generations?: GenerationMark[];
  },
): Promise<void> {
  const pending = JSON.stringify([...new Set(cursor.pending_run_ids)].sort((a, b) => a - b));
  const position = {
    last_run_id: cursor.last_run_id,
    pending_run_ids: pending,
    generation: cursor.generation,
    last_run_key: cursor.last_run_key,
    ...(cursor.earlier_generations ? { earlier_generations: JSON.stringify(cursor.earlier_generations) } : {}),
  };
  await db('import_cursors')
    .insert({ source: cursor.source, kind: cursor.kind, ...position, runs_imported: cursor.imported })
    .onConflict('source')
    .merge({
      ...position,
      runs_imported: db.raw('import_cursors.runs_imported + ?', [cursor.imported]),
      updated_at: db.fn.now(),
    });
}

export type ImportedRunChange = 'created' | 'updated' | 'unchanged';

/**
 * Stores one imported run. A new run is inserted; a stored run that had not finished is brought up
 * to date (it may have finished since); a stored finished run is left as it is. `finishedNow` is
 * true when this write is the first that shows the run finished.
 */
export async function storeImportedRun(db: Db, run: NewRun): Promise<{ run: RunRecord; change: ImportedRunChange; finishedNow: boolean }> {
  const row = {
    ...run,
    sla_details: run.sla_details == null ? null : JSON.stringify(run.sla_details),
    session_messages: run.session_messages == null ? null : JSON.stringify(run.session_messages),
    time_note: run.time_note ?? null,
  };
  const { job_id: _job, external_id: _external, ...changes } = row;
  const written = await db('job_runs')
    .insert(row)
    .onConflict(['job_id', 'external_id'])
    .merge(changes)
    // only a stored run that had not finished, and only when there is something new
    .whereRaw(
      'job_runs.finished_at is null and (excluded.finished_at is not null or excluded.exit_code is distinct from job_runs.exit_code or excluded.log_tail is distinct from job_runs.log_tail or excluded.error is distinct from job_runs.error)',
    )
    // xmax is 0 only for a row this statement inserted
    .returning(db.raw('job_runs.*, (xmax = 0) as inserted'));
  const first = written[0] as (RunRecord & { inserted: boolean }) | undefined;
  if (first) {
    const { inserted, ...stored } = first;
    const finished = stored.finished_at !== null;
    return { run: stored, change: inserted ? 'created' : 'updated', finishedNow: finished };
  }
  // A finished run whose log lines or session messages arrived after its finish (ProcClaw commits
  // finished_at first, then writes job_logs and the session): only those two are filled in, so a
  // verdict stored since (the API's SLA check, say) is kept, and nothing counts as finished anew.
  if (row.log_tail !== null || row.session_messages !== null) {
    const late = (await db('job_runs')
      .where({ job_id: run.job_id, external_id: run.external_id })
      .whereNotNull('finished_at')
      // One parenthesised condition: knex joins a raw `where` with `and` as it is, so an `or` left
      // bare here would match every row of every job.
      .whereRaw('((?::text is not null and ?::text is distinct from log_tail) or (?::jsonb is not null and ?::jsonb is distinct from session_messages))', [
        row.log_tail,
        row.log_tail,
        row.session_messages,
        row.session_messages,
      ])
      .update({
        log_tail: db.raw('coalesce(?::text, log_tail)', [row.log_tail]),
        session_messages: db.raw('coalesce(?::jsonb, session_messages)', [row.session_messages]),
      })
      .returning('*')) as RunRecord[];
    if (late[0]) return { run: late[0], change: 'updated', finishedNow: false };
  }
  const existing = (await db('job_runs').where({ job_id: run.job_id, external_id: run.external_id }).first()) as RunRecord;
  return { run: existing, change: 'unchanged', finishedNow: false };
}
