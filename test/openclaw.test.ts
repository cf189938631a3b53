// The openclaw analyzer through the fake CLI: every answer shape the real one gives, the settings
// every turn passes, and the one-review-per-job rule.
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReviewDetailAnswer, ReviewListAnswer } from '../api/schemas.js';
import { seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { eventually, FAKE_OPENCLAW, http, startStack, type Stack } from './helpers/stack.js';
import { createSuggestion } from './helpers/suggestions.js';

const TIMEOUT_S = 2;
let stack: Stack;
let openclawLog: string;

beforeAll(async () => {
  // Activities run in this process, so the fake openclaw inherits this environment.
  openclawLog = path.join(os.tmpdir(), `fake-openclaw-${process.pid}-${Date.now()}.log`);
  process.env.FAKE_OPENCLAW_LOG = openclawLog;
  stack = await startStack({ analyzer: { mode: 'openclaw', timeoutSeconds: TIMEOUT_S } });
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
});
afterEach(() => {
  delete process.env.FAKE_OPENCLAW_MODE;
  delete process.env.FAKE_OPENCLAW_DELAY_MS;
  stack.analyzer.agent = null;
  stack.analyzer.thinking = null;
  stack.analyzer.openclawBin = FAKE_OPENCLAW;
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.FAKE_OPENCLAW_LOG;
  await rm(openclawLog, { force: true });
});

async function review(mode: string, jobId = 'nightly-backup') {
  process.env.FAKE_OPENCLAW_MODE = mode;
  const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: jobId, force: true });
  expect(started.status).toBe(202);
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `the ${mode} review`);
}

interface AgentTurnSeen {
  session_id: string;
  agent: string | null;
  thinking: string | null;
  timeout: number;
  json: boolean;
  local: boolean;
  message_length: number;
  message_file: string | null;
  state_dir: string | null;
  argv: string[];
}

/** The agent turns the fake CLI was asked for, in order, with the flags each one got. */
async function agentTurns(): Promise<AgentTurnSeen[]> {
  const text = await readFile(openclawLog, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((e) => e.command === 'agent');
}

const configOf = (jobId: string) => path.join(stack.jobsDir, `${jobId}.yaml`);

describe('the openclaw analyzer', () => {
  it('when openclaw answers with bare JSON, the suggestion is stored with its tokens, model and session and full new file content; the prompt went by file', async () => {
    const r = await review('good');
    expect(r).toMatchObject({ status: 'completed', analyzer: 'openclaw', suggestions_count: 1, dropped_count: 0, error_message: null });
    const row = await stack.db('healing_reviews').where({ id: r.id }).first();
    expect(r.ai_tokens_used).toBe(JSON.parse(row.raw_response).meta.agentMeta.usage.total);
    expect(r).toMatchObject({ ai_model: 'fake-model', ai_provider: 'fake', tool_calls: null });
    expect(r.ai_session_id).toMatch(/^healing-nightly-backup-[0-9a-f-]{36}$/);
    expect(ReviewDetailAnswer.safeParse(r).error).toBeUndefined();
    expect(ReviewListAnswer.safeParse((await http(stack.api, 'GET', '/api/v1/healing/reviews')).body).error).toBeUndefined();
    // The prompt went by file, never in argv, in a state folder of the turn's own, deleted after.
    const turn = (await agentTurns()).find((t) => t.session_id === r.ai_session_id);
    expect(turn?.message_length).toBeGreaterThan(1000);
    expect(turn?.message_file).toBe(path.join(turn!.state_dir!, 'prompt.txt'));
    expect(turn?.argv).not.toContain('--message');
    expect(turn?.argv.every((a) => a.length < 500)).toBe(true);
    await expect(stat(turn!.state_dir!)).rejects.toMatchObject({ code: 'ENOENT' });
    const [s] = r.suggestions;
    expect(s).toMatchObject({ title: 'Mark the file as reviewed', target_file: configOf('nightly-backup') });
    const detail = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${s.id}`)).body;
    const original = await readFile(configOf('nightly-backup'), 'utf8');
    expect(detail.proposed_content).toBe(`${original}# reviewed by fake openclaw\n`);
  });

  it('when the JSON is fenced inside prose, it is found', async () => {
    await http(stack.api, 'POST', `/api/v1/healing/suggestions/${(await pendingIds())[0]}/reject`, { reason: 'testing fenced' });
    const r = await review('fenced', 'report-sync');
    expect(r).toMatchObject({ status: 'completed', suggestions_count: 1, dropped_count: 0 });
    expect(r.suggestions).toEqual([expect.objectContaining({ title: 'Mark the file as reviewed', target_file: configOf('report-sync') })]);
  });

  it('when the answer is malformed, the review fails with the reason and keeps the raw answer', async () => {
    const r = await review('malformed');
    expect(r.status).toBe('failed');
    expect(r.suggestions_count).toBe(0);
    expect(r.error_message).toMatch(/^no JSON with suggestions in the analyzer's reply: "I looked at the job\. Here is what I found: \{"suggestions"/);
    const row = await stack.db('healing_reviews').where({ id: r.id }).first();
    // The tokens it spent, the model and the session stay on the failed review.
    expect(r).toMatchObject({ analyzer: 'openclaw', ai_model: 'fake-model', ai_provider: 'fake', ai_tokens_used: JSON.parse(row.raw_response).meta.agentMeta.usage.total });
    expect(r.ai_tokens_used).toBeGreaterThan(0);
    expect(r.ai_session_id).toMatch(/^healing-nightly-backup-/);
    expect(JSON.parse(row.raw_response).payloads[0].text).toMatch(/^I looked at the job\. Here is what I found: \{"suggestions": \[\{"category": "reliability", "title": "Add retries" "severity"/);
  });

  it('when openclaw times out, the review fails saying so', async () => {
    const r = await review('slow');
    expect(r.status).toBe('failed');
    expect(r.error_message).toBe(
      'the analyzer reported an error: Request timed out before a response was generated. Please try again, or increase `--timeout`. Request timed out (incomplete_turn) (exit 1)',
    );
  });

  it('when openclaw reports a provider error, the review fails with that error', async () => {
    const r = await review('failing');
    expect(r.status).toBe('failed');
    expect(r.error_message).toBe('openclaw agent exited 1: HTTP 401: invalid api key (fake openclaw in failing mode)');
  });

  it('when openclaw cannot start on a too-old Node, the review fails with what it said on stderr', async () => {
    const oldNode = path.join(stack.workDir, 'openclaw-on-node-20');
    // What the real CLI prints under Node 20 (docs/OPENCLAW-REAL.md), with nothing on stdout.
    await writeFile(
      oldNode,
      "#!/bin/sh\nprintf '%s\\n' 'openclaw: Node 20.20.2: node:sqlite is unavailable; use 24.16+/26.1+ or a build with the fix.' 'If you use nvm, run:' '  nvm install 26' >&2\nexit 1\n",
    );
    await chmod(oldNode, 0o755);
    stack.analyzer.openclawBin = oldNode;
    const r = await review('good');
    expect(r).toMatchObject({
      status: 'failed',
      analyzer: 'openclaw',
      ai_tokens_used: 0,
      error_message: 'openclaw agent exited 1: openclaw: Node 20.20.2: node:sqlite is unavailable; use 24.16+/26.1+ or a build with the fix. / If you use nvm, run: / nvm install 26',
    });
    expect(r.ai_session_id).toMatch(/^healing-nightly-backup-/);
  });

  it('when the answer aims at files outside the job, those suggestions are dropped and the valid one kept', async () => {
    const r = await review('hostile', 'idea-hunter');
    // The fake aims four at ../../etc/passwd, /etc/hosts and two ~ paths, and one at the job's config.
    expect(r).toMatchObject({ status: 'completed', suggestions_count: 1, dropped_count: 4 });
    expect(r.suggestions).toEqual([expect.objectContaining({ title: 'Mark the file as reviewed', target_file: configOf('idea-hunter') })]);
  });

  it('when a review of the job is already running, a second trigger answers with the running one', async () => {
    process.env.FAKE_OPENCLAW_MODE = 'good';
    process.env.FAKE_OPENCLAW_DELAY_MS = '2500';
    const first = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'healthy-cleanup', force: true });
    const second = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'healthy-cleanup', force: true });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ already_running: true, review_id: first.body.review_id });
    await eventually(async () => (await http(stack.api, 'GET', `/api/v1/healing/reviews/${first.body.review_id}`)).body.status !== 'running', 30_000);
    const reviews = await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=healthy-cleanup');
    expect(reviews.body.total).toBe(1);
  });
});

