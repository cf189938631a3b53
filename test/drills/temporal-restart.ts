// Fault drill: the Temporal server stopped in the middle of reviews and approvals, then started
// again with its database kept. While it is down, commands (triggers, decisions) answer 503 with a
// reason and reads from Postgres keep working; afterwards the worker and the API's client are
// connected again without a restart, everything started before finishes, nothing is lost or doubled.
//
//   npm run drill:temporal        (DRILL_DOWN_S=15, DRILL_KEEP=1 keeps the folder, DRILL_VERBOSE=1 lists answers)
import { freePort } from '../../db/embedded.js';
import {
  ApiRecorder,
  checkOutcome,
  decide,
  DEMO_JOBS,
  demoWorkspace,
  Drill,
  eventually,
  healingEnv,
  HealingProcess,
  openingReviews,
  PostgresPart,
  reviewsStartedBetween,
  settle,
  sleep,
  temporalClient,
  TemporalPart,
  workInFlight,
  workspaceSnapshot,
  type Answer,
  type Decision,
} from './lib.js';

const DOWN_MS = Number(process.env.DRILL_DOWN_S ?? 15) * 1000;

const drill = new Drill('temporal-restart', `Temporal server stopped for ${DOWN_MS / 1000} s and restarted with its data`, 'npm run drill:temporal');

