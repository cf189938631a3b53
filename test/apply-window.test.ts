// Apply windows (issue 19): an approval outside the job's apply window is recorded at once and
// applies when the window opens, the file untouched until then; auto-apply waits the same way and
// then for a run still open; an admin's "apply now" ends the wait (an approver is refused 403); an
// approval inside the window applies at once; a rejection ends the wait. Windows are computed from now so a test waits less
// than a minute and a half, and the tests run at once (each on its own job), so the waits for the next minute overlap
// instead of adding up. Real Postgres, the Temporal dev server, a worker and the API.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import type { ApiToken } from '../api/auth.js';
import type { WaitSettings } from '../core/running.js';
import { suggestionWorkflowId } from '../core/temporal.js';
import { workflowBundle } from '../worker/workers.js';
import { createSuggestion, etlJobYaml } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

const TOKENS = { root: 'root-token-apply-window-0001', alice: 'alice-token-apply-window-01' };
const token = (name: string, role: ApiToken['role'], value: string): ApiToken => ({ name, role, digest: createHash('sha256').update(value, 'utf8').digest() });
const waits: WaitSettings = { applyWaitS: 300, openclawWaitS: 0, openclawWaitTimeout: 'run', checkIntervalS: 1 };

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ waits, tokens: [token('admin', 'admin', TOKENS.root), token('alice', 'approver', TOKENS.alice)] });
  await mkdir(stack.jobsDir, { recursive: true });
  await writeFile(path.join(stack.jobsDir, 'etl.sh'), '#!/bin/bash\necho loading\n', { mode: 0o755 });
});
afterAll(async () => {
  await stack?.stop();
});

