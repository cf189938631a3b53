// Fault drill: Postgres stopped for 20 s in the middle of reviews and approvals, then started
// again with its data. While it is down the API must answer 503 with a reason (never another 5xx);
// afterwards every workflow finishes, every accepted decision is applied, every refused one
// changed nothing, and no suggestion is stored twice.
//
//   npm run drill:postgres        (DRILL_OUTAGE_S=20, DRILL_KEEP=1 keeps the folder, DRILL_VERBOSE=1 lists answers)
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
  type Decision,
} from './lib.js';

const OUTAGE_MS = Number(process.env.DRILL_OUTAGE_S ?? 20) * 1000;
const JOBS = DEMO_JOBS;

const drill = new Drill('postgres-outage', `Postgres stopped for ${OUTAGE_MS / 1000} s during reviews and approvals`, 'npm run drill:postgres');

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

  // Phase A: a review of every job, then some decisions, all with everything up.
  const { pending: first, byJob } = await openingReviews(d, api, db, client, decisions);
  const rejectFirst = byJob('healthy-cleanup');
  const inFlightApproval = byJob('report-sync');
  const duringApproval = byJob('idea-hunter');

  // Phase B: new reviews queued on the (slow) analyzer and an approval in flight, then Postgres goes.
  const { approval: edgeApproval } = await workInFlight(d, api, decisions, inFlightApproval);
  d.log('stopping Postgres');
  api.phase = 'outage';
  const outageStart = Date.now();
  await postgres.stop();
  d.log(`Postgres is down; keeping it down for ${OUTAGE_MS / 1000} s while the API is used`);

  let round = 0;
  while (Date.now() - outageStart < OUTAGE_MS) {
    round += 1;
    const calls: Promise<unknown>[] = [
      api.call('GET', '/api/v1/healing/suggestions?status=pending'),
      api.call('GET', '/api/v1/healing/reviews'),
      api.call('GET', `/api/v1/healing/suggestions/${first[0]?.id ?? 1}`),
      api.call('GET', '/api/v1/healing/stats'),
      api.call('GET', '/api/v1/healing/suggestions/pending/count'),
      api.call('GET', '/api/v1/healing/actions'),
      api.call('GET', '/api/v1/jobs/report-sync/runs'),
      api.call('GET', '/api/v1/healing/stats/report-sync'),
      api.call('GET', '/api/v1/health'),
      api.call('GET', '/metrics'),
      api.call('POST', '/api/v1/jobs/deploy-hook/runs', { id: `outage-${round}`, started_at: new Date().toISOString(), exit_code: 1, error: 'drill' }),
    ];
    if (round % 2 === 1) calls.push(api.call('POST', `/api/v1/healing/reviews/${JOBS[round % JOBS.length]}/trigger`, { force: true }));
    if (duringApproval && round % 3 === 1) calls.push(decide(api, decisions, duringApproval, 'approve'));
    if (rejectFirst && round % 3 === 2) calls.push(decide(api, decisions, rejectFirst, 'reject'));
    await Promise.all(calls);
    await sleep(1_000);
  }
  d.log(`outage answers: ${api.summary('outage')}`);
  d.log('starting Postgres again');
  const outageEnd = Date.now();
  await postgres.start();
  api.phase = 'after';
  const edge = edgeApproval ? await edgeApproval : null;
  if (edge) d.log(`the approval sent as Postgres stopped answered ${edge.status} after ${edge.ms} ms: ${JSON.stringify(edge.body).slice(0, 200)}`);
  await api.settled();

  const outage = api.answers.filter((a) => a.phase === 'outage');
  d.expect(outage.filter((a) => a.status === 503).length >= outage.length / 2, 'most answers during the outage were 503 (the fault took effect)', api.summary('outage'));
  const dbReads = outage.filter((a) => a.method === 'GET'); // every GET here reads Postgres
  d.expect(dbReads.every((a) => a.status === 503), 'every read during the outage answered 503 (health: degraded)', dbReads.filter((a) => a.status !== 503).map((a) => `${a.url} ${a.status}`));
  const triggers = outage.filter((a) => a.url.endsWith('/trigger'));
  d.log(`triggers during the outage: ${triggers.map((a) => a.status).join(', ')}`);
  d.expect(triggers.every((a) => [200, 202, 503].includes(a.status)), 'a trigger during the outage answers 2xx (started, durably) or 503', triggers.map((a) => a.body));

  await api.waitHealthy(60_000);
  await settle(d, db, client);

  // Phase C: the service works again; the suggestion approved (503) during the outage can be approved now.
  api.phase = 'recovered';
  if (duringApproval) {
    const row = await db('healing_suggestions').where({ id: duringApproval }).first();
    if (row?.status === 'pending') d.expect((await decide(api, decisions, duringApproval, 'approve')).status === 200, `approve ${duringApproval} after the outage`);
  }
  const review = await api.call('POST', '/api/v1/healing/reviews/idea-hunter/trigger', { force: true });
  d.expect(review.status === 202 || review.status === 200, 'a trigger after the outage answers 2xx', review.body);
  await eventually('the review after the outage to finish', async () => (await db('healing_reviews').where({ status: 'running' }).first()) === undefined);
  await settle(d, db, client);
  await api.settled();

  // A trigger is a decision too: one answered 202 started a review (which ran once Postgres was
  // back); one answered 503 started nothing.
  const startedInOutage = await reviewsStartedBetween(db, client, outageStart, outageEnd);
  const acceptedTriggers = triggers.filter((a) => a.status === 202).length;
  d.log(`reviews started during the outage: ${startedInOutage}; triggers answered 202 then: ${acceptedTriggers}`);
  if (!d.expect(startedInOutage === acceptedTriggers, 'every trigger answered 202 during the outage started one review, and none answered 503 did')) {
    d.figures.lostDecisions += Math.abs(startedInOutage - acceptedTriggers);
  }

  await checkOutcome(d, db, client, decisions, { root, dataDir, before });
  d.expect(!healing.exitInfo, '`healing start` kept running through the outage', healing.exitInfo);
});
