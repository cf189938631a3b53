// Did healing help? A job's runs over its last days, as success rate and p95 duration, with a
// marker at every applied change and rollback and the regression watch's verdict on each; and the
// verdict totals per category and per analyzer for the stats tab. All figures come from Postgres
// aggregates (percentile_cont), bounded in rows, over the index on job_runs (job_id, started_at).
//
// The rules (README "Did healing help?"):
// - Runs counted are those the regression watch reads: finished, with an exit code. Success rate:
//   exit code 0 over them; p95 duration: of the successful ones (a run that fails fast would make
//   a slow job look quick), so the chart reads the same measures as the verdicts.
// - Days are calendar days in the job's review time zone (where its reviews are scheduled), the
//   last `days` of them including today; a zone Postgres does not know falls back to UTC.
// - Per day, unless the job is sparse: fewer than two runs a day on average from its first run in
//   the window to now. Then each run is its own point (at most 2 x days points either way).
// - Markers: every change applied in the window (action status success or rolled_back) with its
//   verdict, and every rollback in the window, oldest first, at most MAX_TREND_MARKERS.
import type { Db } from './knex.js';
import { CATEGORIES } from '../core/job.js';
import { VERDICTS, type Verdict } from '../core/regression.js';

export const MAX_TREND_MARKERS = 500;
/** Fewer runs a day than this on average: one point per run. */
export const SPARSE_RUNS_PER_DAY = 2;

export interface TrendPoint {
  /** the calendar day in the time zone (YYYY-MM-DD) */
  day: string;
  /** per day: the day's start; per run: the run's start */
  at: string;
  runs: number;
  succeeded: number;
  /** 0..1 */
  success_rate: number;
  /** of the successful runs; null when none succeeded (or none recorded a duration) */
  p95_duration_ms: number | null;
  /** per run only: which run it is */
  run?: { id: number; external_id: string; exit_code: number; duration_ms: number | null };
}

export type TrendMarker =
  | {
      kind: 'applied';
      at: string;
      action_id: number;
      suggestion_id: number;
      title: string;
      category: string;
      /** null: not watched, or the watch is still on (watch_status says which) */
      verdict: Verdict | null;
      watch_status: string | null;
      verdict_at: string | null;
      /** the watch's one-line summary of its figures */
      summary: string | null;
      auto_reverted: boolean;
    }
  | {
      kind: 'rollback';
      at: string;
      action_id: number;
      suggestion_id: number;
      title: string;
      category: string;
      rolled_back_by: string | null;
      auto_reverted: boolean;
    };

export interface JobTrend {
  job_id: string;
  days: number;
  time_zone: string;
  /** set when the job's zone was not usable and UTC was used */
  time_zone_note: string | null;
  granularity: 'day' | 'run';
  from: string;
  to: string;
  runs: number;
  succeeded: number;
  points: TrendPoint[];
  markers: TrendMarker[];
  markers_truncated: boolean;
}

interface DayRow {
  day: string;
  day_start: Date;
  runs: number;
  succeeded: number;
  p95: number | null;
}

export async function jobTrend(db: Db, jobId: string, options: { days: number; zone: string; now?: Date }): Promise<JobTrend> {
  const now = options.now ?? new Date();
  try {
    return await trendIn(db, jobId, options.days, options.zone, now, null);
  } catch (error) {
    // 22023: "time zone ... not recognized": Postgres's zone list lags the browser's or Node's.
    if ((error as { code?: string }).code !== '22023' || options.zone === 'UTC') throw error;
    return trendIn(db, jobId, options.days, 'UTC', now, `Postgres does not know the time zone "${options.zone}": days are UTC days`);
  }
}

