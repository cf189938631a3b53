// The real stack for one test file: its own database, its own Temporal dev server, a real worker
// and the API on an ephemeral port. The OpenClaw CLI is a fake (test/fixtures/openclaw) unless a
// test gives the analyzer the real one (test/helpers/openclaw-real-stack.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino, { type Logger } from 'pino';
import { inject } from 'vitest';
import { chooseAnalyzer } from '../../activities/analyze.js';
import type { AnalyzerSettings } from '../../activities/deps.js';
import { openclawStatus } from '../../activities/openclaw.js';
import { createApp } from '../../api/app.js';
import type { ApiToken } from '../../api/auth.js';
import { DEFAULT_AI_BILL } from '../../core/ai-bill.js';
import { resolveDefaultTimeZone } from '../../core/config.js';
import type { DefaultTimeZone } from '../../core/job.js';
import type { WaitSettings } from '../../core/running.js';
import { listenerConnection, startChangeFeed, type ChangeFeed } from '../../db/change-feed.js';
import type { Db } from '../../db/knex.js';
import { reconcileJobSchedule } from '../../worker/schedules.js';
import { ensureSearchAttributes } from '../../worker/search-attributes.js';
import { createWorkers, type HealingWorkers } from '../../worker/workers.js';
import { createTestDatabase } from './database.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const FAKE_OPENCLAW = path.join(FIXTURES, 'openclaw');

export interface Stack {
  db: Db;
  env: TestWorkflowEnvironment;
  api: string;
  workDir: string;
  jobsDir: string;
  dataDir: string;
  analyzer: AnalyzerSettings;
  /** the API's Postgres change feed (GET /events) */
  changes: ChangeFeed;
  /** the zone of jobs that set none, as the service resolves it (StackOptions.defaultTimeZone, else this machine's) */
  defaultTimeZone: DefaultTimeZone;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export interface StackOptions {
  jobsDir?: string;
  analyzer?: Partial<AnalyzerSettings>;
  analysisConcurrency?: number;
  webDist?: string;
  tokens?: ApiToken[];
  commandRateLimit?: number;
  /** HEALING_LOG_ROOTS: folders beyond each job's own where run logs may lie */
  logRoots?: string[];
  /**
   * Variables of this process's environment (where the worker, its activities and the CLIs they
   * start run) while the stack runs, e.g. OPENCLAW_STATE_DIR for the user's OpenClaw; restored at stop.
   */
  env?: Record<string, string>;
  /** bounds of the waits for running jobs (core/running.ts), short in tests */
  waits?: Partial<WaitSettings>;
  /** the service's logger (API and worker), for a test that reads what is logged; silent by default */
  log?: Logger;
  /** GET /events: heartbeat and stream bound, short and small in tests */
  events?: { heartbeatMs?: number; maxClients?: number };
  /** HEALING_DEFAULT_TIMEZONE: the zone of jobs that set none (worker, API, schedules); unset: this machine's */
  defaultTimeZone?: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  if (!runtimeInstalled) {
    // The SDK's own INFO lines (worker state changes) would bury test output.
    Runtime.install({ logger: new DefaultLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
    runtimeInstalled = true;
  }
  const savedEnv = Object.fromEntries(Object.keys(opts.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, opts.env);
  const database = await createTestDatabase();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: inject('temporalCliPath') }, extraArgs: ['--log-level', 'error'] },
  });
  await ensureSearchAttributes(env.connection, env.namespace ?? 'default');
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'healing-test-'));
  const jobsDir = opts.jobsDir ?? path.join(workDir, 'jobs');
  const dataDir = path.join(workDir, 'data');
  const log = opts.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  // Tests set fields of this object to switch analyzers between cases.
  const analyzer: AnalyzerSettings = { mode: 'rules', openclawBin: FAKE_OPENCLAW, agent: null, thinking: null, timeoutSeconds: 20, ...opts.analyzer };
  const namespace = env.namespace ?? 'default';
  const defaultTimeZone = resolveDefaultTimeZone(opts.defaultTimeZone);

  let workers: HealingWorkers | null = null;
  let running: Promise<void> | null = null;
  const startWorker = async () => {
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace,
      analysisConcurrency: opts.analysisConcurrency ?? 1,
      log,
      deps: { db: database.db, jobsSource: jobsDir, dataDir, home: workDir, procclawHome: path.join(workDir, '.procclaw'), analyzer, dashboardUrl: 'http://dashboard.test', logRoots: opts.logRoots, waits: opts.waits, defaultTimeZone, log },
    });
    running = workers.run();
  };
  const stopWorker = async () => {
    workers?.shutdown();
    await running;
    workers = null;
  };
  await startWorker();

  const changes = startChangeFeed(listenerConnection(database.db), { log, retryMs: 100, maxRetryMs: 1_000 });
  const app = createApp({
    db: database.db,
    temporal: async () => env.client,
    temporalNamespace: namespace,
    jobsSource: jobsDir,
    temporalUiUrl: 'http://temporal-ui.test',
    analyzerStatus: async () => ({ active: await chooseAnalyzer(analyzer), openclaw: await openclawStatus(analyzer.openclawBin) }),
    log,
    webDist: opts.webDist ?? null,
    tokens: opts.tokens ?? [],
    commandRateLimit: opts.commandRateLimit,
    statsCacheMs: 0, // figures checked right after the writes that change them
    aiBill: () => analyzer.bill ?? DEFAULT_AI_BILL,
    reconcileSchedule: (jobId) => reconcileJobSchedule(env.client, jobsDir, jobId, defaultTimeZone),
    defaultTimeZone,
    readPlaces: { home: workDir, procclawHome: path.join(workDir, '.procclaw'), dataDir, logRoots: opts.logRoots },
    changes,
    events: opts.events,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const api = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    db: database.db,
    env,
    api,
    workDir,
    jobsDir,
    dataDir,
    analyzer,
    changes,
    defaultTimeZone,
    startWorker,
    stopWorker,
    stop: async () => {
      await changes.close(); // ends the event streams, which would hold the server open
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopWorker();
      await env.teardown();
      await database.drop();
      await rm(workDir, { recursive: true, force: true });
      for (const [k, v] of Object.entries(savedEnv)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

/** JSON request helper: answers status and parsed body. */
export async function http(base: string, method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + url, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Polls every `intervalMs` until `check` returns a value (not undefined/false), or fails after the time-out. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 30_000, what = 'condition', intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false && value !== null) return value as T;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
