// List suggestions: 100,000 suggestions stored (bulk SQL), 100 concurrent clients for 30 s with
// autocannon over a mix of filtered and paginated pages, deep pages included. Beside it, in the
// same run and with the same clients, the API's answer to an unknown route (same middleware, no
// database): the floor this machine puts under any request at that concurrency.
import { seedHistory } from './lib/dataset.js';
import { jobId } from './lib/jobs.js';
import { load, perPath, type LoadResult } from './lib/load.js';
import { startCpu } from './lib/cpu.js';
import { median, round, startBench } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const SUGGESTIONS = Number(process.env.BENCH_SUGGESTIONS ?? 100_000);
const CONNECTIONS = 100;
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const ROUNDS = Number(process.env.BENCH_LOAD_ROUNDS ?? 3);

const bench = startBench('list-suggestions');
const stack = await startBenchStack();
try {
  const jobs = Array.from({ length: 200 }, (_, i) => jobId('job', i));
  const data = await seedHistory(stack.db, { suggestions: SUGGESTIONS, jobs });
  const api = await stack.startApi();
  bench.log(`${data.suggestions} suggestions in ${data.reviews} reviews of ${jobs.length} jobs; API ${api.url}`);
  const base = '/api/v1/healing/suggestions';
  const reviewId = (await stack.db('healing_reviews').orderBy('id', 'desc').first('id')).id as number;
  const deep = Math.max(0, data.suggestions - 5_000);
  const pages: Record<string, string> = {
    'first page': base,
    'pending': `${base}?status=pending`,
    'one job': `${base}?job_id=${jobs[42]}`,
    'one job, applied': `${base}?job_id=${jobs[42]}&status=applied`,
    'security, high': `${base}?category=security&severity=high`,
    'on_failure reviews': `${base}?trigger=on_failure`,
    'one review': `${base}?review_id=${reviewId}`,
    'page 100 of 100': `${base}?limit=100&offset=9900`,
  };
  // Deep pages the way the API serves them: from the next_cursor of the page before.
  const cursorAfter = async (query: string): Promise<string> => {
    const answer = await fetch(`${api.url}${base}?${query}`).then((r) => r.json() as Promise<{ next_cursor: string | null }>);
    if (!answer.next_cursor) throw new Error(`no next_cursor after ${query}`);
    return answer.next_cursor;
  };
  pages['applied, deep page (cursor)'] = `${base}?status=applied&cursor=${await cursorAfter(`status=applied&offset=${Math.floor(data.suggestions * 0.3)}`)}`;
  pages['deepest page (cursor)'] = `${base}?cursor=${await cursorAfter(`offset=${deep}`)}`;
  // Deep pages by offset still work; they read every row they skip (through the index only), so
  // they are timed one at a time here, not in the load mix.
  const offsetPages = {
    'applied, deep page (offset)': `${base}?status=applied&offset=${Math.floor(data.suggestions * 0.3)}`,
    'deepest page (offset)': `${base}?offset=${deep}`,
  };
  const single = await perPath(api.url, { ...pages, ...offsetPages }, 20);
  bench.log(`one client, p50 per page: ${JSON.stringify(Object.fromEntries(Object.entries(single).map(([k, v]) => [k, v.p50_ms])))}`);

  const floor = await load(api.url, ['/api/v1/no-such-route'], { connections: CONNECTIONS, seconds: 10 });
  bench.log(`floor (unknown route, ${CONNECTIONS} clients): p99 ${floor.p99_ms} ms, ${floor.rps} req/s`);
  const rounds: (LoadResult & { cpu_ms_per_request: Record<string, number> })[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpu = startCpu(stack.cpuGroups());
    const result = await load(api.url, Object.values(pages), { connections: CONNECTIONS, seconds: SECONDS });
    const used = cpu();
    const cpuPerRequest = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, round((v * 1000) / Math.max(result.requests, 1), 2)]));
    rounds.push({ ...result, cpu_ms_per_request: cpuPerRequest });
    bench.log(`round ${r + 1}: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ${result.rps} req/s, errors ${result.errors + result.timeouts + result.non2xx}; CPU ms per request ${JSON.stringify(cpuPerRequest)}`);
  }
  const p99 = median(rounds.map((r) => r.p99_ms));
  const failures = rounds.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0);
  bench.add({
    figure: `list suggestions p99 (${CONNECTIONS} clients, ${SECONDS} s, ${data.suggestions} rows)`,
    target: '< 30 ms, no errors',
    measured: p99,
    unit: 'ms',
    pass: p99 < 30 && failures === 0,
    baseline: { label: 'unknown-route p99', value: floor.p99_ms, unit: 'ms' },
    ratio: round(p99 / Math.max(floor.p99_ms, 1), 1),
    note: `median of ${ROUNDS} rounds; ${median(rounds.map((r) => r.rps))} req/s; errors ${failures}`,
  });
  bench.add({ figure: 'list suggestions errors', target: '0', measured: failures, unit: '', pass: failures === 0 });
  Object.assign(bench.details, { suggestions: data.suggestions, pages, single_client: single, floor, rounds, api_rss_mb: api.rssMb() });
} finally {
  await stack.stop();
}
await bench.finish();
