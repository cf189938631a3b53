// /metrics for operators, on the real stack: the API's task-queue backlog (Temporal's
// DescribeTaskQueue stats), reviews in flight, analysis wait and apply outcomes, read at scrape time
// after real reviews and applies; and a `healing worker` child process serving the Temporal SDK's
// own metrics on HEALING_WORKER_METRICS_PORT.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { freePort } from '../db/embedded.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

let stack: Stack;
let jobsDir: string;

beforeAll(async () => {
  stack = await startStack();
  ({ jobsDir } = await writeDemoWorkspace(stack.workDir));
  await seedDemoRuns(stack.db, stack.workDir);
});
afterAll(async () => stack?.stop());

/** One scrape, as series (name plus labels, as printed) to values. */
async function scrape(base: string = stack.api): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

function value(series: Map<string, number>, name: string): number {
  const v = series.get(name);
  if (v === undefined) throw new Error(`no series ${name} in the scrape: ${[...series.keys()].filter((k) => k.startsWith(name.split('{')[0]!)).join(', ') || 'none of that name'}`);
  return v;
}

const backlog = (queue: string, type: string) => `healing_task_queue_backlog{task_queue="${queue}",type="${type}"}`;

async function reviewAndWait(jobId: string): Promise<{ id: number; status: string; suggestions: { id: number; target_file: string | null; advisory_reason: string | null }[] }> {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, { force: true });
  expect([200, 202]).toContain(started.status);
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `review of ${jobId} to finish`);
}

