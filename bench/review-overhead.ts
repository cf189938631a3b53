// Review overhead: trigger (POST /healing/reviews/:job/trigger) -> the review's suggestions stored,
// minus the analyzer's own time (the review row's analysis_duration_ms), over 200 reviews one
// after another with the rules analyzer. Beside it, in the same run, the latency of an empty
// workflow (start -> completed) on the same dev server and worker: the floor any review pays.
import { EMPTY_TASK_QUEUE, startBenchStack } from './lib/stack.js';
import { seedRuns, writeJobs } from './lib/jobs.js';
import { poll, request } from './lib/http.js';
import { profile, workflowSteps } from './lib/history.js';
import { median, round, startBench, summary } from './lib/report.js';

const REVIEWS = Number(process.env.BENCH_REVIEWS ?? 200);
const WARMUP = 5;

const bench = startBench('review-overhead');
const stack = await startBenchStack();
try {
  const ids = await writeJobs(stack.jobsDir, 'rev', REVIEWS + WARMUP);
  await seedRuns(stack.db, ids);
  const worker = await stack.startWorker({ emptyWorker: true });
  const api = await stack.startApi();
  bench.log(`stack up: ${ids.length} jobs, worker pid ${worker.pid}, API ${api.url}`);

  // Baseline: an empty workflow, started and awaited one after another.
  const empty: number[] = [];
  for (let i = 0; i < REVIEWS + WARMUP; i++) {
    const t0 = performance.now();
    await stack.client.workflow.execute('emptyWorkflow', { workflowId: `bench-empty-${i}`, taskQueue: EMPTY_TASK_QUEUE });
    if (i >= WARMUP) empty.push(performance.now() - t0);
  }
  bench.log(`empty workflow p50 ${round(median(empty))} ms`);

  const overhead: number[] = [];
  const stored: number[] = [];
  const completed: number[] = [];
  const analyzer: number[] = [];
  const counts: number[] = [];
  const runs: { workflowId: string; runId: string }[] = [];
  for (const [i, jobId] of ids.entries()) {
    const t0 = performance.now();
    const started = await request(api.url, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
    if (started.status !== 202) throw new Error(`trigger of ${jobId} answered ${started.status}: ${JSON.stringify(started.body)}`);
    const reviewId = started.body.review_id as number;
    await poll(
      async () => (await stack.db('healing_suggestions').where({ review_id: reviewId }).first('id')) ?? null,
      `suggestions of review ${reviewId}`,
    );
    const tStored = performance.now() - t0;
    const review = await poll(
      async () => {
        const row = await stack.db('healing_reviews').where({ id: reviewId }).first('status', 'analysis_duration_ms', 'suggestions_count', 'workflow_id', 'workflow_run_id');
        return row && row.status !== 'running' ? row : null;
      },
      `review ${reviewId} to finish`,
    );
    const tDone = performance.now() - t0;
    if (review.status !== 'completed') throw new Error(`review ${reviewId} ended ${review.status}`);
    if (i < WARMUP) continue;
    stored.push(tStored);
    completed.push(tDone);
    analyzer.push(review.analysis_duration_ms as number);
    overhead.push(tStored - (review.analysis_duration_ms as number));
    counts.push(review.suggestions_count as number);
    runs.push({ workflowId: review.workflow_id as string, runId: review.workflow_run_id as string });
    if ((i - WARMUP + 1) % 50 === 0) bench.log(`${i - WARMUP + 1} reviews, overhead p50 so far ${round(median(overhead))} ms`);
  }

  // The profile: where a review's time goes, read from the workflows' histories after the run.
  const histories = [];
  for (const r of runs) histories.push((await workflowSteps(stack.client, r.workflowId, r.runId)).steps);
  const steps = profile(histories);
  bench.log(`where a review's time goes (p50 per step): ${JSON.stringify(steps)}`);

  const o = summary(overhead);
  const e = summary(empty);
  // The p50 of each quarter of the run: how steady the figure is on a noisy machine.
  const quarters = [0, 1, 2, 3].map((q) => round(median(overhead.slice((q * overhead.length) / 4, ((q + 1) * overhead.length) / 4))));
  bench.add({
    figure: `review overhead p50 (${overhead.length} reviews)`,
    target: '< 300 ms',
    measured: o.p50,
    unit: 'ms',
    pass: o.p50 < 300,
    baseline: { label: 'empty workflow p50', value: e.p50, unit: 'ms' },
    ratio: round(o.p50 / e.p50, 1),
    note: `p90 ${o.p90} ms, p99 ${o.p99} ms; p50 of each quarter ${quarters.join(' / ')} ms`,
  });
  bench.add({ figure: 'review overhead p99', target: '-', measured: o.p99, unit: 'ms', pass: null });
  bench.add({
    figure: 'trigger -> review completed p50',
    target: '-',
    measured: summary(completed).p50,
    unit: 'ms',
    pass: null,
    note: 'includes starting one suggestion workflow per suggestion and closing the review',
  });
  bench.add({ figure: 'rules analyzer time p50', target: '-', measured: summary(analyzer).p50, unit: 'ms', pass: null });
  Object.assign(bench.details, {
    reviews: overhead.length,
    warmup: WARMUP,
    suggestions_per_review: summary(counts, 0),
    overhead_ms: o,
    quarters_p50_ms: quarters,
    stored_ms: summary(stored),
    completed_ms: summary(completed),
    analyzer_ms: summary(analyzer),
    empty_workflow_ms: e,
    review_steps: steps,
    worker_rss_mb: worker.rssMb(),
    api_rss_mb: api.rssMb(),
  });
} finally {
  await stack.stop();
}
await bench.finish();
