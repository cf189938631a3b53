// A process that ran an embedded Postgres keeps its own exit code: the package's exit hook used to
// turn every process.exitCode into 0 when the event loop drained, so a failing `npm test` passed.
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('a process that started and stopped an embedded Postgres exits with the code it set', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-exit-'));
  await chmod(dir, 0o755); // as root, Postgres runs as its own user and must reach the folder
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(path.join(ROOT, 'db', 'embedded.ts'))});
    const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(path.join(dir, 'pg'))}, persistent: false });
    await pg.stop();
    process.exitCode = 3;`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.status).toBe(3);
});