describe("the API's /metrics for operators", () => {
  it('when a review ran and its YAML edit was applied, the scrape shows workers polling, empty queues, no review in flight, that review\'s analysis wait and one applied outcome', async () => {
    const review = await reviewAndWait('nightly-backup');
    expect(review.status).toBe('completed');
    const edit = review.suggestions.find((s) => s.target_file?.endsWith('nightly-backup.yaml') && !s.advisory_reason);
    expect(edit, JSON.stringify(review.suggestions)).toBeDefined();
    const approved = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${edit!.id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('applied');

    // The queues drain within a few seconds of the last task (the stats are approximate).
    const series = await eventually(async () => {
      const s = await scrape();
      return [backlog('healing', 'workflow'), backlog('healing', 'activity'), backlog('healing-analysis', 'activity')].every((k) => s.get(k) === 0) ? s : undefined;
    }, 30_000, 'every backlog to be 0');
    expect(value(series, 'healing_temporal_up')).toBe(1);
    expect(value(series, 'healing_task_queue_pollers{task_queue="healing",type="workflow"}')).toBeGreaterThanOrEqual(1);
    expect(value(series, 'healing_task_queue_pollers{task_queue="healing",type="activity"}')).toBeGreaterThanOrEqual(1);
    expect(value(series, 'healing_task_queue_pollers{task_queue="healing-analysis",type="activity"}')).toBeGreaterThanOrEqual(1);
    expect(value(series, 'healing_task_queue_backlog_age_seconds{task_queue="healing",type="workflow"}')).toBe(0);
    expect(value(series, 'healing_task_queue_add_rate{task_queue="healing",type="workflow"}')).toBeGreaterThanOrEqual(0);

    expect(value(series, 'healing_reviews_in_flight{state="running"}')).toBe(0);
    expect(value(series, 'healing_reviews_in_flight{state="waiting"}')).toBe(0);
    expect(series.has('healing_reviews_in_flight_oldest_seconds{state="running"}')).toBe(false);

    // The one review so far: its wait is its time outside the analysis, as its row records it.
    const row = await stack.db('healing_reviews').where({ id: review.id }).first();
    const wantWait = (row.finished_at.getTime() - row.started_at.getTime() - row.analysis_duration_ms) / 1000;
    expect(value(series, 'healing_analysis_wait_samples')).toBe(1);
    expect(value(series, 'healing_analysis_wait_seconds{quantile="0.5"}')).toBeCloseTo(Math.max(0, wantWait), 2);
    expect(value(series, 'healing_analysis_wait_seconds{quantile="0.5"}')).toBeLessThan(30);

    expect(value(series, 'healing_apply_outcomes{outcome="applied"}')).toBe(1);
    expect(value(series, 'healing_apply_outcomes{outcome="failed"}')).toBe(0);
    expect(value(series, 'healing_apply_outcomes{outcome="in_progress"}')).toBe(0);
    const acknowledged = await stack.db('healing_suggestions').where({ status: 'acknowledged' }).count<{ n: string }[]>({ n: '*' });
    expect(value(series, 'healing_apply_outcomes{outcome="acknowledged"}')).toBe(Number(acknowledged[0]!.n));
  });

  it('when no worker polls, the healing queue\'s backlog counts the reviews waiting with their age, and drains once a worker is back', async () => {
    await stack.stopWorker();
    try {
      // Together: with no worker each answer waits a while for the review's row, then comes without it.
      const started = await Promise.all(['report-sync', 'idea-hunter', 'healthy-cleanup'].map((job) => http(stack.api, 'POST', `/api/v1/healing/reviews/${job}/trigger`, { force: true })));
      expect(started.map((a) => a.status)).toEqual([202, 202, 202]);
      const waiting = await eventually(async () => {
        const s = await scrape();
        return (s.get(backlog('healing', 'workflow')) ?? 0) >= 3 && (s.get('healing_task_queue_backlog_age_seconds{task_queue="healing",type="workflow"}') ?? 0) > 0 ? s : undefined;
      }, 30_000, 'the healing workflow backlog to reach 3');
      // At least the three: a workflow of an earlier test may have a task due meanwhile too.
      expect(value(waiting, backlog('healing', 'workflow'))).toBeGreaterThanOrEqual(3);
      // Not yet started by any worker, so no row is open: the backlog is the only sign of them.
      expect(value(waiting, 'healing_reviews_in_flight{state="running"}')).toBe(0);
    } finally {
      await stack.startWorker();
    }
    await eventually(async () => {
      const s = await scrape();
      return s.get(backlog('healing', 'workflow')) === 0 && s.get('healing_reviews{status="running",trigger="manual"}') === undefined ? s : undefined;
    }, 60_000, 'the backlog to drain and the three reviews to close');
  });

  it('when a review waits for running OpenClaw jobs and another runs, both count in flight with their ages; a written file its check refused counts as failed_verification', async () => {
    const minute = 60_000;
    const [waitingReview] = await stack.db('healing_reviews')
      .insert({ job_id: 'idea-hunter', trigger: 'scheduled', status: 'running', workflow_id: 'metrics-test', workflow_run_id: 'metrics-test-waiting', started_at: new Date(Date.now() - 3 * minute), waiting_reason: 'OpenClaw jobs are running: idea-hunter', waiting_since: new Date(Date.now() - 2 * minute) })
      .returning('id');
    const [runningReview] = await stack.db('healing_reviews')
      .insert({ job_id: 'report-sync', trigger: 'manual', status: 'running', workflow_id: 'metrics-test', workflow_run_id: 'metrics-test-running', started_at: new Date(Date.now() - 5 * minute) })
      .returning('id');
    const [suggestion] = await stack.db('healing_suggestions')
      .insert({ review_id: runningReview.id, ordinal: 0, job_id: 'report-sync', category: 'config', severity: 'low', severity_rank: 0, title: 'refused by its check', fingerprint: 'metrics-test', status: 'failed' })
      .returning('id');
    await stack.db('healing_actions').insert({
      suggestion_id: suggestion.id, attempt: 1, job_id: 'report-sync', action_type: 'edit_config', status: 'failed',
      verification: JSON.stringify({ status: 'failed', check: 'job schema', reason: 'not a valid job' }),
    });
    try {
      const before = await scrape();
      expect(value(before, 'healing_reviews_in_flight{state="waiting"}')).toBe(1);
      expect(value(before, 'healing_reviews_in_flight{state="running"}')).toBe(1);
      expect(value(before, 'healing_reviews_in_flight_oldest_seconds{state="waiting"}')).toBeGreaterThanOrEqual(120);
      expect(value(before, 'healing_reviews_in_flight_oldest_seconds{state="waiting"}')).toBeLessThan(180);
      expect(value(before, 'healing_reviews_in_flight_oldest_seconds{state="running"}')).toBeGreaterThanOrEqual(300);
      expect(value(before, 'healing_reviews_in_flight_oldest_seconds{state="running"}')).toBeLessThan(360);
      expect(value(before, 'healing_apply_outcomes{outcome="failed_verification"}')).toBe(1);
      expect(value(before, 'healing_apply_outcomes{outcome="failed"}')).toBe(0);
    } finally {
      await stack.db('healing_reviews').whereIn('id', [waitingReview.id, runningReview.id]).del();
    }
    const after = await scrape();
    expect(value(after, 'healing_reviews_in_flight{state="waiting"}')).toBe(0);
    expect(value(after, 'healing_apply_outcomes{outcome="failed_verification"}')).toBe(0);
  });
});

/** `healing worker` as people run it, against this file's Postgres and Temporal. */
async function spawnWorker(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const { name } = ((await stack.db.raw('select current_database() as name')).rows as { name: string }[])[0]!;
  const databaseUrl = new URL(inject('databaseUrl'));
  databaseUrl.pathname = `/${name}`;
  const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'cli', 'healing.ts'), 'worker'], {
    cwd: stack.workDir,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl.toString(),
      TEMPORAL_ADDRESS: stack.env.address,
      HEALING_JOBS_DIR: jobsDir,
      HEALING_DATA_DIR: stack.dataDir,
      HEALING_ANALYZER: 'rules',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe("a worker's own /metrics (HEALING_WORKER_METRICS_PORT)", () => {
  it('when a `healing worker` runs with HEALING_WORKER_METRICS_PORT, its /metrics answers the Temporal SDK\'s temporal_ series, counting the analysis it ran', async () => {
    const port = await freePort();
    const worker = await spawnWorker({ HEALING_WORKER_METRICS_PORT: String(port) });
    try {
      for (const deadline = Date.now() + 120_000; !worker.output().includes('ProcClaw Healing is running'); ) {
        if (worker.child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not start:\n${worker.output().slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(worker.output()).toContain(`worker metrics (the Temporal SDK's): http://127.0.0.1:${port}/metrics`);
      // Only the child works from here: the review's analysis runs in it.
      await stack.stopWorker();
      const review = await reviewAndWait('report-sync');
      expect(review.status).toBe('completed');
      const text = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        const body = await res.text();
        // a rules review opens, collects and analyses in one local activity (REVIEW_STEPS_FOLDED)
        // (its local activity is counted as it ends, the workflow task it ran in a moment later)
        const counted =
          /temporal_local_activity_execution_latency_count\{[^}]*activity_type="beginReview"[^}]*\} [1-9]/.test(body) &&
          /temporal_workflow_task_execution_latency_count\{[^}]*task_queue="healing"/.test(body);
        return res.status === 200 && counted ? body : undefined;
      }, 30_000, "the worker's metrics to count the analysis and its workflow task");
      expect(text).toMatch(/temporal_worker_task_slots_available\{[^}]*task_queue="healing-analysis"/);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await stack.startWorker();
    }
  });

  it('when HEALING_WORKER_METRICS_PORT is taken, the worker stops at start with a message naming the variable and the address', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      const worker = await spawnWorker({ HEALING_WORKER_METRICS_PORT: String(port) });
      const code = await worker.exited;
      expect(code).not.toBe(0);
      expect(worker.output()).toContain(`HEALING_WORKER_METRICS_PORT: cannot serve the worker's metrics on 127.0.0.1:${port}`);
      expect(worker.output()).toMatch(/[Aa]ddress already in use/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('when HEALING_WORKER_METRICS_PORT is not a port or host:port, the configuration is refused naming the variable; a bare port listens on loopback', () => {
    for (const bad of ['abc', '0', '70000', 'http://0.0.0.0:9464']) {
      expect(() => loadConfig({ HEALING_WORKER_METRICS_PORT: bad }, '/srv', '/home/x'), bad).toThrow(ConfigError);
      expect(() => loadConfig({ HEALING_WORKER_METRICS_PORT: bad }, '/srv', '/home/x'), bad).toThrow(/HEALING_WORKER_METRICS_PORT/);
    }
    expect(loadConfig({ HEALING_WORKER_METRICS_PORT: '9464' }, '/srv', '/home/x').workerMetricsAddress).toBe('127.0.0.1:9464');
    expect(loadConfig({ HEALING_WORKER_METRICS_PORT: '0.0.0.0:9464' }, '/srv', '/home/x').workerMetricsAddress).toBe('0.0.0.0:9464');
    expect(loadConfig({}, '/srv', '/home/x').workerMetricsAddress).toBeNull();
  });
});
