// A ProcClaw database built the way ProcClaw builds it: its schema v14 tables that hold runs and
// logs (src/procclaw/db.py SCHEMA_SQL), WAL, and its supervisor's write order for a run
// (supervisor.py `_finalize_job`): `add_run` at the start, `update_run` with the finish, then
// `_save_run_logs` (the run's stdout lines, then the last 500 lines of the job's whole
// .error.log, each stream numbered from 0 by `add_log_lines`), then for OpenClaw jobs
// `_extract_session_info` (`update_run` again, with the session). Times are Python's naive
// `datetime.now().isoformat()` in the machine's zone (`zone` here), durations the naive wall-clock
// difference ProcClaw computes. Written from ProcClaw's source, not importing it.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS job_state (
    job_id TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'stopped', pid INTEGER, started_at TEXT, stopped_at TEXT,
    restart_count INTEGER DEFAULT 0, retry_attempt INTEGER DEFAULT 0, last_exit_code INTEGER, last_error TEXT,
    next_run TEXT, next_retry TEXT, paused INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    exit_code INTEGER, duration_seconds REAL, trigger TEXT DEFAULT 'manual', error TEXT, fingerprint TEXT,
    idempotency_key TEXT, composite_id TEXT, session_key TEXT, session_transcript TEXT, session_messages TEXT,
    sla_snapshot_id INTEGER, sla_status TEXT, sla_details TEXT, healing_status TEXT, healing_attempts INTEGER DEFAULT 0,
    healing_session_key TEXT, healing_result TEXT, original_exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS job_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, job_id TEXT NOT NULL, timestamp TEXT NOT NULL,
    level TEXT DEFAULT 'stdout', line TEXT NOT NULL, line_num INTEGER, FOREIGN KEY (run_id) REFERENCES job_runs(id)
);
CREATE INDEX IF NOT EXISTS idx_job_logs_run_id ON job_logs(run_id);
CREATE INDEX IF NOT EXISTS idx_job_logs_job_id ON job_logs(job_id);
CREATE INDEX IF NOT EXISTS idx_job_logs_timestamp ON job_logs(timestamp);
CREATE INDEX IF NOT EXISTS idx_job_runs_job_id ON job_runs(job_id);
CREATE INDEX IF NOT EXISTS idx_job_runs_started_at ON job_runs(started_at);
`;

/** ProcClaw keeps at most this many lines of a log file with a run (supervisor.py `[-500:]`). */
export const PROCCLAW_TAIL_LINES = 500;

/** Python's naive `datetime.isoformat()` of `at` as the wall clock of `zone` reads it ("2026-11-01T01:15:00.123456"). */
export function naiveIso(at: Date, zone = 'UTC'): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  const micros = `${String(at.getUTCMilliseconds()).padStart(3, '0')}000`;
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}.${micros}`;
}

/** The seconds between two instants as ProcClaw computes them: the difference of their naive wall clocks. */
export function naiveSeconds(from: Date, to: Date, zone = 'UTC'): number {
  const wall = (d: Date) => Date.parse(`${naiveIso(d, zone)}Z`);
  return (wall(to) - wall(from)) / 1000;
}

export interface RunStart {
  job: string;
  at: Date;
  trigger?: string;
}

export interface RunFinish {
  finishedAt: Date;
  exit: number;
  /** a person stopped it (`procclaw stop`): error "Manually stopped" */
  manualStop?: boolean;
}

export class ProcclawDb {
  readonly sqlite: Database.Database;

  constructor(
    readonly file: string,
    /** the machine's zone, in which ProcClaw writes its naive times */
    readonly zone = 'UTC',
    /** ProcClaw's logs folder (~/.procclaw/logs): <job>.log and <job>.error.log */
    readonly logsDir: string | null = null,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.sqlite = new Database(file);
    this.sqlite.pragma('journal_mode = WAL');
    this.sqlite.exec(SCHEMA_SQL);
    if (!this.sqlite.prepare('SELECT version FROM schema_version LIMIT 1').get()) this.sqlite.prepare('INSERT INTO schema_version (version) VALUES (14)').run();
  }

