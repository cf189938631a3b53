// Imports ProcClaw's run history into job_runs, incrementally: a cursor per database remembers
// the highest ProcClaw run id seen and the runs that were still running, so a second pass adds
// nothing and a run that finished since is brought up to date. ProcClaw commits a run's finish
// before its log lines and session messages (supervisor.py `_save_run_logs`,
// `_extract_session_info`, the latter after an `openclaw sessions` call of up to 10 s): a run is
// read again at every pass until SETTLE_MS after its finish, so those arrive too.
//
// Reactive reviews: a run that has just finished (within the review window) and failed, or broke
// its SLA, starts its job's review exactly as a run report would. Either the API does it (`api`:
// such runs are POSTed as run reports; a run still running is held back until it finishes, so
// the API sees it once, finished) or this process does (`startReview`, a Temporal client).
// Older history is written to Postgres directly and starts nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Job } from '../../core/job.js';
import { reactiveTrigger, type Trigger } from '../../core/review.js';
import { slaVerdict } from '../../core/sla.js';
import type { ReviewInput } from '../../core/temporal.js';
import { loadCatalog } from '../../db/catalog.js';
import { getCursor, saveCursor, storeImportedRun, type GenerationMark, type ImportCursor } from '../../db/imports.js';
import type { Db } from '../../db/knex.js';
import type { NewRun } from '../../db/runs.js';
import { ApiUnreachableError, describeShortening, postRunReport } from './api-report.js';
import { convertRun, externalIdOf, isManualStop, isRunning, LOG_TAIL_LINES, procclawRunTimes, procclawTimeOf, readingsOfProcclawTime } from './convert.js';
import { ProcclawSource, ProcclawSourceError, type ProcclawRunRow } from './source.js';

export const CURSOR_KIND = 'procclaw';
/**
 * How long after its finish a run is read again for late log lines and session messages. The
 * first pass after this still reads it once (a re-import hours later gets them too); then it is
 * left, so a pass costs the runs of the last two minutes, not the history.
 */
export const SETTLE_MS = 120_000;
/**
 * How long a run that has just finished is held back while ProcClaw has not written its log lines
 * (or an OpenClaw job's session) yet: its review would otherwise read none of them. ProcClaw
 * writes them right after the finish, the session after an `openclaw sessions` call of up to 10 s.
 */
export const HOLD_MS = 15_000;

export interface ImportDeps {
  db: Db;
  /** the job catalog, for the reactive decision when reviews are started from here */
  jobsSource: string | null;
  /** starts a review through Temporal; null when this process cannot */
  startReview: ((input: ReviewInput) => Promise<{ workflowId: string; alreadyRunning: boolean }>) | null;
  /** report fresh runs to this API instead (it stores them and starts reactive reviews) */
  api: { url: string; token: string | null } | null;
}

export interface ImportOptions {
  /** the ProcClaw database, an absolute path */
  dbFile: string;
  lockTimeoutMs?: number;
  /** the time zone of ProcClaw's timestamps that carry no offset */
  naiveZone?: string;
  /** runs that finished longer ago than this are history: stored without starting a review */
  reviewWindowMs?: number;
  batchSize?: number;
  /** how long after its finish a run is read again for late logs and session messages (SETTLE_MS) */
  settleMs?: number;
  /** how long a fresh run without its log lines (or session) yet is held back before it is stored (HOLD_MS) */
  holdMs?: number;
  /** ProcClaw's logs folder ($PROCCLAW_HOME/logs): a finished run ProcClaw stored no log lines for points at its job's log file there */
  logsDir?: string | null;
  /** HEALING_LOG_ROOTS: where else a job's log file may lie for a review to read it */
  logRoots?: readonly string[];
  now?: () => Date;
}

export interface ImportSummary {
  source: string;
  /** runs looked at in this pass */
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  /** runs still running after this pass (looked at again next time) */
  running: number;
  skipped: { procclaw_id: number; reason: string }[];
  reviews: { job_id: string; run_id: number; workflow_id: string; already_running: boolean }[];
  /** fresh problem runs whose review could not be started from here (no API, no Temporal, or Temporal refused) */
  reviews_not_started: number;
  review_errors: string[];
  /** fresh runs the API refused (a 4xx for that report alone): stored directly, their reviews not started */
  rejected: { job_id: string; external_id: string; status: number; reason: string; review_not_started: boolean }[];
  /** fresh runs sent to the API with parts left out to fit its limits (everything is stored directly at their next re-read) */
  shortened: { job_id: string; external_id: string; left_out: string }[];
  /** set when the file turned out to be a new database, imported as a new generation */
  new_generation?: { generation: number; reason: string };
}

