// Each OpenClaw turn in a state folder of its own, with a config layered on the user's: their
// model setup copied in, every tool denied whatever their config says, their state left as it
// was, the folder gone after the turn. And one turn end to end with stand-in CLIs that print what
// the real one prints (docs/OPENCLAW-REAL.md): the prompt by file, what is kept of the answer, a
// tool call, a provider reporting trouble, a Node too old.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AnalyzerSettings } from '../activities/deps.js';
import { runAgentTurn, turnRecord, type TurnFailureDetails } from '../activities/openclaw.js';
import { checkTurnSetup, openTurn } from '../activities/openclaw-state.js';
import { parseRewriteOutput } from '../core/parse-ai/index.js';
import { FAKE_OPENCLAW } from './helpers/stack.js';

let dir: string;
let userState: string;
let stateRoot: string;

/** The user's own OpenClaw config, as they might have written it: JSON5, a key, and a hostile tools section. */
const USER_CONFIG = `// my OpenClaw
{
  agents: {
    defaults: {
      model: { primary: 'fake/fake-model' },
      tools: { allow: ['exec', 'write'] },
      runtime: { type: 'acp', acp: { agent: 'codex' } },
    },
    entries: { main: { model: 'fake/fake-model', tools: { profile: 'coding', allow: ['exec'], elevated: { enabled: true } } } },
  },
  models: {
    mode: 'merge',
    providers: {
      fake: {
        baseUrl: "http://127.0.0.1:9/v1",
        apiKey: 'sk-user-inline-key-123456',
        api: "openai-completions",
        models: [{ id: 'fake-model', name: 'Fake', contextWindow: 128000, maxTokens: 4096, }],
      },
      other: { baseUrl: 'http://127.0.0.1:9/v2', apiKey: '\${OTHER_API_KEY}', models: [{ id: 'other-model', name: 'Other' }] },
    },
  },
  tools: { profile: 'full', allow: ['*'], alsoAllow: ['exec'], elevated: { enabled: true } },
  channels: { telegram: { botToken: '123456:user-telegram-token' } },
  gateway: { mode: 'local', auth: { token: 'gw-user-token' } },
  plugins: { entries: { evil: { enabled: true } } },
  env: { vars: { OTHER_API_KEY: 'sk-other-from-env-block' } },
}
`;

const settings = (over: Partial<AnalyzerSettings> = {}): AnalyzerSettings => ({
  mode: 'openclaw',
  openclawBin: FAKE_OPENCLAW,
  agent: null,
  thinking: null,
  timeoutSeconds: 5,
  stateRoot,
  ...over,
});

/** The user's environment: OpenClaw pointed at their state folder, a Gateway token the turn must not see. */
const userEnv = (state = userState): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, OPENCLAW_STATE_DIR: state, OPENCLAW_GATEWAY_TOKEN: 'gw-env-token' });

