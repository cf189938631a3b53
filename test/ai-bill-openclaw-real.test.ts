// The AI bill from a real OpenClaw turn: the pinned CLI against the loopback fake model server,
// its config giving the model a price, so OpenClaw itself reports the turn's cost. The service
// reads tokens in, out and total and that cost from the meta as the CLI prints it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { turnBill } from '../activities/analyze.js';
import { turnRecord } from '../activities/openclaw.js';
import { DEFAULT_AI_BILL } from '../core/ai-bill.js';
import { startFakeModelServer, type FakeModelServer } from './helpers/fake-model-server.js';
import { createStateDir, NO_TOOLS, runAgentTurn } from './helpers/openclaw-real.js';

const cli = inject('openclaw');
let server: FakeModelServer;
let scratch: string;

beforeAll(async () => {
  server = await startFakeModelServer();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-ai-bill-real-'));
});
afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('the AI bill of a real openclaw turn', () => {
  it('records the tokens the model reported, in and out, and the cost OpenClaw computed from its model price', async () => {
    server.respondWith({ kind: 'text', text: '{"suggestions": []}', usage: { prompt_tokens: 200_000, completion_tokens: 10_000 } });
    // OpenClaw's model price: per million tokens, as HEALING_AI_PRICES.
    const price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
    const models = {
      mode: 'merge',
      providers: {
        fake: {
          baseUrl: server.baseUrl, apiKey: 'sk-fake-test-key', api: 'openai-completions',
          models: [{ id: server.model, name: 'Fake model', reasoning: false, input: ['text'], cost: price, contextWindow: 400_000, maxTokens: 4096 }],
        },
      },
    };
    const stateDir = await createStateDir(server, { tools: NO_TOOLS, parent: scratch, sections: { models } });
    const turn = await runAgentTurn(cli, stateDir, 'Review job nightly-backup');
    expect(turn.code, turn.stderr).toBe(0);

    const record = turnRecord(turn.stdout, 'healing-bill', null);
    expect(record).toMatchObject({ tokens: 210_000, tokens_in: 200_000, tokens_out: 10_000, model: server.model, provider: 'fake' });
    const reported = turn.json.meta.agentMeta.usage.cost.total;
    expect(record.cost_reported).toBe(reported);
    expect(reported).toBeCloseTo((200_000 * 3 + 10_000 * 15) / 1e6, 6);
    // Reported by OpenClaw, it wins over a configured price.
    const prices = { [`fake/${server.model}`]: { input_per_mtok: 1, output_per_mtok: 1 } };
    expect(turnBill(record, { mode: 'openclaw', openclawBin: '', agent: null, thinking: null, timeoutSeconds: 1, bill: { ...DEFAULT_AI_BILL, prices } })).toMatchObject({
      tokens_in: 200_000, tokens_out: 10_000, cost: Math.round(reported * 1e6) / 1e6, cost_source: 'openclaw',
    });
  }, 120_000);
});
