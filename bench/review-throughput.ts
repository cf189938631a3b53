// Review throughput: 1,000 jobs reviewed at once (started together, as 1,000 scheduled reviews
// falling due at the same minute would be), analysis concurrency raised, rules analyzer. Beside
// it, in the same run and on the same worker, 1,000 empty workflows started together, before and
// after the reviews: the rate the dev server and one worker manage for a workflow that does
// nothing. Each burst starts once the stack is idle again (what a burst starts after it, the
// suggestion workflows' first tasks and the notifications, is left out of the next one's figures). Each review of these jobs stores two suggestions, so it also starts two suggestion
// workflows. CPU time per review and per empty workflow is read for each process.
import type { Client } from '@temporalio/client';
import { reviewWorkflowId, TASK_QUEUE, type ReviewInput } from '../core/temporal.js';
import { EMPTY_TASK_QUEUE, startBenchStack } from './lib/stack.js';
import { seedHealthyRuns, seedRuns, writeJobs } from './lib/jobs.js';
import { settle, startCpu } from './lib/cpu.js';
import { median, round, startBench } from './lib/report.js';

const JOBS = Number(process.env.BENCH_THROUGHPUT_JOBS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_THROUGHPUT_ROUNDS ?? 1);
const ANALYSIS_CONCURRENCY = 32;
/** Starts in flight at once: the client's own limit, not the server's. */
const START_CONCURRENCY = 100;

const bench = startBench('review-throughput');
const stack = await startBenchStack();

async function inPool<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

/** Starts every workflow, waits for all to complete; answers completions per second. */
async function burst(client: Client, ids: string[], start: (id: string) => Promise<{ result: () => Promise<unknown> }>): Promise<{ rate: number; seconds: number }> {
  const t0 = performance.now();
  const results: Promise<unknown>[] = [];
  await inPool(ids, START_CONCURRENCY, async (id) => {
    const handle = await start(id);
    results.push(handle.result());
  });
  await Promise.all(results);
  const seconds = (performance.now() - t0) / 1000;
  void client;
  return { rate: ids.length / seconds, seconds };
}

