// One ProcClaw run row (and its log lines) as this service's run record. Pure: no I/O.
import { JOB_ID_PATTERN } from '../../core/job.js';
import type { SlaStatus } from '../../core/review.js';
import type { NewRun } from '../../db/runs.js';
import { clockChangedBetween, describeInstant, instantsOfWallTime, latestInstantOf, readFinishedAt, readStartedAt, readWallTime } from './local-time.js';
import { runLogTailLines, type RunLogs } from './run-logs.js';
import type { ProcclawRunRow } from './source.js';

export const LOG_TAIL_LINES = 200;
/** JOB_ID_PATTERN's length limit, for the reason a longer ProcClaw job id is skipped with. */
const JOB_ID_MAX_LENGTH = 128;
const LOG_LINE_CHARS = 2_000;
const LOG_TAIL_BYTES = 64 * 1024;
const ERROR_CHARS = 20_000;
const SESSION_MESSAGES = 500;
const SESSION_MESSAGE_CHARS = 4_000;
/** How far ahead of this machine's clock a run may start, as the API allows a run report (api/schemas.ts RUN_CLOCK_SKEW_MS). */
export const FUTURE_SKEW_MS = 5 * 60_000;
/** The longest duration stored, as the API bounds a run report's duration_ms: ten years. */
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;
/** Runs before this are none a scheduler of today recorded (the API refuses them too). */
const EARLIEST_RUN_MS = Date.UTC(2000, 0, 1);

/** A run's id here: the first database's runs keep their plain ids; a replaced file's (generation 2 on) are told apart. */
export const externalIdOf = (procclawRunId: number, generation = 1): string =>
  generation > 1 ? `procclaw-g${generation}-${procclawRunId}` : `procclaw-${procclawRunId}`;

export type Converted = { ok: true; run: NewRun } | { ok: false; reason: string };

/** A ProcClaw timestamp as written: an instant (it carried an offset, or is epoch seconds), or a naive wall time. */
export type ProcclawTime = { instant: Date } | { wall: number };

/**
 * ProcClaw's timestamps are ISO strings (Python's isoformat, often without an offset) or
 * "YYYY-MM-DD HH:MM:SS"; a naive one is a wall time (as the UTC instant with the same fields).
 */
export function procclawTimeOf(value: string | number | null | undefined): ProcclawTime | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') {
    // Epoch seconds (or ms); beyond the range of a Date (±8.64e15 ms) it is no time.
    const at = new Date(value > 1e12 ? value : value * 1000);
    return Number.isFinite(value) && !Number.isNaN(at.getTime()) ? { instant: at } : null;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', offset] = m;
  const ms = Math.round(Number(`0.${frac}`) * 1000);
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (Number.isNaN(wall)) return null;
  if (!offset) return { wall };
  if (offset.toUpperCase() === 'Z') return { instant: new Date(wall) };
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
  return { instant: new Date(wall - sign * minutes * 60_000) };
}

/**
 * A ProcClaw timestamp as an instant; a naive one is read in `naiveZone` (UTC unless told), the
 * earlier reading where it is ambiguous (see procclawRunTimes for a run's, which uses its context).
 */
export function parseProcclawTime(value: string | number | null | undefined, naiveZone = 'UTC'): Date | null {
  const time = procclawTimeOf(value);
  if (!time) return null;
  return 'instant' in time ? time.instant : readWallTime(time.wall, naiveZone).at;
}

export interface ProcclawRunTimes {
  started: Date;
  finished: Date | null;
  duration_ms: number | null;
  /** how an ambiguous or skipped local time was read, and a duration corrected across a clock change; null when nothing was */
  note: string | null;
}

/**
 * A run's start, finish and duration as instants. Around a clock change a naive start is read
 * after `previousStart` (the run ProcClaw recorded before it: its ids grow in start order), else
 * before the finish; the finish not before the start. ProcClaw's `duration_seconds` is the
 * difference of its naive wall clocks (supervisor.py `_finalize_job`), off by the change for a
 * run that spans one: such a run gets finished - started instead.
 */
