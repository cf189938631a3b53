// Collects what a review looks at, per the job's review_scope, every piece bounded in size.
import { constants, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolveDefaultTimeZone } from '../core/config.js';
import { cronIntervalSeconds } from '../core/cron-interval.js';
import { contextFingerprint, type ContextFingerprint } from '../core/context-fingerprint.js';
import { sha256 } from '../core/hash.js';
import { jobFilePaths } from '../core/job-files.js';
import { forbiddenReason } from '../core/path-guard.js';
import { asProcclawLogFile, procclawLogsDir, type ProcclawLogFiles } from '../core/procclaw-log-files.js';
import type { ReadPlacesEnv } from '../core/read-places.js';
import { jobTimeZone, type DefaultTimeZone, type Job } from '../core/job.js';
import { belowMinRunsReason, type JobFile, type MissingContext, type RejectionNote, type ReviewContext, type RunLog, type RunSummary, type SessionMessage, type Trigger } from '../core/review.js';
import type { Db } from '../db/knex.js';
import { lastCompletedReview } from '../db/reviews.js';
import { getRun, runsSince, type RunRecord } from '../db/runs.js';
import { readHead, readTailLines } from './log-tail.js';
import { checkReadPath } from './read-guard.js';

export const LIMITS = {
  runs: 200,
  logRuns: 5,
  logLinesPerRun: 60,
  logBytesPerRun: 32 * 1024,
  fileBytes: 128 * 1024,
  sessionRuns: 3,
  sessionMessages: 30,
  sessionMessageChars: 2_000,
  businessLogBytes: 64 * 1024,
};

/** A context, with its fingerprint (absent from older workers' results), or why the review is skipped. */
export type CollectResult = { skip: string; context?: undefined } | { skip?: undefined; context: ReviewContext; fingerprint?: ContextFingerprint };

