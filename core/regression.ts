// The regression watch's rule: is a job worse, better or the same after an applied change, judged
// from its runs after the apply against the runs before it (the baseline). Pure: the watch's
// activity (activities/watch.ts) reads the runs and stores what this answers.
//
// The rule, as the README states it:
// - Only finished runs with an exit code count. The baseline is the last BASELINE_RUNS runs that
//   started before the apply; "after" is the first `runs` runs that started after it.
// - A verdict is given once `runs` runs have come after the apply, or when the watch's time is up.
//   Fewer than `min_runs` (capped at `runs`) on either side is not enough: while the watch goes on
//   that is "not enough runs yet", at its end `inconclusive`.
// - Worse, each beyond its margin (strictly): the success rate down by more than
//   `success_rate_drop` points; the p95 duration of successful runs up by more than
//   `p95_increase_pct` percent and by at least MIN_DURATION_CHANGE_MS; the SLA breach rate up by
//   more than `sla_breach_increase` points; an error never seen in the baseline in at least
//   `new_error_min_runs` runs. Better is the mirror of the first three (the p95 better when the
//   baseline's is beyond the margin above the new one). A measure with fewer than `min_runs` runs
//   to read on a side is not judged.
// - Any measure worse: `regressed`; else any better: `improved`; else `no_change`.
import type { WatchSettings } from './job.js';

/** Runs before the apply the baseline reads at most. */
export const BASELINE_RUNS = 20;
/** A p95 change smaller than this is noise whatever its ratio (a 0.2 s job taking 0.4 s). */
export const MIN_DURATION_CHANGE_MS = 1_000;
/** Characters of an error's first line kept as its signature. */
const SIGNATURE_CHARS = 120;

export const VERDICTS = ['improved', 'no_change', 'regressed', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The rule's settings, as the watch started with them (the job's `self_healing.watch`). */
export type WatchRule = Pick<WatchSettings, 'runs' | 'min_runs' | 'success_rate_drop' | 'p95_increase_pct' | 'sla_breach_increase' | 'new_error_min_runs'>;

/** One finished run, as the rule reads it. */
export interface WatchedRun {
  external_id: string;
  exit_code: number;
  duration_ms: number | null;
  error: string | null;
  sla_status: string | null;
}

export type MeasureName = 'success_rate' | 'p95_duration_ms' | 'sla_breach_rate' | 'new_errors';
export type Change = 'worse' | 'better' | 'same' | 'not_judged';

export interface Measure {
  measure: MeasureName;
  before: number | null;
  after: number | null;
  change: Change;
  /** the figures and the margin in words: "success rate 100% -> 33% (down 67 points; the margin is 20)" */
  text: string;
}

export interface Judgement {
  /** null: not enough runs yet, the watch goes on */
  verdict: Verdict | null;
  runs_before: number;
  runs_after: number;
  /** the runs after the apply that were read (external ids) */
  after_runs: string[];
  measures: Measure[];
  summary: string;
  rule: WatchRule & { baseline_runs: number; min_duration_change_ms: number };
}

/** A failed run's error, normalised so the same failure with other numbers, ids or paths matches. */
export function errorSignature(run: Pick<WatchedRun, 'exit_code' | 'error'>): string | null {
  if (run.exit_code === 0) return null;
  const line = (run.error ?? '').split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  if (!line) return `exit code ${run.exit_code}`;
  return line
    .toLowerCase()
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/0x[0-9a-f]+/g, '<hex>')
    .replace(/(?:\/[\w.@-]+)+/g, '<path>')
    .replace(/\d+(?:\.\d+)?/g, '#')
    .replace(/\s+/g, ' ')
    .slice(0, SIGNATURE_CHARS);
}

/** Nearest-rank percentile: of 5 durations the p95 is the longest. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const pct = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10);
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * Judges the runs after an apply against the baseline. `final`: the watch's time is up, so too few
 * runs is `inconclusive` rather than "not enough runs yet".
 */
export function judgeRuns(before: WatchedRun[], after: WatchedRun[], rule: WatchRule, final: boolean): Judgement {
  const minRuns = Math.min(rule.min_runs, rule.runs);
  const base = before.slice(0, BASELINE_RUNS);
  const watched = after.slice(0, rule.runs);
  const shown: Judgement['rule'] = { ...pickRule(rule), baseline_runs: BASELINE_RUNS, min_duration_change_ms: MIN_DURATION_CHANGE_MS };
  const common = { runs_before: base.length, runs_after: watched.length, after_runs: watched.map((r) => r.external_id), rule: shown };

  if (watched.length < rule.runs && !final) {
    return { ...common, verdict: null, measures: [], summary: `not enough runs yet: ${watched.length} of ${rule.runs} since the apply` };
  }
  if (watched.length < minRuns || base.length < minRuns) {
    const summary = `not enough runs to judge: ${watched.length} after the apply and ${base.length} before it (at least ${minRuns} each)`;
    return { ...common, verdict: final ? 'inconclusive' : null, measures: [], summary };
  }

  const measures = [successRate(base, watched, rule), p95Duration(base, watched, rule, minRuns), slaBreachRate(base, watched, rule, minRuns), newErrors(base, watched, rule)];
  const worse = measures.filter((m) => m.change === 'worse');
  const better = measures.filter((m) => m.change === 'better');
  const verdict: Verdict = worse.length > 0 ? 'regressed' : better.length > 0 ? 'improved' : 'no_change';
  const reasons = (worse.length > 0 ? worse : better.length > 0 ? better : measures.filter((m) => m.change === 'same')).map((m) => m.text);
  const summary = `${watched.length} runs after the apply against ${base.length} before: ${reasons.join('; ') || 'nothing could be compared'}`;
  return { ...common, verdict, measures, summary };
}

