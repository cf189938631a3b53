// A fresh run as a run report to the service's API (POST /api/v1/jobs/{id}/runs), and what its
// answer means for the import. The report is bounded to fit what the API accepts
// (core/run-report.ts): an OpenClaw run with hundreds of long session messages would otherwise
// exceed the API's body limit, be refused with 413 at every pass, and hold back the runs after it.
import { API_BODY_LIMIT_BYTES, RUN_REPORT_LIMITS } from '../../core/run-report.js';
import type { NewRun } from '../../db/runs.js';

/** What a report may weigh: well under the API's limit, so a report never meets it. */
export const RUN_REPORT_MAX_BYTES = Math.floor(API_BODY_LIMIT_BYTES * 0.75);

/** The API cannot be reached, or refuses every report alike (5xx, 401/403, 429): the pass fails and is tried again. */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError';
}

export interface RunReportBody {
  external_id: string;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  duration_ms: number | null;
  trigger: string | null;
  error: string | null;
  sla_status: string | null;
  sla_details: Record<string, unknown> | null;
  log_tail: string | null;
  session_messages: unknown[] | null;
  /** the job's ProcClaw log file, for a run ProcClaw stored no lines of (the API checks it is a place it may read) */
  log_path?: string;
}

/** What was left out of a report to fit; null when it was sent whole. */
export interface Shortening {
  /** the oldest session messages, replaced by one marker entry */
  session_messages_left_out: number;
  session_messages_total: number;
  /** the log tail's first lines, replaced by one marker line */
  log_lines_left_out: number;
  /** the end of the error, replaced by a marker */
  error_chars_left_out: number;
}

export interface BuiltReport {
  body: RunReportBody;
  /** its size as sent: bytes of its JSON */
  bytes: number;
  shortened: Shortening | null;
}

/** The marker entry that stands for the session messages left out. */
export function sessionMarker(leftOut: number): { role: string; content: string } {
  return { role: 'system', content: `[${leftOut} earlier session message${leftOut === 1 ? '' : 's'} left out to fit the run report]` };
}

/**
 * The run as a report of at most `maxBytes` bytes of JSON, within the API's field bounds. To fit,
 * it leaves out, in this order: the oldest session messages (a marker entry says how many), the
 * start of the log tail (a marker line says how many lines), the end of the error. A report that
 * still does not fit (its SLA details alone too large) is returned as it is; the API refuses it.
 */
