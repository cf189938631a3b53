// Deploys that cannot break running workflows (issue 17). A suggestion's workflow lives for weeks,
// so a new worker replays histories that older code wrote. Every history in
// test/fixtures/histories (real runs of every workflow type and path, some with the code from
// before each patch; its README says how each was made) is replayed here on today's workflow code,
// bundled as the worker bundles it: a change that would make a running workflow fail with a
// nondeterminism error fails here first, naming the file. No server is needed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { HISTORIES_DIR, historyFiles, historyFromFixture, patchIdsIn, readManifest, workflowTypesIn } from '../scripts/record-histories.js';
import { workflowBundle } from '../worker/workers.js';

const WORKFLOWS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows');
const files = historyFiles();
const manifest = readManifest();
/** Why each file did not replay (its parse or replay error), or undefined where it replayed. */
const outcomes = new Map<string, Error | undefined>();

beforeAll(async () => {
  // The replay worker's INFO lines (its state changes) would bury the test output; a
  // nondeterminism error is in each file's own test.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const histories: { file: string; workflowId: string; history: History }[] = [];
  for (const file of files) {
    try {
      const history = historyFromFixture(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
      histories.push({ file, workflowId: manifest[file]?.workflowId ?? file, history });
    } catch (error) {
      outcomes.set(file, new Error(`cannot be read as a history: ${(error as Error).message}`));
    }
  }
  // One replay worker for all: results come one per history, in order.
  let next = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle(), replayName: 'fixtures' }, histories)) {
    outcomes.set(histories[next]!.file, result.error);
    next += 1;
  }
}, 120_000);

describe("recorded histories replay on today's workflow code", () => {
  it('there are recorded histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('when %s is replayed, it replays without a nondeterminism error', (file) => {
    expect(outcomes.has(file), `${file} was not replayed`).toBe(true);
    const error = outcomes.get(file);
    const made = manifest[file] ? ` (recorded from ${manifest[file].commit.slice(0, 7)}: ${manifest[file].how})` : '';
    expect(error, `${file}${made} no longer replays: ${error?.name}: ${error?.message}`).toBeUndefined();
  });
});

describe('what the histories cover', () => {
  it('every history file says in manifest.json how it was made, and every manifest entry has its file', () => {
    expect(files.filter((f) => !manifest[f])).toEqual([]);
    expect(Object.keys(manifest).filter((f) => !files.includes(f))).toEqual([]);
  });

  it('every workflow type workflows/index.ts exports has a recorded history', () => {
    const recorded = new Set(Object.values(manifest).map((r) => r.workflowType));
    const missing = workflowTypesIn(WORKFLOWS_DIR).filter((type) => !recorded.has(type));
    expect(missing, `no history of ${missing.join(', ')}: add its paths to scripts/record-histories.ts and record them (docs/WORKFLOW-CHANGES.md)`).toEqual([]);
  });

  it('every patched() gate in the workflow code has histories recorded with the code from before it', () => {
    const uncovered = patchIdsIn(WORKFLOWS_DIR).filter((id) => !Object.values(manifest).some((r) => !r.patchesInCode.includes(id)));
    expect(uncovered, `no history predates ${uncovered.join(', ')}: npm run record-histories -- --before <patch id>`).toEqual([]);
  });
});
