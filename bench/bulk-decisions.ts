// Bulk decisions (issue 19): 1,000 approvals in one batch (POST /healing/batches with their ids).
// The request answers 202 at once; the batch workflow sends each approval to its suggestion's own
// workflow, HEALING_BATCH_CONCURRENCY (8) at a time, and each applies its job's YAML edit. Figures:
// how long the request took, the batch's total time until the last item is recorded, decisions
// per second (beside 50 approvals sent one by one through the API in the same run), and the most
// approvals in flight at once (counted in the activity, stored on the batch).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_BATCH_CONCURRENCY } from '../core/batch.js';
import { writeJobs } from './lib/jobs.js';
import { poll, request } from './lib/http.js';
import { round, startBench } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';
import { createEditSuggestions, withRetry } from './lib/suggestions.js';

const DECISIONS = Number(process.env.BENCH_BULK_DECISIONS ?? 1_000);
/** Approvals sent one after another first, the baseline of the same run. */
const ONE_BY_ONE = 50;

const bench = startBench('bulk-decisions');
const stack = await startBenchStack();
try {
  const allJobIds = await writeJobs(stack.jobsDir, 'blk', DECISIONS + ONE_BY_ONE);
  const jobIds = allJobIds.slice(0, DECISIONS);
  const before = new Map(await Promise.all(jobIds.map(async (id) => [id, await readFile(path.join(stack.jobsDir, `${id}.yaml`), 'utf8')] as const)));
  const worker = await stack.startWorker();
  const api = await stack.startApi();
  const allIds = await createEditSuggestions(stack.db, stack.client, stack.jobsDir, allJobIds);
  const ids = allIds.slice(0, DECISIONS);
  bench.log(`${allIds.length} suggestions pending, worker pid ${worker.pid}, API ${api.url}`);

  // The same-run baseline: approvals one at a time through POST /suggestions/:id/approve, as a
  // person (or a script) without batches would send them, on the same machine just before.
  const s0 = performance.now();
  for (const id of allIds.slice(DECISIONS)) {
    const answer = await request(api.url, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    if (answer.status !== 200 || answer.body.status !== 'applied') throw new Error(`approve ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  const oneByOnePerSecond = ONE_BY_ONE / ((performance.now() - s0) / 1000);
  bench.log(`${ONE_BY_ONE} approvals one by one: ${round(oneByOnePerSecond, 1)}/s`);

  const t0 = performance.now();
  const started = await request(api.url, 'POST', '/api/v1/healing/batches', { decision: 'approve', ids });
  const answerMs = performance.now() - t0;
  if (started.status !== 202) throw new Error(`batch: ${started.status} ${JSON.stringify(started.body)}`);
  let lastLogged = 0;
  const batch = await poll(
    async () => {
      const b = (await request(api.url, 'GET', `/api/v1/healing/batches/${started.body.batch_id}?limit=1`)).body;
      if (b.done - lastLogged >= 200) {
        lastLogged = b.done;
        bench.log(`${b.done} of ${b.total} decided`);
      }
      return b.status === 'running' ? undefined : b;
    },
    'the batch to finish',
    30 * 60_000,
    100,
  );
  const totalS = (performance.now() - t0) / 1000;
  if (batch.status !== 'finished' || batch.counts.decided !== DECISIONS) throw new Error(`batch ended ${batch.status}: ${JSON.stringify(batch.counts)} ${batch.error ?? ''}`);
  // every file is the edit, not one more, not one less
  let edited = 0;
  for (const id of jobIds) if ((await readFile(path.join(stack.jobsDir, `${id}.yaml`), 'utf8')) === withRetry(before.get(id)!)) edited += 1;
  if (edited !== DECISIONS) throw new Error(`${edited} of ${DECISIONS} files edited`);

  const perSecond = round(DECISIONS / totalS, 1);
  bench.add({ figure: `${DECISIONS} approvals in one batch: total`, target: '-', measured: round(totalS, 1), unit: 's', pass: null, note: 'from the POST to the last item recorded; each approval applies its file' });
  bench.add({
    figure: 'decisions per second',
    target: '-',
    measured: perSecond,
    unit: '/s',
    pass: null,
    baseline: { label: `${ONE_BY_ONE} approvals one by one through the API`, value: round(oneByOnePerSecond, 1), unit: '/s' },
    ratio: round(perSecond / oneByOnePerSecond, 1),
  });
  bench.add({ figure: 'the POST answers (202)', target: '< 2000 ms', measured: round(answerMs, 0), unit: 'ms', pass: answerMs < 2_000, note: 'records the batch and its items, starts the workflow' });
  bench.add({
    figure: 'peak concurrent workflow updates',
    target: `<= ${DEFAULT_BATCH_CONCURRENCY}`,
    measured: batch.peak_concurrency,
    unit: '',
    pass: batch.peak_concurrency <= DEFAULT_BATCH_CONCURRENCY,
    note: 'counted in the batch activity around each update (HEALING_BATCH_CONCURRENCY)',
  });
  Object.assign(bench.details, { decisions: DECISIONS, one_by_one_per_s: round(oneByOnePerSecond, 2), counts: batch.counts, files_edited: edited, total_s: round(totalS, 2), answer_ms: round(answerMs, 1), worker_rss_mb: worker.rssMb(), api_rss_mb: api.rssMb() });
} finally {
  await stack.stop();
}
await bench.finish();
