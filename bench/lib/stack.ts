// The stack a benchmark measures: an embedded Postgres and a Temporal dev server owned by the
// benchmark process, and the worker and the API each in a process of their own (as `healing worker`
// and `healing api` run them), so the load generator never shares an event loop with what it
// measures and each process's memory can be read on its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { freePort, startEmbeddedPostgres } from '../../db/embedded.js';
import { createDb, migrateLatest, type Db } from '../../db/knex.js';
import { ensureSearchAttributes } from '../../worker/search-attributes.js';
import { EMPTY_TASK_QUEUE } from './constants.js';
import { findPid, processTree, type CpuMeter } from './cpu.js';
import { ROOT } from './paths.js';
import { resolveCli } from './temporal-cli.js';

export { EMPTY_TASK_QUEUE, ROOT };
const LIB = path.dirname(fileURLToPath(import.meta.url));
/** Where BENCH_PROFILE puts CPU profiles: outside the repository, they are large. */
export const PROFILES = path.join(os.tmpdir(), 'healing-bench-profiles');

export interface MemorySample {
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}

export interface ChildService {
  name: string;
  pid: number;
  /** resident memory now, from /proc */
  rssMb(): number;
  /** asks the process to collect garbage, then answers its memory figures */
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

export interface ApiService extends ChildService {
  url: string;
}

export interface WorkerOptions {
  analysisConcurrency?: number;
  /** also run a worker for the empty workflow on EMPTY_TASK_QUEUE (the baseline) */
  emptyWorker?: boolean;
}

export interface BenchStack {
  db: Db;
  databaseUrl: string;
  env: TestWorkflowEnvironment;
  client: Client;
  address: string;
  namespace: string;
  workDir: string;
  jobsDir: string;
  dataDir: string;
  startWorker(opts?: WorkerOptions): Promise<ChildService>;
  startApi(opts?: { webDist?: string }): Promise<ApiService>;
  /** the processes whose CPU time a benchmark reads: worker, api, temporal, postgres, bench */
  cpuGroups(): CpuMeter;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startBenchStack(opts: { pool?: number } = {}): Promise<BenchStack> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'healing-bench-'));
  await chmod(workDir, 0o755); // as root, Postgres runs as its own user and must reach the folder
  const jobsDir = path.join(workDir, 'jobs');
  const dataDir = path.join(workDir, 'data');
  await mkdir(jobsDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });

  const pg = await startEmbeddedPostgres({ dataDir: path.join(workDir, 'pg'), persistent: false, database: 'healing' });
  const db = createDb(pg.url, { max: opts.pool ?? 10 });
  await migrateLatest(db);

  const cliPath = await resolveCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cliPath }, extraArgs: ['--log-level', 'error'] },
  });
  const namespace = env.namespace ?? 'default';
  await ensureSearchAttributes(env.connection, namespace);

  const children: ChildService[] = [];
  const baseEnv = {
    BENCH_DATABASE_URL: pg.url,
    BENCH_TEMPORAL_ADDRESS: env.address,
    BENCH_NAMESPACE: namespace,
    BENCH_JOBS_DIR: jobsDir,
    BENCH_DATA_DIR: dataDir,
    BENCH_HOME: workDir,
  };

  const stack: BenchStack = {
    db,
    databaseUrl: pg.url,
    env,
    client: env.client,
    address: env.address,
    namespace,
    workDir,
    jobsDir,
    dataDir,
    async startWorker(w = {}) {
      const child = await spawnService('worker', path.join(LIB, 'worker-main.ts'), {
        ...baseEnv,
        BENCH_ANALYSIS_CONCURRENCY: String(w.analysisConcurrency ?? 1),
        BENCH_EMPTY_WORKER: w.emptyWorker ? '1' : '',
      });
      children.push(child);
      return child;
    },
    async startApi(a = {}) {
      const port = await freePort();
      const child = await spawnService('api', path.join(LIB, 'api-main.ts'), { ...baseEnv, BENCH_PORT: String(port), BENCH_WEB_DIST: a.webDist ?? '' });
      children.push(child);
      return { ...child, url: `http://127.0.0.1:${port}` };
    },
    cpuGroups() {
      const pgDir = path.join(workDir, 'pg');
      const temporalPid = findPid(cliPath, `--port ${env.address.split(':').at(-1)}`);
      const postmaster = findPid(pgDir);
      const groups: CpuMeter = {
        bench: () => [process.pid],
        temporal: () => (temporalPid ? processTree(temporalPid) : []),
        postgres: () => (postmaster ? processTree(postmaster) : []),
      };
      for (const child of children) groups[child.name] = () => [child.pid];
      return groups;
    },
    async stop() {
      for (const child of children.reverse()) await child.stop().catch(() => undefined);
      await env.teardown().catch(() => undefined);
      await db.destroy();
      await pg.stop().catch(() => undefined);
      await rm(workDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Starts a service process and waits for it to say it is ready. */
async function spawnService(name: string, entry: string, env: Record<string, string>): Promise<ChildService> {
  // BENCH_PROFILE=worker (or api) writes a V8 CPU profile of that process; read it with
  // `npx tsx bench/profile-summary.ts <file>`
  const profile = process.env.BENCH_PROFILE?.split(',').includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`] : [];
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', ...profile, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8_000);
    if (process.env.BENCH_DEBUG) process.stderr.write(`[${name}] ${d.toString()}`);
  });
  child.stdout?.on('data', (d: Buffer) => {
    if (process.env.BENCH_DEBUG) process.stdout.write(`[${name}] ${d.toString()}`);
  });
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 120 s:\n${stderr}`)), 120_000);
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    void exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} ${exited} before it was ready:\n${stderr}`));
    });
  });
  const pid = child.pid!;
  let seq = 0;
  return {
    name,
    pid,
    rssMb: () => readRssMb(pid),
    memory: () =>
      new Promise<MemorySample>((resolve, reject) => {
        const id = ++seq;
        const timer = setTimeout(() => reject(new Error(`${name} did not answer a memory request`)), 20_000);
        const onMessage = (m: { type?: string; id?: number; memory?: MemorySample }) => {
          if (m?.type === 'memory' && m.id === id && m.memory) {
            clearTimeout(timer);
            child.off('message', onMessage);
            resolve(m.memory);
          }
        };
        child.on('message', onMessage);
        child.send({ type: 'memory', id });
      }),
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

export function readRssMb(pid: number): number {
  const file = `/proc/${pid}/status`;
  if (!existsSync(file)) return Number.NaN;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return Number.NaN; // the process has just exited
  }
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(text);
  return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : Number.NaN;
}

