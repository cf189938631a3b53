// Approve -> applied: 200 approvals one after another through the API (POST
// /healing/suggestions/:id/approve answers once the change is written, verified and recorded).
// Each suggestion edits its own job's YAML. Beside it, in the same run, 50 rejections: the same
// path (API -> update -> workflow -> activity -> Postgres) with a single step, the floor of any
// command.
import { createEditSuggestions } from './lib/suggestions.js';
import { writeJobs } from './lib/jobs.js';
import { request } from './lib/http.js';
import { profile, workflowSteps } from './lib/history.js';
import { round, startBench, summary } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const APPROVALS = Number(process.env.BENCH_APPROVALS ?? 200);
const REJECTIONS = 50;
const WARMUP = 5;

const bench = startBench('approve-apply');
const stack = await startBenchStack();
try {
  const jobIds = await writeJobs(stack.jobsDir, 'apv', WARMUP + APPROVALS + REJECTIONS);
  const worker = await stack.startWorker();
  const api = await stack.startApi();
  const ids = await createEditSuggestions(stack.db, stack.client, stack.jobsDir, jobIds);
  bench.log(`${ids.length} suggestions pending, worker pid ${worker.pid}, API ${api.url}`);

  const timed = async (id: number, command: 'approve' | 'reject', expect: string) => {
    const t0 = performance.now();
    const answer = await request(api.url, 'POST', `/api/v1/healing/suggestions/${id}/${command}`, command === 'reject' ? { reason: 'not now' } : {});
    const ms = performance.now() - t0;
    if (answer.status !== 200 || answer.body.status !== expect) throw new Error(`${command} ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return ms;
  };

  for (const id of ids.slice(0, WARMUP)) await timed(id, 'approve', 'applied');
  const approve: number[] = [];
  const reject: number[] = [];
  const approveIds = ids.slice(WARMUP, WARMUP + APPROVALS);
  const rejectIds = ids.slice(WARMUP + APPROVALS);
  // interleaved, so both see the same machine: four approvals, then one rejection
  for (let i = 0; i < approveIds.length; i++) {
    approve.push(await timed(approveIds[i]!, 'approve', 'applied'));
    if (i % 4 === 3 && rejectIds.length > 0) reject.push(await timed(rejectIds.shift()!, 'reject', 'rejected'));
    if ((i + 1) % 50 === 0) bench.log(`${i + 1} approvals`);
  }
  const applied = await stack.db('healing_actions').where({ status: 'success' }).count({ n: '*' }).first();
  const histories = [];
  for (const id of approveIds.slice(0, 50)) histories.push((await workflowSteps(stack.client, `healing-suggestion/${id}`)).steps);
  const steps = profile(histories);
  bench.log(`where an approval's time goes (p50 per step): ${JSON.stringify(steps)}`);

  const a = summary(approve);
  const r = summary(reject);
  bench.add({
    figure: `approve -> applied p50 (${approve.length} approvals)`,
    target: '< 200 ms',
    measured: a.p50,
    unit: 'ms',
    pass: a.p50 < 200,
    baseline: { label: 'reject -> rejected p50', value: r.p50, unit: 'ms' },
    ratio: round(a.p50 / r.p50, 1),
    note: `p90 ${a.p90} ms, p99 ${a.p99} ms; six steps (record approval, record decision, back up, write, verify, complete) against one`,
  });
  bench.add({ figure: 'approve -> applied p99', target: '-', measured: a.p99, unit: 'ms', pass: null });
  Object.assign(bench.details, {
    approvals: approve.length,
    rejections: reject.length,
    actions_succeeded: applied?.n,
    approve_ms: a,
    reject_ms: r,
    suggestion_workflow_steps: steps,
    worker_rss_mb: worker.rssMb(),
    api_rss_mb: api.rssMb(),
  });
} finally {
  await stack.stop();
}
await bench.finish();
