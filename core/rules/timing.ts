// Rules about time: durations near the SLA limit, runs that outlast the schedule interval,
// recorded SLA violations no other rule explained, and runs getting slower.
import { countBand, magnitudeBand, percentBand } from '../fingerprint.js';
import type { SuggestionDraft } from '../review.js';
import { draft } from './draft.js';
import { cite, formatDuration, quote, runList } from './evidence.js';
import type { Facts } from './facts.js';
import { SUCCESS_BELOW_SLA_TITLE } from './failures.js';
import { byStart, durationOf, isFailed, normaliseLogLine, percentile } from './runs.js';

/** Looked for in `fired` by the SLA violations rule. */
const SLA_DURATION_TITLE = 'Run duration near or over the SLA limit';

// ---------------------------------------------------------------------------------------------
// durations close to the SLA limit

export function ruleSlaDuration(f: Facts): SuggestionDraft | null {
  const sla = f.ctx.job.sla;
  if (!sla?.max_duration || sla.enabled === false) return null;
  const timed = f.finished.filter((r) => durationOf(r) !== null);
  if (timed.length < 3) return null;
  const limitMs = sla.max_duration * 1000;
  const durations = timed.map((r) => durationOf(r) as number);
  const p95 = percentile(durations, 95) as number;
  if (p95 <= 0.8 * limitMs) return null;
  const p50 = percentile(durations, 50) as number;
  const over = timed.filter((r) => (durationOf(r) as number) > limitMs).sort((a, b) => (durationOf(b) as number) - (durationOf(a) as number));
  const slowest = [...timed].sort((a, b) => (durationOf(b) as number) - (durationOf(a) as number)).slice(0, 3);
  const breaching = p95 > limitMs;
  return draft({
    category: 'performance',
    severity: breaching ? 'high' : 'medium',
    title: SLA_DURATION_TITLE,
    evidence: cite(f, {
      runs: over.length ? over : slowest,
      files: [{ file: f.config, key: /^\s*sla:/ }],
      sla: { max_duration_s: sla.max_duration, p50_ms: p50, p95_ms: p95, runs: timed.length, over_limit: over.length },
    }),
    description:
      `The 95th-percentile run takes ${formatDuration(p95)}, ${Math.round((p95 / limitMs) * 100)}% of the SLA limit of ${formatDuration(limitMs)} ` +
      `(median ${formatDuration(p50)}, ${timed.length} runs). ${over.length} run(s) went over the limit` +
      `${over.length ? ` (${runList(over)})` : ''}. Slowest: ${slowest.map((r) => `#${r.id} ${formatDuration(durationOf(r) as number)}`).join(', ')}.`,
    current_state: `sla.max_duration: ${sla.max_duration} s; p50 ${formatDuration(p50)}, p95 ${formatDuration(p95)}`,
    suggested_change:
      'Find the slow step in the slowest runs and speed it up (batch, cache, parallelise or split the job). ' +
      'Raise sla.max_duration only if the longer duration is acceptable to whoever relies on this job.',
    expected_impact: breaching ? 'Fewer SLA breaches and the alerts that come with them.' : 'Headroom before the job starts breaching its SLA as data grows.',
    affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
    figures: { p95_of_limit: percentBand((p95 / limitMs) * 100), over_limit: countBand(over.length), limit_s: sla.max_duration },
  });
}

// ---------------------------------------------------------------------------------------------
// runs longer than the schedule interval

export function ruleOverlap(f: Facts): SuggestionDraft | null {
  const interval = f.ctx.schedule_interval_s;
  if (!interval || interval <= 0 || f.ctx.job.type === 'continuous') return null;
  const limitMs = interval * 1000;
  const timed = f.finished.filter((r) => durationOf(r) !== null);
  const long = timed.filter((r) => (durationOf(r) as number) > limitMs);
  if (long.length === 0) return null;
  const longest = Math.max(...long.map((r) => durationOf(r) as number));
  return draft({
    category: 'reliability',
    severity: long.length >= 2 || long.length * 5 >= timed.length ? 'high' : 'medium',
    title: 'Runs outlast the schedule interval',
    evidence: cite(f, { runs: long, files: [{ file: f.config, key: /^\s*schedule:/ }] }),
    description:
      `${long.length} of ${timed.length} runs took longer than the ${formatDuration(limitMs)} between scheduled starts ` +
      `(schedule ${JSON.stringify(f.ctx.job.schedule ?? '')}): ${runList(long)}, the longest ${formatDuration(longest)}. ` +
      'The next start then overlaps a run still in progress, or is skipped.',
    current_state: `schedule: ${f.ctx.job.schedule ?? '(none)'}; every ${formatDuration(limitMs)}; longest run ${formatDuration(longest)}`,
    suggested_change:
      'Make runs shorter than the interval (process only new data, split the work), or schedule the job less often; ' +
      'until then make sure overlapping starts are skipped rather than run side by side.',
    expected_impact: 'No two runs working on the same data at once; no silently skipped runs.',
    affected_files: [f.config?.path, f.script?.path].filter((p): p is string => !!p),
    figures: { long_runs: countBand(long.length), longest_per_interval: magnitudeBand(longest / limitMs), interval_s: interval },
  });
}

