// The two workers: workflows and short activities on `healing`, analysis alone on
// `healing-analysis` with a small concurrency so reviews queue for AI tokens.
import { createRequire } from 'node:module';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerInterceptors, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { ANALYSIS_TASK_QUEUE, TASK_QUEUE } from '../core/temporal.js';

const require = createRequire(import.meta.url);
let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;

/** The workflow code, bundled once per process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
    webpackConfigHook: (config) => {
      // Our sources import siblings as `./x.js` (ESM style); let webpack find the `.ts` file.
      config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
      return config;
    },
  });
  return bundle;
}

export interface HealingWorkers {
  run(): Promise<void>;
  shutdown(): void;
}

export async function createWorkers(opts: {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  analysisConcurrency: number;
  log: Logger;
  /** fault drills hook activity execution here */
  interceptors?: WorkerInterceptors;
  /**
   * At shutdown, how long running activities may take to finish (the worker drains) before they
   * are cancelled and left to another worker's retry. Unset: cancelled at once (the SDK default).
   */
  shutdownGraceMs?: number;
}): Promise<HealingWorkers> {
  const shutdown = opts.shutdownGraceMs
    ? { shutdownGraceTime: opts.shutdownGraceMs, shutdownForceTime: opts.shutdownGraceMs + 15_000 }
    : {};
  const activities = createActivities(opts.deps);
  const { analyze, rewriteProposal, ...ioActivities } = activities;
  const main = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: ioActivities,
    interceptors: opts.interceptors,
    ...shutdown,
  });
  const analysis = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: ANALYSIS_TASK_QUEUE,
    activities: { analyze, rewriteProposal },
    maxConcurrentActivityTaskExecutions: opts.analysisConcurrency,
    ...shutdown,
  });
  return {
    run: async () => {
      await Promise.all([main.run(), analysis.run()]);
    },
    shutdown: () => {
      for (const worker of [main, analysis]) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
    },
  };
}
