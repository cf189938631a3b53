// One ProcClaw run row (and its log lines) as this service's run record. Pure: no I/O.
import { JOB_ID_PATTERN } from '../../core/job.js';
import type { SlaStatus } from '../../core/review.js';
import type { NewRun } from '../../db/runs.js';
import type { ProcclawLogLine, ProcclawRunRow } from './source.js';

export const LOG_TAIL_LINES = 200;
const LOG_LINE_CHARS = 2_000;
const LOG_TAIL_BYTES = 64 * 1024;
const ERROR_CHARS = 20_000;
const SESSION_MESSAGES = 500;
const SESSION_MESSAGE_CHARS = 4_000;

export const externalIdOf = (procclawRunId: number): string => `procclaw-${procclawRunId}`;

export type Converted = { ok: true; run: NewRun } | { ok: false; reason: string };

/**
 * ProcClaw's timestamps are ISO strings (Python's isoformat, often without an offset) or
 * "YYYY-MM-DD HH:MM:SS"; a time without an offset is read in `naiveZone` (UTC unless told).
 */
export function parseProcclawTime(value: string | number | null | undefined, naiveZone = 'UTC'): Date | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? new Date(value > 1e12 ? value : value * 1000) : null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', offset] = m;
  const ms = Math.round(Number(`0.${frac}`) * 1000);
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (Number.isNaN(wall)) return null;
  if (offset) {
    if (offset.toUpperCase() === 'Z') return new Date(wall);
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    return new Date(wall - sign * minutes * 60_000);
  }
  return new Date(naiveZone === 'UTC' ? wall : zonedWallToUtc(wall, naiveZone));
}

/** The instant at which the wall-clock time `wall` (as if UTC) happens in `zone`. */
function zonedWallToUtc(wall: number, zone: string): number {
  const first = wall - zoneOffsetMs(zone, wall);
  const second = wall - zoneOffsetMs(zone, first);
  return second;
}

function zoneOffsetMs(zone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at / 1000) * 1000;
}

/** ProcClaw's SLA verdict as ours: `partial` (some checks failed) is a breach; `no_sla` is none. */
export function slaOf(row: Pick<ProcclawRunRow, 'sla_status' | 'sla_details' | 'exit_code' | 'duration_seconds'>): {
  sla_status: SlaStatus | null;
  sla_details: Record<string, unknown> | null;
} {
  const raw = row.sla_status?.trim().toLowerCase() || null;
  const details = parseJsonObject(row.sla_details);
  const status: SlaStatus | null = raw === null || raw === 'no_sla' ? null : raw === 'pass' ? 'pass' : raw === 'fail' || raw === 'partial' ? 'fail' : 'unknown';
  if (status === null && !details) return { sla_status: null, sla_details: null };
  const out: Record<string, unknown> = { ...(details ?? {}), procclaw_status: raw };
  if (status === 'fail' && typeof out.reason !== 'string') out.reason = slaReason(out, row);
  return { sla_status: status, sla_details: out };
}

function slaReason(details: Record<string, unknown>, row: Pick<ProcclawRunRow, 'exit_code' | 'duration_seconds'>): string {
  const reasons: string[] = [];
  const duration = typeof details.duration_seconds === 'number' ? details.duration_seconds : row.duration_seconds;
  if (details.duration_check === false) {
    const max = typeof details.max_duration === 'number' ? ` of ${details.max_duration} s` : '';
    reasons.push(`run took ${duration !== null && duration !== undefined ? Math.round(duration) : '?'} s, longer than the SLA max_duration${max}`);
  }
  if (details.on_time_check === false) {
    const delay = typeof details.delay_seconds === 'number' ? `${Math.round(details.delay_seconds)} s ` : '';
    reasons.push(`run started ${delay}late for its schedule`);
  }
  if (details.success_check === false) reasons.push(`run failed (exit ${row.exit_code ?? '?'})`);
  return reasons.length > 0 ? reasons.join('; ') : 'SLA breached (ProcClaw recorded the run as failing its SLA)';
}

