// The worker process of a benchmark: the same workers `healing worker` runs (the rules analyzer,
// analysis concurrency as asked), plus, when asked, a worker for the empty baseline workflow.
// The schedule reconciler does not run here: bench/schedule-reconcile.ts measures it on its own.
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pino from 'pino';
import { createDb } from '../../db/knex.js';
import { createWorkers } from '../../worker/workers.js';
import { EMPTY_TASK_QUEUE } from './constants.js';
import { env, runService } from './service.js';

const require = createRequire(import.meta.url);

await runService(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const log = pino({ level: 'warn' });
  const connection = await NativeConnection.connect({ address: env('BENCH_TEMPORAL_ADDRESS') });
  const namespace = env('BENCH_NAMESPACE');
  const home = env('BENCH_HOME');
  const db = createDb(env('BENCH_DATABASE_URL'));
  const workers = await createWorkers({
    connection,
    namespace,
    analysisConcurrency: Number(env('BENCH_ANALYSIS_CONCURRENCY')),
    log,
    deps: {
      db,
      jobsSource: env('BENCH_JOBS_DIR'),
      dataDir: env('BENCH_DATA_DIR'),
      home,
      procclawHome: path.join(home, '.procclaw'),
      analyzer: { mode: 'rules', openclawBin: 'openclaw', agent: null, thinking: null, timeoutSeconds: 60 },
      dashboardUrl: 'http://127.0.0.1:3000',
      log,
    },
  });
  const running: Promise<void>[] = [workers.run()];
  let empty: Worker | null = null;
  if (process.env.BENCH_EMPTY_WORKER) {
    empty = await Worker.create({
      connection,
      namespace,
      taskQueue: EMPTY_TASK_QUEUE,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('../workflows/empty.ts'),
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
      }),
    });
    running.push(empty.run());
  }
  return async () => {
    workers.shutdown();
    if (empty?.getState() === 'RUNNING') empty.shutdown();
    await Promise.allSettled(running);
    await connection.close();
    await db.destroy();
  };
});
