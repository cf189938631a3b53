// Approve, reject, apply, expire and roll back, each through the suggestion's own workflow.
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSuggestion } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
let scriptFile: string;

const JOB_YAML = `# ETL job: loads the warehouse.
name: ETL
cmd: ./etl.sh
type: scheduled
schedule: "0 * * * *"
team: data   # unknown to the service, kept
self_healing:
  enabled: true
  mode: proactive
`;
const SCRIPT = `#!/bin/bash\n# Loads the warehouse.\n${'echo "loading table"\n'.repeat(20)}`;

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  scriptFile = path.join(stack.jobsDir, 'etl.sh');
});
beforeEach(async () => {
  await writeFile(yamlFile, JOB_YAML);
  await writeFile(scriptFile, SCRIPT, { mode: 0o755 });
});
afterAll(async () => stack?.stop());

const withRetry = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');
const suggestion = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
const actionsOf = async (id: number) => stack.db('healing_actions').where({ suggestion_id: id });

describe('deciding on a suggestion', () => {
  it('when a person approves, the change is applied once: file written, action success, suggestion applied', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const started = Date.now();
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, { comment: 'looks right' });
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ success: true, status: 'applied', action_id: expect.any(Number) });
    expect(await readFile(yamlFile, 'utf8')).toBe(withRetry);
    const row = await suggestion(id);
    expect(row).toMatchObject({ status: 'applied', reviewed_by: 'human', review_comment: 'looks right', action_id: answer.body.action_id });
    expect(row.applied_at).toBeTruthy();
    const actions = await actionsOf(id);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ status: 'success', can_rollback: true, action_type: 'edit_config', original_content: JOB_YAML, new_content: withRetry });
    expect(await readFile(actions[0].backup_path, 'utf8')).toBe(JOB_YAML);
    console.log(`approve -> applied: ${elapsed} ms`);
  });

  it('when approved with apply false, it waits approved; a later apply applies it', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const approved = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, { apply: false });
    expect(approved.body).toMatchObject({ status: 'approved', action_id: null });
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const applied = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(applied.status).toBe(200);
    expect(applied.body.status).toBe('applied');
    expect(await readFile(yamlFile, 'utf8')).toBe(withRetry);
  });

  it('when rejected, the reason is stored; approve after reject is a 409 naming the state', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const rejected = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'we retry in the wrapper' });
    expect(rejected.body.status).toBe('rejected');
    expect(await suggestion(id)).toMatchObject({ status: 'rejected', rejection_reason: 'we retry in the wrapper', reviewed_by: 'human' });
    const late = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body.error).toMatch(/rejected/);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });

  it('when a pending suggestion is applied without approval, or an applied one rejected, the answer is 409', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const early = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/pending.*Approve it first/);
    await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    const reject = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'too late' });
    expect(reject.status).toBe(409);
    expect(reject.body.error).toMatch(/applied/);
    const again = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(again.status).toBe(409);
  });

  it('when two people approve at the same moment, it is applied once with one action', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const answers = await Promise.all([1, 2, 3].map(() => http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {})));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    expect(await actionsOf(id)).toHaveLength(1);
    expect(await readFile(yamlFile, 'utf8')).toBe(withRetry);
  });

  it('when nobody decides before the TTL, it expires; a later approve is a 409', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry, input: { ttlMs: 1_000 } });
    await eventually(async () => (await suggestion(id)).status === 'expired', 20_000, 'expiry');
    const late = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body.error).toMatch(/expired/);
  });

  it('when an approved suggestion is never applied, it expires after another TTL; a later apply is a 409', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry, input: { ttlMs: 1_500 } });
    const approved = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, { apply: false });
    expect(approved.body.status).toBe('approved');
    await eventually(async () => (await suggestion(id)).status === 'expired', 20_000, 'expiry of the approved suggestion');
    const late = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(late.status).toBe(409);
    expect(late.body.error).toMatch(/expired/);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });

  it('when the disk refuses the target (a folder where the script was), approve answers 422 with the reason at once; fixed, it applies', async () => {
    const proposed = `${SCRIPT}echo done\n`;
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: scriptFile, proposed });
    await rm(scriptFile);
    await mkdir(scriptFile);
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ success: false, error: expect.stringMatching(/EISDIR/), detail: { code: 'apply_failed', suggestion_id: id, status: 'failed' } });
    expect((await suggestion(id)).status).toBe('failed');
    await rm(scriptFile, { recursive: true });
    await writeFile(scriptFile, SCRIPT, { mode: 0o755 });
    const retry = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(retry.body.status).toBe('applied');
    expect(await readFile(scriptFile, 'utf8')).toBe(proposed);
  });

  it('when the policy allows it, the suggestion applies by itself, recorded as auto', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry, input: { autoApply: true } });
    const row = await eventually(async () => {
      const s = await suggestion(id);
      return s.status === 'applied' ? s : undefined;
    }, 20_000, 'auto-apply');
    expect(row.reviewed_by).toBe('auto');
    expect(await readFile(yamlFile, 'utf8')).toBe(withRetry);
  });

  it('when a suggestion edits no file, approving acknowledges it (advice) with no action', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: null, proposed: null });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.body).toMatchObject({ status: 'acknowledged', action_id: null });
    expect(await actionsOf(id)).toHaveLength(0);
  });

  it('when a critical suggestion needs two approvers and the API has no tokens, approving is refused with what to configure', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry, severity: 'critical', input: { requiredApprovals: 2 } });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/2 different approvers.*HEALING_TOKENS_FILE/);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    expect((await suggestion(id)).status).toBe('pending');
  });
});

