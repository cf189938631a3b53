// Reviews by the real `openclaw` CLI through the real worker, in the setup users have: an OpenClaw
// Gateway running on their own state folder, two analyses at once (HEALING_ANALYSIS_CONCURRENCY=2),
// notifications through `openclaw message send`. One review gets a good answer, the other a model
// that tries to run a shell command first; the fake model server holds each answer until the other
// turn has reached it too, so both reviews completing proves the two turns ran side by side.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { notifyWorkflowId } from '../core/temporal.js';
import { startFakeModelServer, userText, type FakeModelServer } from './helpers/fake-model-server.js';
import { analysisAnswer, createStateDir, startGateway, writeCliWrapper, type CliWrapper, type Gateway } from './helpers/openclaw-real.js';
import { reviewEnded, startRealCliStack, triggerReview, turnsFolder, writeJob } from './helpers/openclaw-real-stack.js';
import { eventually, type Stack } from './helpers/stack.js';

const SETUP_TIMEOUT_MS = 300_000;
const REVIEW_JOB = 'real-cli-report';
const TOOL_JOB = 'real-cli-tool';
const TELEGRAM_TARGET = '123456789';
// Secrets in the job's script and in its run's log: the model must see markers, never these.
const SCRIPT_SECRET = 'AKIAREALCLITEST12345';
const LOG_SECRET = 'tok-9f8e7d6c5b4a39281706';
const LOG_LINE = 'upload failed: connection reset by peer (part 7 of 9)';

const cli = inject('openclaw');
let server: FakeModelServer;
let scratch: string;
let gateway: Gateway | undefined;
let wrapper: CliWrapper;
let stack: Stack | undefined;
let sentinel: string;
let reviewed: Promise<any>;
let toolReviewed: Promise<any>;

