// Crash safety: SIGKILL the worker right after a file write, before Temporal records it; a new
// worker finishes the job exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSuggestion } from './helpers/suggestions.js';
import { http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
const JOB_YAML = '# nightly\nname: ETL\ncmd: ./etl.sh\nself_healing:\n  enabled: true\n';
const PROPOSED = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');

beforeAll(async () => {
  stack = await startStack();
  await stack.stopWorker(); // only the crashing worker runs at first
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
});
afterAll(async () => stack?.stop());

function startCrashingWorker(hangAfter: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'helpers', 'crashing-worker.ts')], {
    env: {
      ...process.env,
      HANG_AFTER: hangAfter,
      DATABASE_URL: (stack.db.client.config.connection as { connectionString: string }).connectionString,
      TEMPORAL_ADDRESS: stack.env.address,
      TEMPORAL_NAMESPACE: stack.env.namespace ?? 'default',
      JOBS_DIR: stack.jobsDir,
      DATA_DIR: stack.dataDir,
      HOME_DIR: stack.workDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`crashing worker exited with ${code}`)));
  });
}

function hung(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('HUNG') && resolve()));
}

describe('a worker killed mid-apply', () => {
  it('when killed right after writing the file, the suggestion ends applied with one action and exactly the proposed content', async () => {
    await writeFile(yamlFile, JOB_YAML);
    const child = await startCrashingWorker('writeApplied');
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED });
    const approval = http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    await hung(child);
    expect(await readFile(yamlFile, 'utf8')).toBe(PROPOSED);
    child.kill('SIGKILL');
    await stack.startWorker();
    const answer = await approval;
    expect(answer.body.status).toBe('applied');
    const actions = await stack.db('healing_actions').where({ suggestion_id: id });
    expect(actions).toHaveLength(1);
    expect(actions[0].status).toBe('success');
    expect(await readFile(yamlFile, 'utf8')).toBe(PROPOSED);
    await stack.stopWorker();
  });

  it('when killed right after restoring the original in a rollback, the rollback completes once', async () => {
    await writeFile(yamlFile, JOB_YAML);
    await stack.startWorker();
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED });
    const applied = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(applied.body.status).toBe('applied');
    await stack.stopWorker();

    const child = await startCrashingWorker('rollbackAction');
    const rollback = http(stack.api, 'POST', `/api/v1/healing/actions/${applied.body.action_id}/rollback`, {});
    await hung(child);
    child.kill('SIGKILL');
    await stack.startWorker();
    const answer = await rollback;
    expect(answer.body.status).toBe('rolled_back');
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const [action] = await stack.db('healing_actions').where({ suggestion_id: id });
    expect(action).toMatchObject({ status: 'rolled_back', can_rollback: false });
  });
});
