// Rules about failing runs: passing network errors without retry, an error that recurs, failures
// that began with a config change, a low success rate, and runs killed by a signal or memory.
import { countBand, percentBand } from '../fingerprint.js';
import type { RunSummary, SuggestionDraft } from '../review.js';
import { draft, proposal } from './draft.js';
import { cite, pct, quote, runList } from './evidence.js';
import { logText, type Facts } from './facts.js';
import { byStart, isFailed, normaliseLogLine } from './runs.js';
import { editJobYaml } from './yaml-edit.js';

// Titles later rules look for in `fired`.
export const TRANSIENT_TITLE = 'Retry transient failures';
export const RECURRING_ERROR_TITLE = 'Recurring error in run logs';
export const CONFIG_REGRESSION_TITLE = 'Failures began after a config change';
export const SUCCESS_BELOW_SLA_TITLE = 'Success rate below the SLA target';
export const KILLED_TITLE = 'Runs are killed (signal or out of memory)';

// ---------------------------------------------------------------------------------------------
// transient failures without retry

const TRANSIENT: { label: string; re: RegExp }[] = [
  // "timeout" alone is too common in ordinary output ("timeout=30"): only failure phrasings count.
  {
    label: 'timeout',
    re: /\btimed[ -]?out\b|\btime[ -]out\b|ETIMEDOUT|deadline exceeded|\w*Timeout(?:Error|Exception)\b|\b(?:read|connect|connection|request|socket|gateway) timeout\b|\btimeout (?:error|exceeded|expired|reached|while)\b/i,
  },
  { label: 'connection refused', re: /connection refused|ECONNREFUSED/i },
  { label: 'connection reset', re: /connection reset|ECONNRESET|socket hang up|broken pipe|EPIPE|connection aborted/i },
  { label: 'HTTP 429', re: /too many requests|rate.?limited\b|rate.?limit (?:exceeded|reached|hit)|\b(?:HTTP|status|code|error)[/\d.\s:=]*429\b|\b429 too many/i },
  { label: 'HTTP 502/503/504', re: /service unavailable|bad gateway|gateway time|\b(?:HTTP|status|code|error)[/\d.\s:=]*50[234]\b/i },
  { label: 'temporarily unavailable', re: /temporarily unavailable|try again later|EAGAIN|resource busy/i },
  { label: 'DNS failure', re: /EAI_AGAIN|ENOTFOUND|name resolution|could not resolve host|getaddrinfo|name or service not known|no such host/i },
];

function transientLabel(lines: string[]): { label: string; line: string } | null {
  for (const line of lines) {
    for (const t of TRANSIENT) if (t.re.test(line)) return { label: t.label, line };
  }
  return null;
}

function retryConfigured(f: Facts): boolean {
  const retry = f.ctx.job.retry;
  if (!retry || retry.enabled === false) return false;
  return retry.enabled === true ? (retry.max_attempts ?? 2) > 1 : (retry.max_attempts ?? 0) > 1;
}