beforeAll(async () => {
  server = await startFakeModelServer();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-openclaw-real-review-'));
  sentinel = path.join(scratch, 'sentinel');
  // The user's own OpenClaw: a model provider, a Gateway, a Telegram channel for notifications.
  const userState = await createStateDir(server, {
    parent: scratch,
    sections: { gateway: { mode: 'local' }, channels: { telegram: { botToken: '123456:fake-telegram-token' } } },
  });
  // The service runs the CLI through a wrapper that makes `message send` a dry run: nothing is sent to Telegram.
  wrapper = await writeCliWrapper(cli, scratch, { dryRunMessages: true });
  [gateway, stack] = await Promise.all([
    startGateway(cli, userState),
    startRealCliStack({ userState, analyzer: { openclawBin: wrapper.bin, timeoutSeconds: 120 }, analysisConcurrency: 2 }),
  ]);

  server.respondTo(REVIEW_JOB, { kind: 'text', text: analysisAnswer('Retry the upload'), usage: { prompt_tokens: 1234, completion_tokens: 56 }, waitFor: TOOL_JOB });
  server.respondTo(
    TOOL_JOB,
    { kind: 'tool-call', name: 'exec', args: { command: `touch ${sentinel}` }, usage: { prompt_tokens: 100, completion_tokens: 10 }, waitFor: REVIEW_JOB },
    { kind: 'text', text: analysisAnswer('Retry the download'), usage: { prompt_tokens: 200, completion_tokens: 20 } },
  );
  await writeJob(stack, REVIEW_JOB, {
    script: `#!/bin/bash\nexport AWS_ACCESS_KEY_ID=${SCRIPT_SECRET}\naws s3 cp /tmp/report.csv s3://reports/\n`,
    log: `starting upload\ncurl -H "Authorization: Bearer ${LOG_SECRET}" https://api.example.test/upload\n${LOG_LINE}`,
    suggestions: `    notify_channel: telegram\n    notify_target: "${TELEGRAM_TARGET}"\n`,
  });
  await writeJob(stack, TOOL_JOB, { script: '#!/bin/bash\ncurl -o /tmp/data.csv https://data.example.test/\n', log: 'download failed: timeout' });
  const ids = [await triggerReview(stack, REVIEW_JOB), await triggerReview(stack, TOOL_JOB)];
  reviewed = reviewEnded(stack, ids[0]!);
  toolReviewed = reviewEnded(stack, ids[1]!);
  // Each test awaits its own; a failure must not surface first as an unhandled rejection.
  reviewed.catch(() => undefined);
  toolReviewed.catch(() => undefined);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await gateway?.stop();
  await stack?.stop();
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

describe('the real openclaw CLI through the worker', () => {
  it("with the user's Gateway running on their state folder and two analyses at once, both reviews complete and leave no turn folder", async () => {
    const [review, toolReview] = await Promise.all([reviewed, toolReviewed]);
    expect(review, review.error_message).toMatchObject({ status: 'completed', analyzer: 'openclaw' });
    expect(toolReview, toolReview.error_message).toMatchObject({ status: 'completed', analyzer: 'openclaw' });
    expect(await gateway!.running()).toBe(true);
    expect(await readdir(turnsFolder(stack!))).toEqual([]);
  }, SETUP_TIMEOUT_MS);

  it("stores the model's suggestion with exactly the tokens the model reported, its model, provider and session; the model saw the job's context and no secret", async () => {
    const review = await reviewed;
    expect(review).toMatchObject({ status: 'completed', suggestions_count: 1, ai_tokens_used: 1234 + 56, ai_model: server.model, ai_provider: 'fake', tool_calls: null, error_message: null });
    expect(review.suggestions).toEqual([expect.objectContaining({ title: 'Retry the upload', status: 'pending', category: 'reliability' })]);
    expect(review.ai_session_id).toMatch(new RegExp(`^healing-${REVIEW_JOB}-[0-9a-f-]{36}$`));
    // The answer is kept with its meta (the session the CLI ran), not the prompt it echoes.
    const { raw_response } = await stack!.db('healing_reviews').where({ id: review.id }).first();
    const kept = JSON.parse(raw_response);
    expect(kept.meta.agentMeta).toMatchObject({ sessionId: review.ai_session_id, usage: { total: 1234 + 56 } });
    expect(kept.meta.finalPromptText).toBeUndefined();

    const requests = server.chatRequests(REVIEW_JOB);
    expect(requests).toHaveLength(1);
    const prompt = userText(requests[0]!.body);
    expect(prompt).toContain(`id: ${REVIEW_JOB}`);
    expect(prompt).toContain(LOG_LINE);
    expect(prompt).toMatch(/AWS_ACCESS_KEY_ID=\[REDACTED:[a-z-]+#\d+\]/);
    expect(prompt).toMatch(/Bearer \[REDACTED:[a-z-]+#\d+\]/);
    const everythingSent = JSON.stringify(server.requests);
    expect(everythingSent).not.toContain(SCRIPT_SECRET);
    expect(everythingSent).not.toContain(LOG_SECRET);
  }, SETUP_TIMEOUT_MS);

  it('when the model calls exec, nothing runs on the machine: the call is refused, recorded on the review, and the review completes with the next answer', async () => {
    const review = await toolReviewed;
    expect(existsSync(sentinel)).toBe(false);
    expect(review).toMatchObject({
      status: 'completed',
      suggestions_count: 1,
      ai_tokens_used: 100 + 10 + 200 + 20,
      tool_calls: { calls: 1, tools: ['exec'], refused: 1, ran: [] },
    });
    const [offer, afterCall] = server.chatRequests(TOOL_JOB);
    expect(offer!.body.tools).toBeUndefined();
    expect(afterCall!.body.messages.find((m: any) => m.role === 'tool')).toMatchObject({ content: 'Tool exec not found' });
  }, SETUP_TIMEOUT_MS);

  it("notifies the new suggestion through openclaw message send on the user's Telegram channel (a dry run), with their Gateway running", async () => {
    const review = await reviewed;
    const notification = stack!.env.client.workflow.getHandle(notifyWorkflowId(review.id));
    await eventually(async () => notification.describe(), 30_000, 'the notification to start', 1_000);
    expect(await notification.result()).toEqual({ sent: true, detail: `sent to telegram ${TELEGRAM_TARGET}` });
    expect(await stack!.db('healing_notifications').where({ review_id: review.id })).toEqual([
      expect.objectContaining({ channel: 'telegram', target: TELEGRAM_TARGET, status: 'sent', attempts: 1, error: null }),
    ]);
    const sends = (await wrapper.entries()).filter((e) => e.event === 'start' && e.argv[0] === 'message');
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ argv: ['message', 'send', '--channel', 'telegram', '--target', TELEGRAM_TARGET, '--message', expect.stringContaining(`(${REVIEW_JOB})`), '--json'] });
  }, SETUP_TIMEOUT_MS);
});
