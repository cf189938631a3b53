// The built-in `rules` analyzer: deterministic checks over a review context, no AI. Each rule
// looks for one kind of problem, fires only on evidence it can quote (counts, run ids,
// durations, lines), and proposes a whole new file only where the fix is a mechanical edit.
// A healthy job gets no suggestions: every threshold below is there to keep it that way.
import { isMap, parseDocument, type Document } from 'yaml';
import type { Category, Severity } from './job.js';
import { checkShrink } from './path-guard.js';
import { findSecrets, languageOf, maskedLine, quoteAt, type Lang, type SecretHit } from './secrets.js';
import {
  SuggestionDraftSchema,
  type JobFile,
  type ReviewContext,
  type RunSummary,
  type SuggestionDraft,
} from './review.js';

// ---------------------------------------------------------------------------------------------
// Run helpers (also used by the prompt builder)

export function isFinished(run: RunSummary): boolean {
  return run.exit_code !== null || run.finished_at !== null;
}

/** A non-zero exit, or a finished run without an exit code that recorded an error. */
export function isFailed(run: RunSummary): boolean {
  if (run.exit_code !== null) return run.exit_code !== 0;
  return run.finished_at !== null && !!run.error;
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m}m ${String(rest).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** "#4, #7 and 3 more": run ids as evidence, bounded. */
function runList(runs: { id: number }[], max = 8): string {
  const ids = runs.slice(0, max).map((r) => `#${r.id}`);
  const more = runs.length - ids.length;
  return more > 0 ? `${ids.join(', ')} and ${more} more` : ids.join(', ');
}

function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10;
}

function byStart(runs: RunSummary[]): RunSummary[] {
  return [...runs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
}

function durationOf(run: RunSummary): number | null {
  return typeof run.duration_ms === 'number' && Number.isFinite(run.duration_ms) && run.duration_ms >= 0 ? run.duration_ms : null;
}

function quote(line: string, max = 300): string {
  const t = line.trim();
  return `"${t.length > max ? `${t.slice(0, max)}…` : t}"`;
}

/** Strips what differs between runs (timestamps, ids, numbers) so the same error matches. */
export function normaliseLogLine(line: string): string {
  return line
     
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .replace(/^\s*\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*/, '')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Shared rule plumbing

interface Facts {
  ctx: ReviewContext;
  finished: RunSummary[];
  failed: RunSummary[];
  logs: Map<number, string[]>;
  config: JobFile | undefined;
  script: JobFile | undefined;
  prompt: JobFile | undefined;
  /** titles of rules that fired, so later rules can avoid repeating the same evidence */
  fired: Set<string>;
}

type Draft = {
  category: Category;
  severity: Severity;
  title: string;
  description: string;
  current_state?: string | null;
  suggested_change?: string | null;
  expected_impact?: string | null;
  affected_files?: string[];
  target_file?: string | null;
  proposed_content?: string | null;
  auto_apply?: boolean | null;
};

/** Validates and bounds a rule's draft exactly as an AI draft would be. */
function draft(d: Draft): SuggestionDraft {
  const cut = (s: string | null | undefined, max: number) => (s == null ? null : s.length > max ? `${s.slice(0, max - 1)}…` : s);
  const files = [...new Set([...(d.target_file ? [d.target_file] : []), ...(d.affected_files ?? [])])];
  return SuggestionDraftSchema.parse({
    ...d,
    description: cut(d.description, 20_000) ?? '',
    current_state: cut(d.current_state, 200_000),
    suggested_change: cut(d.suggested_change, 200_000),
    expected_impact: cut(d.expected_impact, 5_000),
    affected_files: files.slice(0, 50),
    target_file: d.target_file ?? null,
  });
}

function logText(f: Facts, run: RunSummary): string[] {
  return [...(run.error ? [run.error] : []), ...(f.logs.get(run.id) ?? [])];
}

/** A whole new file for `file`, or null when it may not be rewritten (truncated) or nothing changed. */
function proposal(file: JobFile | undefined, next: string | null): { target_file: string; proposed_content: string } | null {
  if (!file || file.truncated || next === null || next === file.content) return null;
  if (!checkShrink(file.content, next).ok) return null;
  return { target_file: file.path, proposed_content: next };
}

// ---------------------------------------------------------------------------------------------
// YAML edits that keep comments, unknown fields and the file's indentation

/** The path of the job's own mapping: top level of a per-job file, or jobs.<id> in a catalog. */
function jobPath(doc: Document, jobId: string): string[] | null {
  if (!isMap(doc.contents)) return null;
  if (isMap(doc.getIn(['jobs', jobId]))) return ['jobs', jobId];
  if (doc.contents.has('cmd') || doc.contents.has('name')) return [];
  if (isMap(doc.getIn([jobId]))) return [jobId];
  return null;
}

/** The indentation the file already uses, so an edit does not re-indent every line. */
function yamlStyle(src: string): { indent: number; indentSeq: boolean } {
  const lines = src.split('\n');
  let indent = 0;
  let indentSeq: boolean | null = null;
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1] as string;
    // Only a key that opens a block ("key:" and nothing after it) tells how children are indented.
    if (!/^\s*[^\s#-][^#]*:\s*(#.*)?$/.test(prev)) continue;
    const line = lines[i] as string;
    const lead = line.search(/\S/);
    const prevLead = prev.search(/\S/);
    if (lead < 0) continue;
    if (/^\s*- /.test(line)) indentSeq ??= lead > prevLead;
    else if (!indent && lead > prevLead) indent = lead - prevLead;
  }
  return { indent: indent >= 2 && indent <= 8 ? indent : 2, indentSeq: indentSeq ?? true };
}

/** Applies `edit` to the job's mapping inside its YAML file; null when the file cannot be edited safely. */
function editJobYaml(file: JobFile | undefined, jobId: string, edit: (doc: Document, base: string[]) => void): string | null {
  if (!file || file.truncated) return null;
  const doc = parseDocument(file.content);
  if (doc.errors.length > 0) return null;
  const base = jobPath(doc, jobId);
  if (!base) return null;
  edit(doc, base);
  const style = yamlStyle(file.content);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, indent: style.indent, indentSeq: style.indentSeq });
}

