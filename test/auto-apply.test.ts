// An auto-apply that the job's policy asked for and that is refused or fails: the suggestion is
// left `failed` with the reason, and its workflow stays open to take apply, reject and expiry like
// any other suggestion's, instead of answering every later command "no longer takes commands".
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApplyActivities } from '../activities/apply.js';
import { suggestionWorkflowId } from '../core/temporal.js';
import type { Db } from '../db/knex.js';
import { createSuggestion, etlJobYaml } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
let scriptFile: string;

// The policy under which a review marks these suggestions auto-apply (config and script edits).
const JOB_YAML = etlJobYaml('  suggestions:\n    auto_apply_categories: [config, script]\n    two_person_rule: false\n');
const SCRIPT = `#!/bin/bash\n# Loads the warehouse.\n${'echo "loading table"\n'.repeat(20)}`;
const WITH_RETRY = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  scriptFile = path.join(stack.jobsDir, 'etl.sh');
});
beforeEach(async () => {
  await rm(scriptFile, { recursive: true, force: true });
  await writeFile(yamlFile, JOB_YAML);
  await writeFile(scriptFile, SCRIPT, { mode: 0o755 });
});
afterAll(async () => stack?.stop());

const suggestion = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
const actionsOf = async (id: number) => stack.db('healing_actions').where({ suggestion_id: id });
const workflowState = async (id: number) => (await stack.env.client.workflow.getHandle(suggestionWorkflowId(id)).describe()).status.name;
const command = (id: number, name: 'apply' | 'reject') => http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/${name}`, name === 'reject' ? { reason: 'not this one' } : {});

/** A suggestion that applies by the job's policy, as a review stores it; answers once the auto-apply has ended. */
async function autoApplied(opts: Omit<Parameters<typeof createSuggestion>[1], 'jobId'>): Promise<{ id: number; row: any }> {
  const id = await createSuggestion(stack, { jobId: 'etl', category: 'config', ...opts, input: { autoApply: true, ...opts.input } });
  const row = await eventually(async () => {
    const s = await suggestion(id);
    return s.status === 'pending' || s.status === 'approved' ? undefined : s;
  }, 20_000, `the auto-apply of suggestion ${id} to end`);
  return { id, row };
}

describe('when the file changed since the review', () => {
  it('the auto-apply is refused: the suggestion is failed with the reason, its workflow runs, and an apply once the file is back applies it', async () => {
    const edited = `${JOB_YAML}# someone's edit\n`;
    await writeFile(yamlFile, edited);
    const { id, row } = await autoApplied({ targetFile: yamlFile, proposed: WITH_RETRY, current: JOB_YAML });
    expect(row).toMatchObject({ status: 'failed', reviewed_by: 'auto', error_message: expect.stringMatching(/re-run the review/) });
    expect(await readFile(yamlFile, 'utf8')).toBe(edited);
    expect(await actionsOf(id)).toHaveLength(0);
    expect(await workflowState(id)).toBe('RUNNING');

    await writeFile(yamlFile, JOB_YAML);
    const applied = await command(id, 'apply');
    expect(applied.status).toBe(200);
    expect(applied.body.status).toBe('applied');
    expect(await readFile(yamlFile, 'utf8')).toBe(WITH_RETRY);
    expect((await suggestion(id)).status).toBe('applied');
    expect(await workflowState(id)).toBe('RUNNING'); // the rollback window is open
  });

  it('left undecided for the TTL, the failed suggestion expires and its workflow ends', async () => {
    await writeFile(yamlFile, `${JOB_YAML}# drift\n`);
    const { id, row } = await autoApplied({ targetFile: yamlFile, proposed: WITH_RETRY, current: JOB_YAML, input: { ttlMs: 1_500 } });
    expect(row.status).toBe('failed');
    await eventually(async () => (await suggestion(id)).status === 'expired', 20_000, 'expiry of the failed suggestion');
    await eventually(async () => (await workflowState(id)) === 'COMPLETED', 10_000, 'the workflow to end');
    const late = await command(id, 'apply');
    expect(late.status).toBe(409);
    expect(late.body.error).toMatch(/expired/);
  });
});

