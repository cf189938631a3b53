// List suggestions: 100,000 suggestions stored (bulk SQL) of 200 jobs with their files, 100
// concurrent clients with autocannon over a mix of filtered and paginated pages (the shape the
// dashboard asks for), deep pages included. Beside each round, in the same run and with the same
// clients, the API's answer to an unknown route (same middleware, no database): the floor this
// machine puts under any request at that concurrency, in latency and in API CPU. Then dashboards
// polling unchanged pages: the same pages with the If-None-Match of their last answer. Last, the
// same load while a suggestion is written every 100 ms, which drops every kept page each time.
import { seedHistory } from './lib/dataset.js';
import { writeJobs } from './lib/jobs.js';
import { load, perPath, type LoadRequest, type LoadResult } from './lib/load.js';
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
  const jobs = await writeJobs(stack.jobsDir, 'job', 200);
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

  type Measured = LoadResult & { api_cpu_ms_per_request: number; cpu_ms_per_request: Record<string, number> };
  const measured = async (requests: LoadRequest[]): Promise<Measured> => {
    const cpu = startCpu(stack.cpuGroups());
    const result = await load(api.url, requests, { connections: CONNECTIONS, seconds: SECONDS });
    const perRequest = Object.fromEntries(Object.entries(cpu()).map(([k, v]) => [k, round((v * 1000) / Math.max(result.requests, 1), 2)]));
    return { ...result, api_cpu_ms_per_request: perRequest.api ?? Number.NaN, cpu_ms_per_request: perRequest };
  };
  const summary = (r: Measured) => `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.rps} req/s, API CPU ${r.api_cpu_ms_per_request} ms per request`;
  const rounds: { floor: Measured; list: Measured }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const floor = await measured(['/api/v1/no-such-route']);
    const list = await measured(Object.values(pages));
    rounds.push({ floor, list });
    bench.log(`round ${r + 1}: floor (unknown route) ${summary(floor)}; list ${summary(list)}, errors ${list.errors + list.timeouts + list.non2xx}; CPU ms per request ${JSON.stringify(list.cpu_ms_per_request)}`);
  }
  // Dashboards polling pages that did not change: each page with the ETag of its last answer.
  const conditional = await Promise.all(
    Object.values(pages).map(async (path) => {
      const etag = (await fetch(api.url + path)).headers.get('etag');
      return etag ? { path, headers: { 'if-none-match': etag } } : path;
    }),
  );
  const polling = await measured(conditional);
  bench.log(`polling unchanged pages (If-None-Match): ${summary(polling)}, 304s ${polling.not_modified} of ${polling.requests}`);

  // A busy installation: a suggestion written every 100 ms (a decision, a new review's rows) drops
  // every kept page (api/kept-pages.ts), so most pages are built afresh.
  const writtenId = (await stack.db('healing_suggestions').orderBy('id').first('id')).id as number;
  let writing = true;
  let writes = 0;
  const writer = (async () => {
    while (writing) {
      await stack.db('healing_suggestions').where({ id: writtenId }).update({ title: stack.db.raw('title') });
      writes++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const written = await measured(Object.values(pages));
  writing = false;
  await writer;
  bench.log(`while a suggestion is written every 100 ms (${writes} writes): ${summary(written)}, errors ${written.errors + written.timeouts + written.non2xx}`);

  const listP99 = median(rounds.map((r) => r.list.p99_ms));
  const floorP99 = median(rounds.map((r) => r.floor.p99_ms));
  const listCpu = median(rounds.map((r) => r.list.api_cpu_ms_per_request));
  const floorCpu = median(rounds.map((r) => r.floor.api_cpu_ms_per_request));
  const failures = rounds.reduce((n, r) => n + r.list.errors + r.list.timeouts + r.list.non2xx, 0);
  const ratio = round(listP99 / Math.max(floorP99, 1), 1);
  bench.add({
    figure: `list suggestions p99 (${CONNECTIONS} clients, ${SECONDS} s, ${data.suggestions} rows)`,
    target: '<= 2× the unknown-route p99, no errors',
    measured: listP99,
    unit: 'ms',
    pass: ratio <= 2 && failures === 0,
    baseline: { label: 'unknown-route p99, same clients', value: floorP99, unit: 'ms' },
    ratio,
    note: `median of ${ROUNDS} rounds, each beside its own floor; ${median(rounds.map((r) => r.list.rps))} req/s; errors ${failures}`,
  });
  bench.add({
    figure: 'list suggestions: API CPU per page',
    target: '<= 1 ms',
    measured: listCpu,
    unit: 'ms',
    pass: listCpu <= 1,
    baseline: { label: 'API CPU per unknown-route answer', value: floorCpu, unit: 'ms' },
    ratio: round(listCpu / Math.max(floorCpu, 0.01), 1),
    note: `median of ${ROUNDS} rounds; first page ${single['first page']!.bytes} bytes`,
  });
  /** A reported p99 beside the same rounds' unknown-route floor. */
  const reportVsFloor = (figure: string, result: Measured, note: string) =>
    bench.add({
      figure,
      target: 'report',
      measured: result.p99_ms,
      unit: 'ms',
      pass: null,
      baseline: { label: 'unknown-route p99, same clients', value: floorP99, unit: 'ms' },
      ratio: round(result.p99_ms / Math.max(floorP99, 1), 1),
      note,
    });
  reportVsFloor('list suggestions polled unchanged (If-None-Match -> 304) p99', polling, `${polling.not_modified} of ${polling.requests} answered 304; API CPU ${polling.api_cpu_ms_per_request} ms per request`);
  reportVsFloor(
    'list suggestions p99 while a suggestion is written every 100 ms (kept pages dropped at each write)',
    written,
    `${writes} writes; ${written.rps} req/s; API CPU ${written.api_cpu_ms_per_request} ms per request; errors ${written.errors + written.timeouts + written.non2xx}`,
  );
  const allFailures = failures + written.errors + written.timeouts + written.non2xx;
  bench.add({ figure: 'list suggestions errors', target: '0', measured: allFailures, unit: '', pass: allFailures === 0 });
  Object.assign(bench.details, { suggestions: data.suggestions, pages, single_client: single, rounds, polling, written: { ...written, writes }, api_rss_mb: api.rssMb() });
} finally {
  await stack.stop();
}
await bench.finish();