export async function collectReviewContext(
  db: Db,
  job: Job,
  input: { trigger: Trigger; runId?: number | null; force?: boolean },
  env: { home: string; procclawHome: string; now: Date; dataDir?: string | null; logRoots?: readonly string[]; defaultTimeZone?: DefaultTimeZone },
  /** the analyzer settings that could change the answer (mode, agent, thinking), for the fingerprint */
  analyzer: Record<string, unknown> = {},
): Promise<CollectResult> {
  const healing = job.config.self_healing;
  const scope = healing.review_scope;
  // The job's mode decides what is analysed (reactive: the failed run; proactive: the runs since
  // the last review), the trigger only when. A failure or SLA breach always gets its look:
  // min_runs holds back scheduled and manual reviews only (force lifts it).
  const reactive = healing.mode === 'reactive';
  const problemTrigger = input.trigger === 'on_failure' || input.trigger === 'on_sla_breach';
  const problemRun = async () => {
    const run = input.runId ? await getRun(db, input.runId) : await latestProblemRun(db, job.id, env.now, healing.review_schedule.max_lookback_days);
    return run && run.job_id === job.id ? run : undefined;
  };

  let runs: RunRecord[];
  /** what the review will not see, recorded on every suggestion it makes */
  const missing: MissingContext[] = [];
  /** the run that triggered the review, whose log is read first */
  let focus: RunRecord | undefined;
  if (reactive) {
    focus = await problemRun();
    if (!focus) return { skip: 'reactive review: no failed run of this job to look at' };
    runs = [focus];
  } else {
    const last = await lastCompletedReview(db, job.id);
    const lookback = new Date(env.now.getTime() - healing.review_schedule.max_lookback_days * 86_400_000);
    const since = last && last.started_at > lookback ? last.started_at : lookback;
    runs = await runsSince(db, job.id, since, LIMITS.runs);
    missing.push(...(await unseenRuns(db, job.id, { runs: runs.length, since, lookback, lookbackDays: healing.review_schedule.max_lookback_days })));
    if (problemTrigger) {
      focus = await problemRun();
      const found = focus && runs.find((r) => r.id === focus!.id);
      if (found) focus = found;
      else if (focus) runs = [...runs, focus]; // older than the window or the last review: still the run this review is about
    } else {
      const minRuns = healing.review_schedule.min_runs;
      if (runs.length < minRuns && !input.force) {
        return { skip: belowMinRunsReason(runs.length, since, minRuns) };
      }
    }
  }

  const paths = jobFilePaths(job, env);
  const files: JobFile[] = [];
  if (scope.analyze_config) pushFile(files, await readJobFile('config', paths.config, env.home));
  if (scope.analyze_script && paths.script) pushFile(files, await readJobFile('script', paths.script, env.home));
  if (scope.analyze_prompt) {
    // The first candidate that exists is the prompt (an `oc-<stem>` job's prompts/<stem>.md after prompts/<id>.md), as the apply guard takes it.
    for (const candidate of paths.promptCandidates) {
      if (!(await realpath(candidate).catch(() => null))) continue;
      pushFile(files, await readJobFile('prompt', candidate, env.home));
      break;
    }
  }

  missing.push(...missingFiles(files, { config: scope.analyze_config ? paths.config : null, script: scope.analyze_script ? paths.script : null }));

  const logs: RunLog[] = [];
  if (scope.analyze_logs) {
    // Several runs ProcClaw stored no lines for point at the same job log file: it is read once.
    const filesRead = new Set<string>();
    const ordered = focus ? [focus, ...runs.filter((r) => r !== focus)] : runs;
    const cutShort: number[] = [];
    const unreadable: string[] = [];
    for (const run of ordered.slice(0, LIMITS.logRuns)) {
      if (!run.log_tail && run.log_path) {
        if (filesRead.has(run.log_path)) continue;
        filesRead.add(run.log_path);
      }
      const lines = await runLogLines(run, job, env);
      if (lines.length > 0) logs.push({ run_id: run.id, exit_code: run.exit_code, lines });
      if (run.log_tail ? run.log_tail.split('\n').length > LIMITS.logLinesPerRun : lines.length >= LIMITS.logLinesPerRun) cutShort.push(run.id);
      const note = lines.length === 1 ? UNREAD_LOG_NOTE.exec(lines[0] as string) : null;
      if (note) unreadable.push(`run #${run.id}: ${note[1]}`);
    }
    if (cutShort.length) missing.push({ kind: 'truncated_log', detail: `only the last ${LIMITS.logLinesPerRun} lines of the log of run(s) ${idList(cutShort)} were read; earlier lines were not seen` });
    if (unreadable.length) missing.push({ kind: 'unreadable_log', detail: `log(s) not read: ${unreadable.slice(0, 3).join('; ')}${unreadable.length > 3 ? `; and ${unreadable.length - 3} more` : ''}` });
    const unread = ordered.slice(LIMITS.logRuns).filter((r) => r.log_tail || r.log_path).length;
    if (unread > 0) missing.push({ kind: 'logs_not_read', detail: `the logs of ${unread} more run(s) were not read: a review reads the logs of ${LIMITS.logRuns} runs` });
  }

  const sessions: ReviewContext['ai_sessions'] = [];
  if (scope.analyze_ai_sessions) {
    for (const run of runs.filter((r) => Array.isArray(r.session_messages)).slice(0, LIMITS.sessionRuns)) {
      sessions.push({ run_id: run.id, messages: boundMessages(run.session_messages as unknown[]) });
    }
  }

  const configStat = await stat(paths.config).catch(() => null);
  const context: ReviewContext = {
    job_id: job.id,
    job: job.config,
    mode: reactive ? 'reactive' : 'proactive',
    trigger: input.trigger,
    schedule_interval_s: cronIntervalSeconds(job.config.schedule),
    job_timezone: jobTimeZone(job.config, env.defaultTimeZone ?? resolveDefaultTimeZone(undefined)),
    runs: scope.analyze_runs || reactive ? runs.map(summarise) : [],
    logs,
    files,
    sla_violations: scope.analyze_sla ? runs.filter((r) => r.sla_status === 'fail').map((r) => ({ run_id: r.id, reason: slaReason(r) })) : [],
    ai_sessions: sessions,
    business_log: await readBusinessLog(job, env),
    config_changed_at: configStat ? configStat.mtime.toISOString() : null,
    rejections: await recentRejections(db, job.id, env.now),
    missing,
  };
  return { context, fingerprint: contextFingerprint(context, runs.map(summarise), analyzer) };
}

