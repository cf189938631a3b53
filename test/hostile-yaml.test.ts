// Hostile job files: each is refused with a message in GET /api/v1/jobs (file, field, reason),
// never stops the other jobs from loading, and costs the API well under a second.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../db/catalog.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;

const GOOD = {
  'good-a.yaml': '# A healthy job.\nname: Good A\ncmd: ./good-a.sh\ntype: scheduled\nschedule: "0 * * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n',
  'good-b.yaml': 'name: Good B\ncmd: ./good-b.sh\ntype: manual\n',
};

/** Billion laughs: ten levels of nine aliases each. */
function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return `name: Bomb\ncmd: ./x.sh\n${lines.join('\n')}\n`;
}

function binaryJunk(withNul: boolean): Buffer {
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
  return withNul ? bytes : Buffer.from(bytes.map((b) => (b === 0 ? 0xff : b)));
}

const HOSTILE: { name: string; file: string; content: string | Buffer; field: RegExp; reason: RegExp; jobId?: string | null }[] = [
  { name: 'an alias bomb (billion laughs)', file: 'bomb.yaml', content: aliasBomb(), field: /\(yaml\)/, reason: /alias/i },
  { name: 'a file over 1 MB', file: 'huge.yaml', content: `name: Huge\ncmd: ./x.sh\ndescription: "${'x'.repeat(1_100_000)}"\n`, field: /\(file\)/, reason: /bytes/ },
  { name: 'a 300 KB job file', file: 'big.yaml', content: `name: Big\ncmd: ./x.sh\n${Array.from({ length: 9000 }, (_, i) => `k${i}: "${'v'.repeat(25)}"`).join('\n')}\n`, field: /\(file\)/, reason: /at most/ },
  { name: 'wrong types', file: 'types.yaml', content: 'name: [1, 2]\ncmd: 42\nschedule: {a: 1}\nsla: fast\nself_healing: yes\n', field: /^(name|cmd|schedule|sla|self_healing)$/, reason: /^must be (text|a map of fields \(key: value\)), not / },
  { name: '100 000 nested flow brackets', file: 'nested-flow.yaml', content: `name: Deep\ncmd: ./x.sh\nextra: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, field: /\(yaml\)/, reason: /deep/ },
  { name: '50 000 nested flow maps', file: 'nested-map.yaml', content: `name: Deep\ncmd: ./x.sh\nextra: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`, field: /\(yaml\)/, reason: /deep/ },
  { name: 'deeply indented block maps', file: 'nested-block.yaml', content: `name: Deep\ncmd: ./x.sh\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1\n`, field: /\(yaml\)/, reason: /deep/ },
  { name: 'duplicate keys', file: 'dup.yaml', content: 'name: One\nname: Two\ncmd: ./x.sh\n', field: /\(yaml\)/, reason: /"name" is defined twice.*line 2/ },
  { name: 'thousands of keys (the parser\'s own duplicate check is quadratic)', file: 'many-keys.yaml', content: `name: Many\ncmd: ./x.sh\n${Array.from({ length: 9_500 }, (_, i) => `k${i}: ${i}`).join('\n')}\nk7: again\n`, field: /\(yaml\)/, reason: /"k7" is defined twice/ },
  { name: 'too many lines', file: 'lines.yaml', content: `name: Lines\ncmd: ./x.sh\n${'#\n'.repeat(20_000)}`, field: /\(yaml\)/, reason: /lines/ },
  { name: 'thousands of anchors', file: 'anchors.yaml', content: `name: A\ncmd: ./x.sh\nextra:\n${Array.from({ length: 3_000 }, (_, i) => `  - &a${i} v`).join('\n')}\n`, field: /\(yaml\)/, reason: /anchors and aliases/ },
  { name: 'binary junk with NUL bytes', file: 'binary.yaml', content: binaryJunk(true), field: /\(yaml\)/, reason: /NUL/ },
  { name: 'binary junk without NUL bytes', file: 'binary2.yaml', content: binaryJunk(false), field: /\(yaml\)/, reason: /not UTF-8 text/ },
  { name: 'broken YAML', file: 'broken.yaml', content: 'name: "unclosed\ncmd: [./x.sh\n', field: /\(yaml\)/, reason: /./ },
  { name: 'several documents', file: 'multi.yaml', content: 'name: A\ncmd: ./a.sh\n---\nname: B\ncmd: ./b.sh\n', field: /\(yaml\)/, reason: /document/i },
  { name: 'a scalar instead of a map', file: 'scalar.yaml', content: '42\n', field: /\(root\)/, reason: /^must be a map of fields \(key: value\), not / },
  { name: 'a list instead of a map', file: 'list.yaml', content: '- name: A\n  cmd: ./a.sh\n', field: /\(root\)/, reason: /^must be a map of fields \(key: value\), not / },
  { name: 'a bad file name', file: 'bad id!.yaml', content: 'name: Bad\ncmd: ./x.sh\n', field: /\(file name\)/, reason: /job id/ },
  { name: 'a jobs: map with a bad id', file: 'group.yaml', content: 'jobs:\n  "../evil": {name: Evil, cmd: ./e.sh}\n  grouped-ok: {name: Grouped, cmd: ./g.sh}\n', field: /^jobs\.\.\.\/evil$/, reason: /job id/, jobId: '../evil' },
  { name: 'a yaml "file" that is a folder', file: 'folder.yaml', content: '', field: /\(file\)/, reason: /regular file/ },
];

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  for (const [name, text] of Object.entries(GOOD)) {
    await writeFile(path.join(stack.jobsDir, name), text);
    await writeFile(path.join(stack.jobsDir, name.replace('.yaml', '.sh')), '#!/bin/bash\nset -euo pipefail\necho ok\n', { mode: 0o755 });
  }
});
afterAll(async () => stack?.stop());

async function jobs(): Promise<{ body: any }> {
  const r = await http(stack.api, 'GET', '/api/v1/jobs');
  expect(r.status).toBe(200);
  return { body: r.body };
}

describe('hostile job files', () => {
  for (const h of HOSTILE) {
    it(`refuses ${h.name} with a message and keeps the good jobs`, async () => {
      const target = path.join(stack.jobsDir, h.file);
      if (h.file === 'folder.yaml') await mkdir(target);
      else await writeFile(target, h.content);
      const { body } = await jobs();
      const ids = body.jobs.map((j: { id: string }) => j.id);
      expect(ids).toEqual(expect.arrayContaining(['good-a', 'good-b']));
      const errors = body.errors.filter((e: { file: string }) => e.file === target);
      expect(errors.length, JSON.stringify(body.errors.slice(-3))).toBeGreaterThan(0);
      for (const e of errors) {
        expect(typeof e.reason).toBe('string');
        expect(e.reason.length).toBeGreaterThan(3);
        expect(e.reason.length).toBeLessThan(1000);
      }
      const match = errors.find((e: { field: string; reason: string }) => h.field.test(e.field) && h.reason.test(e.reason));
      expect(match, JSON.stringify(errors)).toBeTruthy();
      if (h.jobId !== undefined) expect(match.job_id).toBe(h.jobId);
    });
  }

  it('loads the valid job next to a bad id in the same jobs: map', async () => {
    const { body } = await jobs();
    expect(body.jobs.map((j: { id: string }) => j.id)).toContain('grouped-ok');
  });

  it('still reviews a good job with every hostile file in the folder', async () => {
    const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'good-a', force: true });
    expect(started.status).toBe(202);
    const review = await eventually(async () => {
      const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
      return r.body.status !== 'running' ? r.body : undefined;
    }, 60_000, 'the review');
    expect(review.status).toBe('completed');
    const single = await http(stack.api, 'GET', '/api/v1/jobs/good-a');
    expect(single.status).toBe(200);
    const broken = await http(stack.api, 'GET', '/api/v1/jobs/types');
    expect(broken.status).toBe(200);
    expect(broken.body.errors.length).toBeGreaterThan(0);
  });
});

describe('a hostile jobs.yaml catalog file', () => {
  it('refuses what it cannot hold and keeps the valid jobs of a map', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-yaml-'));
    const file = path.join(dir, 'jobs.yaml');
    await writeFile(file, 'jobs:\n  ok: {name: OK, cmd: ./a.sh}\n  "bad id!": {name: Bad, cmd: ./b.sh}\n  wrong: 42\n  _meta: {version: 1}\n');
    const catalog = await loadCatalog(file);
    expect(catalog.jobs.map((j) => j.id)).toEqual(['ok']);
    expect(catalog.errors.map((e) => e.field).sort()).toEqual(['jobs.bad id!', 'jobs.wrong.(root)']);

    await writeFile(file, aliasBomb().replace('name: Bomb\ncmd: ./x.sh\n', 'jobs:\n  ok: {name: OK, cmd: ./a.sh}\n'));
    const bombed = await loadCatalog(file);
    expect(bombed.jobs).toEqual([]);
    expect(bombed.errors[0]?.reason).toMatch(/alias/);
    await rm(dir, { recursive: true, force: true });
  });

  it('never reads a device or a pipe a job file points to', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-yaml-'));
    await writeFile(path.join(dir, 'ok.yaml'), 'name: OK\ncmd: ./a.sh\n');
    await symlink('/dev/zero', path.join(dir, 'zero.yaml'));
    const catalog = await loadCatalog(dir);
    expect(catalog.jobs.map((j) => j.id)).toEqual(['ok']);
    expect(catalog.errors[0]).toMatchObject({ job_id: 'zero', field: '(file)', reason: expect.stringMatching(/regular file/) });
    await rm(dir, { recursive: true, force: true });
  });
});
