// Memory: resident size of the worker and the API processes after rounds of the work the other
// benchmarks measure (reviews, approvals that apply, list and stats requests under load), and
// whether a later round leaves them bigger than the one before. Round 1 warms up (code compiled,
// pools and caches filled); rounds 2 and 3 do the same work on fresh jobs. Each process reports
// its heap after a full collection, so growth means memory held, not garbage not yet collected.
import { createEditSuggestions } from './lib/suggestions.js';
import { seedHistory } from './lib/dataset.js';
import { seedRuns, writeJobs } from './lib/jobs.js';
import { poll, request } from './lib/http.js';
import { load } from './lib/load.js';
import { round, startBench } from './lib/report.js';
import { startBenchStack, type MemorySample } from './lib/stack.js';

const ROUNDS = 3;
const REVIEWS = Number(process.env.BENCH_MEMORY_REVIEWS ?? 50);
const APPROVALS = Number(process.env.BENCH_MEMORY_APPROVALS ?? 25);
const LOAD_SECONDS = 10;

const bench = startBench('memory');
const stack = await startBenchStack();
try {
  const history = await writeJobs(stack.jobsDir, 'job', 50);
  await seedHistory(stack.db, { suggestions: 20_000, jobs: history, runsPerJob: 50 });
  const worker = await stack.startWorker({ analysisConcurrency: 4 });
  const api = await stack.startApi();
  const samples: { round: number; worker: MemorySample; api: MemorySample }[] = [];

  for (let r = 1; r <= ROUNDS; r++) {
    const reviewJobs = await writeJobs(stack.jobsDir, `mem${r}`, REVIEWS);
    await seedRuns(stack.db, reviewJobs);
    const approveJobs = await writeJobs(stack.jobsDir, `apv${r}`, APPROVALS);
    const t0 = performance.now();
    // reviews, ten at a time, through the API
    for (let i = 0; i < reviewJobs.length; i += 10) {
      await Promise.all(reviewJobs.slice(i, i + 10).map(async (jobId) => {
        const started = await request(api.url, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
        if (started.status !== 202) throw new Error(`trigger ${jobId}: ${started.status} ${JSON.stringify(started.body)}`);
        await poll(async () => {
          const row = await stack.db('healing_reviews').where({ id: started.body.review_id }).first('status');
          return row && row.status !== 'running' ? row : null;
        }, `review of ${jobId}`, 120_000, 20);
      }));
    }
    // approvals that write files, five at a time
    const ids = await createEditSuggestions(stack.db, stack.client, stack.jobsDir, approveJobs);
    for (let i = 0; i < ids.length; i += 5) {
      await Promise.all(ids.slice(i, i + 5).map(async (id) => {
        const answer = await request(api.url, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
        if (answer.body.status !== 'applied') throw new Error(`approve ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }));
    }
    // reads under load
    const reads = await load(api.url, ['/api/v1/healing/suggestions', '/api/v1/healing/suggestions?status=pending', '/api/v1/healing/stats', `/api/v1/healing/suggestions?job_id=${history[3]}`, '/api/v1/jobs'], {
      connections: 20,
      seconds: LOAD_SECONDS,
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const sample = { round: r, worker: await worker.memory(), api: await api.memory() };
    samples.push(sample);
    bench.log(`round ${r} (${round((performance.now() - t0) / 1000)} s; ${reads.requests} reads, ${reads.errors + reads.non2xx} failed): worker ${JSON.stringify(sample.worker)}; api ${JSON.stringify(sample.api)}`);
  }

  const [, second, third] = samples as [unknown, (typeof samples)[number], (typeof samples)[number]];
  const growth = (a: MemorySample, b: MemorySample) => ({ rss_mb: round(b.rss_mb - a.rss_mb, 1), heap_mb: round(b.heap_used_mb - a.heap_used_mb, 1) });
  const workerGrowth = growth(second.worker, third.worker);
  const apiGrowth = growth(second.api, third.api);
  for (const [name, s, g] of [['worker', third.worker, workerGrowth], ['API', third.api, apiGrowth]] as const) {
    bench.add({
      figure: `${name} resident memory after round ${ROUNDS}`,
      target: 'report',
      measured: s.rss_mb,
      unit: 'MB',
      pass: null,
      note: `heap after GC ${s.heap_used_mb} MB`,
    });
    bench.add({
      figure: `${name} growth, round 2 -> 3 (heap after GC)`,
      target: 'no growth',
      measured: g.heap_mb,
      unit: 'MB',
      // a few MB of noise (code compiled late, pools) is not growth; a leak is per round and larger
      pass: g.heap_mb < Math.max(5, 0.05 * s.heap_used_mb),
      note: `RSS ${g.rss_mb >= 0 ? '+' : ''}${g.rss_mb} MB`,
    });
  }
  Object.assign(bench.details, { rounds: ROUNDS, reviews_per_round: REVIEWS, approvals_per_round: APPROVALS, load_seconds: LOAD_SECONDS, samples, worker_growth: workerGrowth, api_growth: apiGrowth });
} finally {
  await stack.stop();
}
await bench.finish();