describe('the apply guard and saga', () => {
  it('when the proposal is what the file already holds, approve answers 409 "no change", nothing is recorded as applied, and it can still be rejected', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: JOB_YAML });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(409);
    expect(answer.body.error).toBe(`no change: ${yamlFile} already holds the proposed content, so there is nothing to apply; reject the suggestion or let it expire`);
    expect(await actionsOf(id)).toHaveLength(0);
    const row = await suggestion(id);
    expect(row).toMatchObject({ status: 'approved', applied_at: null, action_id: null, error_message: answer.body.error });
    const again = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/^no change: /);
    const rejected = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'nothing to do' });
    expect(rejected.status).toBe(200);
    expect((await suggestion(id)).status).toBe('rejected');
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });

  it('when the file changed since the review, apply is refused with 409 saying to re-run the review, and the edit is kept', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const edited = `${JOB_YAML}# someone's edit\n`;
    await writeFile(yamlFile, edited);
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/re-run the review/);
    expect(await readFile(yamlFile, 'utf8')).toBe(edited);
    expect((await suggestion(id)).status).toBe('failed');
  });

  it('when the new YAML no longer validates as a job, approve (and a retry) answers 422 with the reason, the original is restored and the action is failed', async () => {
    const broken = JOB_YAML.replace('mode: proactive', 'mode: sometimes');
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: broken });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(422);
    expect(answer.body.success).toBe(false);
    expect(answer.body.error).toMatch(/self_healing.mode/);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const [action] = await actionsOf(id);
    expect(answer.body.detail).toEqual({ code: 'apply_failed', suggestion_id: id, status: 'failed', action_id: action.id });
    expect(action).toMatchObject({ status: 'failed', can_rollback: false });
    expect(action.error_message).toMatch(/no longer validates/);
    expect((await suggestion(id)).status).toBe('failed');
    const undo = await http(stack.api, 'POST', `/api/v1/healing/actions/${action.id}/rollback`, {});
    expect(undo.status).toBe(409);
    expect(undo.body.error).toMatch(/it is failed/);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    // retried unchanged, it fails the same way: a failure again, never a success
    const retry = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(retry.status).toBe(422);
    expect(retry.body).toMatchObject({ success: false, error: expect.stringMatching(/self_healing.mode/), detail: { status: 'failed' } });
    expect((await actionsOf(id)).map((a) => a.status)).toEqual(['failed', 'failed']);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });

  it('when a script edit breaks bash syntax, approve answers 422 and the script is restored', async () => {
    const broken = `${SCRIPT}if [ then\n`;
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: scriptFile, proposed: broken });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatch(/bash rejects/);
    expect(await readFile(scriptFile, 'utf8')).toBe(SCRIPT);
  });

  it('when a failed apply is retried after the file is fixed, it applies', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    await writeFile(yamlFile, `${JOB_YAML}# drift\n`);
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {})).status).toBe(409);
    await writeFile(yamlFile, JOB_YAML);
    const retry = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
    expect(retry.body.status).toBe('applied');
    expect(await actionsOf(id)).toHaveLength(1);
  });

  const refused: [string, () => Promise<{ target: string; proposed: string; current?: string }>, RegExp][] = [
    ['a file outside the job', async () => ({ target: path.join(stack.workDir, 'elsewhere.txt'), proposed: 'x' }), /not one of the job's own files/],
    ['a ../ traversal', async () => ({ target: `${stack.jobsDir}/../elsewhere.txt`, proposed: 'x' }), /not one of the job's own files/],
    ['a forbidden path', async () => ({ target: '/etc/hosts', proposed: '127.0.0.1 evil\n', current: await readFile('/etc/hosts', 'utf8') }), /\/etc is a system folder/],
    ['a shrink by more than half', async () => ({ target: scriptFile, proposed: '#!/bin/bash\necho hi\n' }), /shrink|half/],
  ];
  for (const [what, build, reason] of refused) {
    it(`when the target is ${what}, apply is refused and nothing is written`, async () => {
      const { target, proposed, current } = await build();
      await writeFile(path.join(stack.workDir, 'elsewhere.txt'), 'precious\n');
      const before = await readFile(target, 'utf8').catch(() => null);
      const id = await createSuggestion(stack, { jobId: 'etl', targetFile: target, proposed, current: current ?? before });
      const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
      expect(answer.status).toBe(409);
      expect(answer.body.error).toMatch(reason);
      expect(await readFile(target, 'utf8').catch(() => null)).toBe(before);
      expect(await actionsOf(id)).toHaveLength(0);
    });
  }

  it('when the target is a symlink out of the job folder, apply is refused', async () => {
    const outside = path.join(stack.workDir, 'outside.sh');
    await writeFile(outside, SCRIPT);
    const link = path.join(stack.jobsDir, 'link.sh');
    await symlink(outside, link);
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: link, proposed: `${SCRIPT}echo more\n` });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/not one of the job's own files/);
    expect(await readFile(outside, 'utf8')).toBe(SCRIPT);
  });

  it('when the job\'s own script is swapped for a symlink to a system file, apply resolves it and refuses', async () => {
    const hosts = await readFile('/etc/hosts', 'utf8');
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: scriptFile, proposed: `${hosts}10.0.0.1 evil\n`, current: hosts });
    await rm(scriptFile);
    await symlink('/etc/hosts', scriptFile);
    try {
      const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
      expect(answer.status).toBe(409);
      expect(answer.body.error).toMatch(/\/etc is a system folder/);
      expect(await readFile('/etc/hosts', 'utf8')).toBe(hosts);
    } finally {
      await rm(scriptFile); // the link, never through it: beforeEach writes this path
    }
  });
});