interface Planned {
  row: ProcclawRunRow;
  run: NewRun;
  running: boolean;
  fresh: boolean;
  /** read again from the cursor's pending list (running, or finished moments ago, at the last pass) */
  carried: boolean;
}

export async function importProcclawOnce(deps: ImportDeps, opts: ImportOptions): Promise<ImportSummary> {
  const now = opts.now ?? (() => new Date());
  const batchSize = opts.batchSize ?? 500;
  const windowMs = opts.reviewWindowMs ?? 60 * 60_000;
  const settleMs = opts.settleMs ?? SETTLE_MS;
  const holdMs = opts.holdMs ?? HOLD_MS;
  const source = ProcclawSource.open(opts.dbFile, { lockTimeoutMs: opts.lockTimeoutMs });
  const summary: ImportSummary = {
    source: opts.dbFile,
    seen: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    running: 0,
    skipped: [],
    reviews: [],
    reviews_not_started: 0,
    review_errors: [],
    rejected: [],
    shortened: [],
  };
  try {
    // The catalog, for SLA verdicts and reactive decisions: read only when a pass has runs to store.
    let jobs: Map<string, Job> | null | undefined;
    const catalog = async () => (jobs === undefined ? (jobs = deps.jobsSource ? await jobsById(deps.jobsSource) : null) : jobs);
    const cursor = await sameDatabase(deps.db, source, await getCursor(deps.db, opts.dbFile, CURSOR_KIND), summary);
    const generation = cursor.generation;
    let lastId = cursor.last_run_id;
    let lastKey = cursor.last_run_key;
    const pending = new Set(cursor.pending_run_ids);
    // Runs still running last time first, then everything new, a batch at a time.
    let carry = source.runsByIds([...pending]);
    const stillThere = new Set(carry.map((r) => r.id));
    for (const id of pending) if (!stillThere.has(id)) pending.delete(id); // deleted from ProcClaw since
    const carried = new Set(stillThere);
    const runningIds = new Set<number>();
    for (;;) {
      const newRows = source.runsAfter(lastId, batchSize);
      const rows = [...carry, ...newRows];
      carry = [];
      if (rows.length === 0) break;
      const plan: Planned[] = [];
      const held: number[] = [];
      const known = await catalog();
      let previous: { id: number; started: Date } | null = null; // the run converted just before, when it is the one ProcClaw recorded before
      for (const row of rows) {
        summary.seen++;
        // A local start the clock went back over is told apart by the run before it (ProcClaw's ids grow in start order).
        const previousStart =
          readingsOfProcclawTime(row.started_at, opts.naiveZone).length < 2
            ? null
            : previous?.id === row.id - 1
              ? previous.started
              : await startOfRunBefore(deps.db, source, row.id, opts.naiveZone, generation);
        const converted = convertOne(source, row, { logsDir: opts.logsDir ?? null, logRoots: opts.logRoots ?? [], job: known?.get(String(row.job_id)), naiveZone: opts.naiveZone, previousStart });
        if (!converted.ok) {
          summary.skipped.push({ procclaw_id: row.id, reason: converted.reason });
          continue;
        }
        previous = { id: row.id, started: converted.run.started_at };
        const run = withVerdict(converted.run, known?.get(converted.run.job_id));
        if (generation > 1) run.external_id = externalIdOf(row.id, generation);
        const running = isRunning(run);
        const endedAt = endOf(run);
        // A manual stop is stored as history (directly, not through the API): it calls for no review.
        const sinceEnd = now().getTime() - endedAt.getTime();
        const fresh = !running && !isManualStop(row) && sinceEnd <= windowMs;
        if (fresh && sinceEnd < holdMs && awaitsWrites(run, known?.get(run.job_id))) {
          held.push(row.id); // stored, and reviewed, once its lines are there (or the hold is over)
          continue;
        }
        plan.push({ row, run, running, fresh, carried: carried.has(row.id) });
      }
      const createdBefore = summary.created;
      const reviewsToStart = await store(deps, plan, summary, deps.api ? null : known ?? null);
      // The cursor moves only once the runs are stored: a crash before this repeats the batch, harmlessly.
      // Every open run is read again until it closes, however long it runs: the cost is the open
      // runs', not the history's.
      const stillRunning = new Set(plan.filter((p) => p.running).map((p) => p.row.id));
      const settling = plan.filter((p) => !p.running && now().getTime() - endOf(p.run).getTime() <= settleMs).map((p) => p.row.id);
      for (const row of rows) {
        pending.delete(row.id);
        runningIds.delete(row.id);
      }
      for (const id of stillRunning) {
        pending.add(id);
        runningIds.add(id);
      }
      for (const id of [...settling, ...held]) pending.add(id);
      const newest = newRows.at(-1);
      if (newest && newest.id > lastId) {
        lastId = newest.id;
        lastKey = runKey(newest);
      }
      await saveCursor(deps.db, {
        source: opts.dbFile,
        kind: CURSOR_KIND,
        last_run_id: lastId,
        pending_run_ids: [...pending],
        imported: summary.created - createdBefore,
        generation,
        last_run_key: lastKey,
      });
      await startReviews(deps, reviewsToStart, summary);
      if (newRows.length < batchSize) break;
    }
    summary.running = [...pending].filter((id) => runningIds.has(id)).length;
    return summary;
  } finally {
    source.close();
  }
}

