// Healing statistics, computed by Postgres in a handful of aggregate queries: no rows are loaded
// into JavaScript, so they stay fast on hundreds of thousands of suggestions.
//
// Definitions (also served with the figures):
// - acceptance rate: suggestions a person (or the auto-apply policy) said yes to, over those decided.
//   Accepted = approved + applied + failed + rolled_back + acknowledged (a failed or rolled-back
//   suggestion was approved before its apply failed or was undone; acknowledged advice was said yes
//   to); decided = accepted + rejected. Pending and expired suggestions were never decided.
// - Acknowledged advice changed no file: it has no action and no applied_at, so it is in none of
//   the apply figures below (apply success, time to resolution, rollback rate, a job's before/after).
// - apply success rate: actions that wrote and verified their change (success, or rolled_back
//   later) over every finished apply attempt (success + failed + rolled_back).
// - time to resolution: created_at to applied_at of every suggestion that was applied (median, p90).
// - rollback rate: suggestions rolled back over suggestions ever applied (applied_at set).
import { CATEGORIES, SEVERITIES } from '../core/job.js';
import { REVIEW_STATUSES, TRIGGERS } from '../core/review.js';
import { ACTION_STATUSES, SUGGESTION_STATUSES } from '../core/suggestion-state.js';
import type { Db } from './knex.js';

export const STAT_DEFINITIONS = {
  acceptance_rate: '(approved + applied + failed + rolled_back + acknowledged) / (approved + applied + failed + rolled_back + acknowledged + rejected)',
  apply_success_rate: '(success + rolled_back actions) / (success + failed + rolled_back actions); acknowledged advice writes no file and has no action',
  time_to_resolution: 'created_at to applied_at of applied suggestions, in seconds (acknowledged advice applies nothing and is not counted)',
  rollback_rate: 'rolled_back suggestions / suggestions ever applied (acknowledged advice is not applied)',
} as const;

const ACCEPTED = ['approved', 'applied', 'failed', 'rolled_back', 'acknowledged'];

// Counts kept by the triggers of migration 004 (exact, in the same transaction as the rows).
const REVIEW_COUNTS = 'select status, trigger, n::int as n from healing_review_counts where n <> 0';
const ACTION_COUNTS = 'select status, n::int as n from healing_action_counts where n <> 0';

type Counts<K extends string> = Record<K, number>;

export interface GlobalStats {
  suggestions: { total: number; by_status: Counts<(typeof SUGGESTION_STATUSES)[number]> };
  reviews: { total: number; by_status: Counts<(typeof REVIEW_STATUSES)[number]>; by_trigger: Counts<(typeof TRIGGERS)[number]> };
  actions: { total: number; by_status: Counts<(typeof ACTION_STATUSES)[number] | 'running'> };
  acceptance_rate: number | null;
  apply_success_rate: number | null;
  time_to_resolution: { applied: number; median_seconds: number | null; p90_seconds: number | null };
  rollback_rate: number | null;
  by_category: Record<string, { total: number } & Counts<(typeof SUGGESTION_STATUSES)[number]>>;
  by_severity: Record<string, { total: number } & Counts<(typeof SUGGESTION_STATUSES)[number]>>;
  definitions: typeof STAT_DEFINITIONS;
}