  /** `add_run`: the run as it starts (no finish). Returns ProcClaw's run id. */
  addRun(start: RunStart): number {
    const info = this.sqlite
      .prepare('INSERT INTO job_runs (job_id, started_at, finished_at, exit_code, duration_seconds, trigger, error, composite_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(start.job, naiveIso(start.at, this.zone), null, null, null, start.trigger ?? 'scheduled', null, null);
    return Number(info.lastInsertRowid);
  }

  /** `update_run` from `_finalize_job`: finish, exit code, naive duration, error. */
  finishRun(id: number, finish: RunFinish): void {
    const row = this.sqlite.prepare('SELECT started_at FROM job_runs WHERE id = ?').get(id) as { started_at: string };
    const started = Date.parse(`${row.started_at}Z`);
    const finishedWall = naiveIso(finish.finishedAt, this.zone);
    const duration = (Date.parse(`${finishedWall}Z`) - started) / 1000;
    const error = finish.manualStop ? 'Manually stopped' : finish.exit !== 0 ? `Exit code: ${finish.exit}` : null;
    this.sqlite
      .prepare('UPDATE job_runs SET finished_at = ?, exit_code = ?, duration_seconds = ?, error = ? WHERE id = ?')
      .run(finishedWall, finish.exit, duration, error, id);
  }

  /** `add_log_lines`: one stream's lines, numbered from 0, all with one timestamp. */
  addLogLines(runId: number, job: string, lines: string[], level: 'stdout' | 'stderr', at = new Date()): void {
    const insert = this.sqlite.prepare('INSERT INTO job_logs (run_id, job_id, timestamp, level, line, line_num) VALUES (?, ?, ?, ?, ?, ?)');
    const ts = naiveIso(at, this.zone);
    this.sqlite.transaction(() => lines.forEach((line, i) => insert.run(runId, job, ts, level, line, i)))();
  }

  /**
   * `_save_run_logs`: the run's stdout lines, then the last 500 lines of the job's .error.log
   * (which keeps every earlier run's stderr too). With a logs folder, the run's output is appended
   * to <job>.log and <job>.error.log first, as the process wrote it, and when <job>.log is missing
   * by then (`logFileMissing`: deleted or rotated away) nothing is stored, as ProcClaw returns
   * early; without a logs folder, `stderr` is stored as given.
   */
  saveRunLogs(runId: number, job: string, output: { stdout?: string[]; stderr?: string[]; logFileMissing?: boolean }, at = new Date()): void {
    let stderr = output.stderr ?? [];
    if (this.logsDir) {
      mkdirSync(this.logsDir, { recursive: true });
      const log = path.join(this.logsDir, `${job}.log`);
      const errorLog = path.join(this.logsDir, `${job}.error.log`);
      appendFileSync(log, (output.stdout ?? []).map((l) => `${l}\n`).join(''));
      if (stderr.length > 0) appendFileSync(errorLog, stderr.map((l) => `${l}\n`).join(''));
      if (output.logFileMissing) {
        rmSync(log);
        return;
      }
      stderr = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').split('\n').slice(0, -1).slice(-PROCCLAW_TAIL_LINES) : [];
    }
    if (output.stdout && output.stdout.length > 0) this.addLogLines(runId, job, output.stdout.slice(-PROCCLAW_TAIL_LINES), 'stdout', at);
    if (stderr.length > 0) this.addLogLines(runId, job, stderr, 'stderr', at);
  }

  /** `_extract_session_info`: `update_run` again with the OpenClaw session. */
  saveSession(runId: number, messages: unknown[], key = `agent:main:cron:${runId}`): void {
    this.sqlite
      .prepare('UPDATE job_runs SET session_key = ?, session_transcript = ?, session_messages = ? WHERE id = ?')
      .run(key, `/tmp/${key.replaceAll(':', '-')}.jsonl`, JSON.stringify(messages), runId);
  }

  /** A whole run in ProcClaw's order: start, finish, logs, session. */
  run(spec: RunStart & RunFinish & { stdout?: string[]; stderr?: string[]; logFileMissing?: boolean; session?: unknown[] }): number {
    const id = this.addRun(spec);
    this.finishRun(id, spec);
    this.saveRunLogs(id, spec.job, spec);
    if (spec.session) this.saveSession(id, spec.session);
    return id;
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}