try {
  const jobIds: string[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ids = await writeJobs(stack.jobsDir, `thr${r}`, JOBS);
    await seedRuns(stack.db, ids);
    jobIds.push(ids);
  }
  // Healthy jobs: the review finds nothing, so it is the review pipeline alone, no suggestion workflows.
  const healthyIds = await writeJobs(stack.jobsDir, 'ok', JOBS, { healthy: true });
  await seedHealthyRuns(stack.db, healthyIds);
  const worker = await stack.startWorker({ analysisConcurrency: ANALYSIS_CONCURRENCY, emptyWorker: true });
  bench.log(`stack up: ${ROUNDS} x ${JOBS} jobs, worker pid ${worker.pid}`);
  // warm both paths
  await stack.client.workflow.execute('emptyWorkflow', { workflowId: 'bench-empty-warm', taskQueue: EMPTY_TASK_QUEUE });

  const emptyRates: number[] = [];
  const reviewRates: number[] = [];
  const rounds: Record<string, unknown>[] = [];
  const perItem = (cpu: Record<string, number>) => Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round((v * 1000) / JOBS, 2)]));
  const quiet = async (before: string) => {
    const groups = stack.cpuGroups();
    delete groups.bench; // its own polling is not the stack's work
    bench.log(`stack idle after ${round((await settle(groups)) / 1000, 1)} s, before ${before}`);
  };
  const emptyBurst = async (label: string) => {
    await quiet(`the empty workflows (${label})`);
    const cpu = startCpu(stack.cpuGroups());
    const empty = await burst(stack.client, Array.from({ length: JOBS }, (_, i) => `bench-empty-${label}-${i}`), (id) =>
      stack.client.workflow.start('emptyWorkflow', { workflowId: id, taskQueue: EMPTY_TASK_QUEUE }),
    );
    const used = perItem(cpu());
    bench.log(`${JOBS} empty workflows (${label}) in ${round(empty.seconds, 1)} s = ${round(empty.rate)}/s; CPU ms each: ${JSON.stringify(used)}`);
    emptyRates.push(empty.rate);
    rounds.push({ kind: 'empty', label, per_s: round(empty.rate), seconds: round(empty.seconds), cpu_ms_each: used });
  };
  // The baseline before and after the reviews, so a machine that slows down meanwhile shows.
  await emptyBurst('before');
  for (let r = 0; r < ROUNDS; r++) {
    await quiet(`round ${r + 1}`);
    const cpu = startCpu(stack.cpuGroups());
    // started as POST /healing/reviews/:job/trigger starts them
    const reviews = await burst(stack.client, jobIds[r]!, (jobId) =>
      stack.client.workflow.start('reviewWorkflow', { workflowId: reviewWorkflowId(jobId), taskQueue: TASK_QUEUE, args: [{ jobId, trigger: 'manual' } satisfies ReviewInput] }),
    );
    const used = perItem(cpu());
    bench.log(`round ${r + 1}: ${JOBS} reviews in ${round(reviews.seconds, 1)} s = ${round(reviews.rate)}/s; CPU ms each: ${JSON.stringify(used)}`);
    reviewRates.push(reviews.rate);
    rounds.push({ kind: 'reviews', label: `round ${r + 1}`, per_s: round(reviews.rate), seconds: round(reviews.seconds), cpu_ms_each: used });
  }
  await quiet('the healthy jobs');
  const healthyCpu = startCpu(stack.cpuGroups());
  const healthy = await burst(stack.client, healthyIds, (jobId) =>
    stack.client.workflow.start('reviewWorkflow', { workflowId: reviewWorkflowId(jobId), taskQueue: TASK_QUEUE, args: [{ jobId, trigger: 'manual' } satisfies ReviewInput] }),
  );
  const healthyUsed = perItem(healthyCpu());
  bench.log(`${JOBS} reviews of healthy jobs in ${round(healthy.seconds, 1)} s = ${round(healthy.rate)}/s; CPU ms each: ${JSON.stringify(healthyUsed)}`);
  rounds.push({ kind: 'healthy reviews', label: 'healthy', per_s: round(healthy.rate), seconds: round(healthy.seconds), cpu_ms_each: healthyUsed });
  await emptyBurst('after');
  const statuses = await stack.db('healing_reviews').select('status').count({ n: '*' }).groupBy('status');
  const suggestions = await stack.db('healing_suggestions').count({ n: '*' }).first();
  const healthySuggestions = await stack.db('healing_suggestions').where('job_id', 'like', 'ok-%').count({ n: '*' }).first();
  if (Number(healthySuggestions?.n ?? 0) > 0) bench.log(`note: the healthy jobs got ${healthySuggestions?.n} suggestions`);
  const emptyRate = median(emptyRates);
  const reviewRate = median(reviewRates);
  const ratio = reviewRate / emptyRate;
  const healthyRatio = healthy.rate / emptyRate;
  // The bound the design sets for a review that stores suggestions: it is a review (as a healthy
  // job's costs the engine, 1/healthyRatio empty workflows) plus one suggestion workflow per
  // suggestion (the workflow that makes two people's Approve apply once) and a notify workflow when
  // the job's notices have a target, each at least an empty workflow's cost. 1/(1 + k) were the
  // review itself free.
  const notifyWorkflows = await stack.client.workflow.count('WorkflowType = "notifyWorkflow"');
  const childrenPerReview = (Number(suggestions?.n ?? 0) + notifyWorkflows.count) / (JOBS * ROUNDS);
  const bound = 1 / (1 / healthyRatio + childrenPerReview);
  bench.add({
    figure: `review throughput (${JOBS} reviews at once, ${round(Number(suggestions?.n ?? 0) / (JOBS * ROUNDS), 1)} suggestions each)`,
    target: '>= the design bound: 1 / (a healthy review in empty workflows + child workflows per review)',
    measured: round(reviewRate, 1),
    unit: 'reviews/s',
    pass: ratio >= bound,
    baseline: { label: 'empty workflows', value: round(emptyRate, 1), unit: '/s' },
    ratio: round(ratio, 2),
    note: `bound ${round(bound, 3)} = 1 / (1/${round(healthyRatio, 2)} + ${round(childrenPerReview, 2)} child workflows: suggestion and notify); ${ROUNDS} round(s) of reviews, empty workflows measured before and after (median); analysis concurrency ${ANALYSIS_CONCURRENCY}`,
  });
  bench.add({
    figure: `review throughput, healthy jobs (${JOBS} at once, no suggestions)`,
    target: '>= 50% of empty-workflow rate',
    measured: round(healthy.rate, 1),
    unit: 'reviews/s',
    pass: healthyRatio >= 0.5,
    baseline: { label: 'empty workflows', value: round(emptyRate, 1), unit: '/s' },
    ratio: round(healthyRatio, 2),
    note: 'the review pipeline alone: no suggestion workflows to start',
  });
  Object.assign(bench.details, {
    jobs_per_round: JOBS,
    rounds,
    analysis_concurrency: ANALYSIS_CONCURRENCY,
    review_statuses: statuses,
    suggestions_stored: suggestions?.n,
    notify_workflows: notifyWorkflows.count,
    design_bound: round(bound, 3),
    worker_rss_mb: worker.rssMb(),
  });
} finally {
  await stack.stop();
}
await bench.finish();