/** Every file under `root` with its content hash, mode and mtime: equal before and after means untouched. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(root, { recursive: true })) {
    const file = path.join(root, name);
    const info = await stat(file);
    out[name] = info.isFile() ? `${createHash('sha256').update(await readFile(file)).digest('hex')} ${info.mode.toString(8)} ${info.mtimeMs}` : `dir ${info.mode.toString(8)}`;
  }
  return out;
}

const mode = async (file: string) => ((await stat(file)).mode & 0o777).toString(8);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-openclaw-state-'));
  userState = path.join(dir, 'user-openclaw');
  stateRoot = path.join(dir, 'data', 'openclaw');
  await mkdir(userState, { recursive: true });
  await writeFile(path.join(userState, 'openclaw.json'), USER_CONFIG);
  await writeFile(path.join(userState, '.env'), 'ANOTHER_KEY=sk-from-dotenv\n');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("a turn's state folder", () => {
  it("when the user's config has a provider with a key and a hostile tools section, the turn's config keeps the provider, denies every tool, and the user's state is untouched; the folder is gone after", async () => {
    const before = await snapshot(userState);
    const turn = await openTurn(settings(), 'healing-job-1', 'the prompt', userEnv(), dir);

    expect(path.dirname(turn.dir)).toBe(path.join(stateRoot, 'turns'));
    expect(path.basename(turn.dir)).toMatch(/^healing-job-1-/);
    const config = JSON.parse(await readFile(path.join(turn.dir, 'openclaw.json'), 'utf8'));
    expect(config).toEqual({
      models: {
        mode: 'merge',
        providers: {
          fake: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-user-inline-key-123456', api: 'openai-completions', models: [{ id: 'fake-model', name: 'Fake', contextWindow: 128000, maxTokens: 4096 }] },
          other: { baseUrl: 'http://127.0.0.1:9/v2', apiKey: '${OTHER_API_KEY}', models: [{ id: 'other-model', name: 'Other' }] },
        },
      },
      agents: { defaults: { model: { primary: 'fake/fake-model' } } },
      env: { vars: { OTHER_API_KEY: 'sk-other-from-env-block' } },
      tools: { deny: ['*'] },
    });
    // The user's .env (keys may live there) is copied; the prompt goes by file, both readable by the owner only.
    expect(await readFile(path.join(turn.dir, '.env'), 'utf8')).toBe('ANOTHER_KEY=sk-from-dotenv\n');
    expect(await readFile(turn.messageFile, 'utf8')).toBe('the prompt');
    expect([await mode(turn.dir), await mode(path.join(turn.dir, 'openclaw.json')), await mode(turn.messageFile), await mode(path.join(turn.dir, '.env'))]).toEqual(['700', '600', '600', '600']);
    expect(turn.env).toMatchObject({ OPENCLAW_STATE_DIR: turn.dir, OPENCLAW_CONFIG_PATH: path.join(turn.dir, 'openclaw.json'), OPENCLAW_CONFIG_READONLY: '1' });
    expect(turn.env.OPENCLAW_GATEWAY_TOKEN).toBeUndefined();
    expect(turn.model).toBe('fake/fake-model');

    await turn.remove();
    await expect(stat(turn.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await snapshot(userState)).toEqual(before);
  });

  it('when the user named an agent, the turn takes its model and nothing else of it', async () => {
    const turn = await openTurn(settings({ agent: 'main' }), 'healing-job-2', 'p', userEnv(), dir);
    const config = JSON.parse(await readFile(path.join(turn.dir, 'openclaw.json'), 'utf8'));
    await turn.remove();
    expect(config.agents).toEqual({ defaults: { model: { primary: 'fake/fake-model' } }, entries: { main: { model: 'fake/fake-model' } } });
    expect(config.tools).toEqual({ deny: ['*'] });
  });

  it("when the key was saved with `openclaw models auth` (in OpenClaw's SQLite store), the turn gets it read-only; OAuth sign-ins stay behind", async () => {
    const cli = inject('openclaw');
    const state = path.join(dir, 'user-with-profiles');
    await mkdir(path.join(state, 'state'), { recursive: true });
    await writeFile(
      path.join(state, 'openclaw.json'),
      JSON.stringify({
        agents: { defaults: { model: { primary: 'fake/fake-model', fallbacks: ['anthropic/claude'] } } },
        models: { providers: { fake: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'fake:manual', models: [{ id: 'fake-model', name: 'Fake' }] } } },
        auth: { profiles: { 'fake:manual': { provider: 'fake', mode: 'api_key' }, 'anthropic:me': { provider: 'anthropic', mode: 'oauth' } } },
      }),
    );
    // The shared store as `openclaw models auth paste-api-key` leaves it (docs/OPENCLAW-REAL.md, "Where provider keys can live").
    const store = { version: 1, profiles: { 'fake:manual': { type: 'api_key', provider: 'fake', key: 'sk-saved-profile-key-98765' }, 'anthropic:me': { type: 'oauth', provider: 'anthropic', access: 'oauth-access', refresh: 'oauth-refresh' } } };
    const sql =
      "const { DatabaseSync } = require('node:sqlite'); const db = new DatabaseSync(process.argv[1]);" +
      "db.exec('create table config_machine_state (state_key text primary key, value_json text not null, updated_at_ms integer not null)');" +
      "db.prepare('insert into config_machine_state values (?, ?, 0)').run('authProfiles.store', process.argv[2]); db.close();";
    await promisify(execFile)(cli.nodeBin, ['--no-warnings', '-e', sql, path.join(state, 'state', 'openclaw.sqlite'), JSON.stringify(store)]);
    const before = await snapshot(state);

    const turn = await openTurn(settings({ openclawNode: cli.nodeBin }), 'healing-job-3', 'p', userEnv(state), dir);
    const config = JSON.parse(await readFile(path.join(turn.dir, 'openclaw.json'), 'utf8'));
    await turn.remove();

    expect(config.models.providers).toEqual({ fake: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-saved-profile-key-98765', models: [{ id: 'fake-model', name: 'Fake' }] } });
    expect(JSON.stringify(config)).not.toContain('oauth-refresh');
    expect(config.tools).toEqual({ deny: ['*'] });
    expect(await snapshot(state)).toEqual(before);
  });

  it("when the user's config splits sections into $include files, the turn gets them resolved", async () => {
    const state = path.join(dir, 'user-with-includes');
    await mkdir(state, { recursive: true });
    await writeFile(path.join(state, 'models.json5'), "{ providers: { fake: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-included' } } }");
    await writeFile(path.join(state, 'openclaw.json'), "{ models: { $include: './models.json5', mode: 'replace' }, tools: { $include: './nope.json5' } }");
    const turn = await openTurn(settings(), 'healing-job-4', 'p', userEnv(state), dir);
    const config = JSON.parse(await readFile(path.join(turn.dir, 'openclaw.json'), 'utf8'));
    await turn.remove();
    expect(config).toEqual({ models: { providers: { fake: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-included' } }, mode: 'replace' }, tools: { deny: ['*'] } });
  });

  it('at start-up, a config it can layer passes the check and one it cannot read is refused with the reason', async () => {
    expect(await checkTurnSetup(settings(), userEnv(), dir)).toBeNull();
    const broken = path.join(dir, 'user-broken');
    await mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'openclaw.json'), '{ models: { providers: { fake: { apiKey: "sk-1" ] } }');
    expect(await checkTurnSetup(settings(), userEnv(broken), dir)).toBe(
      `cannot read the OpenClaw config ${broken}/openclaw.json: JSON5: invalid character ']' at 1:49`,
    );
    // Without any config the turn runs on OpenClaw's defaults (and the keys in the environment), tools denied.
    expect(await checkTurnSetup(settings(), userEnv(path.join(dir, 'no-openclaw-here')), dir)).toBeNull();
  });

  it('the real CLI accepts the layered config as valid', async () => {
    const cli = inject('openclaw');
    const turn = await openTurn(settings({ openclawNode: cli.nodeBin }), 'healing-job-5', 'p', userEnv(), dir);
    try {
      const { stdout } = await promisify(execFile)(cli.nodeBin, [cli.openclawBin, 'config', 'validate', '--json'], { env: turn.env, cwd: turn.dir, timeout: 120_000 });
      expect(JSON.parse(stdout)).toMatchObject({ valid: true, path: path.join(turn.dir, 'openclaw.json') });
    } finally {
      await turn.remove();
    }
  }, 150_000);
});

// ---------------------------------------------------------------------------------------------
// One turn with stand-in CLIs that print what the real one prints

/** A CLI that records its arguments and prompt file, then prints `stdout`, writes `stderr` and exits `code`. */
async function cannedCli(name: string, out: { stdout?: unknown; stderr?: string; code?: number }): Promise<{ bin: string; seen: () => Promise<{ args: string; prompt: string; promptMode: string; stateDir: string }> }> {
  const home = path.join(dir, name);
  await mkdir(home, { recursive: true });
  await writeFile(path.join(home, 'stdout'), out.stdout === undefined ? '' : typeof out.stdout === 'string' ? out.stdout : JSON.stringify(out.stdout, null, 2));
  await writeFile(path.join(home, 'stderr'), out.stderr ?? '');
  const bin = path.join(home, 'openclaw');
  await writeFile(
    bin,
    `#!/bin/sh
printf '%s\\n' "$*" > '${home}/args'
while [ $# -gt 0 ]; do [ "$1" = --message-file ] && cp "$2" '${home}/prompt' && stat -c %a "$2" > '${home}/prompt-mode'; shift; done
printf '%s' "$OPENCLAW_STATE_DIR" > '${home}/state-dir'
cat '${home}/stderr' >&2
cat '${home}/stdout'
exit ${out.code ?? 0}
`,
  );
  await chmod(bin, 0o755);
  const read = (f: string) => readFile(path.join(home, f), 'utf8');
  return { bin, seen: async () => ({ args: (await read('args')).trim(), prompt: await read('prompt'), promptMode: (await read('prompt-mode')).trim(), stateDir: await read('state-dir') }) };
}

