// Short reads of what is running now, for the workflows' waits: a job's open run (an apply waits
// for it to end) and the OpenClaw jobs running (an OpenClaw analysis waits while they do). Each
// answer carries the wait bounds, so the workflow reads its configuration through history.
import { applyWindowAt, describeApplyWindow } from '../core/apply-window.js';
import { resolveDefaultTimeZone } from '../core/config.js';
import { jobTimeZone } from '../core/job.js';
import { DEFAULT_WAITS, isOpenClawJob, OPEN_RUN_MAX_AGE_MS, type OpenRun, type OpenclawWaitTimeout } from '../core/running.js';
import { findJob, loadCatalog } from '../db/catalog.js';
import { markReviewWaiting } from '../db/reviews.js';
import { openRuns, type RunRecord } from '../db/runs.js';
import { getSuggestion } from '../db/suggestions.js';
import type { ApplyWindow } from '../core/apply-window.js';
import { analyzerSoon } from './analyze.js';
import type { ActivityDeps } from './deps.js';

/** A job's apply window at one instant, as the suggestion workflow reads it (plain JSON). */
export interface ApplyWindowState {
  open: boolean;
  /** when it next opens (ISO); null when it does not within fifteen days */
  opens_at: string | null;
  /** the window in words and where it is set, e.g. "mon-fri 09:00-17:00 (UTC), self_healing.apply_window" */
  description: string;
  note: string | null;
}

const asOpenRun = (run: Pick<RunRecord, 'id' | 'job_id' | 'external_id' | 'started_at'>): OpenRun => ({
  job_id: run.job_id,
  id: Number(run.id),
  external_id: run.external_id,
  started_at: new Date(run.started_at).toISOString(),
});

export function createRunActivities(deps: ActivityDeps) {
  const { db } = deps;
  // Read at each call: the deps' settings may change under a running worker (tests switch them).
  const settings = () => ({ ...DEFAULT_WAITS, ...deps.waits });

  /** The job's own apply window, else the service's (HEALING_APPLY_WINDOW), judged at `now` in the job's zone. */
  const applyWindowOf = async (jobId: string, serviceWindow: ApplyWindow | null, now: Date): Promise<ApplyWindowState | null> => {
    const job = await findJob(deps.jobsSource, jobId);
    if (!job) return null;
    const own = job.config.self_healing.apply_window;
    const window = own === false ? null : (own ?? serviceWindow);
    if (!window) return null;
    const zone = jobTimeZone(job.config, deps.defaultTimeZone ?? resolveDefaultTimeZone(undefined)).zone;
    const answer = applyWindowAt(window, zone, now, job.config.schedule);
    const source = own ? 'self_healing.apply_window' : 'HEALING_APPLY_WINDOW';
    return { open: answer.open, opens_at: answer.opensAt?.toISOString() ?? null, description: `${describeApplyWindow(window, zone)}, ${source}`, note: answer.note };
  };

  /** A suggestion with no file to edit, or an edit the job's policy does not allow (as prepareApply reads it). */
  const isAdvice = async (suggestionId: number): Promise<boolean> => {
    const suggestion = await getSuggestion(db, suggestionId);
    return Boolean(suggestion && (!suggestion.target_file || suggestion.advisory_reason));
  };

  return {
    /**
     * The job's open run (the oldest, when several), with how long an apply waits for it, and its
     * apply window as the job's config says now (null when it has none, or `suggestionId` is advice:
     * an apply may go at any time).
     */
    async openJobRun(input: { jobId: string; suggestionId?: number }): Promise<{ run: OpenRun | null; waitS: number; checkS: number; window: ApplyWindowState | null }> {
      const waits = settings();
      const now = new Date();
      const [run] = await openRuns(db, { jobId: input.jobId, now, maxAgeMs: OPEN_RUN_MAX_AGE_MS, limit: 1 });
      // Advice writes nothing, so no window holds it back (absent from older workflows' input: judged as before).
      const window = input.suggestionId !== undefined && (await isAdvice(input.suggestionId)) ? null : await applyWindowOf(input.jobId, waits.applyWindow ?? null, now);
      return { run: run ? asOpenRun(run) : null, waitS: waits.applyWaitS, checkS: waits.checkIntervalS, window };
    },

    /**
     * The OpenClaw jobs' open runs an analysis of this review would compete with for tokens. Only
     * an openclaw analysis competes: with the rules analyzer (no model, no tokens) the answer is
     * empty and the review never waits.
     */
    async openclawRuns(): Promise<{ analyzer: 'openclaw' | 'rules'; runs: OpenRun[]; waitS: number; checkS: number; onTimeout: OpenclawWaitTimeout }> {
      const waits = settings();
      const bounds = { waitS: waits.openclawWaitS, checkS: waits.checkIntervalS, onTimeout: waits.openclawWaitTimeout };
      const none = { analyzer: deps.analyzer.mode === 'rules' ? 'rules' as const : 'openclaw' as const, runs: [], ...bounds };
      if (deps.analyzer.mode === 'rules' || waits.openclawWaitS <= 0) return none;
      const open = await openRuns(db, { now: new Date(), maxAgeMs: OPEN_RUN_MAX_AGE_MS });
      if (open.length === 0) return none;
      const catalog = await loadCatalog(deps.jobsSource);
      const openclawJobs = new Set(catalog.jobs.filter((job) => isOpenClawJob(job.config)).map((job) => job.id));
      const runs = open.filter((run) => openclawJobs.has(run.job_id)).map(asOpenRun);
      if (runs.length === 0) return none;
      const analyzer = await analyzerSoon(deps.analyzer);
      return { analyzer, runs: analyzer === 'openclaw' ? runs : [], ...bounds };
    },

    /** Shows on the review row why it waits (null: it no longer does). */
    async markReviewWaiting(input: { reviewId: number; reason: string | null }): Promise<void> {
      await markReviewWaiting(db, input.reviewId, input.reason);
    },
  };
}
