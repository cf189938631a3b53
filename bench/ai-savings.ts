// What skipping unchanged contexts saves: the demo's scheduled jobs over a simulated month of 30
// days, through the real stack (Postgres, the Temporal dev server, the worker in its own process,
// the rules analyzer). Every scheduled review falls due as the job's review_schedule says and is
// started as its Temporal schedule starts it (scheduledReviewWorkflow); the runs arrive as the
// jobs' cron schedules say, with the demo's failure patterns, and some jobs go quiet for a while,
// so that reviews find no new runs: idea-hunter paused for a week, report-sync's partner API down
// for two days, nightly-backup off for two nights, healthy-cleanup's host off for a day. Simulated
// time is compressed: the events run in their order on the real clock, so "runs since the last
// review" means what it means in service.
//
// Two passes: the demo as configured (its min_runs already skips reviews with too few new runs, for
// free), and the same month with min_runs 0 on every job (every scheduled review would reach the
// analyzer but for the unchanged check). deploy-hook is left out: it has no scheduled review (its
// reviews are failure-triggered, which are never skipped).
//
// Tokens: an estimate per review, not a measured turn (no model is called here): the prompt the
// OpenClaw analyzer would send for the review's context (core/prompt.ts, built from the redacted
// context exactly as activities/analyze.ts builds it) at 4 characters a token, plus
// ANSWER_TOKENS for its answer. OpenClaw's own system prompt comes on top of each real turn, so the
// savings are a lower bound. It prints figures; it is not a timed test.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectReviewContext } from '../activities/context.js';
import { writeDemoWorkspace } from '../cli/demo.js';
import { isUnchangedSkip } from '../core/context-fingerprint.js';
import { buildAnalysisPromptWithIndex } from '../core/prompt.js';
import { redactContext } from '../core/redact.js';
import { TASK_QUEUE, type ScheduledReviewOutcome } from '../core/temporal.js';
import { findJob } from '../db/catalog.js';
import { upsertRun } from '../db/runs.js';
import { startBench } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const DAYS = Number(process.env.BENCH_AI_SAVINGS_DAYS ?? 30);
/** The answer of a turn: a JSON object with a suggestion or two (its length in the fake CLI's answers and the tests' fixtures). */
const ANSWER_TOKENS = 600;
const CHARS_PER_TOKEN = 4;
const HOUR = 3_600_000;
/** A Monday, so weekly reviews (day 1) fall on the simulated calendar as they would. */
const MONTH_START = Date.UTC(2026, 10, 2);
/** The first hour of a simulated day. */
const day = (n: number) => n * 24;

interface SimJob {
  id: string;
  /** minutes past each hour it runs, and on which hours of the day (null: every hour) */
  runMinutes: number[];
  runHours: number[] | null;
  /** when its scheduled review falls due: hour of the day (null: every hour at :00), weekday (null: every day) */
  reviewHour: number | null;
  reviewWeekday: number | null;
  /** the demo's failure pattern: does its n-th run fail, and with what */
  fails: (n: number) => string | null;
  /** simulated hours (from the month's start, end excluded) in which it does not run at all */
  quiet: [number, number][];
}

const JOBS: SimJob[] = [
  { id: 'nightly-backup', runMinutes: [0], runHours: [2], reviewHour: 3, reviewWeekday: null, fails: (n) => (n % 2 === 0 ? 'upload failed: connection reset by peer' : null), quiet: [[day(10), day(12)]] },
  { id: 'report-sync', runMinutes: [0, 15, 30, 45], runHours: null, reviewHour: null, reviewWeekday: null, fails: (n) => (n % 4 === 3 ? 'HTTP Error 503: Service Unavailable' : null), quiet: [[day(20), day(22)]] },
  // paused after its Monday run of day 14 until after the next Monday's review (day 21, 09:00)
  { id: 'idea-hunter', runMinutes: [0], runHours: [8], reviewHour: 9, reviewWeekday: 1, fails: () => null, quiet: [[day(15), day(22)]] },
  // its host off from just after the day-25 review to the day-26 one
  { id: 'healthy-cleanup', runMinutes: [30], runHours: null, reviewHour: 3, reviewWeekday: null, fails: () => null, quiet: [[day(25) + 3, day(26) + 3]] },
];

type Event = { minute: number; kind: 'review' | 'run'; job: SimJob };

/** The events of one simulated hour, in order; a review before a run of the same minute (that run has not ended when the review looks). */
function eventsOf(hourIndex: number): Event[] {
  const at = new Date(MONTH_START + hourIndex * HOUR);
  const hour = at.getUTCHours();
  const events: Event[] = [];
  for (const job of JOBS) {
    const reviewDue = (job.reviewHour === null || job.reviewHour === hour) && (job.reviewWeekday === null || job.reviewWeekday === at.getUTCDay());
    if (reviewDue) events.push({ minute: 0, kind: 'review', job });
    const quiet = job.quiet.some(([from, to]) => hourIndex >= from && hourIndex < to);
    if (!quiet && (job.runHours === null || job.runHours.includes(hour))) {
      for (const minute of job.runMinutes) events.push({ minute, kind: 'run', job });
    }
  }
  return events.sort((a, b) => a.minute - b.minute || (a.kind === b.kind ? 0 : a.kind === 'review' ? -1 : 1));
}

interface Tally {
  reviews: number;
  analysed: number;
  skipped_unchanged: number;
  skipped_other: number;
  failed: number;
  tokens_spent: number;
  tokens_saved: number;
}

const bench = startBench('ai-savings');

