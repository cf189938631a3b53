// `healing doctor` as a person runs it: a child process that reads the environment, looks for
// what the service needs, and says what is missing and how to fix it.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FAKE_OPENCLAW } from './helpers/stack.js';
import { freePort } from './helpers/ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let dir: string;
let jobsDir: string;

function doctor(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const base: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: undefined,
    TEMPORAL_ADDRESS: undefined,
    HEALING_JOBS_DIR: undefined,
    HEALING_ANALYZER: undefined,
    OPENCLAW_BIN: undefined,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'healing.ts'), 'doctor'], {
      cwd: ROOT,
      env: { ...(Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv), HEALING_DATA_DIR: path.join(dir, 'data'), PROCCLAW_HOME: path.join(dir, 'no-procclaw'), ...env },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The line of a finding, by its name. */
function line(out: string, what: string): string {
  return out.split('\n').find((l) => new RegExp(`^\\s+\\S+\\s+${what}\\s{2,}`).test(l)) ?? '';
}

async function script(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-doctor-'));
  jobsDir = path.join(dir, 'jobs');
  await mkdir(jobsDir);
  await writeFile(path.join(jobsDir, 'backup.yaml'), 'name: Backup\ncmd: ./backup.sh\n');
  await writeFile(path.join(jobsDir, 'broken.yaml'), 'name: Broken\ncmd: ./x.sh\nself_healing:\n  review_schedule:\n    frequency: fortnightly\n');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('healing doctor', () => {
  it('when openclaw is missing, it says so with the fix and that the rules analyzer is used, finds the Temporal CLI and Postgres, and exits 0', async () => {
    const temporalCli = inject('temporalCliPath');
    const { code, out } = await doctor({
      TEMPORAL_CLI_PATH: temporalCli,
      DATABASE_URL: inject('databaseUrl'),
      HEALING_JOBS_DIR: jobsDir,
      OPENCLAW_BIN: path.join(dir, 'no-such-openclaw'),
    });
    expect(code, out).toBe(0);
    expect(line(out, 'openclaw')).toMatch(/^\s+missing\s+openclaw\s+.*no-such-openclaw not found \(ENOENT\); meanwhile reviews use the built-in rules analyzer/);
    const cli = inject('openclaw');
    expect(out).toContain(
      `fix: use the one \`node scripts/openclaw-cli.mjs\` installed: OPENCLAW_BIN=${cli.openclawBin} OPENCLAW_NODE=${cli.nodeBin}; or set OPENCLAW_BIN (and OPENCLAW_NODE) to your own openclaw`,
    );
    expect(line(out, 'Temporal CLI')).toMatch(/^\s+ok\s+Temporal CLI\s+/);
    expect(line(out, 'Temporal CLI')).toContain(path.resolve(temporalCli));
    expect(line(out, 'Postgres')).toMatch(/^\s+ok\s+Postgres\s+.*answers \(Postgres \d+/);
    expect(line(out, 'Node.js')).toMatch(/^\s+ok\s+Node\.js\s+20\./);
    expect(line(out, 'Jobs')).toMatch(/^\s+warn\s+Jobs\s+1 job\(s\) in .*jobs, 1 problem\(s\)/);
    expect(out).toContain('broken.yaml: self_healing.review_schedule.frequency');
    expect(out).toContain('The essentials are in place.');
    expect(out).not.toContain('healing:healing@'); // the password is never printed
  });

  it('when openclaw is the npm placeholder or needs a newer Node, it tells them apart from a working CLI and says what to install', async () => {
    const placeholder = await script('openclaw-placeholder', 'exit 0');
    const oldNode = await script('openclaw-old-node', "echo 'Error: node:sqlite is unavailable' >&2; exit 1");
    const cli = inject('openclaw');
    const env = { TEMPORAL_CLI_PATH: inject('temporalCliPath'), DATABASE_URL: inject('databaseUrl'), HEALING_JOBS_DIR: jobsDir };
    const [a, b, c, d] = await Promise.all([
      doctor({ ...env, OPENCLAW_BIN: placeholder }),
      doctor({ ...env, OPENCLAW_BIN: oldNode }),
      doctor({ ...env, OPENCLAW_BIN: FAKE_OPENCLAW }),
      // The real CLI on the Node it needs, while the service runs on Node 20.
      doctor({ ...env, OPENCLAW_BIN: cli.openclawBin, OPENCLAW_NODE: cli.nodeBin }),
    ]);
    const installed = `use the one \`node scripts/openclaw-cli.mjs\` installed: OPENCLAW_BIN=${cli.openclawBin} OPENCLAW_NODE=${cli.nodeBin}`;
    expect(line(a.out, 'openclaw')).toMatch(/missing\s+openclaw\s+.*did not print an OpenClaw version \(a placeholder install\?\)/);
    expect(a.out).toContain(`fix: on Node 20 npm installs an empty placeholder (openclaw@0.0.1): ${installed}`);
    expect(line(b.out, 'openclaw')).toMatch(/missing\s+openclaw\s+openclaw needs Node >= 24\.16/);
    expect(b.out).toContain(`fix: openclaw needs Node >= 24.16 while this service stays on Node 20: ${installed}`);
    expect(line(c.out, 'openclaw')).toMatch(/^\s+ok\s+openclaw\s+OpenClaw 2026\.9\.6 .*reviews use the openclaw analyzer, every tool denied/);
    expect(line(d.out, 'openclaw')).toMatch(/^\s+ok\s+openclaw\s+/);
    expect(line(d.out, 'openclaw')).toContain(`OpenClaw 2026.9.6 (${cli.openclawBin} on ${cli.nodeBin}): reviews use the openclaw analyzer, every tool denied`);
    expect([a.code, b.code, c.code, d.code]).toEqual([0, 0, 0, 0]);
  });

  it('when Postgres and Temporal do not answer, or openclaw is required but missing, it names each with its fix and exits 1', async () => {
    const { code, out } = await doctor({
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      DATABASE_URL: `postgres://healing:secret@127.0.0.1:${await freePort()}/healing`,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      HEALING_JOBS_DIR: jobsDir,
      HEALING_ANALYZER: 'openclaw',
      OPENCLAW_BIN: path.join(dir, 'no-such-openclaw'),
    });
    expect(code, out).toBe(1);
    expect(line(out, 'Postgres')).toMatch(/^\s+missing\s+Postgres\s+postgres:\/\/healing:\*\*\*@127\.0\.0\.1:\d+\/healing does not answer: .*ECONNREFUSED/);
    expect(out).toContain('fix: start that Postgres or correct DATABASE_URL');
    expect(line(out, 'Temporal')).toMatch(/^\s+missing\s+Temporal\s+127\.0\.0\.1:\d+ does not answer/);
    expect(line(out, 'openclaw')).toMatch(/HEALING_ANALYZER=openclaw: reviews fail until it works/);
    expect(out).not.toContain('secret');
    expect(out).toMatch(/Missing essentials: Postgres, Temporal, openclaw\./);
  });

  it('when the Temporal CLI path is wrong and a ProcClaw install is there, it says both', async () => {
    const home = path.join(dir, 'procclaw');
    await mkdir(path.join(home, 'jobs'), { recursive: true });
    await writeFile(path.join(home, 'jobs', 'oc-digest.yaml'), 'name: Digest\ncmd: python3 run.py\ntype: openclaw\n');
    await writeFile(path.join(home, 'procclaw.db'), '');
    const { code, out } = await doctor({ TEMPORAL_CLI_PATH: path.join(dir, 'no-temporal'), DATABASE_URL: inject('databaseUrl'), PROCCLAW_HOME: home });
    expect(code).toBe(1);
    expect(line(out, 'Temporal CLI')).toMatch(/missing\s+Temporal CLI\s+TEMPORAL_CLI_PATH is set to .*no-temporal.*, but no file exists there/);
    expect(line(out, 'Jobs')).toMatch(/warn\s+Jobs\s+HEALING_JOBS_DIR is unset/);
    expect(out).toContain(`fix: HEALING_JOBS_DIR=${home} to review your ProcClaw jobs (found ${path.join(home, 'jobs')})`);
    expect(out).toContain(`healing import procclaw --db ${path.join(home, 'procclaw.db')} --follow`);
  });
});