// ---------------------------------------------------------------------------------------------
// (a) transient failures without retry

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

function ruleTransientWithoutRetry(f: Facts): SuggestionDraft | null {
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
    title: 'Retry transient failures',
    description:
      `${hits.length} of ${f.finished.length} runs failed with errors that usually pass on their own (${kindText}): ` +
      `runs ${runList(hits.map((h) => h.run))}. Example: ${quote(hits[0]!.line)}. The job has no retry, so each of them counted as a failed run.`,
    current_state: current,
    suggested_change: `Enable retries in the job's YAML: retry.enabled: true, retry.max_attempts: ${attempts}.`,
    expected_impact: `Most of these ${hits.length} failures would have succeeded on a second attempt; the success rate rises accordingly.`,
    affected_files: f.config ? [f.config.path] : [],
    ...(edit ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// (b) durations close to the SLA limit

function ruleSlaDuration(f: Facts): SuggestionDraft | null {
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
    title: 'Run duration near or over the SLA limit',
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
  });
}

// ---------------------------------------------------------------------------------------------
// (c) runs longer than the schedule interval

function ruleOverlap(f: Facts): SuggestionDraft | null {
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
  });
}

// ---------------------------------------------------------------------------------------------
// (d) hard-coded secrets


/** Where each line of a script sits: inside a heredoc (quoted or not) or a multi-line string. */
function blockStates(lines: string[], lang: Lang): ('code' | 'heredoc' | 'quoted-heredoc' | 'multiline')[] {
  const states: ('code' | 'heredoc' | 'quoted-heredoc' | 'multiline')[] = [];
  let heredoc: { tag: string; quoted: boolean } | null = null;
  let triple = 0;
  let backticks = 0;
  for (const line of lines) {
    if (heredoc) {
      states.push(heredoc.quoted ? 'quoted-heredoc' : 'heredoc');
      if (line.trim() === heredoc.tag) heredoc = null;
      continue;
    }
    const inMulti = (lang === 'python' && triple % 2 === 1) || (lang === 'node' && backticks % 2 === 1);
    states.push(inMulti ? 'multiline' : 'code');
    if (lang === 'python') triple += (line.match(/"""|'''/g) ?? []).length;
    if (lang === 'node') backticks += (line.match(/(?<!\\)`/g) ?? []).length;
    if (lang === 'shell' || lang === 'sh') {
      const m = line.match(/<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/);
      if (m) heredoc = { tag: m[2] as string, quoted: !!m[1] };
    }
  }
  return states;
}

/** The text that takes the literal's place, or null when no safe replacement is known. */
function replacement(lang: Lang, h: SecretHit, line: string, state: string): { start: number; end: number; text: string } | null {
  const name = h.name;
  if (lang === 'shell' || lang === 'sh') {
    if (state === 'quoted-heredoc') return null;
    if (state === 'heredoc') return { start: h.start, end: h.end, text: `\${${name}}` };
    if (h.ownQuote) return { start: h.start - 1, end: h.end + 1, text: `"\${${name}}"` };
    const inside = quoteAt(line, h.start);
    if (inside?.q === "'") {
      // Close the single quotes around a double-quoted expansion; skip quote pairs that would be empty.
      const opens = line[h.start - 1] === "'" && inside.at === h.start - 1;
      const closes = line[h.end] === "'";
      return { start: opens ? h.start - 1 : h.start, end: closes ? h.end + 1 : h.end, text: `${opens ? '' : "'"}"\${${name}}"${closes ? '' : "'"}` };
    }
    if (inside?.q === '"') return { start: h.start, end: h.end, text: `\${${name}}` };
    return { start: h.start, end: h.end, text: `"\${${name}}"` };
  }
  if (lang === 'python') {
    if (state !== 'code') return null;
    const ref = `os.environ["${name}"]`;
    if (h.ownQuote) return { start: h.start - 1, end: h.end + 1, text: ref };
    const inside = quoteAt(line, h.start);
    if (!inside || inside.q === '`') return null;
    const prefix = line.slice(Math.max(0, inside.at - 2), inside.at).toLowerCase();
    if (/b/.test(prefix)) return null; // bytes: a str would not concatenate
    if (/f/.test(prefix)) return { start: h.start, end: h.end, text: `{os.environ[${inside.q === '"' ? `'${name}'` : `"${name}"`}]}` };
    return { start: h.start, end: h.end, text: `${inside.q} + ${ref} + ${inside.q}` };
  }
  if (lang === 'node') {
    const ref = `process.env.${name}`;
    if (state === 'multiline') return { start: h.start, end: h.end, text: `\${${ref}}` };
    if (h.ownQuote) return { start: h.start - 1, end: h.end + 1, text: ref };
    const inside = quoteAt(line, h.start);
    if (!inside) return null;
    if (inside.q === '`') return { start: h.start, end: h.end, text: `\${${ref}}` };
    return { start: h.start, end: h.end, text: `${inside.q} + ${ref} + ${inside.q}` };
  }
  return null;
}

/** Adds `import os` before the first import (after __future__ imports) unless `os` is bound. */
function ensurePythonImportOs(lines: string[]): string[] {
  const bindsOs = (l: string) =>
    /^import\s/.test(l) && l.replace(/^import\s+/, '').split(',').some((part) => /^os(\.[\w.]+)?$/.test(part.trim()));
  if (lines.some(bindsOs)) return lines;
  let at = lines.findIndex((l) => /^(import|from)\s/.test(l) && !/^from\s+__future__\s/.test(l));
  if (at < 0) {
    at = 0;
    while (at < lines.length && (/^\s*#/.test(lines[at] as string) || /^from\s+__future__\s/.test(lines[at] as string))) at++;
  }
  return [...lines.slice(0, at), 'import os', ...lines.slice(at)];
}

/** The script with every literal replaced by an environment reference, or null if one cannot be. */
function withoutSecrets(file: JobFile, lang: Lang, hits: SecretHit[]): string | null {
  let lines = file.content.split('\n');
  const states = blockStates(lines, lang);
  const byLine = new Map<number, SecretHit[]>();
  for (const h of hits) byLine.set(h.line, [...(byLine.get(h.line) ?? []), h]);
  for (const [n, lineHits] of byLine) {
    let line = lines[n] as string;
    const edits = lineHits.map((h) => replacement(lang, h, line, states[n] ?? 'code'));
    if (edits.some((e) => e === null)) return null;
    for (const e of (edits as { start: number; end: number; text: string }[]).sort((a, b) => b.start - a.start)) {
      line = line.slice(0, e.start) + e.text + line.slice(e.end);
    }
    // `"" + os.environ["X"] + ""` reads badly: drop the empty literals the split left behind.
    lines[n] = line.replace(/(["'])\1 \+ /g, '').replace(/ \+ (["'])\1/g, '');
  }
  if (lang === 'python') lines = ensurePythonImportOs(lines);
  return lines.join('\n');
}

function secretNames(hits: SecretHit[]): void {
  // The same name for two different values would make one overwrite the other.
  const byName = new Map<string, string[]>();
  for (const h of hits) {
    const values = byName.get(h.name) ?? [];
    if (!values.includes(h.value)) values.push(h.value);
    byName.set(h.name, values);
    const index = values.indexOf(h.value);
    if (index > 0) h.name = `${h.name}_${index + 1}`;
  }
}

function ruleSecrets(f: Facts): SuggestionDraft[] {
  const out: SuggestionDraft[] = [];
  for (const file of [f.script, f.config, f.prompt]) {
    if (!file) continue;
    const lang = languageOf(file, f.ctx.job.cmd);
    const { hits, privateKeyLines } = findSecrets(file, lang);
    if (hits.length === 0 && privateKeyLines.length === 0) continue;
    secretNames(hits);
    const lines = file.content.split('\n');
    const evidence = [...new Set(hits.map((h) => h.line))].slice(0, 10).map((n) => `line ${n + 1}: ${maskedLine(lines[n] as string, hits.filter((h) => h.line === n))}`);
    for (const n of privateKeyLines.slice(0, 3)) evidence.push(`line ${n}: ${(lines[n - 1] as string).trim()} (a private key)`);
    const names = [...new Set(hits.map((h) => h.name))];
    const kinds = [...new Set([...hits.map((h) => h.kind), ...(privateKeyLines.length ? ['private key'] : [])])];
    const rewritable = file.role === 'script' && privateKeyLines.length === 0;
    const edit = rewritable ? proposal(file, withoutSecrets(file, lang, hits)) : null;
    const role = file.role === 'config' ? 'job config' : file.role;
    out.push(draft({
      category: 'security',
      severity: 'critical',
      title: `Hard-coded secret in ${role}`,
      description:
        `${file.path} contains ${hits.length + privateKeyLines.length} hard-coded secret(s) (${kinds.join(', ')}), values masked here:\n` +
        `${evidence.map((e) => `- ${e}`).join('\n')}\n` +
        'Anyone who can read the file, its backups or its history has the credential; rotate it.',
      current_state: evidence.join('\n'),
      suggested_change: edit
        ? `Read the secret from the environment instead (${names.join(', ')}), set it from the runner's secret store, and rotate the exposed value.`
        : privateKeyLines.length
          ? 'Move the private key to a file outside the job folder readable only by the job user (or a secret store), reference it by path, and rotate the key.'
          : `Move the value to the runner's secret store and pass it in as an environment variable (${names.join(', ')}); rotate the exposed value.`,
      expected_impact: 'The credential no longer sits in plain text in the job files, backups or the review history.',
      affected_files: [file.path],
      // The job fails until the variable is set: a person must do that first.
      auto_apply: false,
      ...(edit ?? {}),
    }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// (e) a recurring error line

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

function ruleRecurringError(f: Facts): SuggestionDraft | null {
  const failedLogged = f.failed.filter((r) => (f.logs.get(r.id)?.length ?? 0) > 0 || r.error);
  if (failedLogged.length < 2) return null;
  const counts = new Map<string, { runs: RunSummary[]; example: string }>();
  for (const run of failedLogged) {
    for (const [norm, raw] of errorLines(logText(f, run))) {
      const entry = counts.get(norm) ?? { runs: [], example: raw };
      entry.runs.push(run);
      counts.set(norm, entry);
    }
  }
  // Lines that successful runs print as often are normal output, not the cause.
  const okSeen = new Map<string, number>();
  const okLogged = f.finished.filter((r) => !isFailed(r) && (f.logs.get(r.id)?.length ?? 0) > 0);
  for (const run of okLogged) {
    for (const norm of new Set((f.logs.get(run.id) ?? []).map(normaliseLogLine))) okSeen.set(norm, (okSeen.get(norm) ?? 0) + 1);
  }
  const skipTransient = f.fired.has('Retry transient failures');
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
    title: 'Recurring error in run logs',
    description: `The same error comes back run after run: ${evidence.join('; ')}.${hint ? ` Likely cause: ${hint}.` : ''}`,
    current_state: recurring.map(([, e]) => e.example.trim()).join('\n'),
    suggested_change: hint
      ? `Fix the cause (${hint}) rather than re-running the job.`
      : `Find where the job prints ${quote(top.example, 120)} and fix its cause; handle it explicitly if it is expected.`,
    expected_impact: `Up to ${top.runs.length} fewer failed runs over a period like this one.`,
    affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
  });
}

// ---------------------------------------------------------------------------------------------
// (f) an oversized prompt

const PROMPT_MAX_CHARS = 8_000;

function dedupeLines(content: string): { text: string; removed: number; nonBlank: number } {
  const seen = new Set<string>();
  const kept: string[] = [];
  let removed = 0;
  let nonBlank = 0;
  for (const line of content.split('\n')) {
    const key = line.trim();
    if (key) nonBlank++;
    // Short lines (separators, fences, list markers) repeat legitimately.
    if (key.length >= 12 && seen.has(key)) {
      removed++;
      continue;
    }
    if (key.length >= 12) seen.add(key);
    // Do not leave runs of blank lines where duplicates were.
    if (!key && kept.length >= 2 && !kept[kept.length - 1]!.trim() && !kept[kept.length - 2]!.trim()) continue;
    kept.push(line);
  }
  return { text: kept.join('\n'), removed, nonBlank };
}

function rulePromptSize(f: Facts): SuggestionDraft | null {
  const file = f.prompt;
  if (!file) return null;
  const size = file.content.length;
  const { text, removed, nonBlank } = dedupeLines(file.content);
  const heavy = removed >= 5 && removed >= 0.2 * nonBlank;
  if (!heavy && size <= PROMPT_MAX_CHARS) return null;
  const edit = heavy ? proposal(file, text) : null;
  const saved = size - text.length;
  const tokens = Math.round(size / 4);
  return draft({
    category: 'cost',
    severity: heavy || size > 2 * PROMPT_MAX_CHARS ? 'medium' : 'low',
    title: 'Prompt is longer than it needs to be',
    description:
      `${file.path} is ${size} characters (about ${tokens} tokens), sent with every run` +
      `${heavy ? `; ${removed} of its ${nonBlank} non-blank lines repeat an earlier line word for word` : ''}.`,
    current_state: `${size} characters, ${removed} duplicate lines`,
    suggested_change: edit
      ? `Remove the ${removed} duplicate lines (${saved} characters, about ${Math.round(saved / 4)} tokens per run).`
      : heavy
        ? `Remove the ${removed} duplicate lines by hand (the result is under half the size, too large a cut to apply automatically), then shorten the rest.`
        : 'Shorten the prompt: move reference material to files the agent reads only when it needs them, and drop instructions the model follows anyway.',
    expected_impact: `Fewer input tokens on every run${saved > 0 ? ` (about ${Math.round(saved / 4)} fewer)` : ''}, lower cost and latency.`,
    affected_files: [file.path],
    ...(edit ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// (g) failing since the config changed

function ruleConfigRegression(f: Facts): SuggestionDraft | null {
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
    title: 'Failures began after a config change',
    description:
      `The job's YAML changed at ${f.ctx.config_changed_at}. Before that ${okBefore} of ${before.length} runs succeeded; ` +
      `since then ${failedAfter.length} of ${after.length} failed (${runList(failedAfter)})` +
      `${firstError ? `, the first with ${quote(firstError, 200)}` : ''}.`,
    current_state: f.config && !f.config.truncated ? f.config.content.slice(0, 4000) : `changed at ${f.ctx.config_changed_at}`,
    suggested_change: 'Compare the YAML with its previous version (the last backup or the version history) and revert or fix the change that broke the runs.',
    expected_impact: `Back to the earlier success rate of ${Math.round(pct(okBefore, before.length))}%.`,
    affected_files: f.config ? [f.config.path] : [],
    auto_apply: false,
  });
}

// ---------------------------------------------------------------------------------------------
// (h) success rate below the SLA (or simply low)

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

const EXPLAINING_RULES = [
  'Failures began after a config change',
  'Retry transient failures',
  'Runs are killed (signal or out of memory)',
  'Recurring error in run logs',
];

function ruleSuccessRate(f: Facts): SuggestionDraft | null {
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
      title: 'Success rate below the SLA target',
      description: `${total - failed} of ${total} runs succeeded (${rate}%), below the SLA target of ${target}%. Failed runs: ${runList(f.failed)}.${cause}`,
      current_state: `success rate ${rate}% (target ${target}%)`,
      suggested_change: 'Fix the most common failure first (see the other suggestions of this review for its cause); add retries for transient errors.',
      expected_impact: `Each avoided failure raises the success rate by ${pct(1, total)} points.`,
      affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
    });
  }
  if (failed < 3 || failed < 0.3 * total) return null;
  // Without an SLA this adds nothing when another rule already explained the failures.
  if (EXPLAINING_RULES.some((t) => f.fired.has(t))) return null;
  return draft({
    category: 'reliability',
    severity: failed * 2 >= total ? 'high' : 'medium',
    title: 'Job fails often',
    description: `${failed} of ${total} runs failed (${Math.round(pct(failed, total))}%): ${runList(f.failed)}.${cause}`,
    current_state: `success rate ${rate}%; no sla.success_rate set`,
    suggested_change: 'Fix the most common failure first; consider setting sla.success_rate so breaches are reported.',
    expected_impact: `Each avoided failure raises the success rate by ${pct(1, total)} points.`,
    affected_files: [f.script?.path, f.config?.path].filter((p): p is string => !!p),
  });
}

// ---------------------------------------------------------------------------------------------
// (i) a shell script that hides failures

const SHELL_ERROR = /command not found|no such file or directory|permission denied|syntax error|unbound variable|: line \d+: |^\s*(?:error|fatal)\b|\bERROR\b|\bFATAL\b/i;
const ERREXIT = /^\s*set\s+(?:-[a-zA-Z]*e[a-zA-Z]*\b|.*-o\s+errexit)/m;

function ruleHiddenFailures(f: Facts): SuggestionDraft | null {
  const file = f.script;
  if (!file) return null;
  const lang = languageOf(file, f.ctx.job.cmd);
  if (lang !== 'shell' && lang !== 'sh') return null;
  const first = file.content.split('\n', 1)[0] ?? '';
  if (ERREXIT.test(file.content) || /^\s*set\s+\+e\b/m.test(file.content) || (first.startsWith('#!') && /\s-\w*e/.test(first))) return null;
  const hidden = f.finished
    .filter((r) => r.exit_code === 0)
    .flatMap((run) => {
      const line = (f.logs.get(run.id) ?? []).find((l) => SHELL_ERROR.test(l));
      return line ? [{ run, line }] : [];
    });
  if (hidden.length === 0) return null;
  const setLine = lang === 'sh' ? 'set -eu' : 'set -euo pipefail';
  const lines = file.content.split('\n');
  const at = first.startsWith('#!') ? 1 : 0;
  const next = [...lines.slice(0, at), setLine, ...lines.slice(at)].join('\n');
  const edit = proposal(file, next);
  return draft({
    category: 'script',
    severity: hidden.length >= 3 ? 'high' : 'medium',
    title: 'Script hides failures (no set -e)',
    description:
      `${hidden.length} run(s) exited 0 although a command failed: ${hidden.slice(0, 3).map((h) => `#${h.run.id} ${quote(h.line, 160)}`).join('; ')}. ` +
      `${file.path} has no \`set -e\`, so a failing command does not stop the script and the run is reported as a success.`,
    current_state: lines.slice(0, 3).join('\n'),
    suggested_change: `Add \`${setLine}\` after the shebang line so the first failing command fails the run.`,
    expected_impact: 'Failures are reported as failures, trigger alerts and reviews, and stop before later steps work on bad data.',
    affected_files: [file.path],
    // `-u` and `-e` change behaviour for commands that fail on purpose: a person should look.
    auto_apply: false,
    ...(edit ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// (j) recorded SLA violations not already explained above

function violationKind(reason: string): 'duration' | 'success' | 'other' {
  if (/duration|took|longer|slow|time|exceed/i.test(reason)) return 'duration';
  if (/success|fail/i.test(reason)) return 'success';
  return 'other';
}

function ruleSlaViolations(f: Facts): SuggestionDraft | null {
  if (f.ctx.job.sla?.enabled === false) return null;
  const covered = new Set<string>();
  if (f.fired.has('Run duration near or over the SLA limit')) covered.add('duration');
  if (f.fired.has('Success rate below the SLA target')) covered.add('success');
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
    description: `${left.length} SLA violation(s) in the period reviewed: ${evidence.join('; ')}.`,
    current_state: `sla: ${JSON.stringify(f.ctx.job.sla ?? {})}`,
    suggested_change: 'Address the cause of the most frequent violation; if the SLA no longer matches what the job must deliver, agree a new one and update the sla block.',
    expected_impact: 'Fewer SLA breaches and alerts.',
    affected_files: f.config ? [f.config.path] : [],
  });
}

// ---------------------------------------------------------------------------------------------
// (k) AI cost for openclaw jobs, (l) an agent repeating itself

const TOKENS_PER_RUN_HIGH = 50_000;
const MESSAGES_PER_RUN_HIGH = 40;

function ruleAiUsage(f: Facts): SuggestionDraft | null {
  const sessions = f.ctx.ai_sessions.filter((s) => s.messages.length > 0);
  if (sessions.length === 0) return null;
  const sizes = sessions.map((s) => ({
    id: s.run_id,
    messages: s.messages.length,
    tokens: Math.round(s.messages.reduce((n, m) => n + (m.content?.length ?? 0), 0) / 4),
  }));
  const avg = Math.round(sizes.reduce((n, s) => n + s.tokens, 0) / sizes.length);
  const heavy = sizes.filter((s) => s.tokens > TOKENS_PER_RUN_HIGH || s.messages >= MESSAGES_PER_RUN_HIGH).sort((a, b) => b.tokens - a.tokens);
  if (avg <= TOKENS_PER_RUN_HIGH && heavy.length * 2 < sizes.length) return null;
  return draft({
    category: 'cost',
    severity: avg > 3 * TOKENS_PER_RUN_HIGH ? 'high' : 'medium',
    title: 'High AI token usage',
    description:
      `The agent's sessions average about ${avg} tokens of messages per run over ${sizes.length} runs; ` +
      `largest: ${heavy.slice(0, 5).map((s) => `run #${s.id} ${s.messages} messages ~${s.tokens} tokens`).join(', ') || 'none above the threshold'}.`,
    current_state: `average ~${avg} tokens and ${Math.round(sizes.reduce((n, s) => n + s.messages, 0) / sizes.length)} messages per run`,
    suggested_change:
      'Give the agent the data it needs in the prompt instead of letting it explore, cap its turns, and ask for a shorter answer; ' +
      'split the job if it does several unrelated things.',
    expected_impact: 'Lower token cost and shorter runs.',
    affected_files: [f.prompt?.path, f.config?.path].filter((p): p is string => !!p),
  });
}

function ruleAgentLoops(f: Facts): SuggestionDraft | null {
  const loops: { run: number; text: string; times: number }[] = [];
  for (const s of f.ctx.ai_sessions) {
    const counts = new Map<string, { text: string; times: number }>();
    for (const m of s.messages) {
      if (m.role !== 'assistant' || !m.content || m.content.trim().length < 20) continue;
      const key = normaliseLogLine(m.content.slice(0, 2000));
      const e = counts.get(key) ?? { text: m.content, times: 0 };
      e.times++;
      counts.set(key, e);
    }
    const worst = [...counts.values()].sort((a, b) => b.times - a.times)[0];
    if (worst && worst.times >= 3) loops.push({ run: s.run_id, ...worst });
  }
  if (loops.length === 0) return null;
  loops.sort((a, b) => b.times - a.times);
  return draft({
    category: 'prompt',
    severity: 'medium',
    title: 'AI agent repeats itself',
    description:
      `In ${loops.length} run(s) the agent sent the same message again and again: ` +
      `${loops.slice(0, 3).map((l) => `run #${l.run}: ${quote(l.text, 160)} ×${l.times}`).join('; ')}. It is stuck in a loop and burns tokens.`,
    current_state: loops[0]!.text.slice(0, 1000),
    suggested_change: 'Tell the agent in the prompt when to stop (a clear done condition) and what to do when a step fails, instead of retrying it.',
    expected_impact: 'Shorter sessions, fewer tokens, and an answer instead of a loop.',
    affected_files: [f.prompt?.path].filter((p): p is string => !!p),
  });
}

// ---------------------------------------------------------------------------------------------
// (m) runs killed by a signal or out of memory, (n) runs getting slower

const OOM = /out of memory|MemoryError|heap out of memory|oom-?kill|Cannot allocate memory|std::bad_alloc/i;
const KILLED = /\bKilled\b|SIGKILL|SIGTERM|Segmentation fault|SIGSEGV/;
const SIGNAL_EXITS = new Map([[124, 'timed out (124)'], [134, 'aborted (134)'], [137, 'killed (137, often out of memory)'], [139, 'segfault (139)'], [143, 'terminated (143)']]);

function ruleKilled(f: Facts): SuggestionDraft | null {
  const hits = f.failed.flatMap((run) => {
    const text = logText(f, run);
    const oom = text.find((l) => OOM.test(l));
    const killedLine = text.find((l) => KILLED.test(l));
    const byExit = run.exit_code !== null ? SIGNAL_EXITS.get(run.exit_code) : undefined;
    if (!oom && !killedLine && !byExit) return [];
    return [{ run, oom: !!oom, why: oom ? quote(oom, 120) : (byExit ?? quote(killedLine as string, 120)) }];
  });
  if (hits.length < 2) return null;
  const oomCount = hits.filter((h) => h.oom || h.run.exit_code === 137).length;
  return draft({
    category: 'reliability',
    severity: hits.length >= 3 || oomCount >= 2 ? 'high' : 'medium',
    title: 'Runs are killed (signal or out of memory)',
    description:
      `${hits.length} runs ended by a signal or memory exhaustion: ${hits.slice(0, 5).map((h) => `#${h.run.id} ${h.why}`).join('; ')}.`,
    current_state: `${oomCount} of ${hits.length} look like memory exhaustion`,
    suggested_change: oomCount
      ? 'Process the data in smaller batches or streams, or give the job more memory; check what grows between runs.'
      : 'Find what terminates the run (a runner or `timeout` limit, a deploy, the OOM killer) and either shorten the run or raise that limit.',
    expected_impact: 'Runs finish instead of being cut off midway, leaving no half-written output.',
    affected_files: [f.script?.path].filter((p): p is string => !!p),
  });
}

function ruleSlowingDown(f: Facts): SuggestionDraft | null {
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
    description:
      `Successful runs slowed from a median of ${formatDuration(before)} (${older.length} earlier runs) to ${formatDuration(now)} ` +
      `(the latest ${recent.length}: ${runList(recent, 5)}), ${(now / Math.max(1, before)).toFixed(1)}× as long.`,
    current_state: `median ${formatDuration(before)} then ${formatDuration(now)}`,
    suggested_change: 'Check what grew (input size, a table without an index, a slower dependency) and process only new data where possible.',
    expected_impact: 'Durations stop growing before they breach an SLA or overlap the next run.',
    affected_files: [f.script?.path].filter((p): p is string => !!p),
  });
}

// ---------------------------------------------------------------------------------------------

function facts(ctx: ReviewContext): Facts {
  const finished = ctx.runs.filter(isFinished);
  return {
    ctx,
    finished,
    failed: finished.filter(isFailed),
    logs: new Map(ctx.logs.map((l) => [l.run_id, l.lines])),
    config: ctx.files.find((file) => file.role === 'config'),
    script: ctx.files.find((file) => file.role === 'script'),
    prompt: ctx.files.find((file) => file.role === 'prompt'),
    fired: new Set(),
  };
}

/** Rules in order: later ones read `fired` to avoid repeating evidence an earlier one reported. */
const RULES: ((f: Facts) => SuggestionDraft | SuggestionDraft[] | null)[] = [
  ruleSecrets,
  ruleConfigRegression,
  ruleTransientWithoutRetry,
  ruleHiddenFailures,
  ruleKilled,
  ruleRecurringError,
  ruleSuccessRate,
  ruleSlaDuration,
  ruleOverlap,
  ruleSlowingDown,
  ruleSlaViolations,
  rulePromptSize,
  ruleAiUsage,
  ruleAgentLoops,
];

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** The built-in analyzer: every rule over the context, most severe first. */
export function analyzeWithRules(ctx: ReviewContext): SuggestionDraft[] {
  const f = facts(ctx);
  const out: SuggestionDraft[] = [];
  for (const rule of RULES) {
    const result = rule(f);
    for (const s of Array.isArray(result) ? result : result ? [result] : []) {
      f.fired.add(s.title);
      out.push(s);
    }
  }
  return out
    .map((s, i) => ({ s, i }))
    .sort((a, b) => SEVERITY_ORDER[a.s.severity] - SEVERITY_ORDER[b.s.severity] || a.i - b.i)
    .map(({ s }) => s);
}
