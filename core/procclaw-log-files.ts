// Where ProcClaw writes a job's output (models.py `get_log_stdout_path`, `get_log_stderr_path`):
// the job's `log.stdout` / `log.stderr` when set, else `<logs folder>/<id>.log` and
// `<id>.error.log`. Both files keep every run's output, not only one run's. Pure path arithmetic.
import path from 'node:path';
import { JOB_ID_PATTERN } from './job.js';

export interface ProcclawLogFiles {
  /** null when the job names a relative path (ProcClaw reads it from its daemon's folder, unknown here), or its id is no valid id */
  stdout: string | null;
  stderr: string | null;
}

/**
 * `log` is the job's `log` block as ProcClaw's YAML has it (any shape: only string paths count).
 * A job id that is no valid id here (a "/" in it, or longer than a file name may be) has no files:
 * its `<id>.log` would lie outside the logs folder, or not be a name the file system accepts.
 */
export function procclawLogFiles(jobId: string, log: unknown, env: { home: string; logsDir: string }): ProcclawLogFiles {
  if (!JOB_ID_PATTERN.test(jobId)) return { stdout: null, stderr: null };
  const configured = (key: 'stdout' | 'stderr'): string | null | undefined => {
    const value = typeof log === 'object' && log !== null ? (log as Record<string, unknown>)[key] : undefined;
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    const expanded = expandHome(value.trim(), env.home);
    return path.isAbsolute(expanded) ? path.normalize(expanded) : null;
  };
  const stdout = configured('stdout');
  const stderr = configured('stderr');
  return {
    stdout: stdout === undefined ? path.join(env.logsDir, `${jobId}.log`) : stdout,
    stderr: stderr === undefined ? path.join(env.logsDir, `${jobId}.error.log`) : stderr,
  };
}

/** ProcClaw's logs folder: `$PROCCLAW_HOME/logs` (a leading `~` is the home folder, as ProcClaw's expanduser reads it). */
export function procclawLogsDir(procclawHome: string, home: string): string {
  return path.join(expandHome(procclawHome, home), 'logs');
}

/**
 * Which of the job's ProcClaw log files `file` is, with the other one: null when it is neither
 * (a log a run report named, `healing run`'s own). A review reads both: the error is usually in
 * the error log.
 */
export function asProcclawLogFile(file: string, jobId: string, log: unknown, env: { home: string; logsDir: string }): (ProcclawLogFiles & { named: 'stdout' | 'stderr' }) | null {
  const files = procclawLogFiles(jobId, log, env);
  const named = path.normalize(expandHome(file, env.home));
  if (files.stdout === named) return { ...files, named: 'stdout' };
  if (files.stderr === named) return { ...files, named: 'stderr' };
  return null;
}

function expandHome(file: string, home: string): string {
  if (file === '~') return home;
  return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}
