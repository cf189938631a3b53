// ProcClaw's log lines as its supervisor stores them (test/helpers/procclaw-db.ts with a logs
// folder, so <job>.error.log really grows run after run): each run's stdout, then the last 500
// lines of the job's whole error log. Imported, a run shows its own lines in ProcClaw's order and
// not the tracebacks of earlier runs; a run ProcClaw stored no lines for points at the job's log
// files, which its review reads.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectReviewContext } from '../activities/context.js';
import { importProcclawOnce, type ImportDeps } from '../cli/procclaw/import.js';
import { largestOverlap, RunLogReader, splitOwnStderr, type RunLogQueries } from '../cli/procclaw/run-logs.js';
import { loadCatalog } from '../db/catalog.js';
import { ProcclawDb } from './helpers/procclaw-db.js';
import { startStack, type Stack } from './helpers/stack.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const TRACEBACK = ['Traceback (most recent call last):', '  File "sync.py", line 42, in fetch'];
const RESET = 'ConnectionResetError: [Errno 104] Connection reset by peer';
const HTTP_503 = 'requests.exceptions.HTTPError: 503 Server Error: Service Unavailable';

describe('telling a run\'s own stderr lines from those earlier runs left in the error log', () => {
  const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

  it('when the error log grew by a traceback since the previous run, only the lines after the previous run\'s are the run\'s own', () => {
    expect(splitOwnStderr([...TRACEBACK, RESET, ...TRACEBACK, HTTP_503], [...TRACEBACK, RESET], { failed: true })).toEqual({
      own: [...TRACEBACK, HTTP_503],
      carriedOver: 3,
      repeated: false,
    });
  });

  it('when the error log holds more than ProcClaw keeps (500 lines), the overlap with the previous run\'s window is still found', () => {
    // The previous run stored lines 100..599; this run wrote three more, and ProcClaw kept 103..602.
    expect(splitOwnStderr(lines(103, 603), lines(100, 600), { failed: true })).toEqual({ own: lines(600, 603), carriedOver: 497, repeated: false });
  });

  it('when the error log was rotated or deleted since the previous run, every line is the run\'s own', () => {
    expect(splitOwnStderr([HTTP_503], [...TRACEBACK, RESET], { failed: true })).toEqual({ own: [HTTP_503], carriedOver: 0, repeated: false });
    // Starting with the previous run's last line is no overlap: that file, whole, would start with all of it.
    expect(splitOwnStderr([RESET], [...TRACEBACK, RESET], { failed: true })).toEqual({ own: [RESET], carriedOver: 0, repeated: false });
    expect(splitOwnStderr([RESET], null, { failed: true })).toEqual({ own: [RESET], carriedOver: 0, repeated: false });
  });

  it('when a successful run wrote nothing to stderr, all its stored stderr is carried over; a failed one keeps it, marked as possibly earlier', () => {
    expect(splitOwnStderr([...TRACEBACK, RESET], [...TRACEBACK, RESET], { failed: false })).toEqual({ own: [], carriedOver: 3, repeated: false });
    expect(splitOwnStderr([...TRACEBACK, RESET], [...TRACEBACK, RESET], { failed: true })).toEqual({ own: [...TRACEBACK, RESET], carriedOver: 0, repeated: true });
  });

  it('when lines repeat, the overlap is the longest start of this run\'s stderr that ends the previous run\'s', () => {
    expect(largestOverlap(['a', 'b', 'a', 'b', 'c'], ['x', 'a', 'b', 'a', 'b'])).toBe(4);
    expect(largestOverlap(['a', 'a', 'a'], ['a', 'a'])).toBe(2);
    expect(largestOverlap(['b'], ['a'])).toBe(0);
  });

  it('when a pass reads 1,000 runs of a job in order, no run\'s stderr is read twice', () => {
    const calls = { streams: 0, stderr: 0, previous: 0 };
    const stderrOf = (id: number) => Array.from({ length: id }, (_, i) => `error of run ${i + 1}`).slice(-500);
    const queries: RunLogQueries = {
      runStreams: (id) => (calls.streams++, { stdout: [`run ${id}`], stderr: stderrOf(id) }),
      stderrLines: (id) => (calls.stderr++, stderrOf(id)),
      previousStderrRun: (_job, before, after) => (calls.previous++, before - 1 > after && before > 1 ? before - 1 : null),
      isFile: () => false,
    };
    const reader = new RunLogReader(queries);
    const splits = Array.from({ length: 1_000 }, (_, i) => reader.read({ id: i + 1, job_id: 'api-sync', exit_code: 1 }, { stdoutLines: 200, logsDir: null, home: '/home/me' }).stderr);
    expect(splits.every((s, i) => s.own.length === 1 && s.own[0] === `error of run ${i + 1}`)).toBe(true);
    expect(calls).toEqual({ streams: 1_000, stderr: 0, previous: 1_000 });
  });
});

