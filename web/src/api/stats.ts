// /healing/stats and /healing/stats/{jobId}. Read tolerantly: the figures are normalised here
// so the components see one shape, and a 404 (an API without stats) answers null.
import { http, optional } from './http';

export interface GlobalStats {
  byStatus: Record<string, number>;
  totalSuggestions: number | null;
  totalReviews: number | null;
  totalActions: number | null;
  jobsWithHealing: number | null;
  /** 0..1 */
  acceptanceRate: number | null;
  applySuccessRate: number | null;
  rollbackRate: number | null;
  ttrMedianMs: number | null;
  ttrP90Ms: number | null;
  byCategory: Record<string, number>;
  bySeverity: Record<string, number>;
  reviewsByTrigger: Record<string, number>;
  /** how many applied suggestions the time to resolution is computed over */
  resolvedCount: number | null;
  /** the regression watch's verdicts on applied changes; null from an API without them */
  verdicts: VerdictTotals | null;
}

export const VERDICT_KEYS = ['improved', 'no_change', 'regressed', 'inconclusive', 'watching'] as const;
export type VerdictCounts = Record<(typeof VERDICT_KEYS)[number], number>;

export interface VerdictTotals {
  total: VerdictCounts;
  byCategory: Record<string, VerdictCounts>;
  byAnalyzer: Record<string, VerdictCounts>;
}

export interface RunFigures {
  successRate: number | null;
  p95DurationMs: number | null;
  runs: number | null;
}

export interface JobStats {
  totalReviews: number | null;
  lastReviewAt: string | null;
  nextReviewAt: string | null;
  pending: number | null;
  applied: number | null;
  /** applied changes that can still be rolled back */
  rollbackable: number | null;
  before: RunFigures | null;
  after: RunFigures | null;
}

export const statsApi = {
  global: async (): Promise<GlobalStats | null> => {
    const raw = await optional(http.get<unknown>('/healing/stats'));
    return raw === null ? null : normaliseGlobal(raw);
  },
  job: async (jobId: string): Promise<JobStats | null> => {
    const raw = await optional(http.get<unknown>(`/healing/stats/${encodeURIComponent(jobId)}`));
    return raw === null ? null : normaliseJob(raw);
  },
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first of the dotted paths that holds a value. */
function pick(source: unknown, ...paths: string[]): unknown {
  for (const path of paths) {
    let value: unknown = source;
    for (const key of path.split('.')) value = isObj(value) ? value[key] : undefined;
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (isObj(value)) return num(value.value ?? value.rate ?? value.total ?? value.count);
  return null;
}

/** A rate as 0..1, whether it came as a fraction or a percent. */
function rate(value: unknown): number | null {
  const n = num(value);
  if (n === null) return null;
  return n > 1 ? n / 100 : n;
}

/** `{ a: 1 }`, `[{ key: 'a', count: 1 }]` or `[{ category: 'a', total: 1 }]` -> `{ a: 1 }`. */
function counts(value: unknown, keyName: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      if (!isObj(item)) continue;
      const key = item[keyName] ?? item.key ?? item.name ?? item.status;
      const count = num(item.count ?? item.total ?? item.value ?? item.n);
      if (typeof key === 'string' && count !== null) out[key] = count;
    }
  } else if (isObj(value)) {
    for (const [key, v] of Object.entries(value)) {
      const count = isObj(v) ? num(v.total ?? v.count) : num(v);
      if (count !== null) out[key] = count;
    }
  }
  return out;
}

/** A duration in ms from `{ median_ms }`, `{ median_seconds }`, `{ median_hours }` style fields. */
function duration(source: unknown, stat: 'median' | 'p90'): number | null {
  if (!isObj(source)) return null;
  const factors: [string, number][] = [
    ['_ms', 1],
    ['_seconds', 1000],
    ['_s', 1000],
    ['_minutes', 60_000],
    ['_hours', 3_600_000],
    ['', 1],
  ];
  for (const [suffix, factor] of factors) {
    const n = num(source[`${stat}${suffix}`]);
    if (n !== null) return n * factor;
  }
  return null;
}

