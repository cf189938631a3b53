// A ProcClaw run's stored log lines, and which of them the run itself wrote. No I/O of its own:
// the reads come through RunLogQueries (source.ts implements them).
//
// ProcClaw's `_save_run_logs` (supervisor.py) stores a run's stdout lines, then the last 500 lines
// of the job's whole `.error.log`, each stream numbered from 0, and reads them back in insert
// order. The error log only grows (until it is rotated or deleted), so a run's stored stderr begins
// with lines earlier runs wrote: a successful run would otherwise show the last failure's
// traceback. The run's own lines are those after the largest overlap with the end of the previous
// run's stored stderr.
import path from 'node:path';
import type { JobConfig } from '../../core/job.js';
import { procclawLogFiles } from '../../core/procclaw-log-files.js';
import { checkInPlaces, jobReadPlaces, usablePlaces, type ReadPlace } from '../../core/read-places.js';

/** ProcClaw stores at most this many lines of the error log with a run (supervisor.py `[-500:]`). */
export const PROCCLAW_STDERR_LINES = 500;
/** The stderr lines read of one run: ProcClaw's 500, with room for a database written otherwise. */
export const STDERR_READ_LINES = 1_000;

export interface RunLogStreams {
  /** in ProcClaw's order (insert order) */
  stdout: string[];
  stderr: string[];
}

export interface StderrSplit {
  /** the lines shown as this run's */
  own: string[];
  /** lines of the error log written before this run, left out */
  carriedOver: number;
  /**
   * The run failed and all its stderr repeats the end of the previous run's: kept (in `own`), as
   * the run may have written the same error again (the split cannot tell when ProcClaw deletes its
   * log files after each run, file_log_mode: delete, or the file repeats itself), but marked.
   */
  repeated: boolean;
}

export interface RunLogs {
  stdout: string[];
  stderr: StderrSplit;
  /** the file the stderr lines come from, as the marker names it (`<job>.error.log`) */
  errorLogName: string;
  /** the job's ProcClaw log file when the run has no stored lines and the file exists: what a review reads instead */
  logFile: string | null;
}

/** The length of the longest start of `current` that is also the end of `previous` (prefix function, linear). */
export function largestOverlap(current: readonly string[], previous: readonly string[]): number {
  if (current.length === 0 || previous.length === 0) return 0;
  // current, a separator no line equals, previous: the longest border of the whole is the overlap.
  const ids = new Map<string, number>();
  const idOf = (line: string) => {
    let id = ids.get(line);
    if (id === undefined) ids.set(line, (id = ids.size));
    return id;
  };
  const seq = [...current.map(idOf), -1, ...previous.map(idOf)];
  const border = new Array<number>(seq.length).fill(0);
  for (let i = 1; i < seq.length; i++) {
    let k = border[i - 1]!;
    while (k > 0 && seq[i] !== seq[k]) k = border[k - 1]!;
    if (seq[i] === seq[k]) k++;
    border[i] = k;
  }
  return border[seq.length - 1]!;
}

/**
 * Splits a run's stored stderr into the lines it wrote and those the error log held before it,
 * given the stored stderr of the job's previous run (null: none).
 */
export function splitOwnStderr(current: readonly string[], previous: readonly string[] | null, opts: { failed: boolean }): StderrSplit {
  const all = (): StderrSplit => ({ own: [...current], carriedOver: 0, repeated: false });
  if (!previous || previous.length === 0 || current.length === 0) return all();
  let overlap = largestOverlap(current, previous);
  // A stderr shorter than ProcClaw's window is the whole file: grown from the previous one, it
  // starts with all of it. A shorter overlap is a coincidence (the file was rotated or deleted).
  if (current.length < PROCCLAW_STDERR_LINES && overlap < previous.length) overlap = 0;
  if (overlap === 0) return all();
  if (overlap === current.length && opts.failed) return { own: [...current], carriedOver: 0, repeated: true };
  return { own: current.slice(overlap), carriedOver: overlap, repeated: false };
}

/** The run's lines as the log tail shows them: stdout, then its own stderr; a marker line says what was left out. */
export function runLogTailLines(logs: Pick<RunLogs, 'stdout' | 'stderr' | 'errorLogName'>): string[] {
  const { stderr, errorLogName } = logs;
  const lines = [...logs.stdout];
  if (stderr.carriedOver > 0) {
    lines.push(
      `[${stderr.carriedOver} earlier line${stderr.carriedOver === 1 ? '' : 's'} of ${errorLogName} left out: written before this run (ProcClaw stores the file's last ${PROCCLAW_STDERR_LINES} lines with every run)]`,
    );
  }
  if (stderr.repeated) {
    lines.push(
      `[the next ${stderr.own.length} line${stderr.own.length === 1 ? '' : 's'} of ${errorLogName} repeat the end of the previous run's; kept as this run failed, but they may be from before it]`,
    );
  }
  lines.push(...stderr.own);
  return lines;
}

export interface RunLogQueries {
  /** the last `stdoutMax` stdout lines and the last `stderrMax` stderr lines of a run, each in ProcClaw's order */
  runStreams(runId: number, stdoutMax: number, stderrMax: number): RunLogStreams;
  /** the last `max` stderr lines of a run, in ProcClaw's order */
  stderrLines(runId: number, max: number): string[];
  /** the latest run of the job with an id between `afterId` and `beforeId` (both excluded) that has stderr lines */
  previousStderrRun(jobId: string, beforeId: number, afterId: number): number | null;
  /** false for anything that is not a regular file, and when asking fails (a name too long, no permission) */
  isFile(file: string): boolean;
  /** the path through symlinks, or null when it cannot be resolved; without it a path is taken as written */
  realPath?(file: string): string | null;
}