let stack: Stack;
let deps: ImportDeps;
let home: string;
let logsDir: string;

const job = (id: string, body = '') => writeFile(path.join(stack.jobsDir, `${id}.yaml`), `name: ${id}\ncmd: ./${id}.sh\n${body}`);
const runOf = (jobId: string, procclawId: number) => stack.db('job_runs').where({ job_id: jobId, external_id: `procclaw-${procclawId}` }).first();
const reactive = 'self_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n    min_runs: 1\n';

/** What a review of `jobId` about run `runId` reads of its logs. */
async function reviewLogLines(jobId: string, runId: number): Promise<string[]> {
  const catalog = await loadCatalog(stack.jobsDir);
  const found = catalog.jobs.find((j) => j.id === jobId)!;
  const result = await collectReviewContext(stack.db, found, { trigger: 'on_failure', runId }, { home: stack.workDir, procclawHome: home, now: new Date() });
  if (!result.context) throw new Error(`the review skipped: ${result.skip}`);
  return result.context.logs.find((l) => l.run_id === runId)?.lines ?? [];
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  // One job a test: ProcClaw's run ids are this service's external ids, so two databases must not share a job here.
  for (const id of ['api-sync', 'report-mailer', 'missing-log', 'late-logs', 'no-logs-dir']) await job(id, reactive);
  home = path.join(stack.workDir, '.procclaw'); // the stack's home is workDir: this is ~/.procclaw, where the worker looks
  logsDir = path.join(home, 'logs');
  deps = { db: stack.db, jobsSource: stack.jobsDir, startReview: null, api: null };
});
afterAll(async () => {
  await stack?.stop();
});