async function trendIn(db: Db, jobId: string, days: number, zone: string, now: Date, note: string | null): Promise<JobTrend> {
  const window = await db.raw<{ rows: { from: Date; today: string }[] }>(
    `select (date_trunc('day', cast(? as timestamptz) at time zone ?) - make_interval(days => ?)) at time zone ? as "from",
            to_char(cast(? as timestamptz) at time zone ?, 'YYYY-MM-DD') as today`,
    [now, zone, days - 1, zone, now, zone],
  );
  const { from, today } = window.rows[0]!;
  const perDay = await db.raw<{ rows: DayRow[] }>(
    `select to_char(day, 'YYYY-MM-DD') as day,
            day at time zone ? as day_start,
            count(*)::int as runs,
            count(*) filter (where exit_code = 0)::int as succeeded,
            percentile_cont(0.95) within group (order by duration_ms) filter (where exit_code = 0) as p95
       from (select date_trunc('day', started_at at time zone ?) as day, exit_code, duration_ms
               from job_runs
              where job_id = ? and exit_code is not null and started_at >= ? and started_at <= ?) finished
      group by day
      order by day`,
    [zone, zone, jobId, from, now],
  );
  const dayRows = perDay.rows;
  const runs = dayRows.reduce((n, r) => n + r.runs, 0);
  const succeeded = dayRows.reduce((n, r) => n + r.succeeded, 0);
  const coveredDays = dayRows.length === 0 ? days : daysBetween(dayRows[0]!.day, today) + 1;
  const granularity = runs < SPARSE_RUNS_PER_DAY * coveredDays ? 'run' : 'day';

  let points: TrendPoint[];
  if (granularity === 'day') {
    points = dayRows.map((r) => ({
      day: r.day,
      at: new Date(r.day_start).toISOString(),
      runs: r.runs,
      succeeded: r.succeeded,
      success_rate: round(r.succeeded / r.runs, 4),
      p95_duration_ms: r.p95 === null ? null : Math.round(r.p95),
    }));
  } else {
    // Sparse: fewer than 2 x coveredDays runs (<= 2 x 365), so the rows are bounded.
    const rows = await db.raw<{ rows: { id: string; external_id: string; started_at: Date; exit_code: number; duration_ms: string | null; day: string }[] }>(
      `select id, external_id, started_at, exit_code, duration_ms, to_char(started_at at time zone ?, 'YYYY-MM-DD') as day
         from job_runs
        where job_id = ? and exit_code is not null and started_at >= ? and started_at <= ?
        order by started_at, id
        limit ?`,
      [zone, jobId, from, now, SPARSE_RUNS_PER_DAY * days],
    );
    points = rows.rows.map((r) => {
      const ok = r.exit_code === 0;
      const duration = r.duration_ms === null ? null : Number(r.duration_ms);
      return {
        day: r.day,
        at: new Date(r.started_at).toISOString(),
        runs: 1,
        succeeded: ok ? 1 : 0,
        success_rate: ok ? 1 : 0,
        p95_duration_ms: ok ? duration : null,
        run: { id: Number(r.id), external_id: r.external_id, exit_code: r.exit_code, duration_ms: duration },
      };
    });
  }

  const { markers, truncated } = await trendMarkers(db, jobId, from, now);
  return {
    job_id: jobId,
    days,
    time_zone: zone,
    time_zone_note: note,
    granularity,
    from: new Date(from).toISOString(),
    to: now.toISOString(),
    runs,
    succeeded,
    points,
    markers,
    markers_truncated: truncated,
  };
}