/** The success document of `agent --json` (docs/OPENCLAW-REAL.md), with `meta` merged in. */
const answer = (text: string, meta: Record<string, unknown> = {}, agentMeta: Record<string, unknown> = {}) => ({
  payloads: [{ text, mediaUrl: null }],
  meta: {
    durationMs: 19991,
    stopReason: 'stop',
    finalAssistantVisibleText: text,
    finalPromptText: 'PROMPT ECHO '.repeat(100),
    systemPromptReport: { chars: 26000 },
    agentMeta: { sessionId: 'healing-t', provider: 'fake', model: 'fake-model', usage: { input: 1234, output: 56, cacheRead: 0, cacheWrite: 0, total: 1290, cost: { total: 0 } }, terminalReceipt: { successfulToolNames: [] }, ...agentMeta },
    ...meta,
  },
});

/** A rewrite's reply: the new file. */
const reply = (content: string) => JSON.stringify({ proposed_content: content });
const turnOf = (message = 'SECRET-FREE PROMPT TEXT') => ({ sessionId: 'healing-t', message, parse: parseRewriteOutput, redact: (t: string) => t });

/** The AnalyzerFailed a turn threw, with its message and details. */
async function failureOf(promise: Promise<unknown>): Promise<{ message: string; details: TurnFailureDetails }> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect(failure.type).toBe('AnalyzerFailed');
  return { message: failure.message, details: failure.details as TurnFailureDetails };
}