/**
 * The cursor, or another one when the file is not the database it was read from: ProcClaw's
 * recovery moves a damaged file aside and starts anew (db.py `_ensure_db`), so its run ids restart
 * at 1. Such a file never gave the id the cursor stopped at, or gave it to another run. (The same
 * file keeps its sequence even when ProcClaw deletes old runs.) A file that is an earlier
 * generation's again (a backup put back) is read on from where that generation stopped; any other
 * is a new generation.
 */
async function sameDatabase(db: Db, source: ProcclawSource, cursor: ImportCursor, summary: ImportSummary): Promise<ImportCursor> {
  if (cursor.last_run_id === 0 && cursor.earlier_generations.length === 0) return cursor;
  const highest = source.highestRunId();
  const holds = (mark: GenerationMark): boolean | null => {
    if (highest < mark.last_run_id) return false;
    const anchor = source.runsByIds([mark.last_run_id])[0];
    if (!anchor || mark.last_run_key === null) return null; // cannot tell: the run is gone, or its key was never taken
    return runKey(anchor) === mark.last_run_key;
  };
  const current: GenerationMark = { generation: cursor.generation, last_run_id: cursor.last_run_id, last_run_key: cursor.last_run_key };
  const same = cursor.last_run_id === 0 ? null : holds(current);
  if (same !== false) {
    // A cursor from before generations were kept learns its run's key now.
    if (cursor.last_run_key === null && same === null && cursor.last_run_id > 0) {
      const anchor = source.runsByIds([cursor.last_run_id])[0];
      if (anchor) return { ...cursor, last_run_key: runKey(anchor) };
    }
    return cursor;
  }
  const reason =
    highest < cursor.last_run_id
      ? `its run ids now end at ${highest}, below the ${cursor.last_run_id} imported from it before`
      : `its run ${cursor.last_run_id} is not the run imported under that id before`;
  const earlier = [...cursor.earlier_generations.filter((m) => m.generation !== cursor.generation), current];
  const back = [...cursor.earlier_generations].reverse().find((mark) => mark.generation !== cursor.generation && holds(mark) === true);
  const next: ImportCursor = back
    ? { ...cursor, generation: back.generation, last_run_id: back.last_run_id, last_run_key: back.last_run_key, pending_run_ids: [] }
    : { ...cursor, generation: Math.max(cursor.generation, ...earlier.map((m) => m.generation)) + 1, last_run_id: 0, last_run_key: null, pending_run_ids: [] };
  next.earlier_generations = earlier.filter((m) => m.generation !== next.generation);
  // Saved at once: an empty new file would otherwise be taken for a new one again at every pass.
  await saveCursor(db, { ...next, imported: 0 });
  if (back) {
    summary.new_generation = {
      generation: next.generation,
      reason: `${source.file} is the database imported as generation ${back.generation} again (put back?): ${reason}. Its runs are read on after run ${back.last_run_id}, where that import stopped; nothing is imported twice.`,
    };
    return next;
  }
  const aside = existsSync(source.file.replace(/\.db$/, '.db.corrupt')) ? ` (${path.basename(source.file.replace(/\.db$/, '.db.corrupt'))} lies beside it: ProcClaw's recovery moves a damaged file there)` : '';
  summary.new_generation = {
    generation: next.generation,
    reason: `${source.file} is a new database${aside}: ${reason}. Its runs are imported as generation ${next.generation}, beside the ${cursor.runs_imported} run(s) imported before.`,
  };
  return next;
}