describe('AI-assisted apply', () => {
  it('when a suggestion describes a change without the new content, approving asks openclaw for the file, with the configured agent and thinking level, and applies it', async () => {
    process.env.FAKE_OPENCLAW_MODE = 'good';
    stack.analyzer.agent = 'ops-reviewer';
    stack.analyzer.thinking = 'low';
    const file = configOf('healthy-cleanup');
    const before = await readFile(file, 'utf8');
    const id = await createSuggestion(stack, { jobId: 'healthy-cleanup', targetFile: file, proposed: null, suggestedChange: 'add a retry block' });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(202);
    const done = await ended(id);
    expect(done.status).toBe('applied');
    expect(await readFile(file, 'utf8')).toBe(`${before}# reviewed by fake openclaw\n`);
    const action = (await http(stack.api, 'GET', `/api/v1/healing/actions/${done.action_id}`)).body;
    expect(action.ai_session_key).toMatch(/^healing-rewrite-/);
    const turns = (await agentTurns()).filter((t) => t.session_id === action.ai_session_key);
    expect(turns).toEqual([expect.objectContaining({ agent: 'ops-reviewer', thinking: 'low', timeout: TIMEOUT_S, json: true, local: true })]);
    expect(turns[0]!.message_file).toBe(path.join(turns[0]!.state_dir!, 'prompt.txt'));
  });

  it('when openclaw hangs past its time-out while writing the file, the apply fails saying so and the file is unchanged', async () => {
    // Longer than --timeout plus the grace the service gives the CLI: only killing it ends the turn.
    process.env.FAKE_OPENCLAW_DELAY_MS = '120000';
    const file = configOf('report-sync');
    const before = await readFile(file, 'utf8');
    const id = await createSuggestion(stack, { jobId: 'report-sync', targetFile: file, proposed: null, suggestedChange: 'add a retry block' });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    const timedOut = `openclaw did not answer within ${TIMEOUT_S} s`;
    expect(answer.status).toBe(202);
    expect(await ended(id)).toMatchObject({ status: 'failed', error_message: timedOut });
    expect(await stack.db('healing_suggestions').where({ id }).first()).toMatchObject({ status: 'failed', error_message: timedOut, proposed_content: null });
    expect(await readFile(file, 'utf8')).toBe(before);
  }, 120_000);
});

/** Waits for a suggestion's apply to end; answers the suggestion as it then is. */
const ended = (id: number) =>
  eventually(async () => {
    const s = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
    return s.applying_step === null && ['applied', 'failed'].includes(s.status) ? s : undefined;
  }, 90_000, `the apply of suggestion ${id} to end`);

async function pendingIds(): Promise<number[]> {
  const list = await http(stack.api, 'GET', '/api/v1/healing/suggestions?status=pending');
  return list.body.suggestions.map((s: { id: number }) => s.id);
}