export function procclawRunTimes(
  row: Pick<ProcclawRunRow, 'started_at' | 'finished_at' | 'duration_seconds'>,
  opts: { naiveZone?: string; previousStart?: Date | null } = {},
): ProcclawRunTimes | { error: string } {
  const zone = opts.naiveZone ?? 'UTC';
  const startTime = procclawTimeOf(row.started_at);
  if (!startTime) return { error: `started_at ${JSON.stringify(row.started_at)} is not a time` };
  const finishTime = procclawTimeOf(row.finished_at);
  const notes: string[] = [];
  let started: Date;
  if ('instant' in startTime) started = startTime.instant;
  else {
    const latestFinish = !finishTime ? null : 'instant' in finishTime ? finishTime.instant : latestInstantOf(finishTime.wall, zone);
    const reading = readStartedAt(startTime.wall, zone, { previousStart: opts.previousStart ?? null, latestFinish });
    started = reading.at;
    if (reading.note) notes.push(reading.note);
  }
  let finished: Date | null = null;
  if (finishTime && 'instant' in finishTime) finished = finishTime.instant;
  else if (finishTime) {
    const reading = readFinishedAt(finishTime.wall, zone, started);
    finished = reading.at;
    if (reading.note) notes.push(reading.note);
  }
  if (row.finished_at !== null && row.finished_at !== undefined && row.finished_at !== '' && !finishTime) {
    notes.push(`finished_at ${shown(row.finished_at)} is not a time; the run is stored without a finish`);
  }
  // Every duration stored is a real one: a number Postgres's bigint holds, not negative, at most MAX_DURATION_MS.
  const seconds = typeof row.duration_seconds === 'number' ? row.duration_seconds : null;
  const recordedMs = seconds !== null && Number.isFinite(seconds) ? Math.round(seconds * 1000) : null;
  const measuredMs = finished ? finished.getTime() - started.getTime() : null;
  const naive = !('instant' in startTime) || (finishTime !== null && !('instant' in finishTime));
  let durationMs: number | null;
  if (measuredMs !== null && measuredMs < 0) {
    // Not invented: ProcClaw's clock was set back during the run, or the row was written by hand.
    notes.push(`finished_at ${describeTime(finished!, zone)} is before started_at ${describeTime(started, zone)}: no duration is stored`);
    durationMs = null;
  } else if (finished && naive && clockChangedBetween(zone, started, finished)) {
    if (recordedMs !== null && recordedMs !== measuredMs) {
      notes.push(`duration_seconds ${seconds} is the difference of ProcClaw's wall clocks across the clock change; stored the real ${measuredMs! / 1000} s (finished_at - started_at)`);
    }
    durationMs = measuredMs;
  } else if (recordedMs !== null && isDuration(recordedMs)) {
    durationMs = recordedMs;
  } else if (seconds !== null) {
    const measured = measuredMs !== null && isDuration(measuredMs);
    durationMs = measured ? measuredMs : null;
    const instead = measured ? `stored finished_at - started_at, ${measuredMs! / 1000} s, instead` : `no duration is stored${measuredMs !== null ? ` (finished_at - started_at is ${daysOf(measuredMs)} days)` : ''}`;
    notes.push(`duration_seconds ${seconds} is not a run's duration (negative, not finite, or over ten years); ${instead}`);
  } else {
    durationMs = measuredMs;
  }
  if (durationMs !== null && !isDuration(durationMs)) {
    notes.push(`the run would have lasted ${daysOf(durationMs)} days, more than ten years: no duration is stored`);
    durationMs = null;
  }
  return { started, finished, duration_ms: durationMs, note: notes.length > 0 ? notes.join('; ') : null };
}

const isDuration = (ms: number): boolean => Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_DURATION_MS;
const daysOf = (ms: number): number => Math.round(ms / 86_400_000);

/** An instant for a note: ISO, with the wall time in `zone` where that is not UTC. */
function describeTime(at: Date, zone: string): string {
  return zone === 'UTC' ? at.toISOString() : `${at.toISOString()} (${describeInstant(at, zone)})`;
}

/** A value as a note quotes it: JSON, at most 80 characters. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 79)}…` : text);
}

/** The instants a ProcClaw timestamp may name: one; two for a naive time the clock went back over; none for one it skipped, or no time. */
export function readingsOfProcclawTime(value: string | number | null | undefined, naiveZone = 'UTC'): Date[] {
  const time = procclawTimeOf(value);
  if (!time) return [];
  return 'instant' in time ? [time.instant] : instantsOfWallTime(time.wall, naiveZone);
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

/**
 * The last lines of a run's log as one text, newest last, bounded: its stdout, then the stderr
 * lines it wrote (a marker line stands for the error log's earlier lines); null without any.
 */
export function logTailOf(logs: Pick<RunLogs, 'stdout' | 'stderr' | 'errorLogName'>): string | null {
  if (logs.stdout.length === 0 && logs.stderr.own.length === 0 && logs.stderr.carriedOver === 0) return null;
  const kept: string[] = [];
  let bytes = 0;
  for (const entry of runLogTailLines(logs).reverse().slice(0, LOG_TAIL_LINES)) {
    const line = cut(String(entry ?? '').replace(/\r?\n$/, ''), LOG_LINE_CHARS);
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > LOG_TAIL_BYTES) break;
    kept.push(line);
  }
  return kept.reverse().join('\n');
}