describe('one openclaw turn', () => {
  it('passes the prompt by a 0600 file in the turn folder, never in argv, keeps the answer without the prompt echo, and records model, provider, tokens and session', async () => {
    const cli = await cannedCli('good', { stdout: answer(reply('the new file\n')) });
    const result = await runAgentTurn(settings({ openclawBin: cli.bin }), turnOf());
    const seen = await cli.seen();
    expect(seen.args).not.toContain('SECRET-FREE PROMPT TEXT');
    expect(seen.args).toMatch(/^agent --local --session-id healing-t --message-file \S+\/prompt\.txt --json --timeout 5$/);
    expect(seen).toMatchObject({ prompt: 'SECRET-FREE PROMPT TEXT', promptMode: '600' });
    expect(path.dirname(seen.stateDir)).toBe(path.join(stateRoot, 'turns'));
    await expect(stat(seen.stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(result.answer).toBe('the new file\n');
    expect(result.record).toEqual({
      session_id: 'healing-t', model: 'fake-model', provider: 'fake', tokens: 1290, tokens_in: 1234, tokens_out: 56,
      usage: { input: 1234, output: 56, cacheRead: 0, cacheWrite: 0 }, cost_reported: 0, tool_calls: null,
    });
    const kept = JSON.parse(result.raw);
    expect(Object.keys(kept.meta)).not.toContain('finalPromptText');
    expect(Object.keys(kept.meta)).not.toContain('systemPromptReport');
    expect(kept.meta.agentMeta.usage.total).toBe(1290);
  });

  it('when the model tried a tool and was refused, the answer is used and the attempt recorded', async () => {
    const cli = await cannedCli('tool-refused', {
      stdout: answer(reply('done after tool'), { toolSummary: { calls: 1, tools: ['exec'], failures: 1, unresolvedError: { toolName: 'exec' } } }),
    });
    const result = await runAgentTurn(settings({ openclawBin: cli.bin }), turnOf());
    expect(result.answer).toBe('done after tool');
    expect(result.record.tool_calls).toEqual({ calls: 1, tools: ['exec'], refused: 1, ran: [] });
  });

  it('when a tool ran, the turn fails as a broken guarantee, with the attempt recorded', async () => {
    const cli = await cannedCli('tool-ran', {
      stdout: answer(reply('done after tool'), { toolSummary: { calls: 1, tools: ['exec'], failures: 0 } }, { terminalReceipt: { successfulToolNames: ['exec'] } }),
    });
    const { message, details } = await failureOf(runAgentTurn(settings({ openclawBin: cli.bin }), turnOf()));
    expect(message).toBe(
      'openclaw ran exec although this service denies every tool (tools: { deny: ["*"] }): the answer is not used; check that the openclaw version honours tools.deny (this service is tested with 2026.9.6)',
    );
    expect(details[1]).toMatchObject({ tokens: 1290, tool_calls: { calls: 1, tools: ['exec'], refused: 0, ran: ['exec'] } });
  });

  it('when the CLI timed out while the provider rate-limited it, the failure says what it last reported', async () => {
    const stderr = [
      '[memory] memory_index_chunks_vec not updated — semantic vector embeddings unavailable',
      '[agent/embedded] embedded run agent end: runId=r1 isError=true model=fake-model provider=fake error=⚠️ Rate limit reached for fake-model; Retry-After: 3 seconds rawError=429 Rate limit reached for fake-model',
      '[agent/embedded] transient same-model retry 2/9 for fake/fake-model reason=rate_limit: delayMs=3000',
      '[session-sqlite] slow SQLite reclamation Worker operation outcome=rejected exitCode=1 error="SQLite automatic maintenance inputs changed before commit"',
    ].join('\n');
    const text = 'Request timed out before a response was generated. Please try again, or increase `agents.defaults.timeoutSeconds` in your config.';
    const cli = await cannedCli('rate-limited', {
      stdout: { payloads: [{ text, isError: true, mediaUrl: null }], meta: { durationMs: 40000, error: { kind: 'incomplete_turn', message: text, fallbackSafe: false }, agentMeta: { sessionId: 'healing-t', provider: 'fake', model: 'fake-model' } } },
      stderr,
      code: 1,
    });
    const { message, details } = await failureOf(runAgentTurn(settings({ openclawBin: cli.bin }), turnOf()));
    expect(message).toBe(`the analyzer reported an error: ${text} ${text} (incomplete_turn) (exit 1); it last reported: ⚠️ Rate limit reached for fake-model; Retry-After: 3 seconds`);
    expect(details[1]).toEqual({
      session_id: 'healing-t', model: 'fake-model', provider: 'fake', tokens: 0, tokens_in: 0, tokens_out: 0,
      usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, cost_reported: null, tool_calls: null,
    });
    expect(details[2]).toBe(stderr);
  });

  it('when the CLI cannot start on a too-old Node, the failure carries what it said on stderr', async () => {
    const cli = await cannedCli('old-node', {
      stderr: 'openclaw: Node 20.20.2: node:sqlite is unavailable; use 24.16+/26.1+ or a build with the fix.\nIf you use nvm, run:\n  nvm install 26\n  nvm use 26\n  nvm alias default 26\n',
      code: 1,
    });
    const { message } = await failureOf(runAgentTurn(settings({ openclawBin: cli.bin }), turnOf()));
    expect(message).toBe(
      'openclaw agent exited 1: openclaw: Node 20.20.2: node:sqlite is unavailable; use 24.16+/26.1+ or a build with the fix. / If you use nvm, run: / nvm install 26 / nvm use 26 / nvm alias default 26',
    );
  });

  it('when the CLI fails with its Reason line, that reason is the failure', async () => {
    const cli = await cannedCli('no-model', {
      stderr: [
        '[diagnostic] lane task error: lane=main durationMs=1753 error="No route-compatible authentication source is configured for openai." errorName=Error',
        '[openclaw] The CLI command failed.',
        '[openclaw] Reason: No route-compatible authentication source is configured for openai.',
        '[openclaw] Debug: set OPENCLAW_DEBUG=1 to include the stack trace.',
        '[openclaw] Try: openclaw doctor',
      ].join('\n'),
      code: 1,
    });
    const { message } = await failureOf(runAgentTurn(settings({ openclawBin: cli.bin }), turnOf()));
    expect(message).toBe('openclaw agent exited 1: No route-compatible authentication source is configured for openai.');
  });

  it('when the CLI was killed before it said anything, the record names the model the config asked for', () => {
    expect(turnRecord('', 'healing-t', 'fake/fake-model')).toEqual({
      session_id: 'healing-t', model: 'fake-model', provider: 'fake', tokens: 0, tokens_in: 0, tokens_out: 0,
      usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, cost_reported: null, tool_calls: null,
    });
    expect(turnRecord(JSON.stringify(answer(reply('x'))), 'healing-t', 'other/model')).toMatchObject({ model: 'fake-model', provider: 'fake', tokens: 1290 });
  });

  it('runs a JavaScript entry with OPENCLAW_NODE, that Node first on PATH', async () => {
    const home = path.join(dir, 'js-entry');
    await mkdir(home, { recursive: true });
    const bin = path.join(home, 'openclaw.mjs'); // not executable: only `node openclaw.mjs` runs it
    await writeFile(
      bin,
      `const doc = ${JSON.stringify(answer('x'))};\n` +
        "const text = JSON.stringify({ proposed_content: process.execPath + ' ' + process.env.PATH.split(':')[0] });\n" +
        'doc.payloads[0].text = text; doc.meta.finalAssistantVisibleText = text;\n' +
        'process.stdout.write(JSON.stringify(doc));\n',
    );
    const result = await runAgentTurn(settings({ openclawBin: bin, openclawNode: process.execPath }), turnOf());
    expect(result.answer).toBe(`${process.execPath} ${path.dirname(process.execPath)}`);
  });
});
