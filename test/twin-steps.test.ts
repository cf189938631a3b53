// A saga step run twice at once: Temporal does this when a workflow task times out on a starved
// worker and another worker picks it up (seen in the scale drill with three workers). The file
// is still written once, and the lookups of a large catalog never run out of descriptors.
import { execFile } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplyActivities } from '../activities/apply.js';
import type { ActivityDeps } from '../activities/deps.js';
import { sha256 } from '../core/hash.js';
import { openAction } from '../db/actions.js';
import type { Db } from '../db/knex.js';
import { createTestDatabase } from './helpers/database.js';

let db: Db;
let drop: () => Promise<void>;
let dir: string;

beforeAll(async () => {
  ({ db, drop } = await createTestDatabase());
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-twins-'));
});
afterAll(async () => {
  await drop();
  await rm(dir, { recursive: true, force: true });
});

async function actionFor(file: string, original: string, next: string): Promise<number> {
  const [review] = await db('healing_reviews').insert({ job_id: 'etl', trigger: 'manual', status: 'completed', workflow_id: 'test', workflow_run_id: `twin-${Date.now()}-${Math.random()}` }).returning('id');
  const [suggestion] = await db('healing_suggestions')
    .insert({ review_id: review.id, ordinal: 0, job_id: 'etl', category: 'config', severity: 'medium', severity_rank: 2, title: 'twin', description: 'twin', target_file: file, proposed_content: next, fingerprint: `twin-${Math.random()}`, affected_files: JSON.stringify([file]) })
    .returning('id');
  const action = await openAction(db, {
    suggestion_id: suggestion.id, attempt: 1, job_id: 'etl', action_type: 'edit_config', file_path: file,
    original_content: original, new_content: next, original_sha256: sha256(original), new_sha256: sha256(next),
    backup_path: null, ai_session_key: null, file_mode: 0o644,
  });
  return action.id;
}

/** How many times something was renamed onto `name` in `folder` while `work` ran. */
async function renamesOnto(folder: string, name: string, work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const watcher = watch(folder, (event, filename) => {
    if (event === 'rename' && filename === name) count += 1;
  });
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the last events arrive
  } finally {
    watcher.close();
  }
  return count;
}

describe('a step that runs twice at once', () => {
  it('writes the applied file once and leaves it holding the new content', async () => {
    const folder = path.join(dir, 'apply');
    await mkdir(folder);
    const file = path.join(folder, 'etl.yaml');
    await writeFile(file, 'name: ETL\ncmd: ./etl.sh\n');
    const next = 'name: ETL\ncmd: ./etl.sh\nretries: 2\n';
    const actionId = await actionFor(file, await readFile(file, 'utf8'), next);
    const activities = createApplyActivities({ db, log: pino({ level: 'silent' }) } as unknown as ActivityDeps);
    const writes = await renamesOnto(folder, 'etl.yaml', () => Promise.all(Array.from({ length: 4 }, () => activities.writeApplied({ actionId }))));
    expect(await readFile(file, 'utf8')).toBe(next);
    expect(writes).toBe(1);
  });

  it('restores the original once when the compensation runs twice at once', async () => {
    const folder = path.join(dir, 'restore');
    await mkdir(folder);
    const file = path.join(folder, 'etl.yaml');
    const original = 'name: ETL\ncmd: ./etl.sh\n';
    const next = 'name: ETL\ncmd: ./etl.sh\nretries: 2\n';
    await writeFile(file, next);
    const actionId = await actionFor(file, original, next);
    const activities = createApplyActivities({ db, log: pino({ level: 'silent' }) } as unknown as ActivityDeps);
    const writes = await renamesOnto(folder, 'etl.yaml', () => Promise.all(Array.from({ length: 4 }, () => activities.restoreBackup({ actionId }))));
    expect(await readFile(file, 'utf8')).toBe(original);
    expect(writes).toBe(1);
  });
});

describe('a large catalog looked up by many at once', () => {
  it('answers every lookup in a process allowed few descriptors, a write into the folder notwithstanding', async () => {
    const jobs = path.join(dir, 'jobs');
    await mkdir(jobs);
    for (let i = 0; i < 600; i++) await writeFile(path.join(jobs, `job-${i}.yaml`), `name: Job ${i}\ncmd: ./run.sh\n`);
    // A child with 256 descriptors: 40 cold lookups at once over 600 files once needed 24,000.
    const script = `
      import { findJob, loadCatalog } from ${JSON.stringify(path.resolve('db/catalog.ts'))};
      import { writeFileAtomic } from ${JSON.stringify(path.resolve('db/files.ts'))};
      const source = ${JSON.stringify(jobs)};
      const cold = await Promise.all(Array.from({ length: 40 }, (_, i) => findJob(source, 'job-' + (i * 13))));
      await writeFileAtomic(source + '/job-7.yaml', 'name: Job 7 edited\\ncmd: ./run.sh\\n');
      const warm = await Promise.all(Array.from({ length: 40 }, (_, i) => findJob(source, 'job-' + i)));
      const all = await loadCatalog(source);
      console.log(JSON.stringify({ cold: cold.filter(Boolean).length, warm: warm.filter(Boolean).length, edited: warm[7]?.config.name, jobs: all.jobs.length, errors: all.errors.length }));
    `;
    const { stdout } = await promisify(execFile)('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { cwd: process.cwd() });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ cold: 40, warm: 40, edited: 'Job 7 edited', jobs: 600, errors: 0 });
  });
});