const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
/** The next whole UTC minute at least 20 s away: a window that opens there. */
function nextMinute(): number {
  return Math.ceil((Date.now() + 20_000) / 60_000) * 60_000;
}
/** A job file (UTC) whose self_healing.apply_window has one range of hours. */
async function jobWithWindow(jobId: string, hours: string): Promise<{ file: string; yaml: string; proposed: string }> {
  const yaml = etlJobYaml(`  suggestions:\n    two_person_rule: false\n  apply_window:\n    hours: ["${hours}"]\n`).replace('type: scheduled\n', 'type: scheduled\ntimezone: UTC\n');
  const file = path.join(stack.jobsDir, `${jobId}.yaml`);
  await writeFile(file, yaml);
  return { file, yaml, proposed: yaml.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:') };
}
const get = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`, undefined, TOKENS.alice)).body;
const applied = (id: number, what: string) =>
  eventually(async () => {
    const s = await get(id);
    return s.status === 'applied' ? s : undefined;
  }, 100_000, what, 500);
/** The workflow's history so far replays on today's code (the window's timer and apply-now included). */
async function expectReplays(expect: ExpectStatic, id: number): Promise<void> {
  const history = await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, suggestionWorkflowId(id))).resolves.toBeUndefined();
}
const currentDetails = async (id: number) =>
  ((await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails ?? '';

describe.concurrent('an apply window', () => {
  it('when approved outside the window, the approval is recorded at once, the file is unchanged, and it applies when the window opens', async ({ expect }) => {
    const opens = nextMinute();
    const job = await jobWithWindow('etl-later', `${hhmm(opens)}-${hhmm(opens + 3_600_000)}`);
    const id = await createSuggestion(stack, { jobId: 'etl-later', targetFile: job.file, proposed: job.proposed });

    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'approved', action_id: null, applying: 'window', apply_at: new Date(opens).toISOString() });
    expect(answer.body.note).toContain("outside the job's apply window");
    const waiting = await get(id);
    expect(waiting).toMatchObject({ status: 'approved', reviewed_by: 'alice', applying_step: 'window', apply_at: new Date(opens).toISOString() });
    expect(waiting.apply_wait_reason).toContain(`${hhmm(opens)}-${hhmm(opens + 3_600_000)} (UTC), self_healing.apply_window`);
    expect(await currentDetails(id)).toContain(`apply when the window opens at`);
    // Refused while it waits: apply-now is for a window wait by an admin only; a second approve is refused by state.
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice)).status).toBe(409);
    expect(await readFile(job.file, 'utf8')).toBe(job.yaml);

    const done = await applied(id, 'the apply when the window opens');
    expect(Date.now()).toBeGreaterThanOrEqual(opens);
    expect(Date.parse(done.applied_at)).toBeGreaterThanOrEqual(opens);
    expect(done).toMatchObject({ applying_step: null, apply_at: null, applied_now_by: null });
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
    await expectReplays(expect, id);
  }, 150_000);

  it('when the job\'s window changes while it waits, the window is read again when the wait ends and the new opening is waited for', async ({ expect }) => {
    const opens = nextMinute();
    const job = await jobWithWindow('etl-moved', `${hhmm(opens)}-${hhmm(opens + 3_600_000)}`);
    // The change is to the job's own script, so the job file can change meanwhile.
    const script = path.join(stack.jobsDir, 'etl-moved.sh');
    await writeFile(script, '#!/bin/bash\necho loading\n', { mode: 0o755 });
    await writeFile(job.file, job.yaml.replace('cmd: ./etl.sh', 'cmd: ./etl-moved.sh'));
    const fixed = '#!/bin/bash\nset -euo pipefail\necho loading\n';
    const id = await createSuggestion(stack, { jobId: 'etl-moved', targetFile: script, proposed: fixed, category: 'script' });
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice)).body).toMatchObject({ apply_at: new Date(opens).toISOString() });

    const moved = opens + 60_000;
    await writeFile(job.file, job.yaml.replace('cmd: ./etl.sh', 'cmd: ./etl-moved.sh').replace(`"${hhmm(opens)}-`, `"${hhmm(moved)}-`));
    const remarked = await eventually(async () => {
      const s = await get(id);
      return s.apply_at === new Date(moved).toISOString() ? s : undefined;
    }, 100_000, 'the new opening on the row once the first wait ended', 500);
    expect(remarked).toMatchObject({ status: 'approved', applying_step: 'window' });
    expect(Date.now()).toBeGreaterThanOrEqual(opens);
    expect(await readFile(script, 'utf8')).not.toBe(fixed);
    const done = await applied(id, 'the apply at the new opening');
    expect(Date.parse(done.applied_at)).toBeGreaterThanOrEqual(moved);
    expect(await readFile(script, 'utf8')).toBe(fixed);
  }, 200_000);

  it('when an admin says "apply now", it applies at once and is recorded; an approver is refused 403', async ({ expect }) => {
    const later = Date.now() + 3 * 3_600_000;
    const job = await jobWithWindow('etl-night', `${hhmm(later)}-${hhmm(later + 3_600_000)}`);
    const id = await createSuggestion(stack, { jobId: 'etl-night', targetFile: job.file, proposed: job.proposed });
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice)).body).toMatchObject({ applying: 'window' });

    const refused = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply-now`, {}, TOKENS.alice);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain('needs admin');
    expect(await readFile(job.file, 'utf8')).toBe(job.yaml);

    const now = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply-now`, {}, TOKENS.root);
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({ status: 'applied', action_id: expect.any(Number) });
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
    const row = await get(id);
    expect(row).toMatchObject({ status: 'applied', applied_now_by: 'admin', applying_step: null });
    expect(Date.parse(row.applied_now_at)).not.toBeNaN();
    expect(await currentDetails(id)).toContain('apply now by admin');
    await expectReplays(expect, id);
    // Nothing waits any more: a second one is refused with the reason.
    const again = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply-now`, {}, TOKENS.root);
    expect(again.status).toBe(409);
    expect(again.body.error).toContain('is not waiting for its job\'s apply window');
    const doc = await http(stack.api, 'GET', '/api/v1/openapi.json', undefined, TOKENS.alice);
    expect(doc.body.paths['/healing/suggestions/{id}/apply-now'].post.responses['403'].description).toContain('needs admin');
  });

  it('when rejected while it waits for the window, the wait ends and nothing is written', async ({ expect }) => {
    const later = Date.now() + 3 * 3_600_000;
    const job = await jobWithWindow('etl-reject', `${hhmm(later)}-${hhmm(later + 3_600_000)}`);
    const id = await createSuggestion(stack, { jobId: 'etl-reject', targetFile: job.file, proposed: job.proposed });
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice)).body).toMatchObject({ applying: 'window' });
    const rejected = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'not this week' }, TOKENS.alice);
    expect(rejected.status).toBe(200);
    expect(await get(id)).toMatchObject({ status: 'rejected', applying_step: null, apply_at: null, apply_wait_reason: null });
    await expect(stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).result()).resolves.toBe('rejected');
    expect(await readFile(job.file, 'utf8')).toBe(job.yaml);
    expect(await stack.db('healing_actions').where({ suggestion_id: id })).toHaveLength(0);
  });

  it('advice (no file, or an edit the policy does not allow) writes nothing, so approving it outside the window acknowledges it at once', async ({ expect }) => {
    const later = Date.now() + 3 * 3_600_000;
    const job = await jobWithWindow('etl-advice', `${hhmm(later)}-${hhmm(later + 3_600_000)}`);
    const noFile = await createSuggestion(stack, { jobId: 'etl-advice', targetFile: null, proposed: null, suggestedChange: 'run it an hour later' });
    const refused = await createSuggestion(stack, { jobId: 'etl-advice', targetFile: job.file, proposed: job.proposed });
    await stack.db('healing_suggestions').where({ id: refused }).update({ advisory_reason: 'the job does not allow config edits' });
    for (const id of [noFile, refused]) {
      const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'acknowledged', action_id: null });
      expect(answer.body.applying).toBeUndefined();
      expect(await get(id)).toMatchObject({ status: 'acknowledged', applying_step: null, apply_at: null });
      await expectReplays(expect, id);
    }
    expect(await readFile(job.file, 'utf8')).toBe(job.yaml);
  });

  it('when approved inside the window, it applies at once', async ({ expect }) => {
    const job = await jobWithWindow('etl-open', '00:00-24:00');
    const id = await createSuggestion(stack, { jobId: 'etl-open', targetFile: job.file, proposed: job.proposed });
    const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    expect(answer.body.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'applied', action_id: expect.any(Number) });
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
  });

  it('an auto-apply waits for the window too, then for the run open when it opens, and applies once the run ends', async ({ expect }) => {
    const opens = nextMinute();
    const job = await jobWithWindow('etl-auto', `${hhmm(opens)}-${hhmm(opens + 3_600_000)}`);
    const id = await createSuggestion(stack, { jobId: 'etl-auto', targetFile: job.file, proposed: job.proposed, input: { autoApply: true } });
    const waiting = await eventually(async () => {
      const s = await get(id);
      return s.applying_step === 'window' ? s : undefined;
    }, 30_000, 'the auto-apply waiting for the window');
    expect(waiting).toMatchObject({ status: 'approved', reviewed_by: 'auto', apply_at: new Date(opens).toISOString() });

    // A run starts before the window opens and is still open when it does.
    const started = await http(stack.api, 'POST', '/api/v1/jobs/etl-auto/runs', { external_id: 'auto-run-1', started_at: new Date().toISOString() }, TOKENS.alice);
    expect(started.status).toBe(201);
    const forRun = await eventually(async () => {
      const s = await get(id);
      return s.applying_step === 'job_running' ? s : undefined;
    }, 100_000, 'the wait for the run once the window opened', 500);
    expect(forRun).toMatchObject({ status: 'approved', apply_at: null });
    expect(Date.now()).toBeGreaterThanOrEqual(opens);
    expect(await readFile(job.file, 'utf8')).toBe(job.yaml);

    const ended = await http(stack.api, 'POST', '/api/v1/jobs/etl-auto/runs', { external_id: 'auto-run-1', started_at: started.body.run.started_at, finished_at: new Date().toISOString(), exit_code: 0 }, TOKENS.alice);
    expect(ended.status).toBe(200);
    await applied(id, 'the auto-apply after the run ended');
    expect(await readFile(job.file, 'utf8')).toBe(job.proposed);
    await expectReplays(expect, id);
  }, 150_000);
});
