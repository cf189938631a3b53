// GET /metrics in the Prometheus text format. Every figure is read from Postgres and Temporal at
// scrape time (a few cheap group-bys, three task-queue descriptions), so any number of API
// processes report the same truth. Each app has its own registry, never the global one, so tests
// and embedders can create several apps. Counts of rows kept are gauges, not counters: retention
// deletes old rows daily, and a falling counter would read as a reset (a spike in rate()).
import { Router } from 'express';
import { Gauge, Registry } from 'prom-client';
import proto from '@temporalio/proto';
import { ANALYSIS_TASK_QUEUE, TASK_QUEUE } from '../../core/temporal.js';
import type { Db } from '../../db/knex.js';
import { metricsSnapshot, type Durations, type MetricsSnapshot } from '../../db/stats.js';
import type { ApiDeps } from '../context.js';

const { temporal } = proto; // a CommonJS module: named imports do not resolve under Node's ESM loader
const QUEUES = [
  { taskQueue: TASK_QUEUE, type: 'workflow', taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW },
  { taskQueue: TASK_QUEUE, type: 'activity', taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY },
  { taskQueue: ANALYSIS_TASK_QUEUE, type: 'activity', taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY },
] as const;
/** A scrape waits this long for Temporal's task-queue stats, then answers without them (healing_temporal_up 0). */
const QUEUE_STATS_TIMEOUT_MS = 3_000;