export async function globalStats(db: Db): Promise<GlobalStats> {
  const [grouped, resolution, reviews, actions] = await Promise.all([
    db.raw<{ rows: { category: string | null; severity: string | null; status: string; n: number }[] }>(
      `select category, severity, status, sum(n)::int as n
         from healing_suggestion_counts
        group by grouping sets ((status), (category, status), (severity, status))
       having sum(n) <> 0`,
    ),
    resolutionQuery(db, null),
    db.raw<{ rows: { status: string; trigger: string; n: number }[] }>(REVIEW_COUNTS),
    db.raw<{ rows: { status: string; n: number }[] }>(ACTION_COUNTS),
  ]);

  const byStatus = zeros(SUGGESTION_STATUSES);
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, { total: 0, ...zeros(SUGGESTION_STATUSES) }]));
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, { total: 0, ...zeros(SUGGESTION_STATUSES) }]));
  for (const row of grouped.rows) {
    const bucket = row.category !== null ? (byCategory[row.category] ??= { total: 0, ...zeros(SUGGESTION_STATUSES) })
      : row.severity !== null ? (bySeverity[row.severity] ??= { total: 0, ...zeros(SUGGESTION_STATUSES) })
      : null;
    if (bucket) {
      bucket.total += row.n;
      (bucket as Record<string, number>)[row.status] = row.n;
    } else {
      (byStatus as Record<string, number>)[row.status] = row.n;
    }
  }

  const reviewStatus = zeros(REVIEW_STATUSES);
  const reviewTrigger = zeros(TRIGGERS);
  let reviewTotal = 0;
  for (const row of reviews.rows) {
    reviewTotal += row.n;
    (reviewStatus as Record<string, number>)[row.status] = ((reviewStatus as Record<string, number>)[row.status] ?? 0) + row.n;
    (reviewTrigger as Record<string, number>)[row.trigger] = ((reviewTrigger as Record<string, number>)[row.trigger] ?? 0) + row.n;
  }

  const actionStatus = { ...zeros(ACTION_STATUSES), running: 0 };
  for (const row of actions.rows) (actionStatus as Record<string, number>)[row.status] = row.n;
  const applyOk = actionStatus.success + actionStatus.rolled_back;

  const accepted = ACCEPTED.reduce((n, s) => n + ((byStatus as Record<string, number>)[s] ?? 0), 0);
  return {
    suggestions: { total: sum(byStatus), by_status: byStatus },
    reviews: { total: reviewTotal, by_status: reviewStatus, by_trigger: reviewTrigger },
    actions: { total: sum(actionStatus), by_status: actionStatus },
    acceptance_rate: ratio(accepted, accepted + byStatus.rejected),
    apply_success_rate: ratio(applyOk, applyOk + actionStatus.failed),
    time_to_resolution: { applied: resolution.applied, median_seconds: resolution.median, p90_seconds: resolution.p90 },
    rollback_rate: ratio(resolution.rolled_back, resolution.applied),
    by_category: byCategory,
    by_severity: bySeverity,
    definitions: STAT_DEFINITIONS,
  };
}

async function resolutionQuery(db: Db, jobId: string | null) {
  // Both percentiles from one sort, over an index-only scan of healing_suggestions_resolution.
  const result = await db.raw<{ rows: { applied: number; rolled_back: number; p: (number | null)[] | null }[] }>(
    `select count(*)::int as applied,
            count(*) filter (where status = 'rolled_back')::int as rolled_back,
            percentile_cont(array[0.5, 0.9]) within group (order by date_part('epoch', applied_at - created_at)) as p
       from healing_suggestions
      where applied_at is not null ${jobId === null ? '' : 'and job_id = :jobId'}`,
    jobId === null ? {} : { jobId },
  );
  const row = result.rows[0]!;
  return { applied: row.applied, rolled_back: row.rolled_back, median: round(row.p?.[0], 1), p90: round(row.p?.[1], 1) };
}

export interface RunWindow {
  runs: number;
  finished: number;
  succeeded: number;
  success_rate: number | null;
  p95_duration_ms: number | null;
}

