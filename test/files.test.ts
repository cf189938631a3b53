// Atomic writes: what a writer killed between its write and its rename leaves is cleaned up.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../db/files.js';

let dir: string;
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('removes the temp files a killed write left beside the file, and nobody else\'s', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'healing-files-'));
    const file = path.join(dir, 'job.yaml');
    await writeFile(file, 'name: A\n');
    const leftovers = ['.job.yaml.healing-0123456789ab.tmp', '.job.yaml.healing-a1b2c3d4e5f6.tmp'];
    const others = ['.other.yaml.healing-0123456789ab.tmp', '.job.yaml.healing-notours.tmp', 'job.yaml.bak'];
    for (const name of [...leftovers, ...others]) await writeFile(path.join(dir, name), 'half a fi');
    await writeFileAtomic(file, 'name: B\n');
    expect(await readFile(file, 'utf8')).toBe('name: B\n');
    expect((await readdir(dir)).sort()).toEqual([...others, 'job.yaml'].sort());
  });
});
