// The real `openclaw` CLI (pinned, installed by scripts/openclaw-cli.mjs) against the loopback fake
// model server, run directly: the answer and its exact token counts, and a model that tries to run a
// shell command getting no tool to do it with.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from './helpers/fake-model-server.js';
import { createStateDir, NO_TOOLS, runAgentTurn } from './helpers/openclaw-real.js';

// A real turn takes 15-60 s of wall time on a busy 2-core machine (docs/OPENCLAW-REAL.md).
const TURN_TEST_TIMEOUT_MS = 240_000;

const cli = inject('openclaw');
let server: FakeModelServer;
let scratch: string;

beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-openclaw-real-'));
  server.requests.length = 0;
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fake model answer that asks for `exec` to create `file`, then (given the tool result) says it is done. */
function answerWithTouch(file: string) {
  server.respondWith(
    { kind: 'tool-call', name: 'exec', args: { command: `touch ${file}` }, usage: { prompt_tokens: 100, completion_tokens: 10 } },
    { kind: 'text', text: 'done', usage: { prompt_tokens: 200, completion_tokens: 20 } },
  );
}

describe('the real openclaw CLI', () => {
  it('is the pinned version', () => {
    expect(cli.version).toBe('OpenClaw 2026.9.6 (eb377ac)');
  });

  it('when the model answers, prints its text and exactly the tokens the model reported, and the model saw the prompt file', async () => {
    server.respondWith({ kind: 'text', text: '{"suggestions": []}', usage: { prompt_tokens: 1234, completion_tokens: 56 } });
    const stateDir = await createStateDir(server, { tools: NO_TOOLS, parent: scratch });
    const turn = await runAgentTurn(cli, stateDir, 'Review job nightly-backup: PROMPT-MARKER-7f3a');

    expect(turn.code, turn.stderr).toBe(0);
    expect(turn.json.payloads).toEqual([{ text: '{"suggestions": []}', mediaUrl: null }]);
    expect(turn.json.meta).toMatchObject({ stopReason: 'stop', finalAssistantVisibleText: '{"suggestions": []}' });
    expect(turn.json.meta.agentMeta).toMatchObject({ provider: 'fake', model: server.model });
    expect(turn.json.meta.agentMeta.usage).toEqual({ input: 1234, output: 56, cacheRead: 0, cacheWrite: 0, total: 1290, cost: { total: 0 } });

    const chats = server.chatRequests();
    expect(chats).toHaveLength(1);
    expect(chats[0]!.authorization).toBe('Bearer sk-fake-test-key');
    const userText = chats[0]!.body.messages.filter((m: any) => m.role === 'user').map((m: any) => JSON.stringify(m.content)).join('\n');
    expect(userText).toContain('Review job nightly-backup: PROMPT-MARKER-7f3a');
  }, TURN_TEST_TIMEOUT_MS);

  it('with tools denied, a model that calls exec is offered no tool, gets "Tool exec not found", and nothing runs', async () => {
    const sentinel = path.join(scratch, 'sentinel');
    answerWithTouch(sentinel);
    const stateDir = await createStateDir(server, { tools: NO_TOOLS, parent: scratch });
    const turn = await runAgentTurn(cli, stateDir, 'Say hello.');

    expect(existsSync(sentinel)).toBe(false);
    expect(turn.code, turn.stderr).toBe(0);
    expect(turn.json.meta.toolSummary).toMatchObject({ calls: 1, tools: ['exec'], failures: 1 });
    expect(turn.json.meta.agentMeta.terminalReceipt.successfulToolNames).toEqual([]);
    const [first, second] = server.chatRequests();
    expect(first!.body.tools).toBeUndefined();
    expect(second!.body.messages.find((m: any) => m.role === 'tool')).toMatchObject({ content: 'Tool exec not found' });
  }, TURN_TEST_TIMEOUT_MS);

  // The control for the test above: the same answer really does run when tools are left on.
  it("with OpenClaw's default tools, the same exec call creates the file", async () => {
    const sentinel = path.join(scratch, 'sentinel');
    answerWithTouch(sentinel);
    const stateDir = await createStateDir(server, { parent: scratch });
    const turn = await runAgentTurn(cli, stateDir, 'Say hello.');

    expect(turn.code, turn.stderr).toBe(0);
    expect(existsSync(sentinel)).toBe(true);
    expect(turn.json.meta.toolSummary).toMatchObject({ calls: 1, tools: ['exec'], failures: 0 });
    expect(turn.json.meta.agentMeta.terminalReceipt.successfulToolNames).toEqual(['exec']);
  }, TURN_TEST_TIMEOUT_MS);
});