describe('when the guard refuses the target', () => {
  const refused: [string, () => Promise<{ target: string; proposed: string; current?: string }>, RegExp][] = [
    ['a file outside the job\'s own set', async () => ({ target: path.join(stack.workDir, 'elsewhere.txt'), proposed: 'x' }), /not one of the job's own files/],
    ['a forbidden path', async () => ({ target: '/etc/hosts', proposed: '127.0.0.1 evil\n', current: await readFile('/etc/hosts', 'utf8') }), /\/etc is a system folder/],
    ['a shrink by more than half', async () => ({ target: scriptFile, proposed: '#!/bin/bash\necho hi\n' }), /shrink|half/],
  ];
  for (const [what, build, reason] of refused) {
    it(`with ${what}, the suggestion is failed with the reason, nothing is written, a later apply is refused with the reason and a reject rejects it`, async () => {
      await writeFile(path.join(stack.workDir, 'elsewhere.txt'), 'precious\n');
      const { target, proposed, current } = await build();
      const before = await readFile(target, 'utf8');
      const { id, row } = await autoApplied({ targetFile: target, proposed, current: current ?? before, category: 'script' });
      expect(row.status).toBe('failed');
      expect(row.error_message).toMatch(reason);
      expect(await readFile(target, 'utf8')).toBe(before);
      expect(await actionsOf(id)).toHaveLength(0);
      expect(await workflowState(id)).toBe('RUNNING');

      const again = await command(id, 'apply');
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(reason);
      expect(await workflowState(id)).toBe('RUNNING');
      const rejected = await command(id, 'reject');
      expect(rejected.status).toBe(200);
      expect(rejected.body.status).toBe('rejected');
      expect(await suggestion(id)).toMatchObject({ status: 'rejected', rejection_reason: 'not this one' });
      expect(await readFile(target, 'utf8')).toBe(before);
    });
  }
});

describe('when the disk refuses the write (a folder where the script was)', () => {
  it('the suggestion is failed with the reason, its workflow runs, and an apply once the script is back applies it', async () => {
    const proposed = `${SCRIPT}echo done\n`;
    await rm(scriptFile);
    await mkdir(scriptFile);
    const { id, row } = await autoApplied({ targetFile: scriptFile, proposed, current: SCRIPT, category: 'script' });
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/EISDIR/);
    expect(await workflowState(id)).toBe('RUNNING');

    await rm(scriptFile, { recursive: true });
    await writeFile(scriptFile, SCRIPT, { mode: 0o755 });
    const applied = await command(id, 'apply');
    expect(applied.status).toBe(200);
    expect(applied.body.status).toBe('applied');
    expect(await readFile(scriptFile, 'utf8')).toBe(proposed);
  });
});

describe('when the written file does not verify', () => {
  it('the original is restored, the suggestion is failed with the reason, its workflow runs, and a reject rejects it', async () => {
    const broken = JOB_YAML.replace('mode: proactive', 'mode: sometimes');
    const { id, row } = await autoApplied({ targetFile: yamlFile, proposed: broken });
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/self_healing.mode/);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const [action] = await actionsOf(id);
    expect(action).toMatchObject({ status: 'failed', can_rollback: false });
    expect(await workflowState(id)).toBe('RUNNING');

    const rejected = await command(id, 'reject');
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('rejected');
    expect((await suggestion(id)).status).toBe('rejected');
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });
});

describe('an apply step while Postgres is unreachable over its Unix socket', () => {
  it('fails with the connection error, which Temporal retries, not for good as a file error', async () => {
    const socket = '/var/run/postgresql/.s.PGSQL.5432';
    const unreachable = Object.assign(new Error(`connect ENOENT ${socket}`), { code: 'ENOENT', syscall: 'connect', address: socket });
    const refuse = () => {
      throw unreachable;
    };
    const db = Object.assign(refuse, { transaction: refuse }) as unknown as Db; // every query and transaction fails to connect
    const log = pino({ level: 'silent' });
    const steps = createApplyActivities({ db, jobsSource: stack.jobsDir, dataDir: stack.dataDir, home: stack.workDir, procclawHome: stack.workDir, analyzer: stack.analyzer, dashboardUrl: 'http://dashboard.test', log });
    await expect(steps.closeRollbackWindow({ actionId: 1 })).rejects.toBe(unreachable);
    await expect(steps.failApply({ suggestionId: 1, actionId: null, error: 'x' })).rejects.toBe(unreachable);
  });
});
