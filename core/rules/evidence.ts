// How the rules quote their evidence: durations, run ids, shares and log lines, each bounded so
// a suggestion stays readable however many runs it cites.
import { EVIDENCE_LIMITS, emptyEvidence, type Evidence, type JobFile } from '../review.js';
import type { Facts } from './facts.js';

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
export function runList(runs: { id: number }[], max = 8): string {
  const ids = runs.slice(0, max).map((r) => `#${r.id}`);
  const more = runs.length - ids.length;
  return more > 0 ? `${ids.join(', ')} and ${more} more` : ids.join(', ');
}

/** `part` of `whole` in percent, one decimal. */
export function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10;
}

export function quote(line: string, max = 300): string {
  const t = line.trim();
  return `"${t.length > max ? `${t.slice(0, max)}…` : t}"`;
}

// ---------------------------------------------------------------------------------------------
// A rule's evidence record: exactly the runs, log lines, file lines and SLA figures it fired on.

/** What a rule cites: its runs, the log lines it matched, lines of the job's files, its SLA figures. */
export interface Cited {
  runs?: { id: number }[];
  /** a log line the rule matched, as it stands in the run's log excerpt (a run's recorded error is no log line) */
  lines?: { run: number; line: string }[];
  /** a YAML key (its line and the block under it), or explicit line numbers (with the lines as shown, when they must be masked) */
  files?: ({ file: JobFile | undefined; key: RegExp } | { file: JobFile | undefined; from: number; to: number; lines?: string[] })[];
  sla?: Record<string, number | string | null>;
}

function cutLine(line: string): string {
  return line.length > EVIDENCE_LIMITS.lineChars ? `${line.slice(0, EVIDENCE_LIMITS.lineChars)}…` : line;
}

/** The line of `key` in a YAML file and the lines indented under it (1-based, inclusive), or null. */
function yamlBlock(content: string, key: RegExp): { from: number; to: number } | null {
  const lines = content.split('\n');
  const at = lines.findIndex((l) => key.test(l));
  if (at < 0) return null;
  const indent = /^\s*/.exec(lines[at] as string)![0].length;
  let end = at;
  while (end + 1 < lines.length && end - at + 1 < EVIDENCE_LIMITS.linesPerRange) {
    const next = lines[end + 1] as string;
    if (next.trim() && /^\s*/.exec(next)![0].length <= indent) break;
    end++;
  }
  while (end > at && !(lines[end] as string).trim()) end--;
  return { from: at + 1, to: end + 1 };
}

/** The evidence record of a rule's finding, bounded as an analyzer's (core/review.ts EVIDENCE_LIMITS). */
export function cite(f: Facts, c: Cited): Evidence {
  const evidence = emptyEvidence();
  const external = new Map(f.ctx.runs.map((r) => [r.id, r.external_id]));
  const runIds = [...new Set([...(c.runs ?? []).map((r) => r.id), ...(c.lines ?? []).map((l) => l.run)])];
  evidence.runs = runIds.slice(0, EVIDENCE_LIMITS.runs).map((id) => ({ id, external_id: external.get(id) ?? null }));
  let room: number = EVIDENCE_LIMITS.linesTotal;
  const seen = new Set<string>();
  for (const { run, line } of c.lines ?? []) {
    const at = f.logs.get(run)?.indexOf(line) ?? -1;
    const key = `${run}:${at}`;
    if (at < 0 || seen.has(key) || room <= 0 || evidence.log_lines.length >= EVIDENCE_LIMITS.ranges) continue;
    seen.add(key);
    evidence.log_lines.push({ run_id: run, file: null, from: at + 1, to: at + 1, lines: [cutLine(line)] });
    room--;
  }
  for (const part of c.files ?? []) {
    if (!part.file || evidence.config_lines.length >= EVIDENCE_LIMITS.ranges) continue;
    const all = part.file.content.split('\n');
    const range = 'key' in part ? yamlBlock(part.file.content, part.key) : { from: part.from, to: part.to };
    if (!range || range.from < 1 || range.to < range.from || range.to > all.length) continue;
    const shown = 'lines' in part && part.lines ? part.lines : all.slice(range.from - 1, range.to);
    const lines = shown.slice(0, Math.max(0, Math.min(room, EVIDENCE_LIMITS.linesPerRange))).map(cutLine);
    room -= lines.length;
    evidence.config_lines.push({ file: part.file.path, ...range, lines });
  }
  if (c.sla) evidence.sla = c.sla;
  return evidence;
}