function pickRule(rule: WatchRule): WatchRule {
  const { runs, min_runs, success_rate_drop, p95_increase_pct, sla_breach_increase, new_error_min_runs } = rule;
  return { runs, min_runs, success_rate_drop, p95_increase_pct, sla_breach_increase, new_error_min_runs };
}

function successRate(before: WatchedRun[], after: WatchedRun[], rule: WatchRule): Measure {
  const b = pct(before.filter((r) => r.exit_code === 0).length, before.length);
  const a = pct(after.filter((r) => r.exit_code === 0).length, after.length);
  const diff = Math.round((a - b) * 10) / 10;
  const change: Change = -diff > rule.success_rate_drop ? 'worse' : diff > rule.success_rate_drop ? 'better' : 'same';
  const moved = diff === 0 ? 'unchanged' : `${diff < 0 ? 'down' : 'up'} ${Math.abs(diff)} points`;
  return { measure: 'success_rate', before: b, after: a, change, text: `success rate ${b}% -> ${a}% (${moved}; the margin is ${rule.success_rate_drop})` };
}

function p95Duration(before: WatchedRun[], after: WatchedRun[], rule: WatchRule, minRuns: number): Measure {
  const durations = (runs: WatchedRun[]) => runs.filter((r) => r.exit_code === 0 && r.duration_ms !== null).map((r) => r.duration_ms!);
  const bs = durations(before);
  const as = durations(after);
  const b = percentile(bs, 95);
  const a = percentile(as, 95);
  if (b === null || a === null || bs.length < minRuns || as.length < minRuns) {
    return { measure: 'p95_duration_ms', before: b, after: a, change: 'not_judged', text: `p95 duration not judged: ${bs.length} successful runs before and ${as.length} after (at least ${minRuns} each)` };
  }
  const factor = 1 + rule.p95_increase_pct / 100;
  const change: Change =
    a > b * factor && a - b >= MIN_DURATION_CHANGE_MS ? 'worse' : b > a * factor && b - a >= MIN_DURATION_CHANGE_MS ? 'better' : 'same';
  return { measure: 'p95_duration_ms', before: b, after: a, change, text: `p95 duration ${seconds(b)} -> ${seconds(a)} (the margin is ${rule.p95_increase_pct}%)` };
}

function slaBreachRate(before: WatchedRun[], after: WatchedRun[], rule: WatchRule, minRuns: number): Measure {
  const known = (runs: WatchedRun[]) => runs.filter((r) => r.sla_status === 'pass' || r.sla_status === 'fail');
  const kb = known(before);
  const ka = known(after);
  if (kb.length < minRuns || ka.length < minRuns) {
    return { measure: 'sla_breach_rate', before: null, after: null, change: 'not_judged', text: `SLA breach rate not judged: ${kb.length} runs with an SLA verdict before and ${ka.length} after` };
  }
  const b = pct(kb.filter((r) => r.sla_status === 'fail').length, kb.length);
  const a = pct(ka.filter((r) => r.sla_status === 'fail').length, ka.length);
  const diff = Math.round((a - b) * 10) / 10;
  const change: Change = diff > rule.sla_breach_increase ? 'worse' : -diff > rule.sla_breach_increase ? 'better' : 'same';
  return { measure: 'sla_breach_rate', before: b, after: a, change, text: `SLA breach rate ${b}% -> ${a}% (the margin is ${rule.sla_breach_increase})` };
}

function newErrors(before: WatchedRun[], after: WatchedRun[], rule: WatchRule): Measure {
  const known = new Set(before.map(errorSignature).filter((s): s is string => s !== null));
  const fresh = new Map<string, number>();
  for (const run of after) {
    const signature = errorSignature(run);
    if (signature !== null && !known.has(signature)) fresh.set(signature, (fresh.get(signature) ?? 0) + 1);
  }
  const recurring = [...fresh].filter(([, n]) => n >= rule.new_error_min_runs);
  const total = [...fresh.values()].reduce((sum, n) => sum + n, 0);
  if (recurring.length > 0) {
    const [signature, n] = recurring[0]!;
    return { measure: 'new_errors', before: 0, after: total, change: 'worse', text: `a new error in ${n} runs: "${signature}"${recurring.length > 1 ? ` and ${recurring.length - 1} more` : ''}` };
  }
  const text = fresh.size === 0 ? 'no new error' : `new errors in ${total} run${total === 1 ? '' : 's'}, each fewer than ${rule.new_error_min_runs}`;
  return { measure: 'new_errors', before: 0, after: total, change: 'same', text };
}