// ---------------------------------------------------------------------------------------------
// recorded SLA violations no other rule already explained

function violationKind(reason: string): 'duration' | 'success' | 'other' {
  if (/duration|took|longer|slow|time|exceed/i.test(reason)) return 'duration';
  if (/success|fail/i.test(reason)) return 'success';
  return 'other';
}

export function ruleSlaViolations(f: Facts): SuggestionDraft | null {
  if (f.ctx.job.sla?.enabled === false) return null;
  const covered = new Set<string>();
  if (f.fired.has(SLA_DURATION_TITLE)) covered.add('duration');
  if (f.fired.has(SUCCESS_BELOW_SLA_TITLE)) covered.add('success');
  const left = f.ctx.sla_violations.filter((v) => !covered.has(violationKind(v.reason)));
  if (left.length === 0) return null;
  const groups = new Map<string, { reason: string; runs: number[] }>();
  for (const v of left) {
    const key = normaliseLogLine(v.reason);
    const g = groups.get(key) ?? { reason: v.reason, runs: [] };
    g.runs.push(v.run_id);
    groups.set(key, g);
  }
  const top = [...groups.values()].sort((a, b) => b.runs.length - a.runs.length).slice(0, 5);
  const evidence = top.map((g) => `${quote(g.reason, 160)} ×${g.runs.length} (${runList(g.runs.map((id) => ({ id })), 5)})`);
  const allDuration = left.every((v) => violationKind(v.reason) === 'duration');
  return draft({
    category: allDuration ? 'performance' : 'reliability',
    severity: left.length >= 3 || left.length >= 0.3 * Math.max(1, f.finished.length) ? 'high' : left.length >= 2 ? 'medium' : 'low',
    title: 'SLA violations recorded',
    evidence: cite(f, { runs: left.map((v) => ({ id: v.run_id })), files: [{ file: f.config, key: /^\s*sla:/ }], sla: { violations: left.length, runs: f.finished.length } }),
    description: `${left.length} SLA violation(s) in the period reviewed: ${evidence.join('; ')}.`,
    current_state: `sla: ${JSON.stringify(f.ctx.job.sla ?? {})}`,
    suggested_change: 'Address the cause of the most frequent violation; if the SLA no longer matches what the job must deliver, agree a new one and update the sla block.',
    expected_impact: 'Fewer SLA breaches and alerts.',
    affected_files: f.config ? [f.config.path] : [],
    figures: { violations: countBand(left.length), reason: normaliseLogLine(top[0]!.reason).slice(0, 300) },
  });
}

// ---------------------------------------------------------------------------------------------
// runs getting slower

export function ruleSlowingDown(f: Facts): SuggestionDraft | null {
  const timed = byStart(f.finished.filter((r) => !isFailed(r) && durationOf(r) !== null));
  if (timed.length < 8) return null;
  const older = timed.slice(0, Math.floor(timed.length / 2));
  const recent = timed.slice(-Math.max(3, Math.floor(timed.length / 4)));
  const before = percentile(older.map((r) => durationOf(r) as number), 50) as number;
  const now = percentile(recent.map((r) => durationOf(r) as number), 50) as number;
  if (now < 2 * before || now - before < 30_000) return null;
  return draft({
    category: 'performance',
    severity: now >= 4 * before ? 'high' : 'medium',
    title: 'Runs are getting slower',
    evidence: cite(f, { runs: recent }),
    description:
      `Successful runs slowed from a median of ${formatDuration(before)} (${older.length} earlier runs) to ${formatDuration(now)} ` +
      `(the latest ${recent.length}: ${runList(recent, 5)}), ${(now / Math.max(1, before)).toFixed(1)}× as long.`,
    current_state: `median ${formatDuration(before)} then ${formatDuration(now)}`,
    suggested_change: 'Check what grew (input size, a table without an index, a slower dependency) and process only new data where possible.',
    expected_impact: 'Durations stop growing before they breach an SLA or overlap the next run.',
    affected_files: [f.script?.path].filter((p): p is string => !!p),
    figures: { slowdown: magnitudeBand(now / Math.max(1, before)), median_ms: magnitudeBand(now) },
  });
}
