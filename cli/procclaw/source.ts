// ProcClaw's SQLite database, read-only: its run history (`job_runs`) and per-run log lines
// (`job_logs`). Opened for each pass and closed after it, so ProcClaw is never held up and each
// pass sees what ProcClaw committed. Nothing here writes to the file.
import { realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { RunLogReader, type RunLogOptions, type RunLogQueries, type RunLogs } from './run-logs.js';

/** A database that cannot be read as ProcClaw's: the message names the file and what is wrong. */
export class ProcclawSourceError extends Error {
  override name = 'ProcclawSourceError';
  readonly exitCode = 2;
  constructor(
    message: string,
    /** `locked` may pass by itself; the others need the user */
    readonly kind: 'missing' | 'locked' | 'foreign' | 'unreadable',
  ) {
    super(message);
  }
}

export interface ProcclawRunRow {
  /** beyond Number.MAX_SAFE_INTEGER only approximately (see id_text) */
  id: number;
  /** the id as SQLite holds it, when it is beyond what a JavaScript number holds exactly (2^53 - 1); else null */
  id_text?: string | null;
  job_id: string;
  started_at: string | number | null;
  finished_at: string | number | null;
  exit_code: number | null;
  duration_seconds: number | null;
  trigger: string | null;
  error: string | null;
  session_messages: string | null;
  sla_status: string | null;
  sla_details: string | null;
}

const REQUIRED_RUN_COLUMNS = ['id', 'job_id', 'started_at', 'finished_at', 'exit_code'] as const;
const OPTIONAL_RUN_COLUMNS = ['duration_seconds', 'trigger', 'error', 'session_messages', 'sla_status', 'sla_details'] as const;
const REQUIRED_LOG_COLUMNS = ['run_id', 'line'] as const;
/** The id text of a run whose id a JavaScript number cannot hold exactly (convert.ts skips such a run, naming it). */
const ID_TEXT = `case when id > ${Number.MAX_SAFE_INTEGER} or id < -${Number.MAX_SAFE_INTEGER} then cast(id as text) end as id_text`;

export class ProcclawSource {
  private constructor(
    readonly file: string,
    private readonly sqlite: Database.Database,
    private readonly runColumns: Set<string>,
    private readonly logColumns: Set<string> | null,
  ) {}

  private logReader: RunLogReader | null = null;
  /** runs with an id of 0 or below were handed out in this pass (see runsAfter) */
  private nonPositiveRead = false;

  /** Opens the file read-only and checks it is ProcClaw's; throws ProcclawSourceError otherwise. */
  static open(file: string, opts: { lockTimeoutMs?: number } = {}): ProcclawSource {
    const info = (() => {
      try {
        return statSync(file);
      } catch {
        return null;
      }
    })();
    if (!info) throw new ProcclawSourceError(`${file}: no such file. Point --db at ProcClaw's database (usually ~/.procclaw/procclaw.db).`, 'missing');
    if (!info.isFile()) throw new ProcclawSourceError(`${file} is not a file: point --db at ProcClaw's procclaw.db inside it.`, 'missing');
    let sqlite: Database.Database;
    try {
      sqlite = new Database(file, { readonly: true, fileMustExist: true, timeout: opts.lockTimeoutMs ?? 5_000 });
    } catch (error) {
      throw translate(file, error, opts.lockTimeoutMs);
    }
    try {
      const tables = new Set(
        (sqlite.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((t) => t.name),
      );
      if (!tables.has('job_runs')) {
        const listed = [...tables].filter((t) => !t.startsWith('sqlite_')).slice(0, 8);
        throw new ProcclawSourceError(
          `${file} is not a ProcClaw database: it has no job_runs table (${listed.length ? `its tables: ${listed.join(', ')}` : 'it has no tables'}).`,
          'foreign',
        );
      }
      const runColumns = columnsOf(sqlite, 'job_runs');
      const missing = REQUIRED_RUN_COLUMNS.filter((c) => !runColumns.has(c));
      if (missing.length > 0) {
        throw new ProcclawSourceError(`${file} is not a ProcClaw database: its job_runs table lacks the column(s) ${missing.join(', ')}.`, 'foreign');
      }
      let logColumns: Set<string> | null = null;
      if (tables.has('job_logs')) {
        logColumns = columnsOf(sqlite, 'job_logs');
        const missingLog = REQUIRED_LOG_COLUMNS.filter((c) => !logColumns!.has(c));
        if (missingLog.length > 0) {
          throw new ProcclawSourceError(`${file} is not a ProcClaw database: its job_logs table lacks the column(s) ${missingLog.join(', ')}.`, 'foreign');
        }
      }
      return new ProcclawSource(file, sqlite, runColumns, logColumns);
    } catch (error) {
      sqlite.close();
      throw translate(file, error, opts.lockTimeoutMs);
    }
  }

  /**
   * Runs with an id above `afterId`, oldest first. ProcClaw's ids start at 1; a row written with
   * an id of 0 or below comes first in a pass that starts from 0 (once in the pass), so it is
   * skipped with its reason instead of never being seen. Past 2^53 - 1 a JavaScript number no
   * longer tells neighbouring ids apart: the runs there are handed out once (convert.ts skips them,
   * naming each), and a cursor there reads nothing more.
   */
  runsAfter(afterId: number, limit: number): ProcclawRunRow[] {
    if (afterId > Number.MAX_SAFE_INTEGER) return [];
    const nonPositive =
      afterId === 0 && !this.nonPositiveRead
        ? this.guard(() => this.sqlite.prepare(`${this.selectRuns()} where id <= 0 order by id limit ?`).all(limit) as ProcclawRunRow[])
        : [];
    if (afterId === 0) this.nonPositiveRead = true;
    const rows = this.guard(() => this.sqlite.prepare(`${this.selectRuns()} where id > ? order by id limit ?`).all(afterId, limit) as ProcclawRunRow[]);
    return nonPositive.length > 0 ? [...nonPositive, ...rows] : rows;
  }

  /**
   * The highest run id this file ever gave: job_runs is AUTOINCREMENT, so sqlite_sequence keeps it
   * even after ProcClaw deleted those runs; a fresh file starts again from 0.
   */
  highestRunId(): number {
    return this.guard(() => {
      const sequence = this.sqlite.prepare("select name from sqlite_master where type = 'table' and name = 'sqlite_sequence'").get()
        ? (this.sqlite.prepare("select seq from sqlite_sequence where name = 'job_runs'").get() as { seq: number } | undefined)
        : undefined;
      const max = (this.sqlite.prepare('select coalesce(max(id), 0) as id from job_runs').get() as { id: number }).id;
      return Math.max(Number(sequence?.seq ?? 0), Number(max));
    });
  }

  /** The run with the highest id below `id` (the one ProcClaw started before it), if any. */
  runBefore(id: number): ProcclawRunRow | null {
    return this.guard(() => (this.sqlite.prepare(`${this.selectRuns()} where id < ? order by id desc limit 1`).get(id) as ProcclawRunRow | undefined) ?? null);
  }

  /** The runs with these ids that still exist. An id past 2^53 - 1 names no run exactly: none is looked up for it. */
  runsByIds(wanted: number[]): ProcclawRunRow[] {
    const ids = wanted.filter((id) => Math.abs(id) <= Number.MAX_SAFE_INTEGER);
    if (ids.length === 0) return [];
    const rows: ProcclawRunRow[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      rows.push(...this.guard(() => this.sqlite.prepare(`${this.selectRuns()} where id in (${chunk.map(() => '?').join(',')}) order by id`).all(...chunk) as ProcclawRunRow[]));
    }
    return rows;
  }

  /**
   * A run's log lines as ProcClaw reads them back (insert order), per stream, with the stderr
   * lines earlier runs left in the job's error log told apart (run-logs.ts). Each job's last
   * stderr is remembered for the rest of the pass: a source is opened for one pass.
   */
  runLogs(run: Pick<ProcclawRunRow, 'id' | 'job_id' | 'exit_code'>, opts: Omit<RunLogOptions, 'home'> & { home?: string }): RunLogs {
    this.logReader ??= new RunLogReader(this.guard(() => this.logQueries()));
    return this.logReader.read(run, { ...opts, home: opts.home ?? os.homedir() });
  }

  private logQueries(): RunLogQueries {
    const columns = this.logColumns;
    const hasLevel = columns?.has('level') ?? false;
    const lines = (rows: unknown[]) => (rows as { line: unknown }[]).map((r) => String(r.line ?? '')).reverse();
    // Newest first, to take the last `max`; handed back in ProcClaw's order.
    const stdout = columns
      ? this.sqlite.prepare(`select line from job_logs where run_id = ? ${hasLevel ? "and (level is null or level <> 'stderr')" : ''} order by rowid desc limit ?`)
      : null;
    const stderr = hasLevel ? this.sqlite.prepare("select line from job_logs where run_id = ? and level = 'stderr' order by rowid desc limit ?") : null;
    const previous = hasLevel
      ? this.sqlite.prepare(
          "select r.id from job_runs r where r.job_id = ? and r.id > ? and r.id < ? and exists (select 1 from job_logs l where l.run_id = r.id and l.level = 'stderr') order by r.id desc limit 1",
        )
      : null;
    const stderrLines = (runId: number, max: number) => (stderr ? lines(this.guard(() => stderr.all(runId, max))) : []);
    return {
      runStreams: (runId, stdoutMax, stderrMax) => ({
        stdout: stdout ? lines(this.guard(() => stdout.all(runId, stdoutMax))) : [],
        stderr: stderrLines(runId, stderrMax),
      }),
      stderrLines,
      previousStderrRun: (jobId, beforeId, afterId) => {
        const row = previous ? (this.guard(() => previous.get(jobId, afterId, beforeId)) as { id: number } | undefined) : undefined;
        return row ? Number(row.id) : null;
      },
      // A name too long for the file system (ENAMETOOLONG), or a folder this user may not enter, is no file: never an error for the pass.
      isFile: (file) => {
        try {
          return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
        } catch {
          return false;
        }
      },
      realPath: (file) => {
        try {
          return realpathSync(file);
        } catch {
          return null;
        }
      },
    };
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }

  private selectRuns(): string {
    const optional = OPTIONAL_RUN_COLUMNS.map((c) => (this.runColumns.has(c) ? c : `null as ${c}`));
    return `select ${[...REQUIRED_RUN_COLUMNS, ...optional, ID_TEXT].join(', ')} from job_runs`;
  }

  private guard<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      throw translate(this.file, error);
    }
  }
}

function columnsOf(sqlite: Database.Database, table: string): Set<string> {
  return new Set((sqlite.prepare(`pragma table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

function translate(file: string, error: unknown, lockTimeoutMs = 5_000): Error {
  if (error instanceof ProcclawSourceError) return error;
  const e = error as { code?: string; message?: string };
  const code = e.code ?? '';
  const message = e.message ?? String(error);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || /database is locked/i.test(message)) {
    return new ProcclawSourceError(
      `${file} is locked by another process (still locked after ${Math.round(lockTimeoutMs / 100) / 10} s); try again in a moment.`,
      'locked',
    );
  }
  if (code === 'SQLITE_NOTADB' || /not a database/i.test(message)) {
    return new ProcclawSourceError(`${file} is not a ProcClaw database: it is not a SQLite file at all.`, 'foreign');
  }
  if (code.startsWith('SQLITE_CORRUPT')) return new ProcclawSourceError(`${file} cannot be read: the SQLite file is damaged (${message}).`, 'unreadable');
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_READONLY')) {
    return new ProcclawSourceError(`${file} cannot be opened read-only (${message}); check that this user may read it and its folder.`, 'unreadable');
  }
  return error instanceof Error ? error : new Error(message);
}