export function ruleTransientWithoutRetry(f: Facts): SuggestionDraft | null {
  if (retryConfigured(f)) return null;
  const hits = f.failed.flatMap((run) => {
    const t = transientLabel(logText(f, run));
    return t ? [{ run, ...t }] : [];
  });
  if (hits.length < 2) return null;
  const kinds = new Map<string, number>();
  for (const h of hits) kinds.set(h.label, (kinds.get(h.label) ?? 0) + 1);
  const kindText = [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ');
  const attempts = Math.max(3, f.ctx.job.retry?.max_attempts ?? 0);
  const next = editJobYaml(f.config, f.ctx.job_id, (doc, base) => {
    doc.setIn([...base, 'retry', 'enabled'], true);
    doc.setIn([...base, 'retry', 'max_attempts'], attempts);
  });
  const edit = proposal(f.config, next);
  const current = f.ctx.job.retry ? `retry: ${JSON.stringify(f.ctx.job.retry)}` : 'no retry block: a run that hits a passing network error fails for good';
  return draft({
    category: 'reliability',
    severity: hits.length >= 5 || hits.length * 2 >= f.finished.length ? 'high' : 'medium',
    title: TRANSIENT_TITLE,
    // The log line of each run that shows the error (its recorded error may have been what matched).
    evidence: cite(f, {
      runs: hits.map((h) => h.run),
      lines: hits.flatMap((h) => {
        const shown = transientLabel(f.logs.get(h.run.id) ?? []);
        return shown ? [{ run: h.run.id, line: shown.line }] : [];
      }),
      files: [{ file: f.config, key: /^\s*retry:/ }],
    }),
    description:
      `${hits.length} of ${f.finished.length} runs failed with errors that usually pass on their own (${kindText}): ` +
      `runs ${runList(hits.map((h) => h.run))}. Example: ${quote(hits[0]!.line)}. The job has no retry, so each of them counted as a failed run.`,
    current_state: current,
    suggested_change: `Enable retries in the job's YAML: retry.enabled: true, retry.max_attempts: ${attempts}.`,
    expected_impact: `Most of these ${hits.length} failures would have succeeded on a second attempt; the success rate rises accordingly.`,
    affected_files: f.config ? [f.config.path] : [],
    figures: { failures: countBand(hits.length), kinds: [...kinds.keys()].sort().join(', ') },
    ...(edit ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// a recurring error line

const ERRORISH = /\b(error|exception|fatal|failed|failure|traceback|panic|denied|refused|timed out|timeout|cannot|can't|unable|not found|no such file|invalid|unauthori[sz]ed|forbidden|killed|abort(ed)?)\b/i;
const BOILERPLATE = [/^traceback \(most recent call last\):?$/i, /^\s+at\s/, /^\s*File "/, /^\s*\^+\s*$/, /^\s*during handling of the above exception/i, /\b0 (errors?|failures?|failed)\b/i];

const HINTS: { re: RegExp; hint: string }[] = [
  { re: /no such file or directory|ENOENT|file not found/i, hint: 'a path the job expects does not exist: check its working folder (cwd) and the paths it uses' },
  { re: /permission denied|EACCES|EPERM/i, hint: 'the job user lacks permission on a file or folder it uses' },
  { re: /command not found|not recognized as/i, hint: 'a command is missing from PATH on the machine that runs the job' },
  { re: /ModuleNotFoundError|ImportError|Cannot find module/i, hint: 'a dependency is missing from the environment the job runs in' },
  { re: /out of memory|MemoryError|heap out of memory|OOM/i, hint: 'the job runs out of memory: process the data in smaller pieces or raise the limit' },
  { re: /unauthori[sz]ed|\b401\b|forbidden|\b403\b|invalid (api )?key|authentication failed/i, hint: 'a credential is wrong or expired' },
  { re: /disk full|no space left/i, hint: 'the disk is full' },
];

function errorLines(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    if (!ERRORISH.test(line) || BOILERPLATE.some((b) => b.test(line))) continue;
    const norm = normaliseLogLine(line);
    if (norm.length >= 8 && !out.has(norm)) out.set(norm, line);
  }
  return out;
}

export function ruleRecurringError(f: Facts): SuggestionDraft | null {
  const failedLogged = f.failed.filter((r) => (f.logs.get(r.id)?.length ?? 0) > 0 || r.error);
  if (failedLogged.length < 2) return null;
  const counts = new Map<string, { runs: RunSummary[]; example: string; lines: { run: number; line: string }[] }>();
  for (const run of failedLogged) {
    for (const [norm, raw] of errorLines(logText(f, run))) {
      const entry = counts.get(norm) ?? { runs: [], example: raw, lines: [] };
      entry.runs.push(run);
      entry.lines.push({ run: run.id, line: raw });
      counts.set(norm, entry);
    }
  }
  // Lines that successful runs print as often are normal output, not the cause.
  const okSeen = new Map<string, number>();
  const okLogged = f.finished.filter((r) => !isFailed(r) && (f.logs.get(r.id)?.length ?? 0) > 0);
  for (const run of okLogged) {
    for (const norm of new Set((f.logs.get(run.id) ?? []).map(normaliseLogLine))) okSeen.set(norm, (okSeen.get(norm) ?? 0) + 1);
  }
  const skipTransient = f.fired.has(TRANSIENT_TITLE);
  const recurring = [...counts]
    .filter(([norm, e]) => {
      const n = e.runs.length;
      const often = n >= 3 || (n >= 2 && n >= 0.3 * failedLogged.length);
      const ok = okSeen.get(norm) ?? 0;
      return often && ok < n && ok * 2 < Math.max(1, okLogged.length) && !(skipTransient && transientLabel([e.example]));
    })
    .sort((a, b) => b[1].runs.length - a[1].runs.length || b[0].length - a[0].length)
    .slice(0, 3);
  if (recurring.length === 0) return null;
  const [, top] = recurring[0]!;
  const hint = HINTS.find((h) => recurring.some(([, e]) => h.re.test(e.example)))?.hint;
  const evidence = recurring.map(([, e]) => `${quote(e.example)} in ${e.runs.length} of ${failedLogged.length} failed runs (${runList(e.runs, 5)})`);
  return draft({
    category: 'reliability',
    severity: top.runs.length >= 3 && top.runs.length * 2 >= failedLogged.length ? 'high' : 'medium',
    title: RECURRING_ERROR_TITLE,
    evidence: cite(f, { runs: recurring.flatMap(([, e]) => e.runs), lines: recurring.flatMap(([, e]) => e.lines) }),
    description: `The same error comes back run after run: ${evidence.join('; ')}.${hint ? ` Likely cause: ${hint}.` : ''}`,
    current_state: recurring.map(([, e]) => e.example.trim()).join('\n'),
    suggested_change: hint
      ? `Fix the cause (${hint}) rather than re-running the job.`
      : `Find where the job prints ${quote(top.example, 120)} and fix its cause; handle it explicitly if it is expected.`,
    expected_impact: `Up to ${top.runs.length} fewer failed runs over a period like this one.`,
    affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
    figures: { error: recurring[0]![0].slice(0, 300), runs: countBand(top.runs.length) },
  });
}

// ---------------------------------------------------------------------------------------------
// failing since the config changed

export function ruleConfigRegression(f: Facts): SuggestionDraft | null {
  const changed = f.ctx.config_changed_at ? Date.parse(f.ctx.config_changed_at) : NaN;
  if (!Number.isFinite(changed)) return null;
  const runs = byStart(f.finished);
  const before = runs.filter((r) => Date.parse(r.started_at) < changed);
  const after = runs.filter((r) => Date.parse(r.started_at) >= changed);
  const okBefore = before.filter((r) => !isFailed(r)).length;
  const failedAfter = after.filter(isFailed);
  if (before.length < 2 || okBefore < 0.8 * before.length) return null;
  if (after.length < 2 || failedAfter.length < 2 || failedAfter.length < 0.6 * after.length) return null;
  const firstError = failedAfter.find((r) => r.error)?.error;
  return draft({
    category: 'config',
    severity: 'high',
    title: CONFIG_REGRESSION_TITLE,
    evidence: cite(f, { runs: failedAfter }),
    description:
      `The job's YAML changed at ${f.ctx.config_changed_at}. Before that ${okBefore} of ${before.length} runs succeeded; ` +
      `since then ${failedAfter.length} of ${after.length} failed (${runList(failedAfter)})` +
      `${firstError ? `, the first with ${quote(firstError, 200)}` : ''}.`,
    current_state: f.config && !f.config.truncated ? f.config.content.slice(0, 4000) : `changed at ${f.ctx.config_changed_at}`,
    suggested_change: 'Compare the YAML with its previous version (the last backup or the version history) and revert or fix the change that broke the runs.',
    expected_impact: `Back to the earlier success rate of ${Math.round(pct(okBefore, before.length))}%.`,
    affected_files: f.config ? [f.config.path] : [],
    auto_apply: false,
    // a later change of the file is new evidence whatever the counts
    figures: { config_changed_at: f.ctx.config_changed_at ?? '', failed_after: countBand(failedAfter.length) },
  });
}

// ---------------------------------------------------------------------------------------------
// success rate below the SLA (or simply low)

function mostCommonError(runs: RunSummary[]): { text: string; count: number } | null {
  const counts = new Map<string, { text: string; count: number }>();
  for (const r of runs) {
    if (!r.error) continue;
    const key = normaliseLogLine(r.error);
    const e = counts.get(key) ?? { text: r.error, count: 0 };
    e.count++;
    counts.set(key, e);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count)[0] ?? null;
}

const EXPLAINING_RULES = [CONFIG_REGRESSION_TITLE, TRANSIENT_TITLE, KILLED_TITLE, RECURRING_ERROR_TITLE];

export function ruleSuccessRate(f: Facts): SuggestionDraft | null {
  const total = f.finished.length;
  const failed = f.failed.length;
  if (total < 4 || failed === 0) return null;
  const rate = pct(total - failed, total);
  const target = f.ctx.job.sla?.enabled === false ? undefined : f.ctx.job.sla?.success_rate;
  const common = mostCommonError(f.failed);
  const cause = common ? ` The most common error (${common.count}×): ${quote(common.text, 200)}.` : '';
  if (target !== undefined) {
    if (rate >= target) return null;
    return draft({
      category: 'reliability',
      severity: target - rate >= 20 ? 'high' : 'medium',
      title: SUCCESS_BELOW_SLA_TITLE,
      evidence: cite(f, { runs: f.failed, files: [{ file: f.config, key: /^\s*sla:/ }], sla: { success_rate_pct: rate, target_pct: target, runs: total, failed } }),
      description: `${total - failed} of ${total} runs succeeded (${rate}%), below the SLA target of ${target}%. Failed runs: ${runList(f.failed)}.${cause}`,
      current_state: `success rate ${rate}% (target ${target}%)`,
      suggested_change: 'Fix the most common failure first (see the other suggestions of this review for its cause); add retries for transient errors.',
      expected_impact: `Each avoided failure raises the success rate by ${pct(1, total)} points.`,
      affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
      figures: { success_rate: percentBand(rate), target: target },
    });
  }
  if (failed < 3 || failed < 0.3 * total) return null;
  // Without an SLA this adds nothing when another rule already explained the failures.
  if (EXPLAINING_RULES.some((t) => f.fired.has(t))) return null;
  return draft({
    category: 'reliability',
    severity: failed * 2 >= total ? 'high' : 'medium',
    title: 'Job fails often',
    evidence: cite(f, { runs: f.failed }),
    description: `${failed} of ${total} runs failed (${Math.round(pct(failed, total))}%): ${runList(f.failed)}.${cause}`,
    current_state: `success rate ${rate}%; no sla.success_rate set`,
    suggested_change: 'Fix the most common failure first; consider setting sla.success_rate so breaches are reported.',
    expected_impact: `Each avoided failure raises the success rate by ${pct(1, total)} points.`,
    affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
    figures: { failed_share: percentBand(pct(failed, total)) },
  });
}

// ---------------------------------------------------------------------------------------------
// runs killed by a signal or out of memory

const OOM = /out of memory|MemoryError|heap out of memory|oom-?kill|Cannot allocate memory|std::bad_alloc/i;
const KILLED = /\bKilled\b|SIGKILL|SIGTERM|Segmentation fault|SIGSEGV/;
const SIGNAL_EXITS = new Map([[124, 'timed out (124)'], [134, 'aborted (134)'], [137, 'killed (137, often out of memory)'], [139, 'segfault (139)'], [143, 'terminated (143)']]);

export function ruleKilled(f: Facts): SuggestionDraft | null {
  const hits = f.failed.flatMap((run) => {
    const text = logText(f, run);
    const oom = text.find((l) => OOM.test(l));
    const killedLine = text.find((l) => KILLED.test(l));
    const byExit = run.exit_code !== null ? SIGNAL_EXITS.get(run.exit_code) : undefined;
    if (!oom && !killedLine && !byExit) return [];
    return [{ run, oom: !!oom, line: oom ?? killedLine, why: oom ? quote(oom, 120) : (byExit ?? quote(killedLine as string, 120)) }];
  });
  if (hits.length < 2) return null;
  const oomCount = hits.filter((h) => h.oom || h.run.exit_code === 137).length;
  return draft({
    category: 'reliability',
    severity: hits.length >= 3 || oomCount >= 2 ? 'high' : 'medium',
    title: KILLED_TITLE,
    evidence: cite(f, { runs: hits.map((h) => h.run), lines: hits.flatMap((h) => (h.line ? [{ run: h.run.id, line: h.line }] : [])) }),
    description:
      `${hits.length} runs ended by a signal or memory exhaustion: ${hits.slice(0, 5).map((h) => `#${h.run.id} ${h.why}`).join('; ')}.`,
    current_state: `${oomCount} of ${hits.length} look like memory exhaustion`,
    suggested_change: oomCount
      ? 'Process the data in smaller batches or streams, or give the job more memory; check what grows between runs.'
      : 'Find what terminates the run (a runner or `timeout` limit, a deploy, the OOM killer) and either shorten the run or raise that limit.',
    expected_impact: 'Runs finish instead of being cut off midway, leaving no half-written output.',
    affected_files: [f.script?.path].filter((p): p is string => !!p),
    figures: { killed: countBand(hits.length), out_of_memory: countBand(oomCount) },
  });
}