/** How much of what people rejected a review is told: the newest few of the last 90 days, each bounded. */
export const REJECTION_LIMITS = { days: 90, count: 10, titleChars: 200, reasonChars: 500 };

/**
 * The job's suggestions people rejected lately, newest first, with the silence each still has:
 * the next analysis is told not to propose them again unless the evidence changed. Redacted with
 * the rest of the context before any analyzer sees it (core/redact.ts).
 */
export async function recentRejections(db: Db, jobId: string, now: Date): Promise<RejectionNote[]> {
  const since = new Date(now.getTime() - REJECTION_LIMITS.days * 86_400_000);
  const rows = (await db('healing_suggestions')
    .where({ job_id: jobId, status: 'rejected' })
    .andWhere('reviewed_at', '>', since)
    .orderBy('reviewed_at', 'desc')
    .orderBy('id', 'desc')
    .limit(REJECTION_LIMITS.count)
    .select('fingerprint', 'title', 'category', 'rejection_reason', 'reviewed_at')) as { fingerprint: string; title: string; category: string; rejection_reason: string | null; reviewed_at: Date }[];
  if (rows.length === 0) return [];
  const silences = (await db('job_silences')
    .where('job_id', jobId)
    .whereIn('fingerprint', rows.map((r) => r.fingerprint))
    .whereNull('lifted_at')
    .andWhere((w) => w.where('kind', 'never').orWhere('until', '>', now))
    .select('fingerprint', 'kind', 'until')) as { fingerprint: string; kind: 'never' | 'not_now'; until: Date | null }[];
  const bound = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
  return rows.map((r) => {
    const silence = silences.find((x) => x.fingerprint === r.fingerprint && x.kind === 'never') ?? silences.find((x) => x.fingerprint === r.fingerprint);
    return {
      title: bound(r.title, REJECTION_LIMITS.titleChars),
      category: r.category,
      reason: bound(r.rejection_reason ?? '', REJECTION_LIMITS.reasonChars),
      rejected_at: r.reviewed_at.toISOString(),
      silenced: !silence ? null : silence.kind === 'never' ? { kind: 'never' } : { kind: 'not_now', until: (silence.until as Date).toISOString() },
    };
  });
}

async function latestProblemRun(db: Db, jobId: string, now: Date, lookbackDays: number): Promise<RunRecord | undefined> {
  const since = new Date(now.getTime() - lookbackDays * 86_400_000);
  return db('job_runs')
    .where('job_id', jobId)
    .andWhere('started_at', '>', since)
    .andWhere((q) => q.whereNot('exit_code', 0).orWhere('sla_status', 'fail'))
    .orderBy('started_at', 'desc')
    .first();
}

/** Files never read for a review, even when a job or a run report names them. */
const UNREADABLE = /^\/(?:proc|sys|dev)(?:\/|$)|^\/(?:private\/)?etc\/(?:shadow|gshadow|sudoers|master\.passwd|ssh\/)/;

/**
 * The real path of a file a review may read, or null: a regular file (a FIFO or a device would
 * block or never end), not a credential (.ssh, .aws, .env, .netrc...), not under /proc, /sys or
 * /dev, wherever a job's config, a run report or a symlink points. System folders stay readable
 * (a job may run /usr/local/bin/backup.sh; the apply step still never writes there).
 */
export async function readablePath(file: string, home: string): Promise<string | null> {
  const found = await inspectReadable(file, home);
  return found.ok ? found.real : null;
}

/** What a review is told of a file it may not read: the generic words, unless a more useful reason is known. */
export const NOT_READABLE = 'is not a regular file a review may read';