/** Session messages (JSON text) as `{ role, content }` entries, the last SESSION_MESSAGES of them. */
export function sessionMessagesOf(text: string | null): { role: string; content: string; timestamp?: string }[] | null {
  if (!text) return null;
  let value: unknown;
  try {
    value = parseWithoutNul(text);
  } catch {
    return null;
  }
  const list = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.messages) ? value.messages : isRecord(value) ? [value] : null;
  if (!list) return null;
  return (list as unknown[]).slice(-SESSION_MESSAGES).map((entry) => {
    const record: Record<string, unknown> = isRecord(entry) ? entry : { content: entry };
    const inner = isRecord(record.message) ? record.message : record;
    const role = typeof inner.role === 'string' ? inner.role : typeof record.type === 'string' ? record.type : 'unknown';
    const content = cut(textOf(inner.content ?? inner.text ?? ''), SESSION_MESSAGE_CHARS);
    const timestamp = typeof record.timestamp === 'string' ? record.timestamp : undefined;
    return timestamp ? { role, content, timestamp } : { role, content };
  });
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === 'string') return part;
        if (!isRecord(part)) return JSON.stringify(part);
        if (typeof part.text === 'string') return part.text;
        if (typeof part.name === 'string') return `[${String(part.type ?? 'tool')}: ${part.name}]`;
        return JSON.stringify(part);
      })
      .join('\n');
  }
  return JSON.stringify(content);
}

/** The last lines of a run's log as one text, newest last, bounded. */
export function logTailOf(lines: ProcclawLogLine[]): string | null {
  if (lines.length === 0) return null;
  const kept: string[] = [];
  let bytes = 0;
  for (const entry of [...lines].reverse().slice(0, LOG_TAIL_LINES)) {
    const line = cut(String(entry.line ?? '').replace(/\r?\n$/, ''), LOG_LINE_CHARS);
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > LOG_TAIL_BYTES) break;
    kept.push(line);
  }
  return kept.reverse().join('\n');
}

/** The run as this service stores it, or why it cannot be imported. */
export function convertRun(row: ProcclawRunRow, logs: ProcclawLogLine[], opts: { naiveZone?: string } = {}): Converted {
  const jobId = String(row.job_id ?? '');
  if (!JOB_ID_PATTERN.test(jobId)) return { ok: false, reason: `job id ${JSON.stringify(jobId)} is not a valid job id` };
  const started = parseProcclawTime(row.started_at, opts.naiveZone);
  if (!started) return { ok: false, reason: `started_at ${JSON.stringify(row.started_at)} is not a time` };
  const finished = parseProcclawTime(row.finished_at, opts.naiveZone);
  const exit = typeof row.exit_code === 'number' && Number.isInteger(row.exit_code) && Math.abs(row.exit_code) <= 255 ? row.exit_code : null;
  const seconds = typeof row.duration_seconds === 'number' && Number.isFinite(row.duration_seconds) && row.duration_seconds >= 0 ? row.duration_seconds : null;
  const durationMs = seconds !== null ? Math.round(seconds * 1000) : finished ? Math.max(0, finished.getTime() - started.getTime()) : null;
  const sla = slaOf(row);
  return {
    ok: true,
    run: {
      job_id: jobId,
      external_id: externalIdOf(row.id),
      started_at: started,
      finished_at: finished,
      exit_code: exit,
      duration_ms: durationMs,
      trigger: row.trigger ? cut(String(row.trigger), 64) : null,
      error: row.error ? cut(String(row.error), ERROR_CHARS) : null,
      sla_status: sla.sla_status,
      sla_details: sla.sla_details,
      log_path: null,
      log_tail: logTailOf(logs),
      session_messages: sessionMessagesOf(row.session_messages),
    },
  };
}

/**
 * A run a person stopped (`procclaw stop`, or its API): ProcClaw records it with the error
 * "Manually stopped" and whatever exit code the signal gave (-15 for SIGTERM), and neither retries
 * nor heals it (supervisor.py, `was_manually_stopped`). It starts no reactive review here either.
 */
export function isManualStop(row: Pick<ProcclawRunRow, 'error'>): boolean {
  return typeof row.error === 'string' && row.error.trim() === 'Manually stopped';
}

/** A run ProcClaw has not finished yet. */
export function isRunning(run: Pick<NewRun, 'finished_at' | 'exit_code'>): boolean {
  return run.finished_at === null && run.exit_code === null;
}

function parseJsonObject(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = parseWithoutNul(text);
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Bounded, and without NUL: Postgres text holds none, and one would stop the import at that run. */
function cut(s: string, max: number): string {
  const clean = s.replaceAll('\0', '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** JSON.parse whose strings lose their NUL characters (a `\u0000` escape included). */
const parseWithoutNul = (text: string): unknown => JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' ? value.replaceAll('\0', '') : value));