export function buildRunReport(run: NewRun, maxBytes = RUN_REPORT_MAX_BYTES): BuiltReport {
  const messages = Array.isArray(run.session_messages) ? (run.session_messages as unknown[]) : null;
  const error = run.error;
  const log = run.log_tail;
  const body: RunReportBody = {
    external_id: run.external_id,
    started_at: run.started_at.toISOString(),
    finished_at: run.finished_at ? run.finished_at.toISOString() : null,
    exit_code: run.exit_code,
    duration_ms: run.duration_ms,
    trigger: run.trigger,
    error,
    sla_status: run.sla_status,
    sla_details: (run.sla_details as Record<string, unknown> | null) ?? null,
    log_tail: log,
    session_messages: messages,
    ...(run.log_path ? { log_path: run.log_path } : {}),
  };
  let messagesLeftOut = 0;
  let logFrom = 0;
  let errorKept = error?.length ?? 0;

  // The API's field bounds first (a marker entry or line counts toward them too).
  if (messages && messages.length > RUN_REPORT_LIMITS.session_messages) messagesLeftOut = messages.length - (RUN_REPORT_LIMITS.session_messages - 1);
  if (log !== null && log.length > RUN_REPORT_LIMITS.log_tail_chars) logFrom = smallestFitting(0, log.length, (from) => logWithout(log, from).length <= RUN_REPORT_LIMITS.log_tail_chars);
  if (error !== null && error.length > RUN_REPORT_LIMITS.error_chars) {
    errorKept = largestFitting(0, error.length, (kept) => errorWithout(error, kept).length <= RUN_REPORT_LIMITS.error_chars);
  }
  const apply = () => {
    body.session_messages = messages && messagesLeftOut > 0 ? [sessionMarker(messagesLeftOut), ...messages.slice(messagesLeftOut)] : messages;
    body.log_tail = log !== null ? logWithout(log, logFrom) : null;
    body.error = error !== null ? errorWithout(error, errorKept) : null;
  };
  apply();

  let bytes = jsonBytes(body);
  if (bytes > maxBytes && messages && messages.length > 0) {
    // Bytes of the report with every message from `from` on kept, counted without building it.
    const without = { ...body, session_messages: null };
    const fixed = jsonBytes(without) - 'null'.length;
    const sizes = messages.map((m) => Buffer.byteLength(JSON.stringify(m) ?? 'null'));
    const keptBytes = new Array<number>(messages.length + 1).fill(0);
    for (let i = messages.length - 1; i >= 0; i--) keptBytes[i] = keptBytes[i + 1]! + sizes[i]! + 1; // each with its comma
    const sizeWith = (from: number) => {
      const marker = from > 0 ? Buffer.byteLength(JSON.stringify(sessionMarker(from))) + 1 : 0;
      return fixed + 2 + marker + keptBytes[from]! - (marker > 0 || from < messages.length ? 1 : 0);
    };
    let from = messagesLeftOut;
    while (from < messages.length && sizeWith(from) > maxBytes) from++;
    messagesLeftOut = from;
    apply();
    bytes = jsonBytes(body);
  }
  if (bytes > maxBytes && log) {
    const fixed = jsonBytes({ ...body, log_tail: null }) - 'null'.length;
    logFrom = smallestFitting(logFrom, log.length, (from) => fixed + jsonBytes(logWithout(log, from)) <= maxBytes);
    apply();
    bytes = jsonBytes(body);
  }
  if (bytes > maxBytes && error) {
    const fixed = jsonBytes({ ...body, error: null }) - 'null'.length;
    errorKept = largestFitting(0, errorKept, (kept) => fixed + jsonBytes(errorWithout(error, kept)) <= maxBytes);
    apply();
    bytes = jsonBytes(body);
  }

  const logCut = log !== null && logFrom > 0 ? linesBefore(log, lineStart(log, logFrom)) : null;
  const logLinesLeftOut = logCut ? logCut.whole + (logCut.partial ? 1 : 0) : 0;
  const errorLeftOut = error !== null ? error.length - errorKept : 0;
  const shortened =
    messagesLeftOut + logLinesLeftOut + errorLeftOut > 0
      ? { session_messages_left_out: messagesLeftOut, session_messages_total: messages?.length ?? 0, log_lines_left_out: logLinesLeftOut, error_chars_left_out: errorLeftOut }
      : null;
  return { body, bytes, shortened };
}

/** "the oldest 300 of 405 session messages, the first 12 log line(s) left out": for the import's log line. */
export function describeShortening(s: Shortening): string {
  const parts: string[] = [];
  if (s.session_messages_left_out > 0) parts.push(`the oldest ${s.session_messages_left_out} of ${s.session_messages_total} session messages`);
  if (s.log_lines_left_out > 0) parts.push(`the first ${s.log_lines_left_out} log line(s)`);
  if (s.error_chars_left_out > 0) parts.push(`the last ${s.error_chars_left_out} characters of the error`);
  return `${parts.join(', ')} left out`;
}

/** The log from the line at or after `from` on, behind a marker line; `from` 0 is the whole log. */
function logWithout(log: string, from: number): string {
  if (from <= 0) return log;
  const start = lineStart(log, from);
  const { whole, partial } = linesBefore(log, start);
  const marker = `[${whole} earlier log line${whole === 1 ? '' : 's'}${partial ? ' and the start of the next' : ''} left out to fit the run report]`;
  return start >= log.length ? marker : `${marker}\n${log.slice(start)}`;
}

