// What a decision does, said honestly through the API (issue 15): advice is acknowledged, not
// applied, and kept out of every apply figure; a suggestion whose file changed since the review
// says it is stale; the detail says how many approvers it needs, who approved, and who is asking.
// The real stack with named tokens (alice and bob approve, carol only reads).
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SuggestionDetailAnswer } from '../api/schemas.js';
import { suggestionWorkflowId } from '../core/temporal.js';
import { up as adviceMigration } from '../migrations/010_advice_acknowledged.js';
import { workflowBundle } from '../worker/workers.js';
import { startStackWithNamedTokens, TOKENS } from './helpers/named-tokens.js';
import { createSuggestion } from './helpers/suggestions.js';
import { http, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
let relaxedFile: string;

const JOB_YAML = 'name: ETL\ncmd: ./etl.sh\ntype: scheduled\nschedule: "0 * * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n';
const WITH_RETRY = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:');
const RELAXED_YAML = `${JOB_YAML}  suggestions:\n    two_person_rule: false\n`;

beforeAll(async () => {
  stack = await startStackWithNamedTokens('healing-decisions-');
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  relaxedFile = path.join(stack.jobsDir, 'relaxed.yaml');
  await writeFile(relaxedFile, RELAXED_YAML);
});
beforeEach(async () => {
  await writeFile(yamlFile, JOB_YAML);
});
afterAll(async () => stack?.stop());

const get = async (id: number, token = TOKENS.carol) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`, undefined, token)).body;
const approve = (id: number, body: object = {}, token = TOKENS.alice) => http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, body, token);
const actionsOf = (id: number) => stack.db('healing_actions').where({ suggestion_id: id });
const globalStats = async () => (await http(stack.api, 'GET', '/api/v1/healing/stats', undefined, TOKENS.carol)).body;
const summary = async (jobId: string) => (await http(stack.api, 'GET', `/api/v1/jobs/${jobId}/healing/summary`, undefined, TOKENS.carol)).body;

/** A suggestion whose file edit the job's policy does not allow, as a review stores it (core/write-policy.ts). */
async function advisoryEdit(): Promise<number> {
  const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });
  await stack.db('healing_suggestions').where({ id }).update({ advisory_reason: "the job's self_healing.remediation.allowed_actions is [restart_job]" });
  return id;
}

describe('advice is acknowledged, not applied', () => {
  it('approving a suggestion with no file edit answers acknowledged: no action, no applied_at, and a second approve is refused with the state', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: null, proposed: null });
    expect((await get(id)).advice).toBe(true);
    const answer = await approve(id);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ success: true, suggestion_id: id, status: 'acknowledged', action_id: null });
    expect(await get(id)).toMatchObject({ status: 'acknowledged', reviewed_by: 'alice', applied_at: null, action_id: null, error_message: null });
    expect(await actionsOf(id)).toHaveLength(0);

    const again = await approve(id, {}, TOKENS.bob);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/acknowledged/);
  });

  it('approving an edit the job may not make (advisory_reason) acknowledges it instead of a 409: the file keeps its content, no action', async () => {
    const id = await advisoryEdit();
    expect(await get(id)).toMatchObject({ advice: true, stale: false });
    const answer = await approve(id);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'acknowledged', action_id: null });
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    expect(await actionsOf(id)).toHaveLength(0);
    expect((await get(id)).status).toBe('acknowledged');
  });

  it('advice approved with apply false waits approved; the later apply acknowledges it', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: null, proposed: null });
    const approved = await approve(id, { apply: false });
    expect(approved.body).toMatchObject({ status: 'approved', action_id: null });
    const applied = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {}, TOKENS.bob);
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ status: 'acknowledged', action_id: null });
    expect(await get(id)).toMatchObject({ status: 'acknowledged', applied_at: null });
  });

  it("acknowledged advice counts as accepted, and in none of the apply figures: applied, apply success, time to resolution, rollback rate, the job's before/after", async () => {
    await writeFile(path.join(stack.jobsDir, 'figures.yaml'), JOB_YAML);
    const figuresFile = path.join(stack.jobsDir, 'figures.yaml');
    // One real change first, so every apply figure has a value acknowledging must leave alone.
    const real = await createSuggestion(stack, { jobId: 'figures', targetFile: figuresFile, proposed: WITH_RETRY });
    expect((await approve(real)).body.status).toBe('applied');
    const before = { global: await globalStats(), job: await summary('figures') };
    expect(before.job.improvement.last_applied_at).not.toBeNull();

    const advice = await createSuggestion(stack, { jobId: 'figures', targetFile: null, proposed: null });
    expect((await approve(advice)).body.status).toBe('acknowledged');
    const after = { global: await globalStats(), job: await summary('figures') };

    expect(after.global.suggestions.by_status.acknowledged).toBe(before.global.suggestions.by_status.acknowledged + 1);
    expect(after.global.suggestions.by_status.applied).toBe(before.global.suggestions.by_status.applied);
    expect(after.global.actions).toEqual(before.global.actions);
    expect(after.global.apply_success_rate).toBe(before.global.apply_success_rate);
    expect(after.global.time_to_resolution.applied).toBe(before.global.time_to_resolution.applied);
    expect(after.global.rollback_rate).toBe(before.global.rollback_rate);
    expect(after.global.definitions.acceptance_rate).toContain('acknowledged');

    expect(after.job.suggestions).toMatchObject({ total: 2, applied: 1, by_status: { applied: 1, acknowledged: 1 } });
    expect(after.job.acceptance_rate).toBe(1);
    expect(after.job.time_to_resolution.applied).toBe(1);
    expect(after.job.improvement.last_applied_at).toBe(before.job.improvement.last_applied_at);
  });

  it("an acknowledged advice's workflow history replays on today's code", async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: null, proposed: null });
    expect((await approve(id)).body.status).toBe('acknowledged');
    const handle = stack.env.client.workflow.getHandle(suggestionWorkflowId(id));
    expect(await handle.result()).toBe('acknowledged'); // no rollback window to wait through
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, await handle.fetchHistory(), suggestionWorkflowId(id))).resolves.toBeUndefined();
  });

  it('migration 010 turns advice marked applied before it into acknowledged without applied_at; real changes stay applied', async () => {
    const oldAdvice = await createSuggestion(stack, { jobId: 'etl', targetFile: null, proposed: null });
    const realChange = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });
    expect((await approve(realChange)).body.status).toBe('applied');
    // As the code before it recorded advice: applied, no action, an applied_at.
    await stack.db('healing_suggestions').where({ id: oldAdvice }).update({ status: 'applied', applied_at: new Date(), reviewed_by: 'human' });

    await adviceMigration(stack.db);
    expect(await stack.db('healing_suggestions').where({ id: oldAdvice }).first()).toMatchObject({ status: 'acknowledged', applied_at: null, reviewed_by: 'human' });
    expect(await stack.db('healing_suggestions').where({ id: realChange }).first()).toMatchObject({ status: 'applied', applied_at: expect.any(Date) });
  });
});

describe('a suggestion made against a file that changed since', () => {
  it('is stale once its file changed (a size change, or the same size with other bytes) or is gone, and current again once restored', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });
    expect(await get(id)).toMatchObject({ stale: false, stale_reason: null, advice: false });

    await writeFile(yamlFile, `${JOB_YAML}# edited by hand\n`);
    const grown = await get(id);
    expect(grown.stale).toBe(true);
    expect(grown.stale_reason).toBe(`${yamlFile} changed since the review read it: the content shown as current is the file as it was then. Re-review the job for a suggestion made against the file as it is now.`);
    expect(grown.current_content).toBe(JOB_YAML); // still what the review read

    await writeFile(yamlFile, JOB_YAML.replace('ETL', 'LTE')); // same size, other content
    expect((await get(id)).stale).toBe(true);

    await unlink(yamlFile);
    expect((await get(id)).stale_reason).toBe(`${yamlFile} is gone since the review read it: the content shown as current is the file as it was then. Re-review the job for a suggestion made against the file as it is now.`);

    await writeFile(yamlFile, JOB_YAML);
    expect(await get(id)).toMatchObject({ stale: false, stale_reason: null });
  });

  it('a stale suggestion is refused at apply (409) as the detail said; once decided for good it is never stale', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });
    await writeFile(yamlFile, `${JOB_YAML}# edited by hand\n`);
    expect((await get(id)).stale).toBe(true);
    const refused = await approve(id);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/changed since the review read it/);

    await writeFile(yamlFile, JOB_YAML);
    const applied = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY });
    expect((await approve(applied)).body.status).toBe('applied');
    expect(await readFile(yamlFile, 'utf8')).toBe(WITH_RETRY); // the file differs from what the review read...
    expect(await get(applied)).toMatchObject({ status: 'applied', stale: false, stale_reason: null }); // ...because of its own apply
  });
});

