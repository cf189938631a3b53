// Fault drill: the worker process killed with SIGKILL during a review's analysis (a slow fake
// OpenClaw), during an apply that waits for the AI to write the file, and at chosen points of
// bursts of applies (as an action opens, as a file is written but not yet recorded, as the first
// of them completes); a new worker is started each time. The review completes once; every apply
// ends `applied` with exactly one action and the proposed content, or `failed` with the original
// content; nothing is written outside the job files and no temporary file is left.
//
//   npm run drill:worker          (DRILL_ROUNDS=3 bursts, DRILL_KEEP=1 keeps the folder)
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

const POINTS = ['action open', 'file written, not completed', 'some applied, others not'] as const;
const ROUNDS = Number(process.env.DRILL_ROUNDS ?? POINTS.length);

const drill = new Drill('worker-kill', 'worker SIGKILLed during analysis, during an AI-written apply, and at 3 points of apply bursts', 'npm run drill:worker');

await drill.run(async (d) => {
  const postgres = await PostgresPart.start(d);
  const temporal = await TemporalPart.start(d);
  const client = await temporalClient(d, temporal);
  const { db, root, jobsDir, dataDir } = await demoWorkspace(d, postgres);
  const port = await freePort();
  const openclawLog = path.join(d.dir, 'openclaw-calls.jsonl');
  const env = healingEnv({ postgres, temporal, jobsDir, dataDir, port, extra: { FAKE_OPENCLAW_DELAY_MS: '5000', FAKE_OPENCLAW_LOG: openclawLog } });
  const apiProcess = HealingProcess.spawn(d, 'api', env);
  let generation = 1;
  let worker = HealingProcess.spawn(d, 'worker', env, `worker-${generation}`);
  await Promise.all([apiProcess.ready(), worker.ready()]);
  const api = new ApiRecorder(d, `http://127.0.0.1:${port}`);
  await api.waitHealthy();
  const before = await workspaceSnapshot(root, dataDir);
  const decisions: Decision[] = [];

  const killAndRestart = async (why: string) => {
    d.log(`SIGKILL the worker (pid ${worker.pid}) ${why}`);
    worker.kill('SIGKILL');
    const exit = await worker.exited;
    d.expect(exit.signal === 'SIGKILL', 'the worker died of SIGKILL', exit);
    generation += 1;
    worker = HealingProcess.spawn(d, 'worker', env, `worker-${generation}`);
    await worker.ready();
    d.log(`a new worker runs (pid ${worker.pid})`);
  };

  // 1. During a review's analysis.
  api.phase = 'analysis';
  const trigger = await api.call('POST', '/api/v1/healing/reviews/nightly-backup/trigger', {});
  d.expect(trigger.status === 202, 'trigger nightly-backup answers 202', trigger.body);
  const analyzing = await eventually('the analyzer to be called', async () => (await openclawCalls(openclawLog)).find((c) => c.command === 'agent'), 60_000);
  d.log(`the analysis runs (session ${analyzing.session_id}); the fake OpenClaw answers after 5 s`);
  await sleep(1_500);
  await killAndRestart('in the middle of the analysis');
  const review = await eventually(
    'the review to finish after the kill',
    async () => {
      const r = await db('healing_reviews').where({ job_id: 'nightly-backup' }).orderBy('id', 'desc').first();
      return r && r.status !== 'running' ? r : null;
    },
    150_000,
  );
  const rows = await db('healing_reviews').where({ job_id: 'nightly-backup' });
  d.expect(rows.length === 1 && review.status === 'completed', 'the killed review completed, as one review row', rows.map((r) => ({ id: r.id, status: r.status, error: r.error_message })));
  const stored = await db('healing_suggestions').where({ review_id: review.id });
  d.expect(stored.length === review.suggestions_count && stored.length >= 1, `its suggestions stored once (${stored.length})`, { rows: stored.length, counted: review.suggestions_count });
  const analyses = (await openclawCalls(openclawLog)).filter((c) => c.command === 'agent' && c.session_id?.startsWith('healing-nightly-backup-'));
  d.note(`the analyzer ran ${analyses.length} times for the killed review (the killed attempt, then its retry)`);
  d.expect(analyses.length === 2, 'the analysis ran exactly twice: the killed attempt and one retry', analyses.length);

  // 2. During an apply that waits for the AI to write the new file.
  api.phase = 'rewrite';
  const yaml = path.join(jobsDir, 'report-sync.yaml');
  const rewriteId = await createSuggestion(db, client, { jobId: 'report-sync', file: yaml, proposed: null, change: 'Mark the file as reviewed.' });
  const callsBefore = (await openclawCalls(openclawLog)).length;
  // The approval answers 202 at once (the apply goes on while the AI writes the file).
  const answer = await decide(api, decisions, rewriteId, 'approve');
  d.log(`the approval answered ${answer.status} after ${answer.ms} ms: ${JSON.stringify(answer.body).slice(0, 160)}`);
  d.expect(answer.status === 202 && (answer.body as { applying?: string }).applying === 'rewrite', 'the approval answered 202, applying while the AI writes the file', answer.body);
  await eventually('the AI rewrite to start', async () => (await openclawCalls(openclawLog)).length > callsBefore, 60_000);
  await sleep(1_500);
  await killAndRestart('while the apply waits for the AI to write the file');
  const ended = await eventually('the apply across the kill to end', async () => {
    const row = await db('healing_suggestions').where({ id: rewriteId }).first();
    return row && row.applying_step === null && row.status !== 'approved' ? row : null;
  }, 120_000);
  d.expect(ended.status === 'applied', 'the apply in flight across the kill ended applied', { status: ended.status, error: ended.error_message });

  // 3. Bursts of applies, the worker killed at a random moment of each.
  const files = ['nightly-backup', 'report-sync', 'idea-hunter', 'healthy-cleanup', 'deploy-hook'].map((job) => ({ job, file: path.join(jobsDir, `${job}.yaml`) }));
  const burst: { id: number; file: string; original: string; proposed: string }[] = [];
  let killedMidApply = 0;
  const killedAt: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    api.phase = `burst-${round}`;
    const these: typeof burst = [];
    for (const { job, file } of files) {
      const original = await readFile(file, 'utf8');
      const proposed = `${original}# drill round ${round}: checked by the worker-kill drill\n`;
      these.push({ id: await createSuggestion(db, client, { jobId: job, file, proposed }), file, original, proposed });
    }
    let answered = 0;
    const answers = these.map((s) => decide(api, decisions, s.id, 'approve').finally(() => (answered += 1)));
    // Kill at a chosen point of the applies, seen from outside (polled every few ms).
    const point = POINTS[(round - 1) % POINTS.length]!;
    const ids = these.map((s) => s.id);
    const reached = async (): Promise<boolean> => {
      if (point === 'action open') return (await db('healing_actions').whereIn('suggestion_id', ids).where({ status: 'running' }).first()) !== undefined;
      if (point === 'file written, not completed') {
        const applied = new Set((await db('healing_suggestions').whereIn('id', ids).where({ status: 'applied' }).pluck('id')) as number[]);
        for (const s of these) if (!applied.has(s.id) && (await readFile(s.file, 'utf8')) === s.proposed) return true;
        return false;
      }
      const applied = (await db('healing_suggestions').whereIn('id', ids).where({ status: 'applied' }).pluck('id')).length;
      return applied >= 1 && applied < ids.length;
    };
    const deadline = Date.now() + 20_000;
    let seen = false;
    while (!(seen = await reached()) && Date.now() < deadline) await sleep(3);
    const open = (await db('healing_actions').whereIn('suggestion_id', ids).where({ status: 'running' })).length;
    await killAndRestart(`at "${point}" of burst ${round}${seen ? '' : ' (not seen within 20 s)'}: ${these.length - answered} of ${these.length} approvals unanswered, ${open} apply(ies) open`);
    if (seen) killedAt.push(point);
    killedMidApply += open;
    const settledAnswers = await Promise.all(answers);
    d.log(`burst ${round}: ${settledAnswers.map((a) => `${a.status} ${(a.body as { status?: string }).status ?? ''}`.trim()).join(', ')}`);
    for (const s of these) {
      const row = await db('healing_suggestions').where({ id: s.id }).first();
      const actions = await db('healing_actions').where({ suggestion_id: s.id });
      const content = await readFile(s.file, 'utf8');
      const good =
        (row.status === 'applied' && actions.length === 1 && actions[0].status === 'success' && content === s.proposed) ||
        (row.status === 'failed' && actions.every((a: { status: string }) => a.status === 'failed') && content === s.original);
      d.expect(good, `burst ${round}, suggestion ${s.id}: ${row.status} with ${actions.length} action(s), file ${content === s.proposed ? 'proposed' : content === s.original ? 'original' : 'OTHER'}`);
    }
    burst.push(...these);
  }
  d.note(`${ROUNDS} bursts killed at: ${killedAt.join('; ')}; ${killedMidApply} apply(ies) caught between backup and completion`);
  d.expect(killedAt.length === ROUNDS, 'every burst was killed at its chosen point of the applies', killedAt);
  await settle(d, db, client);
  await api.settled();

  await checkOutcome(d, db, client, decisions, { root, dataDir, before });
  d.expect(!apiProcess.exitInfo, 'the API kept running through the kills', apiProcess.exitInfo);
});
