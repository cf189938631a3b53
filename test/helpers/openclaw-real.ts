// Running the real `openclaw` CLI (installed by scripts/openclaw-cli.mjs, given to tests as
// inject('openclaw')) against a fake model server: a state dir holding just the config that points
// it at that server, one `agent --local` turn with the prompt in a file, and a wrapper that runs the
// CLI with a log of its invocations (for tests and benchmarks that run it through the service).
// docs/OPENCLAW-REAL.md records what the CLI does with each of these settings.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { portTaken } from '../../db/embedded.js';
import type { FakeModelServer } from './fake-model-server.js';
import { freePort } from './ports.js';

export interface OpenclawCli {
  openclawBin: string;
  nodeBin: string;
  version: string;
}

/** No tool at all for the model: the narrowest setting (docs/OPENCLAW-REAL.md, "Tools"). */
export const NO_TOOLS = { deny: ['*'] };

export interface StateDirOptions {
  /** `tools` of the config; omit it to get OpenClaw's default (every tool on). */
  tools?: Record<string, unknown>;
  /** Provider retries after a failed model request (OpenClaw's default is 8, over ~90 s). */
  providerRetries?: number;
  /** The folder to create it in (default: the system temp folder). */
  parent?: string;
  /** More top-level sections of the config, e.g. `gateway` or `channels`. */
  sections?: Record<string, unknown>;
}

/** A fresh folder used as both OPENCLAW_STATE_DIR and HOME, configured for `server`. */
export async function createStateDir(server: FakeModelServer, { tools, providerRetries = 0, parent = os.tmpdir(), sections = {} }: StateDirOptions = {}): Promise<string> {
  const dir = await mkdtemp(path.join(parent, 'openclaw-state-'));
  const config = {
    agents: { defaults: { model: { primary: `fake/${server.model}` } } },
    models: {
      mode: 'merge',
      providers: {
        fake: {
          baseUrl: server.baseUrl,
          apiKey: 'sk-fake-test-key',
          api: 'openai-completions',
          models: [{
            id: server.model, name: 'Fake model', reasoning: false, input: ['text'],
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128_000, maxTokens: 4096,
          }],
        },
      },
    },
    ...(tools ? { tools } : {}),
    ...sections,
  };
  await writeFile(path.join(dir, 'openclaw.json'), JSON.stringify(config, null, 2));
  // The retry budget is an embedded-agent setting, read from this file, not from openclaw.json.
  const agentDir = path.join(dir, 'agents', 'main', 'agent');
  await mkdir(agentDir, { recursive: true });
  await writeFile(path.join(agentDir, 'settings.json'), JSON.stringify({ retry: { provider: { maxRetries: providerRetries } } }));
  return dir;
}

export interface AgentTurn {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed (the CLI prints one JSON document in every outcome). */
  json: any;
}

/**
 * The CLI's environment for `stateDir`: nothing of the caller's OpenClaw setup leaks in (its own HOME
 * and state dir, no OPENCLAW_*), and no VITEST*: with VITEST set the CLI runs but prints nothing at all.
 */
function cliEnv(cli: OpenclawCli, stateDir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPENCLAW_') && !k.startsWith('VITEST')));
  return { ...env, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: '1', PATH: `${path.dirname(cli.nodeBin)}${path.delimiter}${env.PATH ?? ''}` };
}

/** One `openclaw agent --local --json` turn with `message` passed through `--message-file`. */
export async function runAgentTurn(cli: OpenclawCli, stateDir: string, message: string, { timeoutS = 60, sessionId = `healing-test-${Date.now()}` } = {}): Promise<AgentTurn> {
  const messageFile = path.join(stateDir, 'message.txt');
  await writeFile(messageFile, message);
  const args = [cli.openclawBin, 'agent', '--local', '--session-id', sessionId, '--message-file', messageFile, '--json', '--timeout', String(timeoutS)];
  return new Promise((resolve) => {
    execFile(cli.nodeBin, args, {
      env: cliEnv(cli, stateDir),
      maxBuffer: 16 * 1024 * 1024,
      // A hard stop well past --timeout, so a stuck CLI cannot outlive the test.
      timeout: (timeoutS + 120) * 1000,
    }, (err, stdout, stderr) => {
      let json: any = null;
      try {
        json = JSON.parse(stdout);
      } catch { /* left null: the test's expectations on it fail with stdout shown */ }
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, json });
    });
  });
}