/** What tells one ProcClaw run from another in a file: its job and start as written. */
const runKey = (row: Pick<ProcclawRunRow, 'job_id' | 'started_at'>): string => `${row.job_id} @ ${String(row.started_at)}`;

/**
 * A finished run without a verdict gets the one its job's `sla` gives, as the API gives a run
 * report: ProcClaw itself never stores one in job_runs.
 */
function withVerdict(run: NewRun, job: Job | undefined): NewRun {
  if (!job || run.sla_status !== null || isRunning(run) || run.duration_ms === null) return run;
  const verdict = slaVerdict(job.config.sla ?? null, run.duration_ms);
  return verdict ? { ...run, sla_status: verdict.status, sla_details: verdict.details } : run;
}

/** How many runs back the start of the run before an ambiguous one is looked for. */
const NEIGHBOUR_WALK = 100;

/**
 * The start of the run ProcClaw recorded before run `id`, which tells an ambiguous local start
 * apart: as an earlier pass stored it, else read from ProcClaw's rows, walking back to a run
 * whose start needs no neighbour (or one stored) and reading forward from there.
 */
async function startOfRunBefore(db: Db, source: ProcclawSource, id: number, naiveZone: string | undefined, generation: number): Promise<Date | null> {
  const unread: ProcclawRunRow[] = [];
  let start: Date | null = null;
  for (let before = source.runBefore(id); before && unread.length < NEIGHBOUR_WALK; before = source.runBefore(before.id)) {
    const readings = readingsOfProcclawTime(before.started_at, naiveZone);
    const stored = (await db('job_runs').where({ job_id: String(before.job_id), external_id: externalIdOf(before.id, generation) }).first('started_at')) as
      | { started_at: Date }
      | undefined;
    if (stored && readings.some((at) => at.getTime() === stored.started_at.getTime())) {
      start = stored.started_at;
      break;
    }
    unread.push(before);
    if (readings.length < 2 && procclawTimeOf(before.started_at)) break; // read alike whatever came before it
  }
  for (const row of unread.reverse()) {
    const times = procclawRunTimes(row, { naiveZone, previousStart: start });
    if (!('error' in times)) start = times.started;
  }
  return start;
}

function endOf(run: NewRun): Date {
  return run.finished_at ?? (run.duration_ms !== null ? new Date(run.started_at.getTime() + run.duration_ms) : run.started_at);
}

