// An apply that needs the AI to write the new file answers its command at once (202) and goes on
// in the suggestion's workflow, shown as applying until it ends; an apply that fails answers as a
// failure. Driven through the API with the fake openclaw CLI, which can be slow or fail.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QUERY_NAMES, suggestionWorkflowId, type SuggestionState } from '../core/temporal.js';
import { workflowBundle } from '../worker/workers.js';
import { createSuggestion, etlJobYaml } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
let openclawLog: string;
let replyFile: string;

const JOB_YAML = etlJobYaml();
/** What the fake openclaw's rewrite answers for a YAML file: the file with a comment line added. */
const REWRITTEN = `${JOB_YAML}# reviewed by fake openclaw\n`;
/** Long enough that the suggestion is certainly still applying when the approval has answered. */
const SLOW_REWRITE_MS = '6000';

beforeAll(async () => {
  // Activities run in this process, so the fake openclaw inherits this environment.
  openclawLog = path.join(os.tmpdir(), `fake-openclaw-async-${process.pid}-${Date.now()}.log`);
  process.env.FAKE_OPENCLAW_LOG = openclawLog;
  stack = await startStack({ analyzer: { mode: 'openclaw', timeoutSeconds: 20 } });
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  replyFile = path.join(stack.workDir, 'rewrite-reply.json');
});
beforeEach(async () => {
  await writeFile(yamlFile, JOB_YAML);
});
afterEach(() => {
  delete process.env.FAKE_OPENCLAW_MODE;
  delete process.env.FAKE_OPENCLAW_DELAY_MS;
  delete process.env.FAKE_OPENCLAW_REPLY;
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.FAKE_OPENCLAW_LOG;
  await rm(openclawLog, { force: true });
});