export function metricsRouter(deps: ApiDeps): Router {
  const registry = new Registry();
  // One snapshot of each source per scrape, shared by every gauge's collect().
  let pending: Promise<MetricsSnapshot> | null = null;
  const snapshot = () => (pending ??= metricsSnapshot(deps.db));
  let pendingOps: Promise<OperatorSnapshot> | null = null;
  const operator = () => (pendingOps ??= operatorSnapshot(deps.db));
  let pendingQueues: Promise<QueueStats[] | null> | null = null;
  const queues = () => (pendingQueues ??= queueStats(deps));

  const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: MetricsSnapshot) => void | Promise<void>) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await fill(this, await snapshot());
      },
    });

  gauge('healing_reviews', 'Reviews kept in Postgres, by status and trigger', ['status', 'trigger'], (g, s) => {
    for (const r of s.reviews) g.set({ status: r.status, trigger: r.trigger }, r.n);
  });
  gauge('healing_suggestions', 'Suggestions kept in Postgres, by status', ['status'], (g, s) => {
    for (const r of s.suggestions) g.set({ status: r.status }, r.n);
  });
  gauge('healing_actions', 'Apply attempts kept in Postgres, by status', ['status'], (g, s) => {
    for (const r of s.actions) g.set({ status: r.status }, r.n);
  });
  gauge('healing_notifications', 'Notifications kept in Postgres, by status', ['status'], (g, s) => {
    for (const r of s.notifications) g.set({ status: r.status }, r.n);
  });
  const quantiles = (g: Gauge<'quantile'>, d: Durations) => {
    for (const [q, v] of [['0.5', d.p50], ['0.9', d.p90], ['0.99', d.p99]] as const) if (v !== null) g.set({ quantile: q }, v / 1000);
  };
  gauge('healing_analysis_duration_seconds', 'Analysis duration of the reviews started in the last 24 hours, by quantile', ['quantile'], (g, s) => quantiles(g, s.analysis));
  gauge('healing_analysis_duration_samples', 'Reviews with an analysis duration started in the last 24 hours', [], (g, s) => g.set(s.analysis.count));
  gauge('healing_apply_duration_seconds', 'Duration of the apply attempts made in the last 24 hours, by quantile', ['quantile'], (g, s) => quantiles(g, s.apply));
  gauge('healing_apply_duration_samples', 'Apply attempts with a duration made in the last 24 hours', [], (g, s) => g.set(s.apply.count));

  // What an operator watches: work waiting in Temporal, reviews in flight, how long reviews wait
  // for the analyzer, and how applies end.
  const queueGauge = (name: string, help: string, value: (q: QueueStats) => number | null) =>
    gauge(name, help, ['task_queue', 'type'], async (g) => {
      for (const q of (await queues()) ?? []) {
        const v = value(q);
        if (v !== null) g.set({ task_queue: q.taskQueue, type: q.type }, v);
      }
    });
  queueGauge('healing_task_queue_backlog', "Tasks waiting in a task queue for a worker (Temporal's approximate backlog count)", (q) => q.backlog);
  queueGauge('healing_task_queue_backlog_age_seconds', 'Age of the oldest task waiting in a task queue', (q) => q.backlogAgeSeconds);
  queueGauge('healing_task_queue_add_rate', 'Tasks added to a task queue per second (the last 30 s)', (q) => q.addRate);
  queueGauge('healing_task_queue_dispatch_rate', 'Tasks handed to workers from a task queue per second (the last 30 s)', (q) => q.dispatchRate);
  queueGauge('healing_task_queue_pollers', 'Workers polling a task queue (seen in the last minutes)', (q) => q.pollers);
  gauge('healing_temporal_up', "1 when this scrape read Temporal's task-queue stats, 0 when Temporal did not answer", [], async (g) => g.set((await queues()) === null ? 0 : 1));

  gauge('healing_reviews_in_flight', 'Reviews running now: waiting for running OpenClaw jobs (waiting), or collecting, queued for or in analysis, storing (running)', ['state'], async (g) => {
    const o = await operator();
    g.set({ state: 'running' }, o.inFlight.running);
    g.set({ state: 'waiting' }, o.inFlight.waiting);
  });
  gauge('healing_reviews_in_flight_oldest_seconds', 'Age of the oldest review running now (state running: since it started; waiting: since it began waiting for OpenClaw jobs)', ['state'], async (g) => {
    const o = await operator();
    if (o.inFlight.oldestRunningS !== null) g.set({ state: 'running' }, o.inFlight.oldestRunningS);
    if (o.inFlight.longestWaitS !== null) g.set({ state: 'waiting' }, o.inFlight.longestWaitS);
  });
  gauge(
    'healing_analysis_wait_seconds',
    "Time the reviews finished in the last 24 hours spent outside their analysis (finished - started - analysis duration): queued for a healing-analysis slot, waiting for OpenClaw jobs, collecting and storing; by quantile",
    ['quantile'],
    async (g) => quantiles(g, (await operator()).analysisWait),
  );
  gauge('healing_analysis_wait_samples', 'Reviews finished in the last 24 hours with an analysis, behind healing_analysis_wait_seconds', [], async (g) => g.set((await operator()).analysisWait.count));
  gauge(
    'healing_apply_outcomes',
    'How the apply attempts kept in Postgres ended: applied, rolled_back (applied, later undone), failed_verification (written, then refused by its check and restored), failed (any other failure, nothing left written), in_progress; and acknowledged advice (approved, nothing to write)',
    ['outcome'],
    async (g) => {
      for (const [outcome, n] of Object.entries((await operator()).applyOutcomes)) g.set({ outcome }, n);
    },
  );

  const router = Router();
  router.get('/metrics', async (_req, res) => {
    try {
      const text = await registry.metrics();
      res.type(registry.contentType).send(text);
    } finally {
      pending = null;
      pendingOps = null;
      pendingQueues = null;
    }
  });
  return router;
}

interface OperatorSnapshot {
  inFlight: { running: number; waiting: number; oldestRunningS: number | null; longestWaitS: number | null };
  analysisWait: Durations;
  applyOutcomes: Record<'applied' | 'rolled_back' | 'failed_verification' | 'failed' | 'in_progress' | 'acknowledged', number>;
}