/** readablePath with the file's stat, or why it cannot be read (only a missing file or a permission says more than NOT_READABLE). */
async function inspectReadable(file: string, home: string): Promise<{ ok: true; real: string; info: Stats } | { ok: false; reason: string }> {
  let real: string;
  let info: Stats;
  try {
    real = await realpath(file);
    info = await stat(real);
  } catch (error) {
    return { ok: false, reason: fileErrorReason(error) ?? NOT_READABLE };
  }
  if (!info.isFile()) return { ok: false, reason: NOT_READABLE };
  const reason = forbiddenReason(real, home);
  if ((reason && !/is a system folder$/.test(reason)) || UNREADABLE.test(real)) return { ok: false, reason: NOT_READABLE };
  return { ok: true, real, info };
}

/** What a failed look-up or read means for a person, or null when no plainer word than the code exists. */
export function fileErrorReason(error: unknown): string | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return "cannot be read: this service's user may not read it, or a folder on its way (permission denied)";
  return null;
}

/** Why a review does not read a log file it may otherwise: one with a second name. */
export const HARD_LINKED = "is a hard-linked file: it may be another file's second name, so a review does not read it";

export class LogFileRefused extends Error {
  override name = 'LogFileRefused';
}

/**
 * The last lines of a log file `real` (as readableLogPath answered), checked again on the opened
 * descriptor, so a file swapped in after the check is not read: a regular file (opened without
 * following a symlink, and without blocking on a pipe) with one name. A second hard link, in a job's
 * folder or ProcClaw's logs, could be a name for any file this user may read, a secret of mode 600
 * among them. Throws LogFileRefused saying why.
 */
export async function readLogTailLines(real: string, maxLines: number, maxBytes: number): Promise<string[]> {
  return readTailLines(real, maxLines, maxBytes, {
    flags: constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    check: (info) => {
      if (!info.isFile()) throw new LogFileRefused(NOT_READABLE);
      if (info.nlink > 1) throw new LogFileRefused(HARD_LINKED);
    },
  });
}

/** Why reading a log failed, for the line that stands for it. */
function readFailure(error: unknown): string {
  if (error instanceof LogFileRefused) return error.message;
  return fileErrorReason(error) ?? 'could not be read';
}

async function readJobFile(role: JobFile['role'], file: string, home: string): Promise<JobFile | null> {
  try {
    const real = await readablePath(file, home);
    if (!real) return null;
    const { text, truncated } = await readHead(real, LIMITS.fileBytes);
    // A binary is no script to review or rewrite.
    if (text.includes('\0')) return null;
    return { role, path: file, content: text, sha256: sha256(text), truncated };
  } catch {
    return null; // a missing script or prompt is not an error: the job may not have one
  }
}

function pushFile(files: JobFile[], file: JobFile | null): void {
  if (file && !files.some((f) => f.path === file.path)) files.push(file);
}

async function runLogLines(run: RunRecord, job: Job, env: ReadPlacesEnv): Promise<string[]> {
  if (run.log_tail) return run.log_tail.split('\n').slice(-LIMITS.logLinesPerRun).map(boundLine);
  if (run.log_path) {
    const procclaw = asProcclawLogFile(run.log_path, job.id, job.config.log, { home: env.home, logsDir: procclawLogsDir(env.procclawHome, env.home) });
    if (procclaw) return procclawJobLogLines(run.log_path, procclaw, job, env);
    try {
      const found = await inspectLogPath(run.log_path, job, env);
      if (!found.ok && found.outside) return [`(log file ${run.log_path} is outside the job's folders; a review does not read it)`];
      if (!found.ok) return [`(log file ${run.log_path} ${found.reason})`];
      return (await readLogTailLines(found.real, LIMITS.logLinesPerRun, LIMITS.logBytesPerRun)).map(boundLine);
    } catch (error) {
      return [`(log file ${run.log_path} ${readFailure(error)})`];
    }
  }
  return [];
}

/**
 * A run ProcClaw stored no log lines for, whose log_path is its job's ProcClaw log file (the
 * import points it there): the last lines of that file and of the job's error log (the error is
 * usually there), each under a line saying it is the job's file, with earlier runs' output too.
 */
