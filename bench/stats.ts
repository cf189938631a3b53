// Stats: GET /healing/stats (the overview every dashboard polls) and GET /healing/stats/:job on
// the list benchmark's data set (100,000 suggestions, 200 jobs with their files): one client at
// a time (the request's own latency), and 10 concurrent clients with autocannon (throughput).
// Beside the concurrent figure, in the same run, the unknown-route floor with the same clients.
import { seedHistory } from './lib/dataset.js';
import { writeJobs } from './lib/jobs.js';
import { load, perPath, type LoadResult } from './lib/load.js';
import { startCpu } from './lib/cpu.js';
import { median, round, startBench, summary } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const SUGGESTIONS = Number(process.env.BENCH_SUGGESTIONS ?? 100_000);
const CONNECTIONS = Number(process.env.BENCH_STATS_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const ROUNDS = Number(process.env.BENCH_LOAD_ROUNDS ?? 3);
const SEQUENTIAL = 200;

const bench = startBench('stats');
const stack = await startBenchStack();
try {
  const jobs = await writeJobs(stack.jobsDir, 'job', 200);
  const data = await seedHistory(stack.db, { suggestions: SUGGESTIONS, jobs });
  const api = await stack.startApi();
  bench.log(`${data.suggestions} suggestions of ${jobs.length} jobs; API ${api.url}`);
  const paths: Record<string, string> = {
    global: '/api/v1/healing/stats',
    'one job': `/api/v1/healing/stats/${jobs[7]}`,
    'another job': `/api/v1/healing/stats/${jobs[123]}`,
  };
  const single = await perPath(api.url, paths, 30);
  bench.log(`one client, p50: ${JSON.stringify(Object.fromEntries(Object.entries(single).map(([k, v]) => [k, v.p50_ms])))}`);
  // One client at a time, the mix below: the latency of the request itself, no queue in front of it.
  const mix = [paths.global!, paths['one job']!, paths.global!, paths['another job']!];
  const sequential: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = performance.now();
    const response = await fetch(api.url + mix[i % mix.length]!);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${mix[i % mix.length]} answered ${response.status}`);
    sequential.push(performance.now() - t0);
  }
  const seq = summary(sequential);
  bench.log(`one client, ${SEQUENTIAL} requests: p50 ${seq.p50} ms, p99 ${seq.p99} ms`);
  const floor = await load(api.url, ['/api/v1/no-such-route'], { connections: CONNECTIONS, seconds: 10 });
  const rounds: (LoadResult & { cpu_ms_per_request: Record<string, number> })[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpu = startCpu(stack.cpuGroups());
    const result = await load(api.url, mix, { connections: CONNECTIONS, seconds: SECONDS });
    const used = cpu();
    const cpuPerRequest = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, round((v * 1000) / Math.max(result.requests, 1), 2)]));
    rounds.push({ ...result, cpu_ms_per_request: cpuPerRequest });
    bench.log(`round ${r + 1}: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ${result.rps} req/s, errors ${result.errors + result.timeouts + result.non2xx}; CPU ms per request ${JSON.stringify(cpuPerRequest)}`);
  }
  const p99 = median(rounds.map((r) => r.p99_ms));
  const failures = rounds.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0);
  bench.add({
    figure: `stats p99, one client (${SEQUENTIAL} requests, ${data.suggestions} rows)`,
    target: '< 50 ms',
    measured: seq.p99,
    unit: 'ms',
    pass: seq.p99 < 50,
    note: `p50 ${seq.p50} ms; global and per-job stats alternating`,
  });
  bench.add({
    figure: `stats p99, ${CONNECTIONS} concurrent clients (${SECONDS} s)`,
    target: '< 50 ms',
    measured: p99,
    unit: 'ms',
    pass: p99 < 50 && failures === 0,
    baseline: { label: 'unknown-route p99', value: floor.p99_ms, unit: 'ms' },
    ratio: round(p99 / Math.max(floor.p99_ms, 1), 1),
    note: `median of ${ROUNDS} rounds; ${median(rounds.map((r) => r.rps))} req/s; errors ${failures}; global stats alone p50 ${single.global!.p50_ms} ms one client at a time`,
  });
  Object.assign(bench.details, { suggestions: data.suggestions, connections: CONNECTIONS, single_client: single, sequential_ms: seq, floor, rounds, api_rss_mb: api.rssMb() });
} finally {
  await stack.stop();
}
await bench.finish();