async function trendMarkers(db: Db, jobId: string, from: Date, now: Date): Promise<{ markers: TrendMarker[]; truncated: boolean }> {
  // When a change took effect is what the watch reads: the suggestion's applied_at, else the action's creation.
  const rows = await db.raw<{
    rows: {
      action_id: string;
      suggestion_id: string;
      title: string;
      category: string;
      applied_at: Date;
      watch_status: string | null;
      verdict: Verdict | null;
      verdict_at: Date | null;
      summary: string | null;
      rolled_back_at: Date | null;
      rolled_back_by: string | null;
      auto_reverted: boolean;
    }[];
  }>(
    `select a.id as action_id, a.suggestion_id, s.title, s.category,
            coalesce(s.applied_at, a.created_at) as applied_at,
            a.watch_status, a.verdict, a.verdict_at, a.verdict_details->>'summary' as summary,
            a.rolled_back_at, a.rolled_back_by, a.auto_reverted
       from healing_actions a
       join healing_suggestions s on s.id = a.suggestion_id
      where a.job_id = ? and a.status in ('success', 'rolled_back')
        and (coalesce(s.applied_at, a.created_at) between ? and ? or a.rolled_back_at between ? and ?)
      order by coalesce(s.applied_at, a.created_at), a.id
      limit ?`,
    [jobId, from, now, from, now, MAX_TREND_MARKERS + 1],
  );
  const markers: TrendMarker[] = [];
  const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());
  for (const r of rows.rows.slice(0, MAX_TREND_MARKERS)) {
    const common = { action_id: Number(r.action_id), suggestion_id: Number(r.suggestion_id), title: r.title, category: r.category, auto_reverted: r.auto_reverted };
    const appliedAt = new Date(r.applied_at);
    if (appliedAt >= from && appliedAt <= now) {
      markers.push({ kind: 'applied', at: appliedAt.toISOString(), ...common, verdict: r.verdict, watch_status: r.watch_status, verdict_at: iso(r.verdict_at), summary: r.summary });
    }
    if (r.rolled_back_at !== null && new Date(r.rolled_back_at) >= from && new Date(r.rolled_back_at) <= now) {
      markers.push({ kind: 'rollback', at: iso(r.rolled_back_at)!, ...common, rolled_back_by: r.rolled_back_by });
    }
  }
  markers.sort((a, b) => a.at.localeCompare(b.at) || a.action_id - b.action_id);
  return { markers, truncated: rows.rows.length > MAX_TREND_MARKERS };
}

export type VerdictCounts = Record<Verdict | 'watching', number>;

export interface VerdictTotals {
  total: VerdictCounts;
  by_category: Record<string, VerdictCounts>;
  by_analyzer: Record<string, VerdictCounts>;
  definition: string;
}

export const VERDICT_TOTALS_DEFINITION =
  'applied changes by the regression watch\'s verdict (watching: not judged yet); a change not watched, or whose watch a rollback ended first, is in none. ' +
  'Analyzer: the one of the review that proposed the change (unknown for reviews that did not record it)';

/** The watch's verdicts over every applied change, per category and per analyzer, in one grouped query. */
export async function verdictTotals(db: Db): Promise<VerdictTotals> {
  const result = await db.raw<{ rows: { category: string | null; analyzer: string | null; outcome: string; n: number }[] }>(
    `select category, analyzer, outcome, count(*)::int as n
       from (select s.category, coalesce(r.analyzer, 'unknown') as analyzer,
                    case when a.watch_status = 'watching' then 'watching' else a.verdict end as outcome
               from healing_actions a
               join healing_suggestions s on s.id = a.suggestion_id
               join healing_reviews r on r.id = s.review_id
              where a.watch_status = 'watching' or (a.watch_status = 'done' and a.verdict is not null)) judged
      group by grouping sets ((outcome), (category, outcome), (analyzer, outcome))`,
  );
  const zeros = (): VerdictCounts => ({ ...(Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>), watching: 0 });
  const total = zeros();
  const byCategory: Record<string, VerdictCounts> = Object.fromEntries(CATEGORIES.map((c) => [c, zeros()]));
  const byAnalyzer: Record<string, VerdictCounts> = { rules: zeros(), openclaw: zeros() };
  for (const row of result.rows) {
    if (!(row.outcome in total)) continue;
    const key = row.outcome as keyof VerdictCounts;
    if (row.category !== null) (byCategory[row.category] ??= zeros())[key] = row.n;
    else if (row.analyzer !== null) (byAnalyzer[row.analyzer] ??= zeros())[key] = row.n;
    else total[key] = row.n;
  }
  return { total, by_category: byCategory, by_analyzer: byAnalyzer, definition: VERDICT_TOTALS_DEFINITION };
}

function daysBetween(fromDay: string, toDay: string): number {
  return Math.max(0, Math.round((Date.parse(`${toDay}T00:00:00Z`) - Date.parse(`${fromDay}T00:00:00Z`)) / 86_400_000));
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
