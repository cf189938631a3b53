// The regression watch's rule (core/regression.ts) at its edges: how many runs it needs, where each
// margin lies, and what counts as a new error.
import { describe, expect, it } from 'vitest';
import { JobSchema } from '../../core/job.js';
import { BASELINE_RUNS, errorSignature, judgeRuns, MIN_DURATION_CHANGE_MS, percentile, type WatchedRun, type WatchRule } from '../../core/regression.js';

const RULE: WatchRule = { runs: 5, min_runs: 3, success_rate_drop: 20, p95_increase_pct: 50, sla_breach_increase: 20, new_error_min_runs: 2 };
let n = 0;
const ok = (duration_ms = 60_000, sla_status: string | null = null): WatchedRun => ({ external_id: `r${++n}`, exit_code: 0, duration_ms, error: null, sla_status });
const failed = (error: string | null = 'upload failed: connection reset', exit_code = 1): WatchedRun => ({ external_id: `r${++n}`, exit_code, duration_ms: 5_000, error, sla_status: null });
const times = (count: number, make: () => WatchedRun) => Array.from({ length: count }, make);
const measure = (j: ReturnType<typeof judgeRuns>, name: string) => j.measures.find((m) => m.measure === name)!;

describe('how many runs the rule needs', () => {
  it('when fewer runs than the watch counts have come after the apply, it says "not enough runs yet" and gives no verdict', () => {
    const judged = judgeRuns(times(10, () => ok()), times(4, () => failed()), RULE, false);
    expect(judged.verdict).toBeNull();
    expect(judged.summary).toBe('not enough runs yet: 4 of 5 since the apply');
  });

  it('when the watch ends with fewer than min_runs runs after the apply, it is inconclusive however bad they look', () => {
    const judged = judgeRuns(times(10, () => ok()), times(2, () => failed()), RULE, true);
    expect(judged.verdict).toBe('inconclusive');
    expect(judged.summary).toMatch(/not enough runs to judge: 2 after the apply and 10 before it \(at least 3 each\)/);
  });

  it('when the watch ends with exactly min_runs runs after the apply, it judges them', () => {
    expect(judgeRuns(times(10, () => ok()), times(3, () => failed()), RULE, true).verdict).toBe('regressed');
  });

  it('when the job had fewer than min_runs runs before the apply, there is no baseline: inconclusive at the end', () => {
    const judged = judgeRuns(times(2, () => ok()), times(5, () => failed()), RULE, false);
    expect(judged.verdict).toBeNull();
    expect(judgeRuns(times(2, () => ok()), times(5, () => failed()), RULE, true).verdict).toBe('inconclusive');
  });

  it('when min_runs is larger than runs, runs is the minimum (the watch could otherwise never decide)', () => {
    const judged = judgeRuns(times(10, () => ok()), times(2, () => failed()), { ...RULE, runs: 2, min_runs: 5 }, false);
    expect(judged.verdict).toBe('regressed');
  });

  it('reads at most BASELINE_RUNS runs before and `runs` runs after, and names the runs it read after', () => {
    const judged = judgeRuns(times(BASELINE_RUNS + 5, () => ok()), times(8, () => ok()), RULE, false);
    expect(judged.runs_before).toBe(BASELINE_RUNS);
    expect(judged.runs_after).toBe(5);
    expect(judged.after_runs).toHaveLength(5);
  });
});

describe('the success rate margin', () => {
  const baseline = times(10, () => ok());
  it('when one of five runs fails after ten clean ones (down 20 points: the margin itself), it is no change', () => {
    const judged = judgeRuns(baseline, [...times(4, () => ok()), failed()], RULE, false);
    expect(judged.verdict).toBe('no_change');
    expect(measure(judged, 'success_rate')).toMatchObject({ before: 100, after: 80, change: 'same' });
  });

  it('when two of five runs fail (down 40 points, beyond the margin), it regressed, and the figures say so', () => {
    const judged = judgeRuns(baseline, [...times(3, () => ok()), failed('a'), failed('b')], RULE, false);
    expect(judged.verdict).toBe('regressed');
    expect(measure(judged, 'success_rate')).toMatchObject({ before: 100, after: 60, change: 'worse' });
    expect(judged.summary).toMatch(/success rate 100% -> 60% \(down 40 points; the margin is 20\)/);
  });

  it('when a job that failed half its runs succeeds every time after, it improved', () => {
    const judged = judgeRuns([...times(5, () => ok()), ...times(5, () => failed())], times(5, () => ok()), RULE, false);
    expect(judged.verdict).toBe('improved');
    expect(measure(judged, 'success_rate').change).toBe('better');
  });
});