async function simulate(label: string, minRunsZero: boolean): Promise<{ total: Tally; jobs: Record<string, Tally> }> {
  const stack = await startBenchStack();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-bench-demo-'));
  try {
    await writeDemoWorkspace(scratch);
    await cp(path.join(scratch, 'jobs'), stack.jobsDir, { recursive: true });
    if (minRunsZero) {
      for (const name of (await readdir(stack.jobsDir)).filter((f) => f.endsWith('.yaml'))) {
        const file = path.join(stack.jobsDir, name);
        await writeFile(file, (await readFile(file, 'utf8')).replace(/min_runs: \d+/g, 'min_runs: 0'));
      }
    }
    await stack.startWorker();
    const empty = (): Tally => ({ reviews: 0, analysed: 0, skipped_unchanged: 0, skipped_other: 0, failed: 0, tokens_spent: 0, tokens_saved: 0 });
    const jobs: Record<string, Tally> = Object.fromEntries(JOBS.map((j) => [j.id, empty()]));
    const runCount = new Map<string, number>();
    let workflows = 0;

    /** The tokens an OpenClaw analysis of the job's context as it is now would take (see the header). */
    const estimateTokens = async (jobId: string): Promise<number> => {
      const job = await findJob(stack.jobsDir, jobId);
      if (!job) throw new Error(`${jobId} is not in the catalog`);
      const collected = await collectReviewContext(stack.db, job, { trigger: 'scheduled', force: true }, { home: stack.workDir, procclawHome: path.join(stack.workDir, '.procclaw'), now: new Date() });
      if (!collected.context) return 0;
      const { prompt } = buildAnalysisPromptWithIndex(redactContext(collected.context).context);
      return Math.round(prompt.length / CHARS_PER_TOKEN) + ANSWER_TOKENS;
    };

    const review = async (job: SimJob) => {
      const tokens = await estimateTokens(job.id);
      const outcome: ScheduledReviewOutcome = await stack.client.workflow.execute('scheduledReviewWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `bench-ai-savings-${job.id}-${++workflows}`,
        args: [{ jobId: job.id }],
      });
      const tally = jobs[job.id]!;
      tally.reviews++;
      if (outcome.status === 'completed') {
        tally.analysed++;
        tally.tokens_spent += tokens;
      } else if (outcome.status === 'skipped') {
        const row = await stack.db('healing_reviews').where({ id: outcome.reviewId }).first('skip_reason');
        if (isUnchangedSkip(row?.skip_reason)) {
          tally.skipped_unchanged++;
          tally.tokens_saved += tokens;
        } else tally.skipped_other++;
      } else tally.failed++;
    };

    const run = async (job: SimJob) => {
      const n = runCount.get(job.id) ?? 0;
      runCount.set(job.id, n + 1);
      const error = job.fails(n);
      const started = new Date();
      await upsertRun(stack.db, {
        job_id: job.id,
        external_id: `sim-${n}`,
        started_at: started,
        finished_at: new Date(started.getTime() + 1),
        exit_code: error ? 1 : 0,
        duration_ms: error ? 31_000 : 95_000,
        trigger: 'scheduled',
        error,
        sla_status: error ? 'fail' : 'pass',
        sla_details: null,
        log_path: null,
        log_tail: error ? `starting\n${error}` : 'starting\ndone',
        session_messages: null,
      });
    };

    for (let h = 0; h < DAYS * 24; h++) {
      const events = eventsOf(h);
      // Reviews due at the same minute start together, as their schedules would; runs follow in order.
      for (let i = 0; i < events.length; ) {
        const { minute, kind } = events[i]!;
        const batch = [];
        while (i < events.length && events[i]!.minute === minute && events[i]!.kind === kind) batch.push(events[i++]!);
        if (kind === 'review') await Promise.all(batch.map((e) => review(e.job)));
        else for (const e of batch) await run(e.job);
      }
      if (h % (24 * 5) === 24 * 5 - 1) bench.log(`${label}: day ${(h + 1) / 24} of ${DAYS}`);
    }
    const total = empty();
    for (const t of Object.values(jobs)) for (const key of Object.keys(total) as (keyof Tally)[]) total[key] += t[key];
    return { total, jobs };
  } finally {
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

const passes = [
  { key: 'demo', label: 'the demo as configured', minRunsZero: false },
  { key: 'min_runs_0', label: 'min_runs 0 on every job', minRunsZero: true },
];
for (const pass of passes) {
  const { total, jobs } = await simulate(pass.label, pass.minRunsZero);
  bench.details[pass.key] = { total, jobs };
  const wouldSpend = total.tokens_spent + total.tokens_saved;
  const report = (figure: string, measured: number, unit: string) => bench.add({ figure: `${pass.label}: ${figure}`, target: '(report)', measured, unit, pass: null });
  report('scheduled reviews', total.reviews, 'reviews');
  report('analysed', total.analysed, 'reviews');
  report('skipped, nothing changed', total.skipped_unchanged, 'reviews');
  report('skipped for other reasons (below min_runs)', total.skipped_other, 'reviews');
  report('tokens spent (estimate)', total.tokens_spent, 'tokens');
  report('tokens saved by the unchanged skip (estimate)', total.tokens_saved, 'tokens');
  report('share of the tokens saved', wouldSpend ? Math.round((1000 * total.tokens_saved) / wouldSpend) / 10 : 0, '%');
  for (const [id, t] of Object.entries(jobs)) {
    bench.log(`${pass.label}: ${id}: ${t.reviews} reviews, ${t.analysed} analysed, ${t.skipped_unchanged} skipped unchanged, ${t.skipped_other} skipped below min_runs, ${t.failed} failed; tokens spent ${t.tokens_spent}, saved ${t.tokens_saved}`);
  }
}
bench.details.tokens = `estimate per review: the OpenClaw prompt of its context at ${CHARS_PER_TOKEN} characters a token, plus ${ANSWER_TOKENS} for the answer; OpenClaw's own system prompt not counted (a lower bound)`;
await bench.finish();