describe("a run's log lines as ProcClaw stored them", () => {
  it("when a failing run is followed by a successful one, the successful run's log tail holds no old traceback and says how many error-log lines were left out", async () => {
    const procclaw = new ProcclawDb(path.join(home, 'procclaw.db'), 'UTC', logsDir);
    const at = (hoursAgo: number) => ({ at: new Date(Date.now() - hoursAgo * HOUR), finishedAt: new Date(Date.now() - hoursAgo * HOUR + 4_000) });
    const failed = procclaw.run({ job: 'api-sync', ...at(5), exit: 1, stdout: ['fetching orders page 1', 'fetching orders page 2'], stderr: [...TRACEBACK, RESET] });
    const succeeded = procclaw.run({ job: 'api-sync', ...at(4), exit: 0, stdout: ['fetching orders page 1', 'synced 120 orders'] });
    const failedAgain = procclaw.run({ job: 'api-sync', ...at(3), exit: 1, stdout: ['fetching orders page 1'], stderr: [...TRACEBACK, HTTP_503] });
    const sameAgain = procclaw.run({ job: 'api-sync', ...at(2), exit: 1, stdout: ['fetching orders page 1'], stderr: [...TRACEBACK, HTTP_503] });
    procclaw.close();
    const summary = await importProcclawOnce(deps, { dbFile: procclaw.file, logsDir });
    expect(summary).toMatchObject({ created: 4, skipped: [] });

    // ProcClaw's order: the stdout lines, then the stderr lines (each stream numbered from 0, read in insert order).
    expect((await runOf('api-sync', failed)).log_tail.split('\n')).toEqual(['fetching orders page 1', 'fetching orders page 2', ...TRACEBACK, RESET]);
    const success = await runOf('api-sync', succeeded);
    expect(success.log_tail.split('\n')).toEqual([
      'fetching orders page 1',
      'synced 120 orders',
      "[3 earlier lines of api-sync.error.log left out: written before this run (ProcClaw stores the file's last 500 lines with every run)]",
    ]);
    expect(success.log_tail).not.toContain('Traceback');
    expect(success.log_path).toBeNull();
    expect((await runOf('api-sync', failedAgain)).log_tail.split('\n')).toEqual([
      'fetching orders page 1',
      "[3 earlier lines of api-sync.error.log left out: written before this run (ProcClaw stores the file's last 500 lines with every run)]",
      ...TRACEBACK,
      HTTP_503,
    ]);
    // The same traceback again: the log grew by it, so it is this run's own.
    expect((await runOf('api-sync', sameAgain)).log_tail.split('\n')).toEqual([
      'fetching orders page 1',
      "[6 earlier lines of api-sync.error.log left out: written before this run (ProcClaw stores the file's last 500 lines with every run)]",
      ...TRACEBACK,
      HTTP_503,
    ]);
  });

  it('when the error log holds more than ProcClaw keeps, a successful run still shows none of it, and its tail stays bounded', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'long', 'procclaw.db'), 'UTC', logsDir);
    const start = Date.now() - 10 * HOUR;
    // 120 failures of five lines each: the error log outgrows the 500 lines ProcClaw keeps with a run.
    const traceback = (i: number) => [...TRACEBACK, '  File "mailer.py", line 7, in send', '    smtp.sendmail(report)', `${RESET} (attempt ${i})`];
    const failures = Array.from({ length: 120 }, (_, i) =>
      procclaw.run({ job: 'report-mailer', at: new Date(start + i * MINUTE), finishedAt: new Date(start + i * MINUTE + 1_000), exit: 1, stdout: ['sending'], stderr: traceback(i) }),
    );
    const ok = procclaw.run({
      job: 'report-mailer',
      at: new Date(start + 2 * HOUR),
      finishedAt: new Date(start + 2 * HOUR + 1_000),
      exit: 0,
      stdout: Array.from({ length: 400 }, (_, i) => `sent report ${i}`),
    });
    procclaw.close();
    await importProcclawOnce(deps, { dbFile: procclaw.file, logsDir });
    const tail = (await runOf('report-mailer', ok)).log_tail.split('\n');
    expect(tail).toHaveLength(200);
    expect(tail.at(-1)).toBe("[500 earlier lines of report-mailer.error.log left out: written before this run (ProcClaw stores the file's last 500 lines with every run)]");
    expect(tail.filter((l: string) => l.includes('Traceback'))).toEqual([]);
    // The last failure, with a full window of 500 lines, shows its own three.
    expect((await runOf('report-mailer', failures.at(-1)!)).log_tail.split('\n')).toEqual([
      'sending',
      "[495 earlier lines of report-mailer.error.log left out: written before this run (ProcClaw stores the file's last 500 lines with every run)]",
      ...traceback(119),
    ]);
  });
});

