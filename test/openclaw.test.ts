// The openclaw analyzer through the fake CLI: every answer shape the real one gives, and the
// one-review-per-job rule.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';
import { createSuggestion } from './helpers/suggestions.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ analyzer: { mode: 'openclaw', timeoutSeconds: 2 } });
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
});
afterEach(() => {
  delete process.env.FAKE_OPENCLAW_MODE;
  delete process.env.FAKE_OPENCLAW_DELAY_MS;
});
afterAll(async () => stack?.stop());

async function review(mode: string, jobId = 'nightly-backup') {
  process.env.FAKE_OPENCLAW_MODE = mode;
  const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: jobId, force: true });
  expect(started.status).toBe(202);
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `the ${mode} review`);
}

describe('the openclaw analyzer', () => {
  it('when openclaw answers with bare JSON, the suggestion is stored with its tokens and full new file content', async () => {
    const r = await review('good');
    expect(r).toMatchObject({ status: 'completed', analyzer: 'openclaw', suggestions_count: 1 });
    expect(r.ai_tokens_used).toBeGreaterThan(0);
    const [s] = r.suggestions;
    expect(s.target_file).toMatch(/nightly-backup\.yaml$/);
    const detail = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${s.id}`)).body;
    expect(detail.proposed_content).toContain('# reviewed by fake openclaw');
    expect(detail.proposed_content).toContain('# Nightly backup of the app database');
  });

  it('when the JSON is fenced inside prose, it is found', async () => {
    await http(stack.api, 'POST', `/api/v1/healing/suggestions/${(await pendingIds())[0]}/reject`, { reason: 'testing fenced' });
    const r = await review('fenced', 'report-sync');
    expect(r.status).toBe('completed');
    expect(r.suggestions.length).toBeGreaterThan(0);
  });

  it('when the answer is malformed, the review fails with the reason and keeps the raw answer', async () => {
    const r = await review('malformed');
    expect(r.status).toBe('failed');
    expect(r.error_message).toBeTruthy();
    const row = await stack.db('healing_reviews').where({ id: r.id }).first();
    expect(row.raw_response).toBeTruthy();
  });

  it('when openclaw times out, the review fails saying so', async () => {
    const r = await review('slow');
    expect(r.status).toBe('failed');
    expect(r.error_message).toMatch(/time|timed out/i);
  });

  it('when openclaw reports a provider error, the review fails with that error', async () => {
    const r = await review('failing');
    expect(r.status).toBe('failed');
    expect(r.error_message.length).toBeGreaterThan(5);
  });

  it('when the answer aims at files outside the job, those suggestions are dropped and the valid one kept', async () => {
    const r = await review('hostile', 'idea-hunter');
    expect(r.status).toBe('completed');
    expect(r.dropped_count).toBeGreaterThan(0);
    for (const s of r.suggestions) {
      if (s.target_file) expect(s.target_file.startsWith(stack.jobsDir)).toBe(true);
    }
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
  it('when a suggestion describes a change without the new content, approving asks openclaw for the file and applies it', async () => {
    process.env.FAKE_OPENCLAW_MODE = 'good';
    const file = path.join(stack.jobsDir, 'healthy-cleanup.yaml');
    const before = await readFile(file, 'utf8');
    const id = await createSuggestion(stack, { jobId: 'healthy-cleanup', targetFile: file, proposed: null, suggestedChange: 'add a retry block' });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.body.status).toBe('applied');
    const after = await readFile(file, 'utf8');
    expect(after.startsWith(before.trimEnd())).toBe(true);
    expect(after).toContain('# reviewed by fake openclaw');
    const action = (await http(stack.api, 'GET', `/api/v1/healing/actions/${answer.body.action_id}`)).body;
    expect(action.ai_session_key).toMatch(/^healing-rewrite-/);
  });
});

async function pendingIds(): Promise<number[]> {
  const list = await http(stack.api, 'GET', '/api/v1/healing/suggestions?status=pending');
  return list.body.suggestions.map((s: { id: number }) => s.id);
}
