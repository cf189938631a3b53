// Stage two and a half: a suggestion's citations, checked against what the prompt actually sent.
// A run, a log line or a file line the review did not send is dropped and counted, never stored:
// the evidence shown to a person is only ever text the analyzer was given. Everything here is
// untrusted and bounded: the arrays examined, the ranges (checked by size before any line is
// looked at) and the lines kept.
import { posix } from 'node:path';
import { EVIDENCE_LIMITS, emptyEvidence, type Evidence } from '../review.js';
import { isObj } from './json.js';

/** Citable pieces of one analysis prompt, as sent (core/prompt.ts buildAnalysisPromptWithIndex). */
export interface SentContext {
  /** run id -> its external id, for every run the prompt names */
  runs: Map<number, string | null>;
  /** run id -> line number -> the line, for the lines of each run's log excerpt that were sent */
  logs: Map<number, Map<number, string>>;
  /** line number -> the line, of the business log excerpt */
  business: Map<number, string>;
  /** file path -> line number -> the line, for the lines of each job file that were sent */
  files: Map<string, Map<number, string>>;
}

/** The name the prompt gives the business log in log_lines citations. */
export const BUSINESS_LOG_CITATION = 'business_log';

/** Items of one citation list looked at; the rest are counted as dropped without being read. */
const MAX_EXAMINED = 200;

type LineRange = { from: number; to: number; lines: string[] };

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function asInt(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*#?\d{1,15}\s*$/.test(v) ? Number(v.trim().replace('#', '')) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

function boundLine(line: string): string {
  return line.length > EVIDENCE_LIMITS.lineChars ? `${line.slice(0, EVIDENCE_LIMITS.lineChars)}…` : line;
}

/** The lines from..to when every one of them was sent; null otherwise (the size is checked first). */
function sentRange(sent: Map<number, string> | undefined, fromRaw: unknown, toRaw: unknown, room: number): LineRange | null {
  if (!sent) return null;
  const from = asInt(fromRaw);
  const to = toRaw === undefined || toRaw === null ? from : asInt(toRaw);
  if (from === null || to === null || from < 1 || to < from || to - from + 1 > sent.size) return null;
  const lines: string[] = [];
  for (let n = from; n <= to; n++) {
    const line = sent.get(n);
    if (line === undefined) return null;
    if (lines.length < Math.min(room, EVIDENCE_LIMITS.linesPerRange)) lines.push(boundLine(line));
  }
  return { from, to, lines };
}

/** The sent file a cited path names: exactly, or by an unambiguous tail ("job.yaml"). */
function sentFile(raw: unknown, sent: SentContext): string | null {
  if (typeof raw !== 'string' || raw.length > 4096 || raw.includes('\0')) return null;
  const t = raw.trim().replace(/^[`'"]+|[`'"]+$/g, '');
  if (!t || t.split(/[\\/]+/).includes('..')) return null;
  const normal = posix.normalize(t);
  if (sent.files.has(normal)) return normal;
  if (posix.isAbsolute(normal)) return null;
  const rel = normal.replace(/^\.\//, '');
  const hits = [...sent.files.keys()].filter((p) => p === rel || p.endsWith(`/${rel}`));
  return hits.length === 1 ? (hits[0] as string) : null;
}

/** An SLA figure as the analyzer quoted it: a number or a short text, under a short key. */
function slaFigures(v: unknown): { sla: Evidence['sla']; dropped: number } {
  if (v === undefined || v === null) return { sla: null, dropped: 0 };
  if (!isObj(v)) return { sla: null, dropped: 1 };
  const sla: Record<string, number | string | null> = {};
  let dropped = 0;
  let seen = 0;
  for (const key in v) {
    if (++seen > MAX_EXAMINED) break;
    const value = v[key];
    const ok = key.length <= 60 && Object.keys(sla).length < EVIDENCE_LIMITS.slaKeys &&
      ((typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.length <= 300) || value === null);
    if (ok) sla[key] = value as number | string | null;
    else dropped++;
  }
  return { sla: Object.keys(sla).length ? sla : null, dropped };
}

/**
 * The evidence of one suggestion: each citation kept when it names what `sent` holds, with the
 * lines quoted from `sent` (not from the answer), and `dropped_citations` counting the others.
 * Never throws, whatever `raw` is.
 */
export function validateEvidence(raw: unknown, sent: SentContext): Evidence {
  const evidence = emptyEvidence();
  if (raw === undefined || raw === null) return evidence;
  if (!isObj(raw)) return { ...evidence, dropped_citations: 1 };
  let dropped = 0;
  const runs = new Map<number, string | null>();
  const addRun = (id: number) => {
    if (runs.has(id)) return true;
    if (runs.size >= EVIDENCE_LIMITS.runs) return false;
    runs.set(id, sent.runs.get(id) ?? null);
    return true;
  };
  const examine = (list: unknown[], one: (item: unknown) => boolean) => {
    for (const [i, item] of list.entries()) {
      if (i >= MAX_EXAMINED) {
        dropped += list.length - i;
        break;
      }
      if (!one(item)) dropped++;
    }
  };

  examine(asList(raw.runs), (item) => {
    const id = asInt(isObj(item) ? (item.id ?? item.run_id) : item);
    return id !== null && sent.runs.has(id) && addRun(id);
  });

  const seenRanges = new Set<string>();
  /** lines still to quote: a range past it is kept as its numbers only */
  let room: number = EVIDENCE_LIMITS.linesTotal;
  const keep = <T extends LineRange>(list: T[], key: string, range: T) => {
    if (seenRanges.has(key)) return true; // the same range twice is one citation
    if (list.length >= EVIDENCE_LIMITS.ranges) return false;
    seenRanges.add(key);
    list.push(range);
    room -= range.lines.length;
    return true;
  };

  examine(asList(raw.log_lines), (item) => {
    if (!isObj(item)) return false;
    const runId = item.run_id === undefined || item.run_id === null ? null : asInt(item.run_id);
    if (runId !== null) {
      const range = sentRange(sent.logs.get(runId), item.from, item.to, room);
      if (!range || !sent.runs.has(runId)) return false;
      addRun(runId);
      return keep(evidence.log_lines, `log:${runId}:${range.from}:${range.to}`, { run_id: runId, file: null, ...range });
    }
    if (item.file !== BUSINESS_LOG_CITATION) return false;
    const range = sentRange(sent.business, item.from, item.to, room);
    return !!range && keep(evidence.log_lines, `business:${range.from}:${range.to}`, { run_id: null, file: BUSINESS_LOG_CITATION, ...range });
  });

  examine(asList(raw.config_lines), (item) => {
    if (!isObj(item)) return false;
    const file = sentFile(item.file, sent);
    const range = file ? sentRange(sent.files.get(file), item.from, item.to, room) : null;
    return !!file && !!range && keep(evidence.config_lines, `file:${file}:${range.from}:${range.to}`, { file, ...range });
  });

  const sla = slaFigures(raw.sla);
  dropped += sla.dropped;
  evidence.sla = sla.sla;
  evidence.runs = [...runs].map(([id, external_id]) => ({ id, external_id: external_id === null ? null : external_id.slice(0, 300) }));
  evidence.dropped_citations = dropped;
  return evidence;
}
