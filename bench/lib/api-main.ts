// The API process of a benchmark: the app `healing api` serves, on the port given. Its command
// rate limit is raised: a benchmark sends hundreds of approvals a minute on purpose, and measures
// the path behind the limiter, not the limiter.
import { createServer } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../../api/app.js';
import { listenerConnection, startChangeFeed } from '../../db/change-feed.js';
import { createDb } from '../../db/knex.js';
import { env, runService } from './service.js';

await runService(async () => {
  const log = pino({ level: 'warn' });
  const db = createDb(env('BENCH_DATABASE_URL'));
  const connection = await Connection.connect({ address: env('BENCH_TEMPORAL_ADDRESS') });
  const client = new Client({ connection, namespace: env('BENCH_NAMESPACE') });
  const changes = startChangeFeed(listenerConnection(db), { log });
  const app = createApp({
    db,
    temporal: async () => client,
    temporalNamespace: env('BENCH_NAMESPACE'),
    jobsSource: env('BENCH_JOBS_DIR'),
    temporalUiUrl: null,
    analyzerStatus: async () => ({ active: 'rules', openclaw: { available: false, version: null, problem: 'not used by benchmarks' } }),
    log,
    webDist: process.env.BENCH_WEB_DIST || null,
    tokens: [],
    commandRateLimit: 1_000_000,
    changes,
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(env('BENCH_PORT')), '127.0.0.1', () => resolve());
  });
  return async () => {
    await changes.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close();
    await db.destroy();
  };
});