async function procclawJobLogLines(named: string, files: ProcclawLogFiles, job: Job, env: ReadPlacesEnv): Promise<string[]> {
  const notes: string[] = [];
  const readable: { what: string; file: string; real: string }[] = [];
  for (const [what, file] of [
    ['log file', files.stdout],
    ['error log', files.stderr],
  ] as const) {
    if (!file) continue;
    const found = await inspectLogPath(file, job, env).catch(() => null);
    if (found?.ok) readable.push({ what, file, real: found.real });
    else if (found?.outside) notes.push(`(the job's ProcClaw ${what} ${file} is outside the job's folders; a review does not read it)`);
    // Missing is usual (a job that never wrote to stderr); a file refused for what it is, or for a permission, is said.
    else if (found && found.reason !== 'does not exist' && found.reason !== NOT_READABLE) notes.push(`(the job's ProcClaw ${what} ${file} ${found.reason})`);
  }
  if (readable.length === 0) return notes.length > 0 ? notes : [`(log file ${named} ${NOT_READABLE})`];
  const lines = [...notes];
  const perFile = Math.floor((LIMITS.logLinesPerRun - readable.length - notes.length) / readable.length);
  for (const { what, file, real } of readable) {
    lines.push(`(the last lines of the job's ProcClaw ${what} ${file}: it holds the job's earlier runs' output too, not only this run's)`);
    try {
      lines.push(...(await readLogTailLines(real, perFile, Math.floor(LIMITS.logBytesPerRun / readable.length))).map(boundLine));
    } catch (error) {
      lines.push(`(the job's ${what} ${file} ${readFailure(error)})`);
    }
  }
  return lines;
}

/**
 * The real path of a log a run report or the job's business_log names, or null (see
 * readablePath), or 'outside' when it resolves outside the job's places (core/read-places.ts):
 * checked again at every read, since rows stored before the API refused such paths, and symlinks
 * changed since, must not lead a review elsewhere.
 */
export async function readableLogPath(file: string, job: Job, env: ReadPlacesEnv): Promise<string | 'outside' | null> {
  const found = await inspectLogPath(file, job, env);
  return found.ok ? found.real : found.outside ? 'outside' : null;
}

/**
 * readableLogPath with the reason a file is not read: outside the job's places, or, inside them,
 * missing, not a regular file, not readable by this user, or hard-linked (HARD_LINKED; checked
 * again on the descriptor when it is read, readLogTailLines).
 */
export async function inspectLogPath(file: string, job: Job, env: ReadPlacesEnv): Promise<{ ok: true; real: string } | { ok: false; outside: boolean; reason: string }> {
  const expanded = file.startsWith('~/') ? `${env.home}/${file.slice(2)}` : file;
  const found = await inspectReadable(expanded, env.home);
  if (!found.ok) return { ok: false, outside: false, reason: found.reason };
  const verdict = await checkReadPath(found.real, job, env);
  if (!verdict.ok) return { ok: false, outside: true, reason: "is outside the job's folders" };
  if (found.info.nlink > 1) return { ok: false, outside: false, reason: HARD_LINKED };
  return { ok: true, real: found.real };
}