export interface RunLogOptions {
  stdoutLines: number;
  /** ProcClaw's logs folder ($PROCCLAW_HOME/logs); null: a run without stored lines gets no log file */
  logsDir: string | null;
  home: string;
  /** the job's `log` block, when its YAML is known */
  log?: unknown;
  /** the job, when its YAML is known: its folders are places its log file may lie in (core/read-places.ts) */
  job?: { id: string; file: string; config: Pick<JobConfig, 'cwd'> };
  /** HEALING_LOG_ROOTS: more folders a log file may lie in */
  logRoots?: readonly string[];
}

/** What the reader remembers of a job within one pass: the latest run read that has stderr lines. */
interface JobMemo {
  upTo: number;
  last: { runId: number; stderr: string[] };
}

/**
 * Reads runs' logs for one pass. Runs come mostly in id order (import.ts): the previous run's
 * stderr is then the one read just before, so a pass over many runs reads each run's lines once.
 */
export class RunLogReader {
  private readonly memo = new Map<string, JobMemo>();

  constructor(private readonly queries: RunLogQueries) {}

  read(run: { id: number; job_id: string; exit_code: number | null }, opts: RunLogOptions): RunLogs {
    const streams = this.queries.runStreams(run.id, opts.stdoutLines, STDERR_READ_LINES);
    const files = opts.logsDir ? procclawLogFiles(run.job_id, opts.log, { home: opts.home, logsDir: opts.logsDir }) : null;
    const previous = streams.stderr.length > 0 ? this.previousStderr(run) : null;
    this.remember(run, streams.stderr);
    const failed = run.exit_code !== null && run.exit_code !== 0;
    const logFile = streams.stdout.length === 0 && streams.stderr.length === 0 && files && opts.logsDir ? this.readableLogFile([files.stdout, files.stderr], opts.logsDir, opts) : null;
    return {
      stdout: streams.stdout,
      stderr: splitOwnStderr(streams.stderr, previous?.stderr ?? null, { failed }),
      errorLogName: files?.stderr ? path.basename(files.stderr) : `${run.job_id}.error.log`,
      logFile,
    };
  }

  /**
   * The first of the job's log files that is a regular file inside the places a review may read
   * (the same rule the API applies to a run report's log_path: a `log.stdout` of /etc/shadow is
   * never stored, and through the API would have the whole report refused). Any error looking a
   * file up means it is not there: it never fails the pass.
   */
  private readableLogFile(candidates: (string | null)[], logsDir: string, opts: RunLogOptions): string | null {
    let places: ReadPlace[] | null = null;
    for (const file of candidates) {
      try {
        if (file === null || !this.queries.isFile(file)) continue;
        places ??= this.readPlaces(logsDir, opts);
        const real = this.queries.realPath ? this.queries.realPath(file) : file;
        if (real !== null && checkInPlaces(real, places).ok) return file;
      } catch {
        // a file that cannot be asked about is no file to point a review at
      }
    }
    return null;
  }

  /** The job's read places (core/read-places.ts), resolved through symlinks; without its YAML only ProcClaw's logs folder and HEALING_LOG_ROOTS. */
  private readPlaces(logsDir: string, opts: RunLogOptions): ReadPlace[] {
    const env = { home: opts.home, procclawHome: path.dirname(logsDir), logRoots: opts.logRoots ?? [] };
    const written: ReadPlace[] = opts.job
      ? jobReadPlaces(opts.job, env)
      : [{ dir: logsDir, what: 'the ProcClaw logs folder' }, ...env.logRoots.map((dir) => ({ dir, what: 'HEALING_LOG_ROOTS' }))];
    const resolve = (dir: string) => (this.queries.realPath ? this.queries.realPath(dir) : dir);
    const places = written.flatMap((place) => {
      const dir = resolve(place.dir);
      return dir ? [{ ...place, dir }] : [];
    });
    // As the API checks them: the home folder, as written or resolved, is too broad to be a place.
    return usablePlaces(usablePlaces(places, opts.home), resolve(opts.home) ?? opts.home);
  }

  private previousStderr(run: { id: number; job_id: string }): { runId: number; stderr: string[] } | null {
    const memo = this.memo.get(run.job_id);
    // In order: only the runs since the last one read are asked about.
    if (memo && memo.upTo < run.id) {
      const between = this.queries.previousStderrRun(run.job_id, run.id, memo.upTo);
      return between === null ? memo.last : { runId: between, stderr: this.queries.stderrLines(between, STDERR_READ_LINES) };
    }
    const id = this.queries.previousStderrRun(run.job_id, run.id, 0);
    if (id === null) return null;
    if (memo?.last.runId === id) return memo.last;
    return { runId: id, stderr: this.queries.stderrLines(id, STDERR_READ_LINES) };
  }

  private remember(run: { id: number; job_id: string }, stderr: string[]): void {
    const memo = this.memo.get(run.job_id);
    // A run without stderr changes nothing to remember; one read out of order (carried from the
    // last pass) would make the memo skip the runs between.
    if (stderr.length === 0 || (memo && memo.upTo >= run.id)) return;
    this.memo.set(run.job_id, { upTo: run.id, last: { runId: run.id, stderr } });
  }
}