/** Writes a batch: fresh finished runs to the API when one is given, everything else to Postgres. */
async function store(deps: ImportDeps, plan: Planned[], summary: ImportSummary, jobs: Map<string, Job> | null) {
  const reviews: { job_id: string; run_id: number; trigger: Trigger }[] = [];
  const direct: Planned[] = [];
  // A run read again only for its late logs was reported finished already: the API is not asked
  // twice (it would consider a review again); its logs go straight to Postgres.
  const reported = new Set<string>();
  const rereads = deps.api ? plan.filter((p) => p.carried && !p.running) : [];
  if (rereads.length > 0) {
    const stored = (await deps.db('job_runs')
      .whereIn(['job_id', 'external_id'], rereads.map((p) => [p.run.job_id, p.run.external_id]))
      .whereNotNull('finished_at')
      .select('job_id', 'external_id')) as { job_id: string; external_id: string }[];
    for (const r of stored) reported.add(`${r.job_id}\0${r.external_id}`);
  }
  for (const p of plan) {
    if (deps.api && p.running) continue; // sent once it has finished
    if (deps.api && p.fresh && !reported.has(`${p.run.job_id}\0${p.run.external_id}`)) {
      const answer = await postRunReport(deps.api, p.run);
      if (answer.shortened) summary.shortened.push({ job_id: p.run.job_id, external_id: p.run.external_id, left_out: describeShortening(answer.shortened) });
      if (answer.outcome === 'unknown_job') {
        direct.push(p); // a job the API's catalog does not know: keep its history anyway
        continue;
      }
      if (answer.outcome === 'rejected') {
        // The API refuses this report, not every report: its history is stored directly and the
        // runs after it go on; only its review, which the API would have started, is missed.
        direct.push(p);
        const job = jobs?.get(p.run.job_id);
        const wanted = job ? reactiveTrigger(job.config, p.run) !== null : (p.run.exit_code ?? 0) !== 0 || p.run.sla_status === 'fail';
        if (wanted) summary.reviews_not_started++;
        summary.rejected.push({ job_id: p.run.job_id, external_id: p.run.external_id, status: answer.status, reason: answer.reason, review_not_started: wanted });
        continue;
      }
      if (answer.body?.created === true) summary.created++;
      else direct.push(p); // stored before (e.g. while running): bring the stored row up to date
      const review = answer.body?.review as { workflow_id?: string; already_running?: boolean } | null | undefined;
      const runId = (answer.body?.run as { id?: number } | undefined)?.id;
      // A run report carries no time note: the row the API stored gets it here.
      if (answer.body?.created === true && runId && p.run.time_note) await deps.db('job_runs').where({ id: runId }).update({ time_note: p.run.time_note });
      if (review?.workflow_id && runId) {
        summary.reviews.push({ job_id: p.run.job_id, run_id: runId, workflow_id: review.workflow_id, already_running: !!review.already_running });
      }
      continue;
    }
    direct.push(p);
  }
  if (direct.length === 0) return reviews;
  // The batch in one transaction; only when Postgres refuses a row for its content is it written
  // again a row per savepoint, so that row is skipped and the others kept (savepoints would triple
  // the statements of every batch).
  let stored: Stored[];
  try {
    stored = await deps.db.transaction((trx) => storeBatch(trx, direct, false));
  } catch (error) {
    if (!refusedForContent(error)) throw error;
    stored = await deps.db.transaction((trx) => storeBatch(trx, direct, true));
  }
  for (const { p, result, refusal } of stored) {
    if (refusal !== null) {
      summary.skipped.push({ procclaw_id: p.row.id, reason: `Postgres refused it: ${refusal}` });
      continue;
    }
    if (result.change === 'created') summary.created++;
    else if (result.change === 'updated') summary.updated++;
    else summary.unchanged++;
    if (!result.finishedNow || !p.fresh || deps.api) continue;
    const job = jobs?.get(p.run.job_id);
    const trigger = job ? reactiveTrigger(job.config, result.run) : null;
    if (trigger && deps.startReview) reviews.push({ job_id: p.run.job_id, run_id: result.run.id, trigger });
    else if (trigger || (!jobs && (result.run.exit_code ?? 0) !== 0)) summary.reviews_not_started++;
  }
  return reviews;
}

type Stored = { p: Planned; result: Awaited<ReturnType<typeof storeImportedRun>>; refusal: null } | { p: Planned; result: null; refusal: string };

/** Stores the runs; `isolated`: each in a savepoint, a row Postgres refuses for its content skipped. */
async function storeBatch(trx: Db, direct: Planned[], isolated: boolean): Promise<Stored[]> {
  const out: Stored[] = [];
  for (const p of direct) {
    if (!isolated) {
      out.push({ p, result: await storeImportedRun(trx, p.run), refusal: null });
      continue;
    }
    try {
      out.push({ p, result: await trx.transaction((savepoint) => storeImportedRun(savepoint, p.run)), refusal: null });
    } catch (error) {
      if (!refusedForContent(error)) throw error;
      out.push({ p, result: null, refusal: (error as Error).message.split('\n')[0]!.slice(-300) });
    }
  }
  return out;
}

/** A data or constraint error: this row's content, not Postgres being away, which fails the pass to be tried again. */
const refusedForContent = (error: unknown): boolean => /^(22|23)/.test(String((error as { code?: unknown }).code ?? ''));

/** One ProcClaw row as a run; a row that cannot be read (rather than the file) is skipped with the reason, never the pass. */
function convertOne(
  source: ProcclawSource,
  row: ProcclawRunRow,
  opts: { logsDir: string | null; logRoots: readonly string[]; job: Job | undefined; naiveZone: string | undefined; previousStart: Date | null },
): ReturnType<typeof convertRun> {
  try {
    const logs = source.runLogs(row, { stdoutLines: LOG_TAIL_LINES, logsDir: opts.logsDir, logRoots: opts.logRoots, log: opts.job?.config.log, job: opts.job });
    return convertRun(row, logs, { naiveZone: opts.naiveZone, previousStart: opts.previousStart });
  } catch (error) {
    if (error instanceof ProcclawSourceError) throw error;
    return { ok: false, reason: `cannot be read: ${(error as Error).message.slice(0, 300)}` };
  }
}