const suggestion = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
const command = (id: number, name: 'approve' | 'apply' | 'reject') =>
  http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/${name}`, name === 'reject' ? { reason: 'not now' } : {});
const actionsOf = (id: number) => stack.db('healing_actions').where({ suggestion_id: id }).orderBy('id');
/** A suggestion that says what to change but not the new file, as an analysis may store one. */
const describedOnly = () => createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: null, suggestedChange: 'Mark the file as reviewed.' });
/** Waits for the apply to end; answers the suggestion as it then is. */
const ended = (id: number) =>
  eventually(async () => {
    const s = await suggestion(id);
    return s.applying_step === null && ['applied', 'failed'].includes(s.status) ? s : undefined;
  }, 60_000, `the apply of suggestion ${id} to end`);

/** The suggestion's history replays on today's workflow code: the apply after the answer is deterministic. */
async function expectReplays(id: number): Promise<void> {
  const history = await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, suggestionWorkflowId(id))).resolves.toBeUndefined();
}

async function agentTurns(): Promise<number> {
  const text = await readFile(openclawLog, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).filter((line) => JSON.parse(line).command === 'agent').length;
}

describe('an apply that needs the AI to write the new file', () => {
  it('when the AI is slow, approve answers 202 while it works, the suggestion shows applying and refuses other commands, then ends applied', async () => {
    process.env.FAKE_OPENCLAW_DELAY_MS = SLOW_REWRITE_MS;
    const id = await describedOnly();

    const answer = await command(id, 'approve');
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ success: true, suggestion_id: id, status: 'approved', action_id: null, applying: 'rewrite' });
    expect(answer.body.note).toMatch(/asking the AI for the new file.*applying_step/);

    // Answered while the AI still works: nothing written yet, and every view says it is applying.
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const applying = await suggestion(id);
    expect(applying).toMatchObject({ status: 'approved', applying_step: 'rewrite', reviewed_by: 'human' });
    expect(Date.parse(applying.applying_since)).not.toBeNaN();
    const listed = (await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=etl&status=approved')).body.suggestions;
    expect(listed.find((s: { id: number }) => s.id === id)).toMatchObject({ applying_step: 'rewrite' });
    const state = await stack.env.client.workflow.getHandle(applying.workflow_id).query<SuggestionState>(QUERY_NAMES.state);
    expect(state).toMatchObject({ status: 'approved', applying: 'rewrite', busy: true });

    // One apply at a time: a command meanwhile is refused, saying why.
    for (const name of ['reject', 'apply', 'approve'] as const) {
      const meanwhile = await command(id, name);
      expect(meanwhile.status, name).toBe(409);
      expect(meanwhile.body.error, name).toBe(`suggestion ${id} is being applied (asking the AI for the new file); wait until it is applied or failed`);
    }

    const done = await ended(id);
    expect(done).toMatchObject({ status: 'applied', applying_step: null, applying_since: null, error_message: null });
    expect(await readFile(yamlFile, 'utf8')).toBe(REWRITTEN);
    const actions = await actionsOf(id);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ status: 'success', can_rollback: true, original_content: JOB_YAML, new_content: REWRITTEN });
    expect(done.action_id).toBe(actions[0].id);
    await expectReplays(id);
  });

  it('when the AI rewrite fails, the suggestion ends failed with the CLI\'s reason and the file as it was; a retry once the AI works answers 202, approved and applying, and applies', async () => {
    process.env.FAKE_OPENCLAW_MODE = 'failing';
    const id = await describedOnly();

    const answer = await command(id, 'approve');
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ success: true, status: 'approved', applying: 'rewrite' });
    const failed = await ended(id);
    expect(failed).toMatchObject({
      status: 'failed',
      applying_step: null,
      error_message: 'openclaw agent exited 1: HTTP 401: invalid api key (fake openclaw in failing mode)',
      proposed_content: null,
    });
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    expect(await actionsOf(id)).toEqual([]);

    process.env.FAKE_OPENCLAW_MODE = 'good';
    process.env.FAKE_OPENCLAW_DELAY_MS = SLOW_REWRITE_MS;
    const retry = await command(id, 'apply');
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body).toMatchObject({ success: true, status: 'approved', applying: 'rewrite' });
    expect(await suggestion(id)).toMatchObject({ status: 'approved', applying_step: 'rewrite' });
    expect(await ended(id)).toMatchObject({ status: 'applied', error_message: null });
    expect(await readFile(yamlFile, 'utf8')).toBe(REWRITTEN);
    await expectReplays(id);
  });

  it('when the AI\'s new file does not verify, the suggestion ends failed; applying it again answers 422 with the reason, with no second AI turn', async () => {
    process.env.FAKE_OPENCLAW_MODE = 'reply-file';
    process.env.FAKE_OPENCLAW_REPLY = replyFile;
    const broken = JOB_YAML.replace('mode: proactive', 'mode: sometimes');
    await writeFile(replyFile, JSON.stringify({ proposed_content: broken }));
    const id = await describedOnly();

    const answer = await command(id, 'approve');
    expect(answer.status).toBe(202);
    const failed = await ended(id);
    expect(failed.status).toBe('failed');
    expect(failed.error_message).toMatch(/self_healing.mode/);
    expect(failed.proposed_content).toBe(broken); // the AI's answer is kept: a retry needs no new turn
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);

    const turns = await agentTurns();
    const retry = await command(id, 'apply');
    expect(retry.status).toBe(422);
    expect(retry.body).toMatchObject({ success: false, error: expect.stringMatching(/self_healing.mode/), detail: { code: 'apply_failed', suggestion_id: id, status: 'failed' } });
    expect(await agentTurns()).toBe(turns);
    const actions = await actionsOf(id);
    expect(actions.map((a) => a.status)).toEqual(['failed', 'failed']);
    expect(retry.body.detail.action_id).toBe(actions[1].id);
    expect(await suggestion(id)).toMatchObject({ status: 'failed', applying_step: null });
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });
});

describe('an apply that needs no AI', () => {
  it('answers the outcome itself (200 applied), never marked applying', async () => {
    const proposed = `${JOB_YAML}# tuned\n`;
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed });
    const answer = await command(id, 'approve');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ success: true, status: 'applied', action_id: expect.any(Number) });
    expect(answer.body).not.toHaveProperty('applying');
    expect(await suggestion(id)).toMatchObject({ status: 'applied', applying_step: null });
    expect(await readFile(yamlFile, 'utf8')).toBe(proposed);
  });
});
