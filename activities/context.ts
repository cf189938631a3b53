// Collects what a review looks at, per the job's review_scope, every piece bounded in size.
import { realpath, stat } from 'node:fs/promises';
import { resolveDefaultTimeZone } from '../core/config.js';
import { cronIntervalSeconds } from '../core/cron-interval.js';
import { sha256 } from '../core/hash.js';
import { jobFilePaths } from '../core/job-files.js';
import { forbiddenReason } from '../core/path-guard.js';
import { asProcclawLogFile, procclawLogsDir, type ProcclawLogFiles } from '../core/procclaw-log-files.js';
import type { ReadPlacesEnv } from '../core/read-places.js';
import { jobTimeZone, type DefaultTimeZone, type Job } from '../core/job.js';
import { belowMinRunsReason, type JobFile, type ReviewContext, type RunLog, type RunSummary, type SessionMessage, type Trigger } from '../core/review.js';
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

export type CollectResult = { skip: string; context?: undefined } | { skip?: undefined; context: ReviewContext };

export async function collectReviewContext(
  db: Db,
  job: Job,
  input: { trigger: Trigger; runId?: number | null; force?: boolean },
  env: { home: string; procclawHome: string; now: Date; dataDir?: string | null; logRoots?: readonly string[]; defaultTimeZone?: DefaultTimeZone },
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

  const logs: RunLog[] = [];
  if (scope.analyze_logs) {
    // Several runs ProcClaw stored no lines for point at the same job log file: it is read once.
    const filesRead = new Set<string>();
    for (const run of (focus ? [focus, ...runs.filter((r) => r !== focus)] : runs).slice(0, LIMITS.logRuns)) {
      if (!run.log_tail && run.log_path) {
        if (filesRead.has(run.log_path)) continue;
        filesRead.add(run.log_path);
      }
      const lines = await runLogLines(run, job, env);
      if (lines.length > 0) logs.push({ run_id: run.id, exit_code: run.exit_code, lines });
    }
  }

  const sessions: ReviewContext['ai_sessions'] = [];
  if (scope.analyze_ai_sessions) {
    for (const run of runs.filter((r) => Array.isArray(r.session_messages)).slice(0, LIMITS.sessionRuns)) {
      sessions.push({ run_id: run.id, messages: boundMessages(run.session_messages as unknown[]) });
    }
  }

  const configStat = await stat(paths.config).catch(() => null);
  return {
    context: {
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
    },
  };
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
  const real = await realpath(file).catch(() => null);
  if (!real) return null;
  const info = await stat(real).catch(() => null);
  if (!info?.isFile()) return null;
  const reason = forbiddenReason(real, home);
  if (reason && !/is a system folder$/.test(reason)) return null;
  return UNREADABLE.test(real) ? null : real;
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
      const real = await readableLogPath(run.log_path, job, env);
      if (real === 'outside') return [`(log file ${run.log_path} is outside the job's folders; a review does not read it)`];
      if (!real) return [`(log file ${run.log_path} is not a regular file a review may read)`];
      return (await readTailLines(real, LIMITS.logLinesPerRun, LIMITS.logBytesPerRun)).map(boundLine);
    } catch {
      return [`(log file ${run.log_path} could not be read)`];
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
    const real = await readableLogPath(file, job, env).catch(() => null);
    if (real === 'outside') notes.push(`(the job's ProcClaw ${what} ${file} is outside the job's folders; a review does not read it)`);
    else if (real) readable.push({ what, file, real });
  }
  if (readable.length === 0) return notes.length > 0 ? notes : [`(log file ${named} is not a regular file a review may read)`];
  const lines = [...notes];
  const perFile = Math.floor((LIMITS.logLinesPerRun - readable.length - notes.length) / readable.length);
  for (const { what, file, real } of readable) {
    lines.push(`(the last lines of the job's ProcClaw ${what} ${file}: it holds the job's earlier runs' output too, not only this run's)`);
    try {
      lines.push(...(await readTailLines(real, perFile, Math.floor(LIMITS.logBytesPerRun / readable.length))).map(boundLine));
    } catch {
      lines.push(`(the job's ${what} ${file} could not be read)`);
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
  const expanded = file.startsWith('~/') ? `${env.home}/${file.slice(2)}` : file;
  const real = await readablePath(expanded, env.home);
  if (!real) return null;
  const verdict = await checkReadPath(real, job, env);
  return verdict.ok ? real : 'outside';
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

function summarise(run: RunRecord): RunSummary {
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
  const logPath = spec.path ? await readableLogPath(spec.path, job, env) : null;
  const summaryPath = spec.summary_path ? await readableLogPath(spec.summary_path, job, env) : null;
  const lines =
    logPath === 'outside'
      ? [`(business log ${spec.path} is outside the job's folders; a review does not read it)`]
      : logPath
        ? await readTailLines(logPath, spec.max_lines, LIMITS.businessLogBytes).catch(() => [])
        : [];
  const summary = summaryPath && summaryPath !== 'outside' ? await readHead(summaryPath, 16 * 1024).then((r) => r.text).catch(() => null) : null;
  return { lines: lines.map(boundLine), summary, context_prompt: spec.context_prompt ?? null };
}