/** Whether ProcClaw has still to write what it writes after a finish: the log lines, an OpenClaw job's session. */
function awaitsWrites(run: NewRun, job: Job | undefined): boolean {
  if (run.log_tail === null) return true;
  return job?.config.type === 'openclaw' && run.session_messages === null;
}

/** Starts the reviews of a stored batch; one that cannot start is reported, not retried (the run is stored). */
async function startReviews(deps: ImportDeps, reviews: { job_id: string; run_id: number; trigger: Trigger }[], summary: ImportSummary) {
  if (!deps.startReview) return;
  for (const r of reviews) {
    try {
      const started = await deps.startReview({ jobId: r.job_id, trigger: r.trigger, runId: r.run_id });
      summary.reviews.push({ job_id: r.job_id, run_id: r.run_id, workflow_id: started.workflowId, already_running: started.alreadyRunning });
    } catch (error) {
      summary.reviews_not_started++;
      summary.review_errors.push(`${r.job_id} run ${r.run_id}: ${(error as Error).message}`);
    }
  }
}

async function jobsById(jobsSource: string): Promise<Map<string, Job>> {
  const catalog = await loadCatalog(jobsSource);
  return new Map(catalog.jobs.map((j) => [j.id, j]));
}

export { ApiUnreachableError };

/** One line for a pass that did something; null for a pass that found nothing new. */
export function describeSummary(s: ImportSummary): string | null {
  if (s.created + s.updated === 0 && s.reviews.length === 0 && s.skipped.length === 0 && s.reviews_not_started === 0 && s.rejected.length === 0 && s.shortened.length === 0 && !s.new_generation) return null;
  const parts = [`${s.created} new run(s)`, `${s.updated} updated`];
  if (s.running > 0) parts.push(`${s.running} still running`);
  if (s.skipped.length > 0) parts.push(`${s.skipped.length} skipped (${s.skipped.slice(0, 3).map((k) => `#${k.procclaw_id}: ${k.reason}`).join('; ')}${s.skipped.length > 3 ? `; and ${s.skipped.length - 3} more` : ''})`);
  const reviews = s.reviews.map((r) => `${r.workflow_id}${r.already_running ? ' (already running)' : ''}`);
  if (reviews.length > 0) parts.push(`review(s) started: ${reviews.join(', ')}`);
  for (const r of s.shortened.slice(0, 3)) parts.push(`run ${r.external_id} of job ${r.job_id} sent to the API shortened to fit its size limit (${r.left_out})`);
  if (s.shortened.length > 3) parts.push(`${s.shortened.length - 3} more run(s) sent shortened`);
  for (const r of s.rejected.slice(0, 3)) {
    parts.push(`the API rejected run ${r.external_id} of job ${r.job_id}: ${r.status} ${r.reason}; stored directly${r.review_not_started ? ', review not started (trigger it from the dashboard)' : ''}`);
  }
  if (s.rejected.length > 3) parts.push(`the API rejected ${s.rejected.length - 3} more run(s), stored directly`);
  // Failed runs whose review did not start for no reason named above.
  const unexplained = s.reviews_not_started - s.rejected.filter((r) => r.review_not_started).length;
  if (s.review_errors.length > 0) parts.push(`${s.review_errors.length} review(s) could not start (${s.review_errors.slice(0, 2).join('; ')}); trigger them from the dashboard`);
  else if (unexplained > 0) parts.push(`${unexplained} failed run(s) started no review (pass --api, or set TEMPORAL_ADDRESS and HEALING_JOBS_DIR)`);
  const line = `imported from ${s.source}: ${parts.join(', ')}`;
  return s.new_generation ? `${s.new_generation.reason}\n${line}` : line;
}

/** Imports again every `intervalMs` until the signal aborts. A locked database waits for the next pass. */
export async function followProcclaw(
  deps: ImportDeps,
  opts: ImportOptions & { intervalMs: number; signal: AbortSignal; onPass?: (summary: ImportSummary) => void; onError?: (error: Error) => void },
): Promise<void> {
  let first = true;
  while (!opts.signal.aborted) {
    try {
      opts.onPass?.(await importProcclawOnce(deps, opts));
    } catch (error) {
      // A database that is not ProcClaw's will not become one: stop at once. Anything else
      // (locked, Postgres or the API away for a moment) is tried again at the next pass.
      if (error instanceof ProcclawSourceError && first && error.kind !== 'locked') throw error;
      opts.onError?.(error as Error);
    }
    first = false;
    await sleep(opts.intervalMs, opts.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