/** One line of a wrapper's log: an invocation starting (with its arguments) or ending. */
export type WrapperEntry =
  /** `at` is when the wrapper's process began (performance.timeOrigin), the moment it was spawned */
  | { event: 'start'; pid: number; at: number; argv: string[] }
  | { event: 'exit'; pid: number; at: number; code: number | null; signal: string | null };

export interface CliWrapper {
  /** the wrapper's path, an OPENCLAW_BIN run with OPENCLAW_NODE = the CLI's Node */
  bin: string;
  /** its invocations so far, from its log */
  entries(): Promise<WrapperEntry[]>;
}

/**
 * Writes `<dir>/openclaw-wrapper.mjs`: runs the real CLI with the arguments it was given and logs
 * each invocation's start (with them) and exit, in epoch milliseconds. It takes VITEST* out of the
 * CLI's environment (under vitest the CLI prints nothing; the service's analysis turns do the same,
 * its other commands run as they would outside a test). `dryRunMessages` adds --dry-run to
 * `message send`, so a notification contacts no channel.
 */
export async function writeCliWrapper(cli: OpenclawCli, dir: string, { dryRunMessages = false } = {}): Promise<CliWrapper> {
  const bin = path.join(dir, 'openclaw-wrapper.mjs');
  const log = path.join(dir, 'openclaw-wrapper.log');
  await writeFile(
    bin,
    `// Written by test/helpers/openclaw-real.ts: the real openclaw CLI, each invocation logged.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
const record = (entry) => appendFileSync(${JSON.stringify(log)}, JSON.stringify({ pid: process.pid, ...entry }) + '\\n');
const args = process.argv.slice(2);
record({ event: 'start', at: Math.round(performance.timeOrigin), argv: args });
const dryRun = ${JSON.stringify(dryRunMessages)} && args[0] === 'message' && args[1] === 'send';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
const child = spawn(process.execPath, [${JSON.stringify(cli.openclawBin)}, ...args, ...(dryRun ? ['--dry-run'] : [])], { stdio: 'inherit', env });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  record({ event: 'exit', at: Date.now(), code, signal });
  process.exit(code ?? 1);
});
`,
  );
  await chmod(bin, 0o755);
  return {
    bin,
    entries: async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as WrapperEntry),
  };
}

export interface Gateway {
  port: number;
  /** whether the Gateway process is still running and accepting connections on its port */
  running(): Promise<boolean>;
  /** stops it (SIGTERM to its process group, SIGKILL after 20 s) and waits for it to exit */
  stop(): Promise<void>;
}

/**
 * Starts `openclaw gateway run` on `stateDir` (its config needs `gateway: { mode: "local" }`) on a
 * loopback port with token auth, and answers once it accepts connections (~20 s on an idle
 * machine). Channels are not started (OPENCLAW_SKIP_CHANNELS), so a configured one is not contacted.
 */
export async function startGateway(cli: OpenclawCli, stateDir: string, { readyWithinMs = 180_000 } = {}): Promise<Gateway> {
  const port = await freePort();
  const child = spawn(cli.nodeBin, [cli.openclawBin, 'gateway', 'run', '--port', String(port), '--bind', 'loopback', '--auth', 'token', '--token', 'gw-test-token'], {
    env: { ...cliEnv(cli, stateDir), OPENCLAW_SKIP_CHANNELS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group, stopped as a whole
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const gateway: Gateway = {
    port,
    running: async () => alive() && (await portTaken(port)),
    stop: async () => {
      if (!alive()) return;
      process.kill(-child.pid!, 'SIGTERM');
      const kill = setTimeout(() => alive() && process.kill(-child.pid!, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(kill);
    },
  };
  const deadline = Date.now() + readyWithinMs;
  while (!(await portTaken(port))) {
    if (!alive() || Date.now() > deadline) {
      await gateway.stop();
      throw new Error(`the OpenClaw Gateway did not start listening on ${port}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return gateway;
}

/** A model reply the analyzer accepts: one suggestion per title, none editing a file. */
export function analysisAnswer(...titles: string[]): string {
  return JSON.stringify({
    suggestions: titles.map((title) => ({
      category: 'reliability',
      severity: 'medium',
      title,
      description: 'The upload fails on a reset connection and the job has no retry.',
      current_state: null,
      suggested_change: 'Retry the upload three times with a pause between tries.',
      expected_impact: 'Fewer failed runs.',
      affected_files: [],
      target_file: null,
      proposed_content: null,
      auto_apply: null,
    })),
  });
}
