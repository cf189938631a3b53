// Fault drill: graceful shutdown. `healing start` runs as a child against the drill's own Postgres
// and Temporal; with an approval in flight (its apply waits for a slow AI rewrite) and a review in
// analysis, it gets SIGTERM. The API must stop taking new connections at once, the request in
// flight must complete, the worker must finish (drain) what it is running, and the process must
// exit 0 promptly with nothing half-done; a new start then finds nothing to repair.
//
//   npm run drill:sigterm         (DRILL_KEEP=1 keeps the folder)
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../db/embedded.js';
import {
  ApiRecorder,
  checkOutcome,
  createSuggestion,
  decide,
  demoWorkspace,
  Drill,
  eventually,
  healingEnv,
  HealingProcess,
  openclawCalls,
  PostgresPart,
  settle,
  sleep,
  temporalClient,
  TemporalPart,
  workspaceSnapshot,
  type Decision,
} from './lib.js';

/** How long a graceful stop may take with work in flight. */
const PROMPT_MS = 15_000;

const drill = new Drill('sigterm', 'SIGTERM to `healing start` with a request in flight, and with an analysis running', 'npm run drill:sigterm');

await drill.run(async (d) => {
  const postgres = await PostgresPart.start(d);
  const temporal = await TemporalPart.start(d);
  const client = await temporalClient(d, temporal);
  const { db, root, jobsDir, dataDir } = await demoWorkspace(d, postgres);
  const port = await freePort();
  const openclawLog = path.join(d.dir, 'openclaw-calls.jsonl');
  const env = healingEnv({
    postgres,
    temporal,
    jobsDir,
    dataDir,
    port,
    extra: { FAKE_OPENCLAW_DELAY_MS: '4000', FAKE_OPENCLAW_LOG: openclawLog, HEALING_ANALYSIS_CONCURRENCY: '2' },
  });
  const healing = HealingProcess.spawn(d, 'start', env, 'start-1');
  await healing.ready();
  const api = new ApiRecorder(d, `http://127.0.0.1:${port}`);
  await api.waitHealthy();
  const before = await workspaceSnapshot(root, dataDir);
  const decisions: Decision[] = [];

  // Work in flight: a review in analysis, and an approval whose apply waits for the AI rewrite.
  api.phase = 'in-flight';
  const yaml = path.join(jobsDir, 'report-sync.yaml');
  const original = await readFile(yaml, 'utf8');
  const suggestion = await createSuggestion(db, client, { jobId: 'report-sync', file: yaml, proposed: null, change: 'Mark the file as reviewed.' });
  const trigger = await api.call('POST', '/api/v1/healing/reviews/nightly-backup/trigger', {});
  d.expect(trigger.status === 202, 'trigger nightly-backup answers 202', trigger.body);
  const approval = decide(api, decisions, suggestion, 'approve');
  await eventually('the analysis and the AI rewrite to be running', async () => (await openclawCalls(openclawLog)).length >= 2, 60_000);
  await sleep(500);

  d.log(`SIGTERM to healing start (pid ${healing.pid})`);
  const sent = Date.now();
  healing.kill('SIGTERM');
  await sleep(300);
  api.phase = 'stopping';
  const late = await api.call('GET', '/api/v1/healing/reviews');
  d.log(`a new request 300 ms after SIGTERM: ${late.status || late.error}`);
  d.expect(late.status === 0, 'a new connection after SIGTERM is refused (the API stopped listening)', late.status);

  const answer = await approval;
  d.log(`the approval in flight answered ${answer.status || answer.error} after ${answer.ms} ms: ${JSON.stringify(answer.body).slice(0, 160)}`);
  d.expect(answer.status === 200 && (answer.body as { status?: string }).status === 'applied', 'the request in flight completed: 200 applied', answer.body ?? answer.error);
  const exit = await Promise.race([healing.exited, sleep(PROMPT_MS + 30_000).then(() => null)]);
  const took = Date.now() - sent;
  d.log(`healing start exited ${JSON.stringify(exit)} ${took} ms after SIGTERM`);
  d.expect(exit !== null && exit.code === 0, 'the process exited with code 0', exit);
  d.expect(took < PROMPT_MS, `it exited within ${PROMPT_MS / 1000} s`, took);
  const log = healing.log;
  d.expect(/SIGTERM: stopping/.test(log), 'it logged the graceful stop');

  // Nothing half-done: the review in analysis was finished by the draining worker, the apply is whole.
  const review = await db('healing_reviews').where({ job_id: 'nightly-backup' }).orderBy('id', 'desc').first();
  d.expect(review?.status === 'completed', 'the review in analysis at SIGTERM was completed before the exit (the worker drained)', { status: review?.status });
  const applied = await db('healing_suggestions').where({ id: suggestion }).first();
  const actions = await db('healing_actions').where({ suggestion_id: suggestion });
  const content = await readFile(yaml, 'utf8');
  d.expect(
    applied.status === 'applied' && actions.length === 1 && actions[0].status === 'success' && content === actions[0].new_content && content !== original,
    'the apply in flight is whole: applied, one successful action, the file holds its new content',
    { status: applied.status, actions: actions.map((a: { status: string }) => a.status) },
  );
  const open = await db('healing_actions').where({ status: 'running' });
  d.expect(open.length === 0, 'no action left open', open.map((a: { id: number }) => a.id));

  // A new start finds nothing to repair: no analysis runs again, nothing is doubled.
  let callsBefore = (await openclawCalls(openclawLog)).length;
  const second = HealingProcess.spawn(d, 'start', env, 'start-2');
  await second.ready();
  await api.waitHealthy();
  await settle(d, db, client);
  d.expect((await openclawCalls(openclawLog)).length === callsBefore, 'after the restart no analysis or rewrite had to run again');

  // The worker drains: SIGTERM with only an analysis running (no request holds the API open).
  api.phase = 'drain';
  const drainTrigger = await api.call('POST', '/api/v1/healing/reviews/idea-hunter/trigger', { force: true });
  d.expect(drainTrigger.status === 202, 'trigger idea-hunter answers 202', drainTrigger.body);
  await eventually('the analysis to run', async () => (await openclawCalls(openclawLog)).length > callsBefore, 60_000);
  await sleep(500);
  d.log(`SIGTERM to the second healing start (pid ${second.pid}) while the analysis runs`);
  const drainSent = Date.now();
  second.kill('SIGTERM');
  const drainExit = await Promise.race([second.exited, sleep(PROMPT_MS + 30_000).then(() => null)]);
  const drainTook = Date.now() - drainSent;
  d.log(`it exited ${JSON.stringify(drainExit)} ${drainTook} ms after SIGTERM`);
  d.expect(drainExit !== null && drainExit.code === 0 && drainTook < PROMPT_MS, `it exited 0 within ${PROMPT_MS / 1000} s`, { exit: drainExit, ms: drainTook });
  d.expect(drainTook > 2_000, 'it waited for the running analysis (4 s) instead of abandoning it', drainTook);
  callsBefore = (await openclawCalls(openclawLog)).length;
  const third = HealingProcess.spawn(d, 'start', env, 'start-3');
  await third.ready();
  await api.waitHealthy();
  await settle(d, db, client);
  const drained = await db('healing_reviews').where({ job_id: 'idea-hunter' }).orderBy('id', 'desc').first();
  d.expect(drained?.status === 'completed', 'the review whose analysis was drained completed after the restart', drained?.status);
  const rerun = (await openclawCalls(openclawLog)).length - callsBefore;
  d.expect(rerun === 0, 'its analysis did not run again: the drained result was kept', rerun);

  await checkOutcome(d, db, client, decisions, { root, dataDir, before });

  // Idle, it stops at once.
  const idleSent = Date.now();
  third.kill('SIGTERM');
  const idleExit = await third.exited;
  d.log(`the idle restart exited ${JSON.stringify(idleExit)} ${Date.now() - idleSent} ms after SIGTERM`);
  d.expect(idleExit.code === 0 && Date.now() - idleSent < 10_000, 'an idle `healing start` exits 0 within 10 s of SIGTERM', idleExit);
});