/**
 * The run as this service stores it, or why it cannot be imported. Every value is one the API
 * would accept in a run report: a run it would refuse is skipped here with the reason, not stored
 * behind its back.
 */
export function convertRun(
  row: ProcclawRunRow,
  /** its stored log lines (source.ts runLogs); `logFile` becomes log_path when a finished run has none */
  logs: RunLogs,
  /**
   * previousStart: the start of the run ProcClaw recorded before this one, which tells an
   * ambiguous local start apart; now: this machine's clock (a run may not start in its future)
   */
  opts: { naiveZone?: string; previousStart?: Date | null; now?: Date } = {},
): Converted {
  const idProblem = runIdProblem(row);
  if (idProblem) return { ok: false, reason: idProblem };
  const jobId = String(row.job_id ?? '');
  const jobProblem = jobIdProblem(jobId);
  if (jobProblem) return { ok: false, reason: jobProblem };
  const times = procclawRunTimes(row, opts);
  if ('error' in times) return { ok: false, reason: times.error };
  const now = (opts.now ?? new Date()).getTime();
  if (times.started.getTime() > now + FUTURE_SKEW_MS) {
    return {
      ok: false,
      reason: `started_at ${shown(row.started_at)} (read as ${times.started.toISOString()}) is in the future, more than ${FUTURE_SKEW_MS / 60_000} minutes ahead of this machine's clock: ProcClaw's clock was wrong, or its local times are read in the wrong zone (see --timezone)`,
    };
  }
  if (times.started.getTime() < EARLIEST_RUN_MS) {
    // The run happened (a machine without a clock starts jobs at boot, before NTP sets it): its
    // history is kept, with the note; the API refuses such a start, so it is stored directly.
    const note = `started_at ${shown(row.started_at)} (read as ${times.started.toISOString()}) is before 2000-01-01: ProcClaw's clock was not set when it recorded the run`;
    times.note = times.note ? `${times.note}; ${note}` : note;
  }
  if (times.finished && times.finished.getTime() > now + FUTURE_SKEW_MS) {
    // The run happened (it started in the past); a finish ahead of the clock is none to store.
    const note = `finished_at ${shown(row.finished_at)} (read as ${times.finished.toISOString()}) is in the future, more than ${FUTURE_SKEW_MS / 60_000} minutes ahead of this machine's clock: the run is stored without a finish`;
    times.note = times.note ? `${times.note}; ${note}` : note;
    times.finished = null;
  }
  const exit = typeof row.exit_code === 'number' && Number.isInteger(row.exit_code) && Math.abs(row.exit_code) <= 255 ? row.exit_code : null;
  const sla = slaOf(row);
  const tail = logTailOf(logs);
  return {
    ok: true,
    run: {
      job_id: jobId,
      external_id: externalIdOf(row.id),
      started_at: times.started,
      finished_at: times.finished,
      exit_code: exit,
      duration_ms: times.duration_ms,
      trigger: row.trigger ? cut(String(row.trigger), 64) : null,
      error: row.error ? cut(String(row.error), ERROR_CHARS) : null,
      sla_status: sla.sla_status,
      sla_details: sla.sla_details,
      log_path: tail === null && (times.finished !== null || exit !== null) ? logs.logFile : null,
      log_tail: tail,
      session_messages: sessionMessagesOf(row.session_messages),
      time_note: times.note,
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

/** Why a run's id cannot be its external id, or null: it must be a whole number from 1 to 2^53 - 1, which a JavaScript number holds exactly. */
function runIdProblem(row: Pick<ProcclawRunRow, 'id' | 'id_text'>): string | null {
  const id = row.id as unknown;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return null;
  if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
    return `run id ${row.id_text ?? String(id)} is above ${Number.MAX_SAFE_INTEGER}, beyond which this import cannot tell neighbouring ids apart (it would store it as another run)`;
  }
  if (typeof id === 'number' && Number.isInteger(id)) return `run id ${row.id_text ?? String(id)} is not above 0: ProcClaw numbers its runs from 1, so the row was not written by it`;
  return `run id ${shown(row.id_text ?? id)} is not a whole number`;
}

/** Why a ProcClaw job id is no job id here, or null; a long one is named by its start and length. */
function jobIdProblem(jobId: string): string | null {
  if (JOB_ID_PATTERN.test(jobId)) return null;
  if (jobId.length > JOB_ID_MAX_LENGTH && JOB_ID_PATTERN.test(jobId.slice(0, JOB_ID_MAX_LENGTH))) {
    return `job id ${shown(jobId)} has ${jobId.length} characters; a job id here has at most ${JOB_ID_MAX_LENGTH}`;
  }
  return `job id ${shown(jobId)} is not a valid job id: letters, digits, ".", "_" or "-", starting with a letter or digit, at most ${JOB_ID_MAX_LENGTH} characters`;
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