/** Reviews in flight (the status index), the analysis wait of the last day, apply outcomes (the kept counts, and the failed actions' checks). */
async function operatorSnapshot(db: Db): Promise<OperatorSnapshot> {
  const [inFlight, wait, actions, failedChecks, acknowledged] = await Promise.all([
    db.raw<{ rows: { running: number; waiting: number; oldest_running_s: number | null; longest_wait_s: number | null }[] }>(
      `select count(*) filter (where waiting_since is null)::int as running,
              count(*) filter (where waiting_since is not null)::int as waiting,
              extract(epoch from now() - min(started_at) filter (where waiting_since is null))::float8 as oldest_running_s,
              extract(epoch from now() - min(waiting_since))::float8 as longest_wait_s
         from healing_reviews where status = 'running'`,
    ),
    db.raw<{ rows: { count: number; p: (number | null)[] | null }[] }>(
      `select count(*)::int as count,
              percentile_cont(array[0.5, 0.9, 0.99]) within group (order by greatest(0, extract(epoch from finished_at - started_at) * 1000 - analysis_duration_ms)) as p
         from healing_reviews
        where finished_at > now() - interval '24 hours' and analysis_duration_ms is not null`,
    ),
    db.raw<{ rows: { status: string; n: number }[] }>('select status, n::int as n from healing_action_counts where n <> 0'),
    db.raw<{ rows: { n: number }[] }>("select count(*)::int as n from healing_actions where status = 'failed' and verification->>'status' = 'failed'"),
    db.raw<{ rows: { n: number }[] }>("select coalesce(sum(n), 0)::int as n from healing_suggestion_counts where status = 'acknowledged'"),
  ]);
  const i = inFlight.rows[0]!;
  const w = wait.rows[0];
  const byStatus = Object.fromEntries(actions.rows.map((r) => [r.status, r.n])) as Record<string, number | undefined>;
  const failedVerification = failedChecks.rows[0]?.n ?? 0;
  return {
    inFlight: { running: i.running, waiting: i.waiting, oldestRunningS: i.oldest_running_s, longestWaitS: i.longest_wait_s },
    analysisWait: { count: w?.count ?? 0, p50: w?.p?.[0] ?? null, p90: w?.p?.[1] ?? null, p99: w?.p?.[2] ?? null },
    applyOutcomes: {
      applied: byStatus.success ?? 0,
      rolled_back: byStatus.rolled_back ?? 0,
      failed_verification: failedVerification,
      failed: Math.max(0, (byStatus.failed ?? 0) - failedVerification),
      in_progress: byStatus.running ?? 0,
      acknowledged: acknowledged.rows[0]?.n ?? 0,
    },
  };
}

interface QueueStats {
  taskQueue: string;
  type: 'workflow' | 'activity';
  backlog: number | null;
  backlogAgeSeconds: number | null;
  addRate: number | null;
  dispatchRate: number | null;
  pollers: number;
}

/** DescribeTaskQueue with reportStats for each of our queues; null when Temporal does not answer in time. */
async function queueStats(deps: ApiDeps): Promise<QueueStats[] | null> {
  try {
    const client = await deps.temporal();
    const describeAll = Promise.all(
      QUEUES.map(async (q): Promise<QueueStats> => {
        const answer = await client.workflowService.describeTaskQueue({ namespace: deps.temporalNamespace, taskQueue: { name: q.taskQueue }, taskQueueType: q.taskQueueType, reportStats: true });
        const stats = answer.stats;
        const age = stats?.approximateBacklogAge;
        return {
          taskQueue: q.taskQueue,
          type: q.type,
          backlog: stats ? Number(stats.approximateBacklogCount ?? 0) : null,
          backlogAgeSeconds: stats ? (age ? Number(age.seconds ?? 0) + (age.nanos ?? 0) / 1e9 : 0) : null,
          addRate: stats ? (stats.tasksAddRate ?? 0) : null,
          dispatchRate: stats ? (stats.tasksDispatchRate ?? 0) : null,
          pollers: answer.pollers?.length ?? 0,
        };
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${QUEUE_STATS_TIMEOUT_MS} ms`)), QUEUE_STATS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([describeAll, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    deps.log.warn({ err: error }, "metrics: Temporal's task-queue stats could not be read");
    return null;
  }
}
