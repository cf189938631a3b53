// The real `openclaw` CLI run by the real worker: a stack whose analyzer is the CLI, the user's own
// OpenClaw state in a temp folder pointing at the fake model server, and the job, trigger and wait
// steps the real-CLI test files share. A real turn takes 20-60 s here, so files trigger their
// reviews together and each test awaits its own.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, inject } from 'vitest';
import type { AnalyzerSettings } from '../../activities/deps.js';
import { eventually, http, startStack, type Stack } from './stack.js';

/** How long a test waits for a review of the real CLI to end: turns queue behind each other on a busy machine. */
export const REAL_REVIEW_WAIT_MS = 300_000;

/**
 * A stack whose analyzer is the real CLI (or `bin`, a wrapper of it), with the user's OpenClaw state
 * in `userState` (OPENCLAW_STATE_DIR of the worker) and turn folders under the stack's data folder.
 */
export async function startRealCliStack(opts: { userState: string; analyzer?: Partial<AnalyzerSettings>; analysisConcurrency: number }): Promise<Stack> {
  const cli = inject('openclaw');
  const stack = await startStack({
    analyzer: { mode: 'openclaw', openclawBin: cli.openclawBin, openclawNode: cli.nodeBin, ...opts.analyzer },
    analysisConcurrency: opts.analysisConcurrency,
    env: { OPENCLAW_STATE_DIR: opts.userState },
  });
  stack.analyzer.stateRoot = path.join(stack.dataDir, 'openclaw');
  return stack;
}

/** The folder turn folders go in while they run (see activities/openclaw-state.ts). */
export const turnsFolder = (stack: Stack): string => path.join(stack.analyzer.stateRoot!, 'turns');

/**
 * Writes job `id` (its YAML and its script) and reports one failed run with `log`, so a review of
 * it has the script and the log line in its context. `suggestions` is the YAML of its
 * self_healing.suggestions block (notification settings), indented by four spaces.
 */
export async function writeJob(stack: Stack, id: string, opts: { script: string; log: string; suggestions?: string }): Promise<void> {
  const scripts = path.join(stack.jobsDir, 'scripts');
  await mkdir(scripts, { recursive: true });
  await writeFile(path.join(scripts, `${id}.sh`), opts.script);
  await chmod(path.join(scripts, `${id}.sh`), 0o755);
  await writeFile(
    path.join(stack.jobsDir, `${id}.yaml`),
    `name: Job ${id}\ncmd: ./scripts/${id}.sh\ntype: scheduled\nschedule: "0 2 * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n` +
      `  review_schedule:\n    frequency: manual\n    min_runs: 1\n${opts.suggestions ? `  suggestions:\n${opts.suggestions}` : ''}`,
  );
  const started = new Date(Date.now() - 120_000);
  const report = await http(stack.api, 'POST', `/api/v1/jobs/${id}/runs`, {
    external_id: `${id}-1`,
    started_at: started.toISOString(),
    finished_at: new Date(started.getTime() + 60_000).toISOString(),
    exit_code: 1,
    error: 'upload failed',
    log_tail: opts.log,
  });
  expect(report.status, JSON.stringify(report.body)).toBe(201);
}

/** Triggers a review of the job through the API; answers its id. */
export async function triggerReview(stack: Stack, jobId: string): Promise<number> {
  const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: jobId, force: true });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return started.body.review_id as number;
}

/** The review as the API shows it once it has ended (any status but running). */
export async function reviewEnded(stack: Stack, reviewId: number): Promise<any> {
  return eventually(
    async () => {
      const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${reviewId}`);
      return r.body.status !== 'running' ? r.body : undefined;
    },
    REAL_REVIEW_WAIT_MS,
    `review ${reviewId} to end`,
    1_000,
  );
}