describe('the p95 duration margin', () => {
  const baseline = times(10, () => ok(60_000));
  it('when successful runs take 50% longer (the margin itself), it is no change; beyond it, regressed', () => {
    expect(judgeRuns(baseline, times(5, () => ok(90_000)), RULE, false).verdict).toBe('no_change');
    expect(judgeRuns(baseline, times(5, () => ok(90_001)), RULE, false).verdict).toBe('regressed');
  });

  it('when a short job doubles by less than MIN_DURATION_CHANGE_MS, it is noise: no change', () => {
    const judged = judgeRuns(times(10, () => ok(200)), times(5, () => ok(200 + MIN_DURATION_CHANGE_MS - 1)), RULE, false);
    expect(judged.verdict).toBe('no_change');
  });

  it('when runs are beyond the margin faster, it improved', () => {
    expect(judgeRuns(baseline, times(5, () => ok(30_000)), RULE, false).verdict).toBe('improved');
  });

  it('when fewer than min_runs runs succeeded on a side, the duration is not judged (failed runs end early and would look fast)', () => {
    const judged = judgeRuns(baseline, [ok(30_000), ok(30_000), failed('x', 1), failed('y', 2), failed('z', 3)], { ...RULE, success_rate_drop: 100 }, false);
    expect(measure(judged, 'p95_duration_ms').change).toBe('not_judged');
  });

  it('p95 is the nearest rank: of five durations the longest', () => {
    expect(percentile([1, 2, 3, 4, 5], 95)).toBe(5);
    expect(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 95)).toBe(19);
    expect(percentile([], 95)).toBeNull();
  });
});

describe('the SLA breach rate margin', () => {
  it('when the breach rate rises by more than the margin, it regressed; by the margin, no change', () => {
    const baseline = times(10, () => ok(60_000, 'pass'));
    const someBreaches = (k: number) => [...times(k, () => ok(60_000, 'fail')), ...times(5 - k, () => ok(60_000, 'pass'))];
    expect(measure(judgeRuns(baseline, someBreaches(1), RULE, false), 'sla_breach_rate')).toMatchObject({ before: 0, after: 20, change: 'same' });
    expect(judgeRuns(baseline, someBreaches(2), RULE, false).verdict).toBe('regressed');
  });

  it('when runs carry no SLA verdict, the breach rate is not judged', () => {
    expect(measure(judgeRuns(times(10, () => ok()), times(5, () => ok()), RULE, false), 'sla_breach_rate').change).toBe('not_judged');
  });
});

describe('a new error', () => {
  it('when an error never seen before comes back in new_error_min_runs runs, it regressed, even with the success rate within its margin', () => {
    const baseline = [...times(8, () => ok()), failed('timeout after 30 s'), failed('timeout after 31 s')];
    const after = [...times(3, () => ok()), failed('KeyError: customer_id at row 17'), failed('KeyError: customer_id at row 912')];
    const judged = judgeRuns(baseline, after, { ...RULE, success_rate_drop: 50 }, false);
    expect(judged.verdict).toBe('regressed');
    expect(measure(judged, 'new_errors').text).toMatch(/a new error in 2 runs: "keyerror: customer_id at row #"/);
  });

  it('when the new error shows once only, it is not enough', () => {
    const after = [...times(4, () => ok()), failed('KeyError: customer_id')];
    expect(measure(judgeRuns(times(10, () => ok()), after, RULE, false), 'new_errors').change).toBe('same');
  });

  it('when the errors after are the ones the job already had (other numbers, ids and paths), none is new', () => {
    const baseline = [...times(5, () => ok()), ...times(5, () => failed('upload of /data/2024/file-17.csv failed after 3 tries'))];
    const after = [...times(3, () => ok()), ...times(2, () => failed('upload of /data/2025/other.csv failed after 12 tries'))];
    expect(measure(judgeRuns(baseline, after, RULE, false), 'new_errors').change).toBe('same');
  });

  it('a failure without an error text is its exit code; a success has no signature', () => {
    expect(errorSignature({ exit_code: 137, error: null })).toBe('exit code 137');
    expect(errorSignature({ exit_code: 0, error: 'warning' })).toBeNull();
    expect(errorSignature({ exit_code: 1, error: '\n  Error 0xdeadbeef in run 3f2b1c9e-1111-2222-3333-444455556666\nmore' })).toBe('error <hex> in run <id>');
  });
});

describe('the job setting', () => {
  it('defaults: 5 runs, 14 days, at least 3 runs a side, auto_revert unset (on for auto-applied changes only)', () => {
    const { watch } = JobSchema.parse({ name: 'J', cmd: './j.sh' }).self_healing;
    expect(watch).toMatchObject({ enabled: true, runs: 5, max_days: 14, min_runs: 3, success_rate_drop: 20, p95_increase_pct: 50, sla_breach_increase: 20, new_error_min_runs: 2 });
    expect(watch.auto_revert).toBeUndefined();
  });

  it('a fraction of a day is a valid max_days; zero runs or a negative margin is refused with the field', () => {
    expect(JobSchema.parse({ name: 'J', cmd: './j.sh', self_healing: { watch: { max_days: 0.5 } } }).self_healing.watch.max_days).toBe(0.5);
    const bad = JobSchema.safeParse({ name: 'J', cmd: './j.sh', self_healing: { watch: { runs: 0, success_rate_drop: -1 } } });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['self_healing.watch.runs', 'self_healing.watch.success_rate_drop']);
  });
});
