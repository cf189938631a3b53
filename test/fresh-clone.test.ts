// What a new user meets first, from a clean clone of this repository (no web/dist, no build output):
// `npx healing --help` lists every command, and `npm start` serves the dashboard at the link it prints.
// Only the dependencies are shared with this checkout (a symlinked node_modules, the lock's time set
// so the bootstrap finds them installed): they are installed, never built, and npm ci is not what
// this test is about. Everything the clone serves it builds itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { portTaken } from '../db/embedded.js';
import { freePort } from './helpers/ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['start', 'worker', 'api', 'migrate', 'import', 'run', 'doctor'];

let dir: string;
let clone: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-clone-'));
  await chmod(dir, 0o755); // as root, the embedded Postgres runs as its own user and must reach the folder
  clone = path.join(dir, 'clone');
  const cloned = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { encoding: 'utf8' });
  expect(cloned.status, cloned.stderr).toBe(0);
  expect(existsSync(path.join(clone, 'web', 'dist'))).toBe(false);
  await symlink(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  const installed = await stat(path.join(ROOT, 'node_modules', '.package-lock.json'));
  await utimes(path.join(clone, 'package-lock.json'), installed.atime, new Date(installed.mtimeMs - 1000));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a fresh clone', () => {
  it('npx healing --help lists every command', () => {
    const help = spawnSync('npx', ['--no-install', 'healing', '--help'], { cwd: clone, encoding: 'utf8', timeout: 60_000 });
    expect(help.status, help.stderr).toBe(0);
    const listed = [...help.stdout.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(expect.arrayContaining(COMMANDS));
    expect(help.stdout).toContain('Usage: healing');
  });

  it('healing api alone, with no dashboard built, answers / with a page that says how to build it', { timeout: 120_000 }, async () => {
    const { child, output, ports } = await launch(['npx', '--no-install', 'healing', 'api']);
    try {
      const url = (await waitFor(output, child, /Dashboard:\s+(http:\/\/\S+)/, 100_000))[1]!;
      // the warning is a log line, written beside the banner: on a loaded machine it may follow it
      await waitFor(output, child, /the dashboard is not current: web\/dist is missing: `npm run build:web` builds it/, 15_000);
      const page = await fetch(url);
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain('<h1>The dashboard is not built</h1>');
      expect(html).toContain('npm run build:web');
      expect(existsSync(path.join(clone, 'web', 'dist'))).toBe(false);
    } finally {
      await stop(child);
    }
    expect(await Promise.all(ports.map((p) => portTaken(p))), output.text()).toEqual([false, false, false, false]);
  });

  it('npm start builds the dashboard, says so, and serves it at the printed link', { timeout: 240_000 }, async () => {
    const { child, output, ports } = await launch(['npm', 'start']);
    try {
      const url = (await waitFor(output, child, /Dashboard:\s+(http:\/\/\S+)/, 200_000))[1]!;
      expect(output.text()).toMatch(/web\/dist is missing: building the dashboard/);
      expect(output.text()).toMatch(/dashboard built in \d+\.\d s/);

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain('<div id="app">');
      const script = html.match(/<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/)?.[1];
      expect(script, html).toBeDefined();
      const bundle = await fetch(new URL(script!, url));
      expect(bundle.status).toBe(200);
      expect(bundle.headers.get('content-type')).toMatch(/javascript/);
      expect(existsSync(path.join(clone, 'web', 'dist', 'index.html'))).toBe(true);

      const jobs = await fetch(new URL('/api/v1/jobs', url));
      expect(jobs.status).toBe(200);
      expect(((await jobs.json()) as { jobs: unknown[] }).jobs.length).toBeGreaterThan(0);

      // The demo's first reviews run after the banner, in the background: within seconds the
      // dashboard has suggestions to show, pending and decided.
      const total = async (status: string) => ((await (await fetch(new URL(`/api/v1/healing/suggestions?status=${status}&limit=1`, url))).json()) as { total: number }).total;
      const deadline = Date.now() + 60_000;
      while ((await total('rejected')) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await total('rejected'), output.text()).toBe(1);
      expect(await total('pending')).toBeGreaterThan(0);
      expect(await total('applied')).toBe(1);
    } finally {
      await stop(child);
    }
    // npm itself dies of the SIGINT, as in a terminal; what matters is that everything it started is gone
    expect(await Promise.all(ports.map((p) => portTaken(p))), output.text()).toEqual([false, false, false, false]);
  });

  it('after a build killed mid-way and with the bundles gone, the next start rebuilds at once and serves the dashboard', { timeout: 180_000 }, async () => {
    const dist = path.join(clone, 'web', 'dist');
    await rm(path.join(dist, 'assets'), { recursive: true, force: true });
    const lock = path.join(clone, 'web', '.build-lock');
    await mkdir(lock);
    await writeFile(path.join(lock, 'pid'), '999999'); // a holder that is gone
    const past = new Date(Date.now() - 10_000);
    await utimes(lock, past, past);
    const { child, output, ports } = await launch(['node', 'bin/healing.js', 'start']);
    try {
      const url = (await waitFor(output, child, /Dashboard:\s+(http:\/\/\S+)/, 150_000))[1]!;
      expect(output.text()).toMatch(/web\/dist lacks assets\/\S+, which its index\.html loads: building the dashboard/);
      const html = await (await fetch(url)).text();
      const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
      expect((await fetch(new URL(script!, url))).status).toBe(200);
      expect(existsSync(lock)).toBe(false);
      const index = await fetch(new URL('/api/v1', url));
      expect(index.status).toBe(200);
      expect(await index.json()).toMatchObject({ success: true, openapi: '/api/v1/openapi.json' });
    } finally {
      await stop(child);
    }
    expect(await Promise.all(ports.map((p) => portTaken(p))), output.text()).toEqual([false, false, false, false]);
  });

  it('a SIGTERM during start-up stops what was started: no Postgres is left running', { timeout: 180_000 }, async () => {
    const { child, output, ports } = await launch(['node', 'bin/healing.js', 'start'], { LOG_LEVEL: 'info' });
    await waitFor(output, child, /starting the Temporal dev server/, 150_000);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited, output.text()).toBe(0);
    expect(output.text()).toContain('SIGTERM: stopping once the current start-up step is done');
    expect(output.text()).not.toContain('ProcClaw Healing is running');
    expect(await Promise.all(ports.map((p) => portTaken(p))), output.text()).toEqual([false, false, false, false]);
  });

  it('a second start while the first runs says which port is taken, and leaves the first serving', { timeout: 180_000 }, async () => {
    const first = await launch(['node', 'bin/healing.js', 'start']);
    try {
      const url = (await waitFor(first.output, first.child, /Dashboard:\s+(http:\/\/\S+)/, 150_000))[1]!;
      const [, temporalPort, uiPort] = first.ports;
      // its own API and Postgres ports, the first one's Temporal port
      const second = await launch(['node', 'bin/healing.js', 'start'], {
        HEALING_TEMPORAL_PORT: String(temporalPort),
        HEALING_TEMPORAL_UI_PORT: String(uiPort),
        HEALING_DATA_DIR: path.join(dir, 'data-second'),
      });
      const code = await new Promise<number | null>((resolve) => second.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(second.output.text()).toContain(`the Temporal dev server's port ${temporalPort} is taken (another \`healing start\`?)`);
      expect((await fetch(url)).status).toBe(200);
    } finally {
      await stop(first.child);
    }
  });
});

/** Runs a command in the clone with its own ports and data folder: the API, Temporal and its UI, Postgres. */
async function launch(command: string[], env: Record<string, string> = {}) {
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const [port, temporalPort, uiPort, postgresPort] = ports.map(String);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: clone,
    env: {
      ...process.env,
      PORT: port,
      HEALING_TEMPORAL_PORT: temporalPort,
      HEALING_TEMPORAL_UI_PORT: uiPort,
      HEALING_POSTGRES_PORT: postgresPort,
      HEALING_DATA_DIR: path.join(dir, 'data'),
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      HEALING_ANALYZER: 'rules',
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      HEALING_JOBS_DIR: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, stopped as a whole
  });
  return { child, output: collect(child), ports };
}

/** Ctrl-C as a terminal sends it: SIGINT to the whole process group. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid!, 'SIGINT');
  await exited;
}

function collect(child: ChildProcess) {
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { text: () => text };
}

async function waitFor(output: { text: () => string }, child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = output.text().match(pattern);
    if (match) return match;
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode} before printing ${pattern}:\n${output.text()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not print ${pattern} within ${timeoutMs / 1000} s:\n${output.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
