// `healing run <job> -- <command...>` as cron would call it: a child process that runs the
// command, streams its output, keeps its exit code, and reports the run to the real stack's API,
// or keeps the report on disk while the API is away and sends it later.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';
import { freePort } from './helpers/ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let stack: Stack;
let dataDir: string;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function healingRun(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const base: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined, HEALING_API_TOKEN: undefined, HEALING_JOBS_DIR: undefined };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'healing.ts'), 'run', ...args], {
      cwd: ROOT,
      env: { ...(Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv), HEALING_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runsOf(jobId: string): Promise<any[]> {
  const answer = await http(stack.api, 'GET', `/api/v1/jobs/${jobId}/runs?limit=500`);
  return answer.body.runs;
}

async function outboxFiles(): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'outbox')).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'healing-run-'));
  // `healing run` here has a data folder of its own, not the service's: the service is told its
  // logs lie there (HEALING_LOG_ROOTS), else it refuses their log_path.
  stack = await startStack({ logRoots: [dataDir] });
  await mkdir(stack.jobsDir, { recursive: true });
  await writeFile(
    path.join(stack.jobsDir, 'cron-backup.yaml'),
    'name: Cron backup\ncmd: ./backup.sh\ntype: scheduled\nschedule: "0 2 * * *"\nsla:\n  max_duration: 1   # seconds\nself_healing:\n  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n',
  );
  await writeFile(path.join(stack.jobsDir, 'cron-cleanup.yaml'), 'name: Cron cleanup\ncmd: ./cleanup.sh\ntype: scheduled\n');
});
afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('healing run', () => {
  it('when the command succeeds, its output reaches the terminal and the log file and the run is reported with exit 0 and SLA pass', async () => {
    const ran = await healingRun(['cron-backup', '--api', stack.api, '--', 'node', '-e', "console.log('backup done: 12 files'); console.error('warning: 1 file skipped')"]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('backup done: 12 files');
    expect(ran.stderr).toContain('warning: 1 file skipped');
    expect(ran.stderr).toMatch(/healing: run of cron-backup \(exit 0, [\d.]+ s, SLA pass\) reported to/);
    const [run] = await runsOf('cron-backup');
    expect(run).toMatchObject({ exit_code: 0, sla_status: 'pass', error: null, trigger: 'scheduled' });
    expect(run.log_path.startsWith(path.join(dataDir, 'runs', 'cron-backup') + path.sep)).toBe(true);
    const log = await readFile(run.log_path, 'utf8');
    expect(log).toContain('backup done: 12 files');
    expect(log).toContain('warning: 1 file skipped');
    expect(run.log_tail).toContain('backup done: 12 files');
    expect(run.duration_ms).toBeGreaterThan(0);
  });

  it('when the command fails, healing exits with its exit code and the report carries the error and starts the reactive review', async () => {
    const log = path.join(dataDir, 'fixed.log');
    const ran = await healingRun(['cron-backup', '--api', stack.api, '--log', log, '--', 'node', '-e', "console.error('pg_dump: error: connection to server failed: Connection refused'); process.exit(3)"]);
    expect(ran.code).toBe(3);
    expect(ran.stderr).toMatch(/run of cron-backup \(exit 3, .*\) reported to .*; review healing-review\/cron-backup started/);
    const runs = await runsOf('cron-backup');
    const run = runs.find((r) => r.exit_code === 3);
    expect(run).toMatchObject({ log_path: log, error: 'pg_dump: error: connection to server failed: Connection refused' });
    expect(await readFile(log, 'utf8')).toContain('Connection refused');
    const review = await eventually(async () => {
      const list = await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=cron-backup');
      return list.body.reviews.find((r: any) => r.run_id === run.id && r.status !== 'running');
    }, 60_000, 'the reactive review');
    expect(review).toMatchObject({ trigger: 'on_failure', status: 'completed' });
  });

  it('when --log points outside the job\'s places, the run is still reported, with its log tail and without the path', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'healing-run-outside-'));
    const log = path.join(outside, 'elsewhere.log');
    const ran = await healingRun(['cron-cleanup', '--api', stack.api, '--log', log, '--', 'node', '-e', "console.log('cleaned 3 folders')"]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toContain(`healing: the API does not read ${log} (invalid body: log_path:`);
    expect(ran.stderr).toMatch(/run of cron-cleanup \(exit 0, [\d.]+ s\) reported to/);
    const run = (await runsOf('cron-cleanup')).find((r) => r.log_tail?.includes('cleaned 3 folders'));
    expect(run).toMatchObject({ log_path: null, exit_code: 0 });
    expect(await outboxFiles()).toEqual([]);
    await rm(outside, { recursive: true, force: true });
  });

  it('when the command takes longer than the job\'s sla.max_duration, the run is reported as an SLA breach with the reason', async () => {
    const ran = await healingRun(['cron-backup', '--api', stack.api, '--trigger', 'cron', '--', 'node', '-e', "setTimeout(() => console.log('slow backup done'), 1500)"]);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toMatch(/SLA fail\) reported/);
    const run = (await runsOf('cron-backup')).find((r) => r.log_tail?.includes('slow backup done'));
    expect(run).toMatchObject({ exit_code: 0, sla_status: 'fail', trigger: 'cron' });
    expect(run.sla_details).toMatchObject({ max_duration: 1, duration_check: false });
    expect(run.sla_details.reason).toMatch(/longer than the SLA max_duration of 1 s/);
  });

  it('when the job has no sla, no SLA status is reported', async () => {
    const ran = await healingRun(['cron-cleanup', '--api', stack.api, '--', 'node', '-e', "console.log('cleaned')"]);
    expect(ran.code).toBe(0);
    const [run] = await runsOf('cron-cleanup');
    expect(run).toMatchObject({ exit_code: 0, sla_status: null });
  });

  it('when the command is killed by a signal, healing exits 128 + the signal number and reports it', async () => {
    const ran = await healingRun(['cron-cleanup', '--api', stack.api, '--', 'node', '-e', "console.log('about to be killed'); process.kill(process.pid, 'SIGTERM')"]);
    expect(ran.code).toBe(143);
    const run = (await runsOf('cron-cleanup')).find((r) => r.exit_code === 143);
    expect(run).toMatchObject({ error: 'killed by SIGTERM' });
  });

  it('when the command does not exist, healing exits 127 and still reports the run', async () => {
    const ran = await healingRun(['cron-cleanup', '--api', stack.api, '--', 'no-such-command-for-healing']);
    expect(ran.code).toBe(127);
    expect(ran.stderr).toContain('command not found: no-such-command-for-healing');
    const run = (await runsOf('cron-cleanup')).find((r) => r.exit_code === 127);
    expect(run).toMatchObject({ error: 'command not found: no-such-command-for-healing' });
  });

  it('when the job id or the command is missing, healing says how to call it and exits 2', async () => {
    const noCommand = await healingRun(['cron-cleanup', '--api', stack.api]);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toContain('give the command to run after "--"');
    const badJob = await healingRun(['../etc', '--', 'true']);
    expect(badJob.code).toBe(2);
  });
});

