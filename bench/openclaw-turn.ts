// One real OpenClaw turn and what the service adds around it, in the same run: trigger
// (POST /healing/reviews/:job/trigger) -> the CLI starts, plus the CLI exits -> the review is
// completed with its suggestions stored (finished_at), against the CLI's own wall time and the
// meta.durationMs it reports. The pinned CLI (scripts/openclaw-cli.mjs) answers from the loopback
// fake model server (test/helpers/fake-model-server.ts) through a wrapper that logs when it was
// spawned and when the CLI exited (test/helpers/openclaw-real.ts). The worker runs in this process with the openclaw analyzer (the benchmarks' worker
// process runs the rules); the API runs in its own process, as in the other benchmarks.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveOpenclawCli } from '../scripts/openclaw-cli.mjs';
import { startFakeModelServer } from '../test/helpers/fake-model-server.js';
import { analysisAnswer, createStateDir, writeCliWrapper, type OpenclawCli, type WrapperEntry } from '../test/helpers/openclaw-real.js';
import { createWorkers } from '../worker/workers.js';
import { poll, request } from './lib/http.js';
import { seedRuns, writeJobs } from './lib/jobs.js';
import { median, round, startBench } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const TURNS = Number(process.env.BENCH_OPENCLAW_TURNS ?? 3);
/** The goal: what the service adds is under this share of the whole turn. */
const GOAL_SHARE = 0.05;

interface TurnFigures {
  /** trigger -> the CLI started */
  before_ms: number;
  /** the CLI exited -> the review completed (finished_at) */
  after_ms: number;
  /** the CLI exited -> its suggestions stored (their created_at) */
  exit_to_stored_ms: number;
  /** trigger -> the review completed */
  turn_ms: number;
  cli_wall_ms: number;
  cli_duration_ms: number;
}

const bench = startBench('openclaw-turn');
const cli = (await resolveOpenclawCli({ log: (m: string) => bench.log(m) })) as OpenclawCli;
const server = await startFakeModelServer();
server.respondWith({ kind: 'text', text: analysisAnswer('Retry the upload'), usage: { prompt_tokens: 1234, completion_tokens: 56 } });
const stack = await startBenchStack();
const scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-bench-openclaw-'));
const turns: TurnFigures[] = [];
try {
  // The user's OpenClaw, as the worker finds it: a state folder whose config names the fake provider.
  process.env.OPENCLAW_STATE_DIR = await createStateDir(server, { parent: scratch });
  const wrapper = await writeCliWrapper(cli, scratch);
  const ids = await writeJobs(stack.jobsDir, 'turn', TURNS);
  await seedRuns(stack.db, ids);
  const log = pino({ level: 'warn' });
  const connection = await NativeConnection.connect({ address: stack.address });
  const workers = await createWorkers({
    connection,
    namespace: stack.namespace,
    analysisConcurrency: 1,
    log,
    deps: {
      db: stack.db,
      jobsSource: stack.jobsDir,
      dataDir: stack.dataDir,
      home: stack.workDir,
      procclawHome: path.join(stack.workDir, '.procclaw'),
      analyzer: { mode: 'openclaw', openclawBin: wrapper.bin, openclawNode: cli.nodeBin, agent: null, thinking: null, timeoutSeconds: 300, stateRoot: path.join(stack.dataDir, 'openclaw') },
      dashboardUrl: 'http://127.0.0.1:3000',
      log,
    },
  });
  const running = workers.run();
  const api = await stack.startApi();
  bench.log(`stack up: ${cli.version}, API ${api.url}; ${TURNS} turns one after another`);

  for (const jobId of ids) {
    const triggered = Date.now();
    const started = await request(api.url, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
    if (started.status !== 202) throw new Error(`trigger of ${jobId} answered ${started.status}: ${JSON.stringify(started.body)}`);
    const reviewId = started.body.review_id as number;
    const review = await poll(
      async () => {
        const row = await stack.db('healing_reviews').where({ id: reviewId }).first('status', 'error_message', 'finished_at', 'raw_response', 'ai_session_id');
        return row && row.status !== 'running' ? row : null;
      },
      `review ${reviewId} to end`,
      600_000,
      100,
    );
    if (review.status !== 'completed') throw new Error(`review ${reviewId} ended ${review.status}: ${review.error_message}`);
    const stored = await stack.db('healing_suggestions').where({ review_id: reviewId }).max('created_at as at').first();
    const entries = await wrapper.entries();
    const start = entries.find((e): e is Extract<WrapperEntry, { event: 'start' }> => e.event === 'start' && e.argv.includes(review.ai_session_id as string));
    const exit = entries.find((e) => e.event === 'exit' && e.pid === start?.pid);
    if (!start || !exit) throw new Error(`the wrapper logged no start and exit of the turn of review ${reviewId}`);
    const finished = (review.finished_at as Date).getTime();
    const figures: TurnFigures = {
      before_ms: start.at - triggered,
      after_ms: finished - exit.at,
      exit_to_stored_ms: (stored?.at as Date).getTime() - exit.at,
      turn_ms: finished - triggered,
      cli_wall_ms: exit.at - start.at,
      cli_duration_ms: JSON.parse(review.raw_response as string).meta.durationMs as number,
    };
    turns.push(figures);
    bench.log(`${jobId}: ${JSON.stringify(figures)}`);
  }
  workers.shutdown();
  await running;
  await connection.close();
} finally {
  await stack.stop();
  await server.close();
  await rm(scratch, { recursive: true, force: true });
}

const p50 = (key: keyof TurnFigures) => median(turns.map((t) => t[key]));
const overhead = (t: TurnFigures) => t.before_ms + t.after_ms;
const overheads = turns.map(overhead);
const overheadNote = `overhead p50 ${round(median(overheads), 0)} ms (each: ${overheads.map((o) => round(o, 0)).join(', ')} ms)`;
// The turn measured two ways, each in the same run as the overhead: the CLI process from spawn to
// exit (what a review waits for), and the time the CLI itself reports (its start-up excluded).
for (const [label, key] of [
  ['the CLI wall time', 'cli_wall_ms'],
  ["the CLI's own meta.durationMs", 'cli_duration_ms'],
] as const) {
  const share = median(turns.map((t) => overhead(t) / t[key]));
  bench.add({
    figure: `service overhead of a real turn, p50 of ${turns.length} (trigger -> CLI start + CLI exit -> review completed), share of ${label}`,
    target: `< ${GOAL_SHARE * 100} %`,
    measured: round(share * 100, 2),
    unit: '%',
    pass: share < GOAL_SHARE,
    baseline: { label: `${label} p50`, value: round(p50(key), 0), unit: 'ms' },
    note: overheadNote,
  });
}
bench.add({ figure: 'trigger -> CLI start p50', target: '-', measured: round(p50('before_ms'), 0), unit: 'ms', pass: null });
bench.add({ figure: 'CLI exit -> review completed p50', target: '-', measured: round(p50('after_ms'), 0), unit: 'ms', pass: null, note: `exit -> suggestions stored p50 ${round(p50('exit_to_stored_ms'), 0)} ms` });
bench.add({ figure: 'trigger -> review completed p50', target: '-', measured: round(p50('turn_ms'), 0), unit: 'ms', pass: null });
Object.assign(bench.details, { turns, cli: cli.version, model_server: 'test/helpers/fake-model-server.ts (answers at once)' });
await bench.finish();