export interface JobStats {
  job_id: string;
  reviews: { total: number; by_status: Counts<(typeof REVIEW_STATUSES)[number]> };
  last_review: {
    id: number;
    status: string;
    trigger: string;
    started_at: Date;
    finished_at: Date | null;
    /** finished_at - started_at; null while it runs */
    duration_ms: number | null;
    /** the analyzer's part of it */
    analysis_duration_ms: number | null;
    runs_analyzed: number;
    suggestions_count: number;
    error_message: string | null;
    skip_reason: string | null;
  } | null;
  /** applied changes that can still be undone: status success, rollback window open */
  rollbackable_actions: number;
  suggestions: { total: number; pending: number; applied: number; by_status: Counts<(typeof SUGGESTION_STATUSES)[number]> };
  acceptance_rate: number | null;
  rollback_rate: number | null;
  time_to_resolution: { applied: number; median_seconds: number | null; p90_seconds: number | null };
  /** the job's runs before and after its last change still applied (applied_at) */
  improvement: {
    last_applied_at: Date | null;
    before: RunWindow;
    after: RunWindow | null;
    success_rate_change: number | null;
    p95_duration_change_ms: number | null;
  };
}

export async function jobStats(db: Db, jobId: string): Promise<JobStats> {
  const [reviews, lastReview, suggestions, resolution, lastApplied, rollbackable] = await Promise.all([
    db.raw<{ rows: { status: string; n: number }[] }>('select status, count(*)::int as n from healing_reviews where job_id = ? group by status', [jobId]),
    db('healing_reviews')
      .where({ job_id: jobId })
      .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .first('id', 'status', 'trigger', 'started_at', 'finished_at', 'analysis_duration_ms', 'runs_analyzed', 'suggestions_count', 'error_message', 'skip_reason'),
    db.raw<{ rows: { status: string; n: number }[] }>('select status, count(*)::int as n from healing_suggestions where job_id = ? group by status', [jobId]),
    resolutionQuery(db, jobId),
    db.raw<{ rows: { at: Date | null }[] }>("select max(applied_at) as at from healing_suggestions where job_id = ? and status = 'applied'", [jobId]),
    db.raw<{ rows: { n: number }[] }>("select count(*)::int as n from healing_actions where job_id = ? and status = 'success' and can_rollback", [jobId]),
  ]);
  const changedAt = lastApplied.rows[0]?.at ?? null;
  const windows = await db.raw<{ rows: { after: boolean; runs: number; finished: number; succeeded: number; p95: number | null }[] }>(
    `select coalesce(started_at >= :changedAt, false) as after,
            count(*)::int as runs,
            count(*) filter (where exit_code is not null)::int as finished,
            count(*) filter (where exit_code = 0)::int as succeeded,
            percentile_cont(0.95) within group (order by duration_ms) as p95
       from job_runs
      where job_id = :jobId
      group by 1`,
    { jobId, changedAt },
  );

  const reviewStatus = zeros(REVIEW_STATUSES);
  for (const row of reviews.rows) (reviewStatus as Record<string, number>)[row.status] = row.n;
  const byStatus = zeros(SUGGESTION_STATUSES);
  for (const row of suggestions.rows) (byStatus as Record<string, number>)[row.status] = row.n;
  const accepted = ACCEPTED.reduce((n, s) => n + ((byStatus as Record<string, number>)[s] ?? 0), 0);

  const window = (after: boolean): RunWindow => {
    const row = windows.rows.find((r) => r.after === after);
    if (!row) return { runs: 0, finished: 0, succeeded: 0, success_rate: null, p95_duration_ms: null };
    return { runs: row.runs, finished: row.finished, succeeded: row.succeeded, success_rate: ratio(row.succeeded, row.finished), p95_duration_ms: round(row.p95, 0) };
  };
  const before = window(false);
  const after = changedAt ? window(true) : null;
  const diff = (a: number | null | undefined, b: number | null | undefined, digits: number) =>
    a === null || a === undefined || b === null || b === undefined ? null : round(a - b, digits);

  return {
    job_id: jobId,
    reviews: { total: sum(reviewStatus), by_status: reviewStatus },
    last_review: lastReview ? lastReviewOf(lastReview as Omit<NonNullable<JobStats['last_review']>, 'duration_ms'>) : null,
    rollbackable_actions: rollbackable.rows[0]?.n ?? 0,
    suggestions: { total: sum(byStatus), pending: byStatus.pending, applied: byStatus.applied, by_status: byStatus },
    acceptance_rate: ratio(accepted, accepted + byStatus.rejected),
    rollback_rate: ratio(resolution.rolled_back, resolution.applied),
    time_to_resolution: { applied: resolution.applied, median_seconds: resolution.median, p90_seconds: resolution.p90 },
    improvement: {
      last_applied_at: changedAt,
      before,
      after,
      success_rate_change: diff(after?.success_rate, before.success_rate, 4),
      p95_duration_change_ms: diff(after?.p95_duration_ms, before.p95_duration_ms, 0),
    },
  };
}

