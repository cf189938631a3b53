// What an outside tester wrote into a ProcClaw install to break `healing import procclaw` (issue
// 16's follow-up): rows no ProcClaw writes (ids past 2^53, durations of 1e308, runs in the future),
// job ids too long for a file name, a log.stdout of /etc/shadow, a hard link to a secret in
// ProcClaw's logs folder, a procclaw.db that appears after the service started. Each is imported
// with a reason or refused with one, and never stops the pass. Databases are built with ProcClaw's
// schema and write order (test/helpers/procclaw-db.ts); hostile rows are written into them directly.
import { chmod, link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { businessLogView } from '../activities/business-log-view.js';
import { collectReviewContext, HARD_LINKED, inspectLogPath, LogFileRefused, readLogTailLines } from '../activities/context.js';
import { RUN_CLOCK_SKEW_MS } from '../api/schemas.js';
import { FUTURE_SKEW_MS, MAX_DURATION_MS } from '../cli/procclaw/convert.js';
import { describeSummary, importProcclawOnce, type ImportDeps, type ImportSummary } from '../cli/procclaw/import.js';
import { readStartedAt } from '../cli/procclaw/local-time.js';
import { RunLogReader, type RunLogQueries } from '../cli/procclaw/run-logs.js';
import type { Job } from '../core/job.js';
import { slaVerdict } from '../core/sla.js';
import { findJob, loadCatalog } from '../db/catalog.js';
import { upsertRun } from '../db/runs.js';
import { naiveIso, ProcclawDb } from './helpers/procclaw-db.js';
import { startStack, type Stack } from './helpers/stack.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const SECRET = 'TOP-SECRET-4242';

let stack: Stack;
let deps: ImportDeps;
/** ~/.procclaw of the stack's home (its workDir), where the worker looks */
let home: string;
let logsDir: string;
/** a folder outside every job's places */
let outside: string;

const reactive = 'self_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n    min_runs: 1\n';
const writeJob = (id: string, body = '') => writeFile(path.join(stack.jobsDir, `${id}.yaml`), `name: ${id}\ncmd: ./${id}.sh\n${body}`);
const runOf = (jobId: string, procclawId: number | string) => stack.db('job_runs').where({ job_id: jobId, external_id: `procclaw-${procclawId}` }).first();
/** A ProcClaw database of its own for a test: the import's cursor is per file. */
const databaseFor = (name: string) => new ProcclawDb(path.join(home, `${name}.db`), 'UTC', logsDir);
const ago = (ms: number) => new Date(Date.now() - ms);
const asSkipped = (summary: ImportSummary) => summary.skipped.map((s) => s.reason);

/** A run as ProcClaw's supervisor writes it when its log file was missing: start and finish, no log lines. */
function runWithoutLines(db: ProcclawDb, job: string, at: Date, exit = 1): number {
  const id = db.addRun({ job, at });
  db.finishRun(id, { finishedAt: new Date(at.getTime() + 4_000), exit });
  return id;
}

/** A row written by hand into ProcClaw's job_runs, as no ProcClaw writes it. */
function hostileRun(db: ProcclawDb, row: { id?: bigint | number; job: string; started: string | number; finished?: string | null; exit?: number | null; duration?: number | null }): number {
  const info = db.sqlite
    .prepare('INSERT INTO job_runs (id, job_id, started_at, finished_at, exit_code, duration_seconds, trigger) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(row.id ?? null, row.job, row.started, row.finished ?? null, row.exit ?? null, row.duration ?? null, 'scheduled');
  return Number(info.lastInsertRowid);
}

async function reviewLogLines(jobId: string, runId: number): Promise<string[]> {
  const job = (await findJob(stack.jobsDir, jobId))!;
  const result = await collectReviewContext(stack.db, job, { trigger: 'on_failure', runId }, { home: stack.workDir, procclawHome: home, now: new Date() });
  if (!result.context) throw new Error(`the review skipped: ${result.skip}`);
  return result.context.logs.find((l) => l.run_id === runId)?.lines ?? [];
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  home = path.join(stack.workDir, '.procclaw');
  logsDir = path.join(home, 'logs');
  await mkdir(logsDir, { recursive: true });
  outside = await mkdtemp(path.join(os.tmpdir(), 'healing-outside-'));
  deps = { db: stack.db, jobsSource: stack.jobsDir, startReview: null, api: null };
});
afterAll(async () => {
  await stack?.stop();
  if (outside) await rm(outside, { recursive: true, force: true });
});

describe("ProcClaw's sla.enabled default follows its folder as it is at each load", () => {
  it('when procclaw.db appears after the catalog was first loaded, a job with only sla.max_duration has no SLA at the next load, its YAML unchanged; when the file goes, it has one again', async () => {
    const procclawHome = await mkdtemp(path.join(os.tmpdir(), 'healing-late-procclaw-'));
    try {
      await mkdir(path.join(procclawHome, 'jobs'));
      await writeFile(path.join(procclawHome, 'jobs', 'report.yaml'), 'name: Report\ncmd: ./report.sh\nsla:\n  max_duration: 600\n');
      const jobsDir = path.join(procclawHome, 'jobs');
      // A 15-minute run against a 10-minute limit.
      const verdictOf = (job: Job | undefined) => slaVerdict(job!.config.sla ?? null, 900_000)?.status ?? null;

      const before = await loadCatalog(jobsDir);
      expect(verdictOf(before.jobs[0])).toBe('fail');
      expect(verdictOf(await findJob(jobsDir, 'report'))).toBe('fail');

      await writeFile(path.join(procclawHome, 'procclaw.db'), ''); // ProcClaw starts for the first time
      const after = await loadCatalog(jobsDir);
      expect(after.jobs[0]!.config.sla).toMatchObject({ max_duration: 600, enabled: false });
      expect(verdictOf(after.jobs[0])).toBeNull();
      expect(verdictOf(await findJob(jobsDir, 'report'))).toBeNull();
      // The job loaded before is not changed behind its holder's back.
      expect(before.jobs[0]!.config.sla?.enabled).toBeUndefined();

      await rm(path.join(procclawHome, 'procclaw.db'));
      expect(verdictOf((await loadCatalog(jobsDir)).jobs[0])).toBe('fail');
      expect(verdictOf(await findJob(jobsDir, 'report'))).toBe('fail');
    } finally {
      await rm(procclawHome, { recursive: true, force: true });
    }
  });
});

describe("names too long for the file system", () => {
  it("when a job's log.stdout names a file too long for the file system and other jobs' ids are too long to be file names, the pass goes on: the long ids are skipped with their length, the job's runs are imported without a log file", async () => {
    await writeJob('long-log', `log:\n  stdout: ${logsDir}/${'x'.repeat(300)}.log\n  stderr: ${logsDir}/${'y'.repeat(300)}.error.log\n`);
    const db = databaseFor('long-names');
    const first = runWithoutLines(db, 'long-log', ago(3 * HOUR));
    runWithoutLines(db, 'a'.repeat(247), ago(3 * HOUR - MINUTE)); // legal as <id>.yaml; <id>.error.log is not (NAME_MAX 255)
    runWithoutLines(db, 'b'.repeat(5_000), ago(3 * HOUR - 2 * MINUTE));
    const last = runWithoutLines(db, 'long-log', ago(2 * HOUR));
    db.close();

    const summary = await importProcclawOnce(deps, { dbFile: db.file, logsDir });
    expect(summary.created).toBe(2);
    const reasons = asSkipped(summary);
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(/^job id "a{79}…" has 247 characters; a job id here has at most 128$/);
    expect(reasons[1]).toMatch(/^job id "b{79}…" has 5000 characters; a job id here has at most 128$/);
    for (const id of [first, last]) expect(await runOf('long-log', id)).toMatchObject({ exit_code: 1, log_path: null, log_tail: null });
  });

  it("when looking up a job's log file throws (a name too long, a folder it may not enter), the run has no log file and the reading goes on", () => {
    const queries: RunLogQueries = {
      runStreams: () => ({ stdout: [], stderr: [] }),
      stderrLines: () => [],
      previousStderrRun: () => null,
      isFile: () => {
        throw Object.assign(new Error('ENAMETOOLONG: name too long, stat'), { code: 'ENAMETOOLONG' });
      },
    };
    const logs = new RunLogReader(queries).read({ id: 1, job_id: 'api-sync', exit_code: 1 }, { stdoutLines: 200, logsDir: '/home/me/.procclaw/logs', home: '/home/me' });
    expect(logs.logFile).toBeNull();
  });
});

describe('numbers no run has', () => {
  it('when duration_seconds is 1e308, infinite or over ten years, the run is stored with finished_at - started_at (or none) and a note, and the runs after it are imported', async () => {
    const db = databaseFor('durations');
    const start = ago(3 * HOUR);
    const wall = (at: Date) => naiveIso(at);
    hostileRun(db, { job: 'huge-duration', started: wall(start), finished: wall(new Date(start.getTime() + 4_000)), exit: 1, duration: 1e308 });
    hostileRun(db, { job: 'huge-duration', started: wall(new Date(start.getTime() + MINUTE)), finished: null, exit: null, duration: Infinity });
    hostileRun(db, { job: 'huge-duration', started: '2014-01-01T00:00:00', finished: wall(start), exit: 70_000, duration: (start.getTime() - Date.UTC(2014, 0, 1)) / 1000 });
    const ordinary = db.run({ job: 'huge-duration', at: new Date(start.getTime() + 2 * MINUTE), finishedAt: new Date(start.getTime() + 2 * MINUTE + 9_000), exit: 0, stdout: ['ok'] });
    db.close();

    const summary = await importProcclawOnce(deps, { dbFile: db.file, logsDir });
    expect(summary).toMatchObject({ created: 4, skipped: [] });
    expect(await runOf('huge-duration', 1)).toMatchObject({ duration_ms: 4000, time_note: "duration_seconds 1e+308 is not a run's duration (negative, not finite, or over ten years); stored finished_at - started_at, 4 s, instead" });
    expect(await runOf('huge-duration', 2)).toMatchObject({ finished_at: null, duration_ms: null, time_note: "duration_seconds Infinity is not a run's duration (negative, not finite, or over ten years); no duration is stored" });
    const decade = await runOf('huge-duration', 3);
    expect(decade).toMatchObject({ exit_code: null, duration_ms: null });
    expect(decade.time_note).toMatch(/^duration_seconds [\d.]+ is not a run's duration \(negative, not finite, or over ten years\); no duration is stored \(finished_at - started_at is \d{4} days\)$/);
    expect(await runOf('huge-duration', ordinary)).toMatchObject({ duration_ms: 9000, time_note: null });
    expect(MAX_DURATION_MS).toBe(10 * 365 * 86_400_000);
  });

  it('when run ids are past 2^53 - 1, 0 or negative, each is skipped naming its exact id, the run beside them is imported, and the next pass neither repeats them nor takes the file for a new one', async () => {
    const db = databaseFor('ids');
    const ordinary = runWithoutLines(db, 'odd-ids', ago(3 * HOUR));
    for (const id of [0, -3]) hostileRun(db, { id, job: 'odd-ids', started: naiveIso(ago(4 * HOUR)), finished: naiveIso(ago(4 * HOUR)), exit: 1, duration: 0 });
    // Read as JavaScript numbers both are 9007199254740996: one would be stored as the other.
    for (const id of [2n ** 53n + 4n, 2n ** 53n + 5n]) hostileRun(db, { id, job: 'odd-ids', started: naiveIso(ago(2 * HOUR)), finished: naiveIso(ago(2 * HOUR)), exit: 1, duration: 0 });
    db.close();

    const first = await importProcclawOnce(deps, { dbFile: db.file, logsDir });
    expect(first.created).toBe(1);
    expect(await runOf('odd-ids', ordinary)).toMatchObject({ exit_code: 1 });
    expect(asSkipped(first)).toEqual([
      'run id -3 is not above 0: ProcClaw numbers its runs from 1, so the row was not written by it',
      'run id 0 is not above 0: ProcClaw numbers its runs from 1, so the row was not written by it',
      'run id 9007199254740996 is above 9007199254740991, beyond which this import cannot tell neighbouring ids apart (it would store it as another run)',
      'run id 9007199254740997 is above 9007199254740991, beyond which this import cannot tell neighbouring ids apart (it would store it as another run)',
    ]);
    expect(await stack.db('job_runs').where({ job_id: 'odd-ids' }).count({ n: '*' })).toEqual([{ n: 1 }]);

    const second = await importProcclawOnce(deps, { dbFile: db.file, logsDir });
    expect(second).toMatchObject({ created: 0, updated: 0, skipped: [] });
    expect(second.new_generation).toBeUndefined();
  });
});

describe('values the API refuses in a run report', () => {
  it('when a run starts in the future beyond the clock skew, it is skipped saying so; one before 2000 (a clock not set yet) or one that finished before it started is kept with a note', async () => {
    const db = databaseFor('clock');
    runWithoutLines(db, 'odd-clock', new Date(Date.now() + HOUR));
    const early = hostileRun(db, { job: 'odd-clock', started: '1999-12-31T23:00:00', finished: '1999-12-31T23:00:04', exit: 0, duration: 4 });
    const backwards = db.addRun({ job: 'odd-clock', at: ago(10 * MINUTE) });
    db.finishRun(backwards, { finishedAt: ago(20 * MINUTE), exit: 0 }); // ProcClaw's clock set back during the run
    // Within the skew two clocks may drift.
    const ahead = db.run({ job: 'odd-clock', at: new Date(Date.now() + MINUTE), finishedAt: new Date(Date.now() + MINUTE + 4_000), exit: 1, stdout: ['fetching'] });
    db.close();

    const summary = await importProcclawOnce(deps, { dbFile: db.file, logsDir });
    expect(summary.created).toBe(3);
    const reasons = asSkipped(summary);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(
      /^started_at "[\d\-T:.]+" \(read as [\d\-T:.]+Z\) is in the future, more than 5 minutes ahead of this machine's clock: ProcClaw's clock was wrong, or its local times are read in the wrong zone \(see --timezone\)$/,
    );
    expect(await runOf('odd-clock', early)).toMatchObject({
      duration_ms: 4000,
      time_note: "started_at \"1999-12-31T23:00:00\" (read as 1999-12-31T23:00:00.000Z) is before 2000-01-01: ProcClaw's clock was not set when it recorded the run",
    });
    const kept = await runOf('odd-clock', backwards);
    expect(kept).toMatchObject({ duration_ms: null, exit_code: 0 });
    expect(kept.finished_at.getTime()).toBeLessThan(kept.started_at.getTime());
    expect(kept.time_note).toMatch(/^finished_at [\d\-T:.]+Z is before started_at [\d\-T:.]+Z: no duration is stored$/);
    expect(await runOf('odd-clock', ahead)).toMatchObject({ exit_code: 1 });
    // The same bound as the API's.
    expect(FUTURE_SKEW_MS).toBe(RUN_CLOCK_SKEW_MS);
  });

  it("when a job's log.stdout points outside the places a review may read (/etc/shadow), its run is stored without a log_path, directly and through the API, which accepts the report; a log in the job's cwd is kept", async () => {
    const cwd = path.join(stack.workDir, 'cwd-log');
    await mkdir(cwd, { recursive: true });
    await writeFile(path.join(cwd, 'out.log'), 'fetching\n');
    for (const id of ['shadowy', 'shadowy-api']) await writeJob(id, 'log:\n  stdout: /etc/shadow\n  stderr: /etc/shadow\n');
    await writeJob('cwd-log', `cwd: ${cwd}\nlog:\n  stdout: ${cwd}/out.log\n`);
    const db = databaseFor('log-places');
    const shadowy = runWithoutLines(db, 'shadowy', ago(3 * HOUR));
    const inCwd = runWithoutLines(db, 'cwd-log', ago(3 * HOUR));
    db.close();
    expect(await importProcclawOnce(deps, { dbFile: db.file, logsDir })).toMatchObject({ created: 2, skipped: [] });
    expect(await runOf('shadowy', shadowy)).toMatchObject({ exit_code: 1, log_path: null });
    expect(await runOf('cwd-log', inCwd)).toMatchObject({ log_path: path.join(cwd, 'out.log') });

    // A fresh failed run goes to the API: with /etc/shadow as log_path it would refuse the whole report (400).
    const fresh = databaseFor('log-places-api');
    const reported = runWithoutLines(fresh, 'shadowy-api', ago(MINUTE));
    fresh.close();
    const summary = await importProcclawOnce({ ...deps, api: { url: stack.api, token: null } }, { dbFile: fresh.file, logsDir });
    expect(summary).toMatchObject({ created: 1, rejected: [], skipped: [] });
    expect(await runOf('shadowy-api', reported)).toMatchObject({ exit_code: 1, log_path: null });
  });
});

describe('a hard-linked log file', () => {
  it("when ProcClaw's logs folder holds a hard link to a secret outside every job folder, a review of the job reads none of it and says why", async () => {
    const secret = path.join(outside, 'secret.txt');
    await writeFile(secret, `${SECRET}\n`);
    await chmod(secret, 0o600);
    await writeJob('linked', reactive);
    await link(secret, path.join(logsDir, 'linked.log')); // the job's own ProcClaw log file, as ProcClaw names it
    await link(secret, path.join(logsDir, 'hl.log'));
    const db = databaseFor('hard-link');
    const procclawId = runWithoutLines(db, 'linked', ago(2 * HOUR));
    db.close();
    await importProcclawOnce(deps, { dbFile: db.file, logsDir });
    const imported = await runOf('linked', procclawId);
    expect(imported.log_path).toBe(path.join(logsDir, 'linked.log'));
    const lines = await reviewLogLines('linked', imported.id);
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines).toContain(`(the job's ProcClaw log file ${path.join(logsDir, 'linked.log')} ${HARD_LINKED})`);

    // A log_path a run report named (not the job's ProcClaw file): the same.
    const { run } = await upsertRun(stack.db, {
      job_id: 'linked', external_id: 'hard-link-report', started_at: ago(HOUR), finished_at: ago(HOUR - 4_000), exit_code: 1, duration_ms: 4_000,
      trigger: 'scheduled', error: null, sla_status: null, sla_details: null, log_path: path.join(logsDir, 'hl.log'), log_tail: null, session_messages: null, time_note: null,
    });
    expect(await reviewLogLines('linked', run.id)).toEqual([`(log file ${path.join(logsDir, 'hl.log')} ${HARD_LINKED})`]);
  });

  it('when a second name is made for a log after it was checked, reading it refuses it: the check is made on the opened file', async () => {
    const file = path.join(logsDir, 'swapped.log');
    await writeFile(file, `${SECRET}\n`);
    await writeJob('swapped');
    const job = (await findJob(stack.jobsDir, 'swapped'))!;
    const found = await inspectLogPath(file, job, { home: stack.workDir, procclawHome: home });
    if (!found.ok) throw new Error(found.reason);
    expect(await readLogTailLines(found.real, 10, 4096)).toEqual([SECRET]);
    await link(file, path.join(outside, 'second-name.log'));
    await expect(readLogTailLines(found.real, 10, 4096)).rejects.toThrow(new LogFileRefused(HARD_LINKED));
  });

  it("when a job's business log is a hard link to a secret, the business-log view refuses it saying why, and a review quotes none of it", async () => {
    const cwd = path.join(stack.workDir, 'biz-linked');
    await mkdir(cwd, { recursive: true });
    const secret = path.join(outside, 'biz-secret.txt');
    await writeFile(secret, `${SECRET}\n`);
    await link(secret, path.join(cwd, 'business.log'));
    await writeJob('biz-linked', `cwd: ${cwd}\nself_healing:\n  enabled: true\n  business_log:\n    path: ${cwd}/business.log\n`);
    const job = (await findJob(stack.jobsDir, 'biz-linked'))!;
    const view = await businessLogView(job, { home: stack.workDir, procclawHome: home });
    expect(view).toMatchObject({ refused: true, lines: [], reason: `${cwd}/business.log ${HARD_LINKED}` });
  });
});

describe('messages', () => {
  it('when more than three runs are skipped, the summary names three and says how many more', () => {
    const summary: ImportSummary = {
      source: '/home/me/.procclaw/procclaw.db', seen: 5, created: 0, updated: 0, unchanged: 0, running: 0,
      skipped: [1, 2, 3, 4, 5].map((id) => ({ procclaw_id: id, reason: `reason ${id}` })),
      reviews: [], reviews_not_started: 0, review_errors: [], rejected: [], shortened: [],
    };
    expect(describeSummary(summary)).toContain('5 skipped (#1: reason 1; #2: reason 2; #3: reason 3; and 2 more)');
    expect(describeSummary({ ...summary, skipped: summary.skipped.slice(0, 3) })).toContain('3 skipped (#1: reason 1; #2: reason 2; #3: reason 3)');
  });

  it('when the clock went back and the later reading of a start is after its finish, the note calls the reading taken (EDT) the earlier of the two', () => {
    // 01:50 happened at 05:50Z (EDT) and 06:50Z (EST); the run finished at 06:10Z; the run before it is recorded at 06:55Z.
    const reading = readStartedAt(Date.parse('2026-11-01T01:50:00Z'), 'America/New_York', {
      previousStart: new Date('2026-11-01T06:55:00Z'),
      latestFinish: new Date('2026-11-01T06:10:00Z'),
    });
    expect(reading.at.toISOString()).toBe('2026-11-01T05:50:00.000Z');
    expect(reading.note).toMatch(/read as 01:50 EDT \(-04:00\), the earlier of the two, as the later is after its finish \(the run before it is recorded as started 01:55 EST \(-05:00\), after both\)$/);
  });

  it("when a log file is one this service's user may not read (root's, mode 600; or in a folder it may not enter), the view and the review say it cannot be read, not that it is no regular file", async () => {
    const root = process.getuid?.() === 0;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-unreadable-'));
    try {
      await chmod(dir, 0o755);
      const file = path.join(dir, 'business.log');
      await writeFile(file, `${SECRET}\n`);
      await chmod(file, root ? 0o600 : 0o000);
      const closed = path.join(dir, 'closed');
      await mkdir(closed);
      await writeFile(path.join(closed, 'job.log'), `${SECRET}\n`);
      await chmod(closed, root ? 0o700 : 0o000);
      await writeJob('unreadable', `cwd: ${dir}\nself_healing:\n  enabled: true\n  business_log:\n    path: ${file}\n`);
      const job = (await findJob(stack.jobsDir, 'unreadable'))!;
      const env = { home: stack.workDir, procclawHome: home };
      const cannot = "cannot be read: this service's user may not read it, or a folder on its way (permission denied)";
      // As root every file is readable: the service's user is played by nobody for these calls.
      const asServiceUser = async <T>(read: () => Promise<T>): Promise<T> => {
        if (root) process.seteuid!(65534);
        try {
          return await read();
        } finally {
          if (root) process.seteuid!(0);
        }
      };
      const view = await asServiceUser(() => businessLogView(job, env));
      expect(view).toMatchObject({ refused: false, lines: [], reason: `${file} ${cannot}` });
      const inClosed = await asServiceUser(() => inspectLogPath(path.join(closed, 'job.log'), job, env));
      expect(inClosed).toEqual({ ok: false, outside: false, reason: cannot });
    } finally {
      await chmod(path.join(dir, 'closed'), 0o700).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });
});