/** A log that stands for a file the review did not read: "(log file <path> <why>)". */
const UNREAD_LOG_NOTE = /^\((?:log file|the job's ProcClaw (?:log file|error log)) (.{1,600})\)$/;

function idList(ids: number[]): string {
  return `${ids.slice(0, 8).map((id) => `#${id}`).join(', ')}${ids.length > 8 ? ` and ${ids.length - 8} more` : ''}`;
}

/** The job's files the review meant to read and could not, or read only in part. */
function missingFiles(files: JobFile[], wanted: { config: string | null; script: string | null }): MissingContext[] {
  const out: MissingContext[] = [];
  for (const [role, path] of [['config', wanted.config], ['script', wanted.script]] as const) {
    if (path && !files.some((f) => f.role === role)) {
      out.push({ kind: 'missing_file', detail: `the job's ${role === 'config' ? 'YAML' : 'script'} ${path} could not be read (missing, not a regular file, or not readable): suggestions about it are made without it` });
    }
  }
  for (const f of files.filter((file) => file.truncated)) {
    out.push({ kind: 'truncated_file', detail: `${f.path} is larger than ${Math.round(LIMITS.fileBytes / 1024)} KB: only its first part was read` });
  }
  return out;
}

/** Runs of the job the review does not look at: past the look-back, or past the number it reads. */
async function unseenRuns(db: Db, jobId: string, seen: { runs: number; since: Date; lookback: Date; lookbackDays: number }): Promise<MissingContext[]> {
  const out: MissingContext[] = [];
  if (seen.runs >= LIMITS.runs) out.push({ kind: 'runs_capped', detail: `only the newest ${LIMITS.runs} runs since ${seen.since.toISOString()} were read` });
  // Runs before the last review were that review's to see; only those before the look-back are unseen by any.
  if (seen.since.getTime() === seen.lookback.getTime()) {
    const row = (await db('job_runs').where('job_id', jobId).andWhere('started_at', '<=', seen.since).count({ n: '*' }).first()) as { n: string | number } | undefined;
    const older = Number(row?.n ?? 0);
    if (older > 0) out.push({ kind: 'runs_beyond_lookback', detail: `${older} older run(s) are beyond the ${seen.lookbackDays}-day look-back and were not read` });
  }
  return out;
}

function boundLine(line: string): string {
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

function boundMessages(messages: unknown[]): SessionMessage[] {
  return messages.slice(-LIMITS.sessionMessages).map((m) => {
    const record = (typeof m === 'object' && m !== null ? m : { content: m }) as Record<string, unknown>;
    const content = typeof record.content === 'string' ? record.content : JSON.stringify(record.content ?? '');
    return {
      role: typeof record.role === 'string' ? record.role : 'unknown',
      content: content.length > LIMITS.sessionMessageChars ? `${content.slice(0, LIMITS.sessionMessageChars)}…` : content,
    };
  });
}

export function summarise(run: RunRecord): RunSummary {
  return {
    id: run.id,
    external_id: run.external_id,
    started_at: run.started_at.toISOString(),
    finished_at: run.finished_at ? run.finished_at.toISOString() : null,
    exit_code: run.exit_code,
    duration_ms: run.duration_ms,
    trigger: run.trigger,
    error: run.error ? boundLine(run.error) : null,
    sla_status: run.sla_status,
  };
}

function slaReason(run: RunRecord): string {
  const details = run.sla_details as Record<string, unknown> | null;
  if (details && typeof details.reason === 'string') return details.reason;
  return run.duration_ms !== null ? `run took ${Math.round(run.duration_ms / 1000)} s` : 'SLA breached';
}

async function readBusinessLog(job: Job, env: ReadPlacesEnv): Promise<ReviewContext['business_log']> {
  const spec = job.config.self_healing.business_log;
  if (!spec || (!spec.path && !spec.summary_path)) return null;
  const logPath = spec.path ? await inspectLogPath(spec.path, job, env) : null;
  const summaryPath = spec.summary_path ? await readableLogPath(spec.summary_path, job, env) : null;
  const lines = !logPath
    ? []
    : !logPath.ok && logPath.outside
      ? [`(business log ${spec.path} is outside the job's folders; a review does not read it)`]
      : !logPath.ok
        ? logPath.reason === 'does not exist'
          ? []
          : [`(business log ${spec.path} ${logPath.reason})`]
        : await readLogTailLines(logPath.real, spec.max_lines, LIMITS.businessLogBytes).catch((error: unknown) => (error instanceof LogFileRefused ? [`(business log ${spec.path} ${error.message})`] : []));
  const summary = summaryPath && summaryPath !== 'outside' ? await readHead(summaryPath, 16 * 1024).then((r) => r.text).catch(() => null) : null;
  return { lines: lines.map(boundLine), summary, context_prompt: spec.context_prompt ?? null };
}
