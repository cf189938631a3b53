// The real `openclaw` CLI through the real worker when the model provider fails: a rate limit, a
// provider error, a hang and a broken stream each end the review `failed` with the reason the CLI
// gave, after one model request (the service bounds OpenClaw's provider retries to none, which
// otherwise run 90-160 s past any time-out), with the model and session recorded. And the failure
// answer of `openclaw message send` that the notifier reads. The hang runs on a stack of its own
// with a short HEALING_ANALYSIS_TIMEOUT_S, the other three at once on another.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliError, runCli, type CliResult } from '../activities/openclaw.js';
import { startFakeModelServer, type FakeModelServer, type ModelAnswer } from './helpers/fake-model-server.js';
import { createStateDir } from './helpers/openclaw-real.js';
import { reviewEnded, startRealCliStack, triggerReview, turnsFolder, writeJob } from './helpers/openclaw-real-stack.js';
import { eventually, type Stack } from './helpers/stack.js';

const SETUP_TIMEOUT_MS = 300_000;
/**
 * HEALING_ANALYSIS_TIMEOUT_S of the turns that get an answer: three turns starting at once on two
 * busy cores take a minute or more to reach the model, and the service stops a CLI at this plus 30 s.
 */
const TIMEOUT_S = 120;
/** HEALING_ANALYSIS_TIMEOUT_S of the turn whose provider never answers (its own stack): short, so the test is. */
const HANG_TIMEOUT_S = 45;
const HANG_JOB = 'real-cli-hang';

const FAILURES: Record<string, ModelAnswer> = {
  'real-cli-429': { kind: 'status', status: 429, retryAfterS: 2, message: 'slow down, fake rate limit' },
  'real-cli-500': { kind: 'status', status: 500, message: 'fake internal error' },
  'real-cli-broken-stream': { kind: 'broken-stream' },
};

const cli = inject('openclaw');
let server: FakeModelServer;
let scratch: string;
let hangStack: Stack | undefined;
let stack: Stack | undefined;
const reviews: Record<string, Promise<any>> = {};
let unavailableChannel: Promise<CliResult>;

/** Starts the review of `job` on `on`; its test awaits the end. */
async function startReview(on: Stack, job: string, failure: ModelAnswer): Promise<void> {
  server.respondTo(job, failure);
  await writeJob(on, job, { script: '#!/bin/bash\n./sync.sh\n', log: 'sync failed' });
  reviews[job] = reviewEnded(on, await triggerReview(on, job));
  reviews[job].catch(() => undefined); // awaited by its test
}

beforeAll(async () => {
  server = await startFakeModelServer();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-openclaw-real-failures-'));
  const userState = await createStateDir(server, { parent: scratch });
  // The hang first, on a stack of its own with the short time-out; the others once its CLI has
  // reached the model, so that four CLIs starting at once on two cores do not outlast it.
  hangStack = await startRealCliStack({ userState, analyzer: { timeoutSeconds: HANG_TIMEOUT_S }, analysisConcurrency: 1 });
  await startReview(hangStack, HANG_JOB, { kind: 'hang' });
  stack = await startRealCliStack({ userState, analyzer: { timeoutSeconds: TIMEOUT_S }, analysisConcurrency: Object.keys(FAILURES).length });
  await eventually(async () => server.chatRequests(HANG_JOB).length > 0, 120_000, 'the hang review to reach the model', 500);
  for (const [job, failure] of Object.entries(FAILURES)) await startReview(stack, job, failure);
  // The notifier's command on a channel the user's OpenClaw does not have, as the notifier runs it
  // (runCli), outside vitest's environment (VITEST* silences the CLI).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  unavailableChannel = runCli(cli.openclawBin, ['message', 'send', '--channel', 'telegram', '--target', '123456789', '--message', 'hello', '--json'], {
    timeoutMs: 180_000,
    node: cli.nodeBin,
    env: { ...env, HOME: userState, OPENCLAW_STATE_DIR: userState, NO_COLOR: '1' },
  });
  unavailableChannel.catch(() => undefined);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  // In the reverse order of their start: each restores the environment it found.
  await stack?.stop();
  await hangStack?.stop();
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

/** The failed review of `job`, with what every failed turn leaves on it, after exactly one model request. */
async function failedReview(job: string) {
  const review = await reviews[job];
  expect(review).toMatchObject({ status: 'failed', analyzer: 'openclaw', ai_model: server.model, ai_provider: 'fake', ai_tokens_used: 0, suggestions_count: 0 });
  expect(review.ai_session_id).toMatch(new RegExp(`^healing-${job}-`));
  expect(server.chatRequests(job), review.error_message).toHaveLength(1);
  return review;
}

describe('the real openclaw CLI through the worker, when the model provider fails', () => {
  it('when the provider rate-limits (429), the review fails at once with its message and the Retry-After', async () => {
    const review = await failedReview('real-cli-429');
    expect(review.error_message).toBe('openclaw agent exited 1: ⚠️ slow down, fake rate limit; Retry-After: 2 seconds');
  }, SETUP_TIMEOUT_MS);

  it('when the provider answers 500, the review fails at once saying so', async () => {
    const review = await failedReview('real-cli-500');
    expect(review.error_message).toMatch(/^openclaw agent exited 1: .*fake\/fake-model request failed \(provider internal error, HTTP 500\)/);
  }, SETUP_TIMEOUT_MS);

  it('when the stream breaks off mid-answer, the review fails with what the CLI made of it', async () => {
    const review = await failedReview('real-cli-broken-stream');
    expect(review.error_message).toBe('openclaw agent exited 1: LLM request timed out.');
  }, SETUP_TIMEOUT_MS);

  it('when the provider never answers, the review fails at the time-out saying so', async () => {
    const review = await failedReview(HANG_JOB);
    // The CLI's own time-out runs from the end of its start-up, the service's from the CLI's start
    // plus a grace: on a busy machine either can end the turn first, and both say it timed out.
    expect(review.error_message).toMatch(new RegExp(`^(the analyzer reported an error: Request timed out before a response was generated|openclaw did not answer within ${HANG_TIMEOUT_S} s)`));
  }, SETUP_TIMEOUT_MS);

  it('leaves no turn folder behind', async () => {
    await Promise.all(Object.values(reviews));
    expect([...(await readdir(turnsFolder(stack!))), ...(await readdir(turnsFolder(hangStack!)))]).toEqual([]);
  }, SETUP_TIMEOUT_MS);
});

describe('openclaw message send, as the notifier reads it', () => {
  it("when the channel is not set up in the user's OpenClaw, it exits 1 and the notifier reads the CLI's reason and fix from its answer", async () => {
    const result = await unavailableChannel;
    expect(result.code, result.stderr).toBe(1);
    // Without a channel of its own, the CLI would hand the message to a Gateway it has no credentials for.
    expect(cliError(result)).toMatch(/^gateway message\.action requires credentials before opening a websocket\nFix: configure gateway\.auth/);
  }, SETUP_TIMEOUT_MS);
});