describe('a run ProcClaw stored no log lines for', () => {
  it("when the job's log file was missing as ProcClaw saved the run's logs, the run points at the job's error log and its review reads the error there", async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'missing', 'procclaw.db'), 'UTC', logsDir);
    const id = procclaw.run({
      job: 'missing-log',
      at: new Date(Date.now() - 3 * HOUR),
      finishedAt: new Date(Date.now() - 3 * HOUR + 2_000),
      exit: 1,
      stdout: ['uploading backup'],
      stderr: ['Traceback (most recent call last):', 'OSError: [Errno 28] No space left on device'],
      logFileMissing: true,
    });
    expect(procclaw.sqlite.prepare('select count(*) as n from job_logs where run_id = ?').get(id)).toEqual({ n: 0 });
    procclaw.close();
    await importProcclawOnce(deps, { dbFile: procclaw.file, logsDir });
    const run = await runOf('missing-log', id);
    expect(run).toMatchObject({ log_tail: null, log_path: path.join(logsDir, 'missing-log.error.log') });

    const errorLog = path.join(logsDir, 'missing-log.error.log');
    expect(await reviewLogLines('missing-log', run.id)).toEqual([
      `(the last lines of the job's ProcClaw error log ${errorLog}: it holds the job's earlier runs' output too, not only this run's)`,
      'Traceback (most recent call last):',
      'OSError: [Errno 28] No space left on device',
    ]);
  });

  it("when a run's log lines are not stored yet, its review reads the job's log file and error log; once they arrive, the run's own lines", async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'late', 'procclaw.db'), 'UTC', logsDir);
    // Earlier runs' output, and this run's, as the process wrote them to the job's two files.
    await appendFile(path.join(logsDir, 'late-logs.log'), 'run 1 started\nrun 1 done\nrun 2 started\n');
    await appendFile(path.join(logsDir, 'late-logs.error.log'), 'Traceback (most recent call last):\nKeyError: \'customer_id\'\n');
    const id = procclaw.addRun({ job: 'late-logs', at: new Date(Date.now() - 30_000) });
    // ProcClaw took longer than the hold to write them (HOLD_MS): the run is stored without them first.
    procclaw.finishRun(id, { finishedAt: new Date(Date.now() - 16_000), exit: 1 });
    const first = await importProcclawOnce(deps, { dbFile: procclaw.file, logsDir });
    expect(first).toMatchObject({ created: 1 });
    const stored = await runOf('late-logs', id);
    expect(stored).toMatchObject({ log_tail: null, log_path: path.join(logsDir, 'late-logs.log') });
    expect(await reviewLogLines('late-logs', stored.id)).toEqual([
      `(the last lines of the job's ProcClaw log file ${path.join(logsDir, 'late-logs.log')}: it holds the job's earlier runs' output too, not only this run's)`,
      'run 1 started',
      'run 1 done',
      'run 2 started',
      `(the last lines of the job's ProcClaw error log ${path.join(logsDir, 'late-logs.error.log')}: it holds the job's earlier runs' output too, not only this run's)`,
      'Traceback (most recent call last):',
      "KeyError: 'customer_id'",
    ]);

    // `_save_run_logs` within the settle window: the next pass stores the lines, and the review reads those.
    procclaw.addLogLines(id, 'late-logs', ['run 2 started'], 'stdout');
    procclaw.addLogLines(id, 'late-logs', ['Traceback (most recent call last):', "KeyError: 'customer_id'"], 'stderr');
    procclaw.close();
    const second = await importProcclawOnce(deps, { dbFile: procclaw.file, logsDir });
    expect(second).toMatchObject({ created: 0, updated: 1 });
    const updated = await runOf('late-logs', id);
    expect(updated.log_tail).toBe("run 2 started\nTraceback (most recent call last):\nKeyError: 'customer_id'");
    expect(await reviewLogLines('late-logs', updated.id)).toEqual(['run 2 started', 'Traceback (most recent call last):', "KeyError: 'customer_id'"]);
  });

  it('when no logs folder is given, a run without stored lines gets no log file', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'nologs', 'procclaw.db'), 'UTC');
    const id = procclaw.addRun({ job: 'no-logs-dir', at: new Date(Date.now() - 4 * HOUR) });
    procclaw.finishRun(id, { finishedAt: new Date(Date.now() - 4 * HOUR + 1_000), exit: 1 });
    procclaw.close();
    await writeFile(path.join(logsDir, 'no-logs-dir.log'), 'a line of an earlier run\n');
    await importProcclawOnce(deps, { dbFile: procclaw.file });
    expect(await runOf('no-logs-dir', id)).toMatchObject({ log_tail: null, log_path: null });
  });
});