describe('who must approve, said up front', () => {
  it('a critical suggestion under the two-person rule needs 2; alice sees her approval, bob sees he would be second, carol reads as a viewer', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY, severity: 'critical', input: { requiredApprovals: 2 } });
    expect(await get(id)).toMatchObject({ approvals_required: 2, approvals: [], api_open: false, viewer: { name: 'carol', role: 'viewer' } });

    expect((await approve(id, {}, TOKENS.alice)).body).toMatchObject({ status: 'pending', approvals_needed: 1 });
    const forAlice = await get(id, TOKENS.alice);
    expect(forAlice).toMatchObject({ status: 'pending', approvals_required: 2, viewer: { name: 'alice', role: 'approver' } });
    expect(forAlice.approvals.map((a: { by: string }) => a.by)).toEqual(['alice']);
    expect((await get(id, TOKENS.bob)).viewer).toEqual({ name: 'bob', role: 'approver' });
    // the answer is the one the OpenAPI document describes
    expect(SuggestionDetailAnswer.safeParse(forAlice).error).toBeUndefined();
    const doc = await http(stack.api, 'GET', '/api/v1/openapi.json', undefined, TOKENS.carol);
    const documented = doc.body.paths['/healing/suggestions/{id}'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(documented.properties)).toEqual(expect.arrayContaining(['stale', 'stale_reason', 'approvals_required', 'api_open', 'viewer', 'advice']));
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);

    expect((await approve(id, {}, TOKENS.bob)).body.status).toBe('applied');
  });

  it('one approver does for a low suggestion, and for a critical one of a job with two_person_rule: false', async () => {
    const low = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY, severity: 'low' });
    expect((await get(low)).approvals_required).toBe(1);
    const security = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: WITH_RETRY, severity: 'low', category: 'security' });
    expect((await get(security)).approvals_required).toBe(2);
    const relaxed = await createSuggestion(stack, { jobId: 'relaxed', targetFile: relaxedFile, proposed: `${RELAXED_YAML}# x\n`, severity: 'critical' });
    expect((await get(relaxed)).approvals_required).toBe(1);
  });
});