/** Where the kept log starts: the next whole line at or after `from`, or `from` itself within a last line too long to keep. */
function lineStart(log: string, from: number): number {
  if (from <= 0 || from >= log.length || log[from - 1] === '\n') return Math.min(Math.max(from, 0), log.length);
  const newline = log.indexOf('\n', from);
  if (newline !== -1) return newline + 1;
  // Never between the two halves of a surrogate pair.
  const code = log.charCodeAt(from);
  return code >= 0xdc00 && code <= 0xdfff ? from + 1 : from;
}

/** The lines wholly before `start`, and whether it cuts into one. */
function linesBefore(log: string, start: number): { whole: number; partial: boolean } {
  let whole = 0;
  for (let i = log.indexOf('\n'); i !== -1 && i < start; i = log.indexOf('\n', i + 1)) whole++;
  if (start > 0 && log[start - 1] !== '\n') {
    if (start >= log.length) return { whole: whole + 1, partial: false }; // the last line, all of it
    return { whole, partial: true };
  }
  return { whole, partial: false };
}

/** The error's first `kept` characters, then a marker; the whole error when it is all kept. */
function errorWithout(error: string, kept: number): string {
  if (kept >= error.length) return error;
  let end = kept;
  const code = error.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end--; // no half of a surrogate pair
  return `${error.slice(0, end)}… [${error.length - end} characters left out to fit the run report]`;
}

/** The smallest n in [low, high] for which `fits` holds (it holds for every larger n), else high. */
function smallestFitting(low: number, high: number, fits: (n: number) => boolean): number {
  let lo = low;
  let hi = high;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The largest n in [low, high] for which `fits` holds (it holds for every smaller n), else low. */
function largestFitting(low: number, high: number, fits: (n: number) => boolean): number {
  let lo = low;
  let hi = high;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * The API's answer to one report: `accepted` (stored; `body` is its answer), `unknown_job` (404:
 * a job its catalog does not have), or `rejected` (another 4xx: this report, not the import, is
 * at fault). Anything that would refuse every report alike throws ApiUnreachableError.
 */
export type RunReportAnswer =
  | { outcome: 'accepted'; status: number; body: Record<string, unknown> | null; shortened: Shortening | null }
  | { outcome: 'unknown_job'; status: 404; shortened: Shortening | null }
  | { outcome: 'rejected'; status: number; reason: string; shortened: Shortening | null };

export async function postRunReport(api: { url: string; token: string | null }, run: NewRun): Promise<RunReportAnswer> {
  const report = buildRunReport(run);
  const url = `${api.url.replace(/\/+$/, '')}/api/v1/jobs/${encodeURIComponent(run.job_id)}/runs`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(api.token ? { authorization: `Bearer ${api.token}` } : {}) },
      body: JSON.stringify(report.body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new ApiUnreachableError(`the API at ${api.url} is unreachable (${(error as Error).cause ? String(((error as Error).cause as Error).message ?? (error as Error).cause) : (error as Error).message})`);
  }
  const text = await response.text();
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = null;
  }
  if (response.ok) return { outcome: 'accepted', status: response.status, body: parsed, shortened: report.shortened };
  if (response.status === 404) return { outcome: 'unknown_job', status: 404, shortened: report.shortened };
  const message = (typeof parsed?.error === 'string' ? parsed.error : text).slice(0, 300);
  // Refusals that every report would get alike (the API down, our token refused, too many reports
  // at once): the pass fails and is tried again, nothing is passed over.
  if (response.status >= 500 || response.status === 401 || response.status === 403 || response.status === 408 || response.status === 429 || response.status < 400) {
    throw new ApiUnreachableError(`the API at ${api.url} refused run ${run.external_id} of ${run.job_id}: ${response.status} ${message}`);
  }
  return { outcome: 'rejected', status: response.status, reason: message, shortened: report.shortened };
}
