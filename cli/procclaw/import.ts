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
import type { Job } from '../../core/job.js';
import { reactiveTrigger, type Trigger } from '../../core/review.js';
import type { ReviewInput } from '../../core/temporal.js';
import { loadCatalog } from '../../db/catalog.js';
import { getCursor, saveCursor, storeImportedRun } from '../../db/imports.js';
import type { Db } from '../../db/knex.js';
import type { NewRun } from '../../db/runs.js';
import { convertRun, isManualStop, isRunning, LOG_TAIL_LINES } from './convert.js';
import { ProcclawSource, ProcclawSourceError, type ProcclawRunRow } from './source.js';

export const CURSOR_KIND = 'procclaw';
/** A run that was running for longer than this is not looked at again (ProcClaw lost it). */
const PENDING_MAX_AGE_MS = 7 * 86_400_000;
/**
 * How long after its finish a run is read again for late log lines and session messages. The
 * first pass after this still reads it once (a re-import hours later gets them too); then it is
 * left, so a pass costs the runs of the last two minutes, not the history.
 */
export const SETTLE_MS = 120_000;

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
  };
  try {
    const jobs = !deps.api && deps.jobsSource ? await jobsById(deps.jobsSource) : null;
    const cursor = await getCursor(deps.db, opts.dbFile, CURSOR_KIND);
    let lastId = cursor.last_run_id;
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
      for (const row of rows) {
        summary.seen++;
        const converted = convertRun(row, source.logTail(row.id, LOG_TAIL_LINES), { naiveZone: opts.naiveZone });
        if (!converted.ok) {
          summary.skipped.push({ procclaw_id: row.id, reason: converted.reason });
          continue;
        }
        const run = converted.run;
        const running = isRunning(run);
        const endedAt = endOf(run);
        // A manual stop is stored as history (directly, not through the API): it calls for no review.
        const fresh = !running && !isManualStop(row) && now().getTime() - endedAt.getTime() <= windowMs;
        plan.push({ row, run, running, fresh, carried: carried.has(row.id) });
      }
      const createdBefore = summary.created;
      const reviewsToStart = await store(deps, plan, summary, jobs);
      // The cursor moves only once the runs are stored: a crash before this repeats the batch, harmlessly.
      const stillRunning = new Set(plan.filter((p) => p.running && now().getTime() - p.run.started_at.getTime() <= PENDING_MAX_AGE_MS).map((p) => p.row.id));
      const settling = plan.filter((p) => !p.running && now().getTime() - endOf(p.run).getTime() <= settleMs).map((p) => p.row.id);
      for (const row of rows) {
        pending.delete(row.id);
        runningIds.delete(row.id);
      }
      for (const id of stillRunning) {
        pending.add(id);
        runningIds.add(id);
      }
      for (const id of settling) pending.add(id);
      lastId = Math.max(lastId, ...newRows.map((r) => r.id));
      await saveCursor(deps.db, { source: opts.dbFile, kind: CURSOR_KIND, last_run_id: lastId, pending_run_ids: [...pending], imported: summary.created - createdBefore });
      await startReviews(deps, reviewsToStart, summary);
      if (newRows.length < batchSize) break;
    }
    summary.running = [...pending].filter((id) => runningIds.has(id)).length;
    return summary;
  } finally {
    source.close();
  }
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
      if (answer.status === 404) {
        direct.push(p); // a job the API's catalog does not know: keep its history anyway
        continue;
      }
      if (answer.body?.created === true) summary.created++;
      else direct.push(p); // stored before (e.g. while running): bring the stored row up to date
      const review = answer.body?.review as { workflow_id?: string; already_running?: boolean } | null | undefined;
      const runId = (answer.body?.run as { id?: number } | undefined)?.id;
      if (review?.workflow_id && runId) {
        summary.reviews.push({ job_id: p.run.job_id, run_id: runId, workflow_id: review.workflow_id, already_running: !!review.already_running });
      }
      continue;
    }
    direct.push(p);
  }
  if (direct.length === 0) return reviews;
  await deps.db.transaction(async (trx) => {
    for (const p of direct) {
      const result = await storeImportedRun(trx, p.run);
      if (result.change === 'created') summary.created++;
      else if (result.change === 'updated') summary.updated++;
      else summary.unchanged++;
      if (!result.finishedNow || !p.fresh || deps.api) continue;
      const job = jobs?.get(p.run.job_id);
      const trigger = job ? reactiveTrigger(job.config, result.run) : null;
      if (trigger && deps.startReview) reviews.push({ job_id: p.run.job_id, run_id: result.run.id, trigger });
      else if (trigger || (!jobs && (result.run.exit_code ?? 0) !== 0)) summary.reviews_not_started++;
    }
  });
  return reviews;
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

export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError';
}

async function postRunReport(api: { url: string; token: string | null }, run: NewRun): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const body = {
    external_id: run.external_id,
    started_at: run.started_at.toISOString(),
    finished_at: run.finished_at ? run.finished_at.toISOString() : null,
    exit_code: run.exit_code,
    duration_ms: run.duration_ms,
    trigger: run.trigger,
    error: run.error,
    sla_status: run.sla_status,
    sla_details: run.sla_details as Record<string, unknown> | null,
    log_tail: run.log_tail,
    session_messages: run.session_messages as unknown[] | null,
  };
  const url = `${api.url.replace(/\/+$/, '')}/api/v1/jobs/${encodeURIComponent(run.job_id)}/runs`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(api.token ? { authorization: `Bearer ${api.token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new ApiUnreachableError(`the API at ${api.url} is unreachable (${(error as Error).cause ? String(((error as Error).cause as Error).message ?? (error as Error).cause) : (error as Error).message})`);
  }
  const text = await response.text();
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = null;
  }
  if (response.status === 404 || response.ok) return { status: response.status, body: parsed };
  const message = typeof parsed?.error === 'string' ? parsed.error : text.slice(0, 300);
  if (response.status >= 500 || response.status === 401 || response.status === 403) {
    throw new ApiUnreachableError(`the API at ${api.url} refused run ${run.external_id} of ${run.job_id}: ${response.status} ${message}`);
  }
  throw new Error(`the API at ${api.url} rejected run ${run.external_id} of ${run.job_id}: ${response.status} ${message}`);
}

/** One line for a pass that did something; null for a pass that found nothing new. */
export function describeSummary(s: ImportSummary): string | null {
  if (s.created + s.updated === 0 && s.reviews.length === 0 && s.skipped.length === 0 && s.reviews_not_started === 0) return null;
  const parts = [`${s.created} new run(s)`, `${s.updated} updated`];
  if (s.running > 0) parts.push(`${s.running} still running`);
  if (s.skipped.length > 0) parts.push(`${s.skipped.length} skipped (${s.skipped.slice(0, 3).map((k) => `#${k.procclaw_id}: ${k.reason}`).join('; ')})`);
  const reviews = s.reviews.map((r) => `${r.workflow_id}${r.already_running ? ' (already running)' : ''}`);
  if (reviews.length > 0) parts.push(`review(s) started: ${reviews.join(', ')}`);
  if (s.review_errors.length > 0) parts.push(`${s.review_errors.length} review(s) could not start (${s.review_errors.slice(0, 2).join('; ')}); trigger them from the dashboard`);
  else if (s.reviews_not_started > 0) parts.push(`${s.reviews_not_started} failed run(s) started no review (pass --api, or set TEMPORAL_ADDRESS and HEALING_JOBS_DIR)`);
  return `imported from ${s.source}: ${parts.join(', ')}`;
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