export function normaliseGlobal(raw: unknown): GlobalStats {
  const byStatus = counts(pick(raw, 'suggestions.by_status', 'suggestions_by_status', 'by_status', 'suggestions'), 'status');
  const ttr = pick(raw, 'metrics.time_to_resolution', 'time_to_resolution', 'metrics.time_to_resolution_ms', 'time_to_resolution_ms');
  const totalFromStatus = Object.values(byStatus).reduce((a, b) => a + b, 0);
  return {
    byStatus,
    totalSuggestions: num(pick(raw, 'suggestions.total', 'total_suggestions')) ?? (Object.keys(byStatus).length ? totalFromStatus : null),
    totalReviews: num(pick(raw, 'reviews.total', 'total_reviews', 'reviews')),
    totalActions: num(pick(raw, 'actions.total', 'total_actions', 'actions')),
    jobsWithHealing: num(pick(raw, 'jobs_with_healing', 'jobs.with_healing', 'jobs.enabled', 'jobs')),
    acceptanceRate: rate(pick(raw, 'metrics.acceptance_rate', 'acceptance_rate', 'metrics.suggestion_acceptance_rate')),
    applySuccessRate: rate(pick(raw, 'metrics.apply_success_rate', 'apply_success_rate')),
    rollbackRate: rate(pick(raw, 'metrics.rollback_rate', 'rollback_rate')),
    ttrMedianMs: duration(ttr, 'median') ?? num(pick(raw, 'metrics.time_to_resolution_median_ms', 'time_to_resolution_median_ms')),
    ttrP90Ms: duration(ttr, 'p90') ?? num(pick(raw, 'metrics.time_to_resolution_p90_ms', 'time_to_resolution_p90_ms')),
    byCategory: counts(pick(raw, 'by_category', 'breakdown.category', 'breakdown.by_category', 'suggestions.by_category', 'categories'), 'category'),
    bySeverity: counts(pick(raw, 'by_severity', 'breakdown.severity', 'breakdown.by_severity', 'suggestions.by_severity', 'severities'), 'severity'),
    reviewsByTrigger: counts(pick(raw, 'reviews.by_trigger', 'reviews_by_trigger'), 'trigger'),
    resolvedCount: isObj(ttr) ? num(ttr.applied ?? ttr.count) : null,
    verdicts: verdictTotals(pick(raw, 'verdicts')),
  };
}

function verdictCounts(value: unknown): VerdictCounts {
  const source = isObj(value) ? value : {};
  return Object.fromEntries(VERDICT_KEYS.map((k) => [k, num(source[k]) ?? 0])) as VerdictCounts;
}

function verdictTotals(raw: unknown): VerdictTotals | null {
  if (!isObj(raw)) return null;
  const group = (value: unknown) => Object.fromEntries(Object.entries(isObj(value) ? value : {}).map(([k, v]) => [k, verdictCounts(v)]));
  return { total: verdictCounts(raw.total), byCategory: group(raw.by_category), byAnalyzer: group(raw.by_analyzer) };
}

function runFigures(raw: unknown): RunFigures | null {
  if (!isObj(raw)) return null;
  const p95 = num(raw.p95_duration_ms ?? raw.duration_p95_ms) ?? (num(raw.p95_duration_seconds ?? raw.p95_duration_s) ?? NaN) * 1000;
  return {
    successRate: rate(raw.success_rate),
    p95DurationMs: Number.isFinite(p95) ? p95 : null,
    runs: num(raw.runs ?? raw.run_count ?? raw.total),
  };
}

function isoOrNull(value: unknown): string | null {
  if (typeof value === 'string' && value) return value;
  if (isObj(value)) return isoOrNull(value.started_at ?? value.at ?? value.finished_at ?? value.created_at);
  return null;
}

export function normaliseJob(raw: unknown): JobStats {
  return {
    totalReviews: num(pick(raw, 'total_reviews', 'reviews.total', 'reviews')),
    lastReviewAt: isoOrNull(pick(raw, 'last_review', 'last_review_at', 'reviews.last')),
    nextReviewAt: isoOrNull(pick(raw, 'next_review', 'next_review_at', 'next_scheduled_review', 'schedule.next_action_time', 'schedule.next')),
    pending: num(pick(raw, 'pending', 'pending_count', 'suggestions.pending', 'suggestions.by_status.pending')),
    applied: num(pick(raw, 'applied', 'applied_count', 'suggestions.applied', 'suggestions.by_status.applied')),
    rollbackable: num(pick(raw, 'rollbackable_actions')),
    before: runFigures(pick(raw, 'improvement.before', 'improvement.before_last_change', 'before')),
    after: runFigures(pick(raw, 'improvement.after', 'improvement.after_last_change', 'after')),
  };
}
