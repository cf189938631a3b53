// Running the real `openclaw` CLI (installed by scripts/openclaw-cli.mjs, given to tests as
// inject('openclaw')) against a fake model server: a state dir holding just the config that points
// it at that server, and one `agent --local` turn with the prompt in a file.
// docs/OPENCLAW-REAL.md records what the CLI does with each of these settings.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FakeModelServer } from './fake-model-server.js';

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
}

/** A fresh folder used as both OPENCLAW_STATE_DIR and HOME, configured for `server`. */
export async function createStateDir(server: FakeModelServer, { tools, providerRetries = 0, parent = os.tmpdir() }: StateDirOptions = {}): Promise<string> {
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

/** One `openclaw agent --local --json` turn with `message` passed through `--message-file`. */
export async function runAgentTurn(cli: OpenclawCli, stateDir: string, message: string, { timeoutS = 60, sessionId = `healing-test-${Date.now()}` } = {}): Promise<AgentTurn> {
  const messageFile = path.join(stateDir, 'message.txt');
  await writeFile(messageFile, message);
  const args = [cli.openclawBin, 'agent', '--local', '--session-id', sessionId, '--message-file', messageFile, '--json', '--timeout', String(timeoutS)];
  return new Promise((resolve) => {
    // Nothing of the caller's OpenClaw setup leaks in (its own HOME and state dir, no OPENCLAW_*), and no
    // VITEST*: with VITEST set the CLI runs the turn but prints nothing at all, not even the JSON.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPENCLAW_') && !k.startsWith('VITEST')));
    execFile(cli.nodeBin, args, {
      env: { ...env, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: '1', PATH: `${path.dirname(cli.nodeBin)}${path.delimiter}${env.PATH ?? ''}` },
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