describe('healing run while the API is unreachable', () => {
  it('when the API is down, the run is kept on disk with a note, and `healing run --flush` sends it later', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const before = (await runsOf('cron-cleanup')).length;
    const ran = await healingRun(['cron-cleanup', '--api', down, '--', 'node', '-e', "console.log('ran while the API was down'); process.exit(4)"]);
    expect(ran.code).toBe(4);
    expect(ran.stdout).toContain('ran while the API was down');
    expect(ran.stderr).toMatch(/run of cron-cleanup \(exit 4, .*\) kept in .*outbox.*: the API at .* is unreachable .*; it is sent by the next `healing run` or `healing run --flush`/);
    expect(await outboxFiles()).toHaveLength(1);
    expect(await runsOf('cron-cleanup')).toHaveLength(before);

    const flushed = await healingRun(['--flush', '--api', stack.api]);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(flushed.stderr).toContain('sent 1 run report(s) kept while the API was unreachable');
    expect(await outboxFiles()).toEqual([]);
    const runs = await runsOf('cron-cleanup');
    expect(runs).toHaveLength(before + 1);
    expect(runs.find((r) => r.exit_code === 4)?.log_tail).toContain('ran while the API was down');
  });

  it('when runs were kept while the API was down, the next `healing run` sends them first, and nothing is sent twice', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const before = (await runsOf('cron-cleanup')).length;
    for (const n of [1, 2]) {
      const ran = await healingRun(['cron-cleanup', '--api', down, '--', 'node', '-e', `console.log('offline run ${n}')`]);
      expect(ran.code).toBe(0);
    }
    expect(await outboxFiles()).toHaveLength(2);
    const next = await healingRun(['cron-cleanup', '--api', stack.api, '--', 'node', '-e', "console.log('online again')"]);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain('sent 2 run report(s) kept while the API was unreachable');
    expect(next.stderr).toMatch(/run of cron-cleanup \(exit 0, .*\) reported to/);
    expect(await outboxFiles()).toEqual([]);
    const runs = await runsOf('cron-cleanup');
    expect(runs).toHaveLength(before + 3);
    const tails = runs.map((r) => r.log_tail);
    expect(tails.filter((t) => t === 'offline run 1')).toHaveLength(1);
    expect(tails.filter((t) => t === 'offline run 2')).toHaveLength(1);
    // Sent in the order they ran.
    const offline = runs.filter((r) => /^offline run/.test(r.log_tail)).sort((a, b) => a.id - b.id).map((r) => r.log_tail);
    expect(offline).toEqual(['offline run 1', 'offline run 2']);
    const again = await healingRun(['--flush', '--api', stack.api]);
    expect(again.stderr).toContain('no run reports waiting to be sent');
    expect(await runsOf('cron-cleanup')).toHaveLength(before + 3);
  });
});
