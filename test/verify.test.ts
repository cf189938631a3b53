// After an apply, the action says how its file was checked: by which check, or why none ran.
// A file nothing could check is applied but never reported as verified.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ActionDetailAnswer, ActionListAnswer } from '../api/schemas.js';
import { createSuggestion } from './helpers/suggestions.js';
import { http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let emptyDir: string;

const job = (name: string, cmd: string, extra = '') => `name: ${name}\ncmd: ${cmd}\ntype: manual\n${extra}self_healing:\n  enabled: true\n`;
const body = (comment: string, line: string) => `${comment} Syncs the reports.\n${`${line}\n`.repeat(10)}`;

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  emptyDir = await mkdtemp(path.join(os.tmpdir(), 'healing-no-checkers-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(async () => {
  await stack?.stop();
  await rm(emptyDir, { recursive: true, force: true });
});

/** Writes a job and its script or prompt, and a suggestion that appends a line to that file. */
async function suggestEdit(jobId: string, yaml: string, file: string, content: string, added: string): Promise<{ id: number; target: string; proposed: string }> {
  await writeFile(path.join(stack.jobsDir, `${jobId}.yaml`), yaml);
  const target = path.join(stack.jobsDir, file);
  await writeFile(target, content, { mode: 0o755 });
  const proposed = `${content}${added}\n`;
  const id = await createSuggestion(stack, { jobId, targetFile: target, proposed, category: 'script' });
  return { id, target, proposed };
}

async function approve(id: number): Promise<{ status: string; action_id: number }> {
  const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
  expect(answer.status).toBe(200);
  return answer.body;
}

const actionAnswer = async (actionId: number) => (await http(stack.api, 'GET', `/api/v1/healing/actions/${actionId}`)).body;

describe('verification recorded on the action', () => {
  it('when a .sh script is applied, the action is verified by bash -n, in the database, the action and the list', async () => {
    const { id, target, proposed } = await suggestEdit('report-sh', job('Report', './report.sh'), 'report.sh', body('#!/bin/bash\n#', 'echo "sync"'), 'echo "done"');
    const applied = await approve(id);
    expect(applied.status).toBe('applied');
    expect(await readFile(target, 'utf8')).toBe(proposed);

    const row = await stack.db('healing_actions').where({ id: applied.action_id }).first();
    expect(row.verification).toEqual({ status: 'verified', check: 'bash -n' });
    const detail = await actionAnswer(applied.action_id);
    expect(detail).toMatchObject({ status: 'success', verification: { status: 'verified', check: 'bash -n' } });
    const list = await http(stack.api, 'GET', `/api/v1/healing/actions?suggestion_id=${id}`);
    expect(list.body.actions).toEqual([expect.objectContaining({ id: applied.action_id, verification: { status: 'verified', check: 'bash -n' } })]);
    // the answers are the ones the OpenAPI document describes
    expect(ActionDetailAnswer.safeParse(detail).error).toBeUndefined();
    expect(ActionListAnswer.safeParse(list.body).error).toBeUndefined();
    const doc = await http(stack.api, 'GET', '/api/v1/openapi.json');
    const documented = doc.body.paths['/healing/actions/{id}'].get.responses['200'].content['application/json'].schema;
    expect(documented.properties).toHaveProperty('verification');
  });

  it('when python3 is not on the worker\'s PATH, a .py edit is applied but recorded as not verified, saying python3 is not installed', async () => {
    const { id, target, proposed } = await suggestEdit('report-py', job('Report', 'python3 ./report.py'), 'report.py', body('#', 'print("sync")'), 'print("done")');
    vi.stubEnv('PATH', emptyDir); // the worker runs in this process: its checkers are looked up on this PATH
    const applied = await approve(id);
    expect(applied.status).toBe('applied');
    expect(await readFile(target, 'utf8')).toBe(proposed);

    const skipped = { status: 'skipped', check: 'python3 ast.parse', reason: 'python3 is not installed on the worker' };
    expect((await stack.db('healing_actions').where({ id: applied.action_id }).first()).verification).toEqual(skipped);
    expect(await actionAnswer(applied.action_id)).toMatchObject({ status: 'success', verification: skipped });
  });

  it.each([
    { what: 'a .rb script', jobId: 'report-rb', yaml: job('Report', 'ruby ./report.rb'), file: 'report.rb', content: body('#', 'puts "sync"'),
      expected: { check: null, reason: 'no syntax check for .rb files' } },
    { what: 'a prompt', jobId: 'digest', yaml: job('Digest', 'openclaw run', 'prompt_file: ./digest.md\n').replace('type: manual', 'type: openclaw'), file: 'digest.md',
      content: body('#', 'Summarise the feed.'), expected: { check: null, reason: 'a prompt is free text: there is no syntax to check' } },
  ])('when $what is applied, nothing can check it: the action says so instead of verified', async ({ jobId, yaml, file, content, expected }) => {
    const { id } = await suggestEdit(jobId, yaml, file, content, 'one more line');
    const applied = await approve(id);
    expect(applied.status).toBe('applied');
    expect((await actionAnswer(applied.action_id)).verification).toEqual({ status: 'skipped', ...expected });
  });

  it('when bash -n rejects the edit, the script is restored and the action records the failed check', async () => {
    const script = body('#!/bin/bash\n#', 'echo "sync"');
    const { id, target } = await suggestEdit('broken', job('Broken', './broken.sh'), 'broken.sh', script, 'if [ then');
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(422); // a failed apply answers as a failure (api/temporal.ts, failedApply)
    expect(answer.body.detail.status).toBe('failed');
    expect(await readFile(target, 'utf8')).toBe(script);
    const action = await actionAnswer(answer.body.detail.action_id);
    expect(action).toMatchObject({ status: 'failed', verification: { status: 'failed', check: 'bash -n', reason: expect.stringMatching(/^bash rejects the new content/) } });
  });
});
