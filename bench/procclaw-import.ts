// ProcClaw import: a database of 1,000 runs written the way ProcClaw writes them (six jobs, 35
// days in America/New_York across the November clock change, stdout and the carried-over
// .error.log per run, OpenClaw sessions), built by the tests' builder. Measures the first import,
// then a follow pass when nothing changed (time, SQLite rows read, Postgres queries), and a pass
// that finds one new failed run.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { importProcclawOnce, type ImportDeps } from '../cli/procclaw/import.js';
import { ProcclawDb } from '../test/helpers/procclaw-db.js';
import { round, startBench, summary } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const RUNS = Number(process.env.BENCH_PROCCLAW_RUNS ?? 1_000);
const IDLE_PASSES = 50;
const ZONE = 'America/New_York';
const JOBS = ['api-sync', 'nightly-report', 'oc-idea-hunter', 'flaky-webhook', 'backup', 'stream-consumer'];

const bench = startBench('procclaw-import');
const stack = await startBenchStack();
try {
  for (const job of JOBS) {
    await writeFile(path.join(stack.jobsDir, `${job}.yaml`), `name: ${job}\ncmd: ./${job}.sh\nschedule: "0 * * * *"\nsla:\n  enabled: true\n  max_duration: 600\n`);
  }
  const home = path.join(stack.workDir, '.procclaw');
  await mkdir(home, { recursive: true });
  const procclaw = new ProcclawDb(path.join(home, 'procclaw.db'), ZONE, path.join(home, 'logs'));
  const start = Date.parse('2026-10-10T12:00:00Z');
  const step = (35 * 86_400_000) / RUNS;
  for (let i = 0; i < RUNS; i++) {
    const job = JOBS[i % JOBS.length]!;
    const at = new Date(start + i * step);
    const failed = i % 7 === 3;
    const seconds = 20 + ((i * 37) % 900);
    procclaw.run({
      job,
      at,
      finishedAt: new Date(at.getTime() + seconds * 1000),
      exit: failed ? 1 : 0,
      stdout: Array.from({ length: 40 }, (_, l) => `[${job}] step ${l} of run ${i}`),
      stderr: failed ? ['Traceback (most recent call last):', `  File "${job}.py", line 42, in main`, 'ConnectionResetError: [Errno 104] Connection reset by peer'] : [],
      session: job === 'oc-idea-hunter' ? Array.from({ length: 30 }, (_, m) => ({ type: 'message', message: { role: m % 2 ? 'assistant' : 'user', content: `message ${m}` } })) : undefined,
    });
  }
  const logRows = (procclaw.sqlite.prepare('select count(*) as n from job_logs').get() as { n: number }).n;
  bench.log(`${RUNS} runs, ${logRows} log lines written`);

  let queries = 0;
  stack.db.on('query', () => queries++);
  const deps: ImportDeps = { db: stack.db, jobsSource: stack.jobsDir, startReview: null, api: null };
  const opts = { dbFile: procclaw.file, naiveZone: ZONE, logsDir: path.join(home, 'logs') };

  let t0 = performance.now();
  const first = await importProcclawOnce(deps, opts);
  const firstMs = performance.now() - t0;
  if (first.created !== RUNS) throw new Error(`first import created ${first.created} of ${RUNS}: ${JSON.stringify(first.skipped.slice(0, 3))}`);
  const firstQueries = queries;

  const idle: number[] = [];
  const idleQueries: number[] = [];
  const idleSeen: number[] = [];
  for (let i = 0; i < IDLE_PASSES; i++) {
    queries = 0;
    t0 = performance.now();
    const pass = await importProcclawOnce(deps, opts);
    idle.push(performance.now() - t0);
    idleQueries.push(queries);
    idleSeen.push(pass.seen);
    if (pass.created + pass.updated !== 0) throw new Error(`an idle pass changed ${pass.created + pass.updated} run(s)`);
  }

  const id = procclaw.run({ job: 'flaky-webhook', at: new Date(Date.now() - 60_000), finishedAt: new Date(Date.now() - 1_000), exit: 1, stderr: ['HTTP 500'] });
  queries = 0;
  t0 = performance.now();
  const one = await importProcclawOnce(deps, opts);
  const oneMs = performance.now() - t0;
  if (one.created !== 1) throw new Error(`the pass after run ${id} created ${one.created}`);
  procclaw.close();

  const idleSummary = summary(idle, 2);
  bench.add({ figure: `first import (${RUNS} runs, ${logRows} log lines)`, target: 'report', measured: round(firstMs / 1000, 2), unit: 's', pass: null, note: `${firstQueries} Postgres queries; ${round(firstMs / RUNS, 2)} ms a run` });
  bench.add({ figure: 'follow pass, nothing changed: p50', target: 'report', measured: idleSummary.p50, unit: 'ms', pass: null, note: `p90 ${idleSummary.p90} ms over ${IDLE_PASSES} passes; ${Math.max(...idleQueries)} Postgres queries, ${Math.max(...idleSeen)} runs read` });
  bench.add({ figure: 'follow pass with one new failed run', target: 'report', measured: round(oneMs, 1), unit: 'ms', pass: null, note: `${queries} Postgres queries` });
  Object.assign(bench.details, { runs: RUNS, log_rows: logRows, first_ms: round(firstMs, 0), idle: idleSummary, idle_queries: idleQueries, one_ms: round(oneMs, 1) });
} finally {
  await stack.stop();
}
await bench.finish();