describe('rolling back', () => {
  async function applied(): Promise<{ id: number; actionId: number }> {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: withRetry });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.body.status).toBe('applied');
    return { id, actionId: answer.body.action_id };
  }

  it('when rolled back, the original content is restored and a second rollback is a 409', async () => {
    const { id, actionId } = await applied();
    const answer = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, {});
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('rolled_back');
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const action = (await http(stack.api, 'GET', `/api/v1/healing/actions/${actionId}`)).body;
    expect(action).toMatchObject({ status: 'rolled_back', can_rollback: false, rolled_back_by: 'human' });
    expect(action.diff).toContain('+  max_attempts: 3');
    expect((await suggestion(id)).status).toBe('rolled_back');
    const again = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, {});
    expect(again.status).toBe(409);
  });

  it('when the file was edited after the apply, rollback answers 409 with the diff; with force it restores', async () => {
    const { actionId } = await applied();
    const edited = `${withRetry}# tuned by hand\n`;
    await writeFile(yamlFile, edited);
    const conflict = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, {});
    expect(conflict.status).toBe(409);
    expect(conflict.body.detail.diff).toContain('+# tuned by hand');
    expect(await readFile(yamlFile, 'utf8')).toBe(edited);
    const forced = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, { force: true });
    expect(forced.body.status).toBe('rolled_back');
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });

  it('when the script was deleted after the apply, rollback answers 409 saying it is gone; with force it is recreated with its content and mode', async () => {
    await chmod(scriptFile, 0o750);
    const proposed = `${SCRIPT}echo "done"\n`;
    const id = await createSuggestion(stack, { jobId: 'etl', category: 'script', targetFile: scriptFile, proposed });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(answer.body.status).toBe('applied');
    await rm(scriptFile);

    const refused = await http(stack.api, 'POST', `/api/v1/healing/actions/${answer.body.action_id}/rollback`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe(`${scriptFile} is gone: it was deleted after the apply; roll back with force to recreate it with its original content and mode`);
    await expect(stat(scriptFile)).rejects.toThrow(/ENOENT/);
    expect((await suggestion(id)).status).toBe('applied');

    const forced = await http(stack.api, 'POST', `/api/v1/healing/actions/${answer.body.action_id}/rollback`, { force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.status).toBe('rolled_back');
    expect(await readFile(scriptFile, 'utf8')).toBe(SCRIPT);
    expect((await stat(scriptFile)).mode & 0o7777).toBe(0o750);
    expect((await suggestion(id)).status).toBe('rolled_back');
  });

  it('lists actions with filters and totals', async () => {
    const list = await http(stack.api, 'GET', '/api/v1/healing/actions?job_id=etl&status=rolled_back');
    expect(list.status).toBe(200);
    expect(list.body.total).toBeGreaterThanOrEqual(2);
    expect(list.body.actions.every((a: any) => a.status === 'rolled_back' && a.job_id === 'etl')).toBe(true);
  });
});