function lastReviewOf(row: Omit<NonNullable<JobStats['last_review']>, 'duration_ms'>): NonNullable<JobStats['last_review']> {
  const { id, status, trigger, started_at, finished_at, analysis_duration_ms, runs_analyzed, suggestions_count, error_message, skip_reason } = row;
  const duration_ms = finished_at ? finished_at.getTime() - started_at.getTime() : null;
  return { id, status, trigger, started_at, finished_at, duration_ms, analysis_duration_ms, runs_analyzed, suggestions_count, error_message, skip_reason };
}

/** True when Postgres holds any healing data or runs for the job. */
export async function jobHasHistory(db: Db, jobId: string): Promise<boolean> {
  const result = await db.raw<{ rows: { found: boolean }[] }>(
    `select exists (select 1 from healing_reviews where job_id = :jobId)
         or exists (select 1 from healing_suggestions where job_id = :jobId)
         or exists (select 1 from job_runs where job_id = :jobId) as found`,
    { jobId },
  );
  return result.rows[0]?.found === true;
}

export interface MetricsSnapshot {
  reviews: { status: string; trigger: string; n: number }[];
  suggestions: { status: string; n: number }[];
  actions: { status: string; n: number }[];
  notifications: { status: string; n: number }[];
  analysis: Durations;
  apply: Durations;
}

export interface Durations {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Everything /metrics shows, in one round of cheap group-bys; durations over the last 24 hours. */
export async function metricsSnapshot(db: Db): Promise<MetricsSnapshot> {
  const durations = (table: string, column: string, since: string) =>
    db.raw<{ rows: { count: number; p: (number | null)[] | null }[] }>(
      `select count(*)::int as count,
              percentile_cont(array[0.5, 0.9, 0.99]) within group (order by ${column}) as p
         from ${table}
        where ${since} > now() - interval '24 hours' and ${column} is not null`,
    );
  const [reviews, suggestions, actions, notifications, analysis, apply] = await Promise.all([
    db.raw<{ rows: MetricsSnapshot['reviews'] }>(REVIEW_COUNTS),
    db.raw<{ rows: MetricsSnapshot['suggestions'] }>('select status, sum(n)::int as n from healing_suggestion_counts group by status having sum(n) <> 0'),
    db.raw<{ rows: MetricsSnapshot['actions'] }>(ACTION_COUNTS),
    db.raw<{ rows: MetricsSnapshot['notifications'] }>('select status, count(*)::int as n from healing_notifications group by status'),
    durations('healing_reviews', 'analysis_duration_ms', 'started_at'),
    durations('healing_actions', 'execution_duration_ms', 'created_at'),
  ]);
  const toDurations = (row: { count: number; p: (number | null)[] | null } | undefined): Durations => ({
    count: row?.count ?? 0,
    p50: row?.p?.[0] ?? null,
    p90: row?.p?.[1] ?? null,
    p99: row?.p?.[2] ?? null,
  });
  return {
    reviews: reviews.rows,
    suggestions: suggestions.rows,
    actions: actions.rows,
    notifications: notifications.rows,
    analysis: toDurations(analysis.rows[0]),
    apply: toDurations(apply.rows[0]),
  };
}

function zeros<K extends string>(keys: readonly K[]): Counts<K> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Counts<K>;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : round(part / whole, 4);
}

function round(value: number | null | undefined, digits: number): number | null {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