await drill.run(async (d) => {
  const postgres = await PostgresPart.start(d);
  const temporal = await TemporalPart.start(d);
  const client = await temporalClient(d, temporal);
  const { db, root, jobsDir, dataDir } = await demoWorkspace(d, postgres);
  const port = await freePort();
  const healing = HealingProcess.spawn(d, 'start', healingEnv({ postgres, temporal, jobsDir, dataDir, port, extra: { FAKE_OPENCLAW_DELAY_MS: '1500' } }));
  await healing.ready();
  const api = new ApiRecorder(d, `http://127.0.0.1:${port}`);
  await api.waitHealthy();
  const before = await workspaceSnapshot(root, dataDir);
  const decisions: Decision[] = [];

  const { pending: first, byJob } = await openingReviews(d, api, db, client, decisions);
  const rejected = byJob('healthy-cleanup');
  const inFlightApproval = byJob('report-sync');
  const downApproval = byJob('idea-hunter');

  // Reviews queued on the slow analyzer and an approval in flight, then Temporal goes.
  const { approval: edgeApproval } = await workInFlight(d, api, decisions, inFlightApproval);
  d.log('stopping the Temporal server');
  api.phase = 'down';
  const downStart = Date.now();
  await temporal.stop();
  d.log(`Temporal is down; keeping it down for ${DOWN_MS / 1000} s while the API is used`);

  let round = 0;
  const runReports: { id: string; answer: Answer }[] = [];
  while (Date.now() - downStart < DOWN_MS) {
    round += 1;
    const report = { id: `down-${round}`, started_at: new Date().toISOString(), exit_code: 1, error: 'drill: failed while Temporal was down' };
    const calls: Promise<unknown>[] = [
      api.call('GET', '/api/v1/healing/suggestions?status=pending'),
      api.call('GET', '/api/v1/healing/reviews'),
      api.call('GET', `/api/v1/healing/suggestions/${first[0]?.id ?? 1}`),
      api.call('GET', '/api/v1/healing/stats'),
      api.call('GET', '/api/v1/jobs'),
      api.call('GET', '/api/v1/health'),
      api.call('POST', `/api/v1/healing/reviews/${DEMO_JOBS[round % DEMO_JOBS.length]}/trigger`, { force: true }),
      api.call('POST', '/api/v1/jobs/deploy-hook/runs', report).then((answer) => runReports.push({ id: report.id, answer })),
    ];
    if (downApproval) calls.push(decide(api, decisions, downApproval, 'approve'));
    if (rejected && round % 2 === 0) calls.push(decide(api, decisions, rejected, 'reject'));
    await Promise.all(calls);
    await sleep(1_000);
  }
  d.log(`answers while Temporal was down: ${api.summary('down')}`);
  d.log('starting the Temporal server again (same database file)');
  const downEnd = Date.now();
  await temporal.start();
  api.phase = 'after';
  const edge = edgeApproval ? await edgeApproval : null;
  if (edge) d.log(`the approval sent as Temporal stopped answered ${edge.status} after ${edge.ms} ms: ${JSON.stringify(edge.body).slice(0, 200)}`);
  await api.settled();

  const down = api.answers.filter((a) => a.phase === 'down');
  const commands = down.filter((a) => a.method === 'POST' && !a.url.endsWith('/runs'));
  d.expect(commands.every((a) => a.status === 503), 'every trigger and decision while Temporal was down answered 503', commands.filter((a) => a.status !== 503).map((a) => `${a.url} ${a.status} ${JSON.stringify(a.body).slice(0, 160)}`));
  const reads = down.filter((a) => a.method === 'GET' && !a.url.endsWith('/health'));
  d.expect(reads.every((a) => a.status === 200), 'reads from Postgres kept answering 200 while Temporal was down', reads.filter((a) => a.status !== 200).map((a) => `${a.url} ${a.status}`));
  d.expect(down.filter((a) => a.url.endsWith('/health')).every((a) => a.status === 503), 'health answered 503 (degraded) while Temporal was down');
  const slowest = Math.max(...commands.map((a) => a.ms));
  d.note(`the slowest 503 while Temporal was down took ${slowest} ms`);
  d.expect(slowest < 15_000, 'a command while Temporal is down gets its 503 within 15 s', slowest);

  // Connections come back by themselves: the API's client and the worker, no restart.
  await api.waitHealthy(90_000);
  d.log('health is ok again: the API client and the worker reconnected by themselves');
  await settle(d, db, client);

  // A run report answered 503 is retried by its sender: the retry must start the review it asked for.
  api.phase = 'after';
  for (const r of runReports) {
    const again = await api.call('POST', '/api/v1/jobs/deploy-hook/runs', { id: r.id, started_at: new Date().toISOString(), exit_code: 1, error: 'drill: retried' });
    d.expect(again.status === 200 || again.status === 201, `the retried run report ${r.id} answers 2xx`, again.body);
  }
  await sleep(1_000);
  await settle(d, db, client);
  // A failed run is covered by the on_failure review it started, or by the job's review that was
  // already running when it came in (one review per job at a time) and began after it.
  const failedRuns = (await db('job_runs').where({ job_id: 'deploy-hook' }).whereNot({ exit_code: 0 }).select('id', 'external_id', 'created_at')) as { id: number; external_id: string; created_at: Date }[];
  const reviews = (await db('healing_reviews').where({ job_id: 'deploy-hook', trigger: 'on_failure' }).select('run_id', 'started_at')) as { run_id: number | null; started_at: Date }[];
  const uncovered = failedRuns.filter((r) => !reviews.some((v) => v.run_id === r.id || v.started_at.getTime() >= r.created_at.getTime()));
  d.expect(uncovered.length === 0, `every failed run reported (${failedRuns.length}, first answered 503) is covered by an on_failure review once retried`, uncovered.map((r) => r.external_id));

  // The service works again end to end.
  if (downApproval) {
    const row = await db('healing_suggestions').where({ id: downApproval }).first();
    if (row?.status === 'pending') d.expect((await decide(api, decisions, downApproval, 'approve')).status === 200, `approve ${downApproval} after the restart`);
  }
  const review = await api.call('POST', '/api/v1/healing/reviews/idea-hunter/trigger', { force: true });
  d.expect(review.status === 202 || review.status === 200, 'a trigger after the restart answers 2xx', review.body);
  await eventually('the review after the restart to finish', async () => (await db('healing_reviews').where({ status: 'running' }).first()) === undefined);
  await settle(d, db, client);
  await api.settled();

  const startedDown = await reviewsStartedBetween(db, client, downStart, downEnd);
  d.expect(startedDown === 0, 'no review started while Temporal was down (every trigger answered 503)', startedDown);
  await checkOutcome(d, db, client, decisions, { root, dataDir, before });
  d.expect(!healing.exitInfo, '`healing start` kept running while Temporal was away', healing.exitInfo);
});
