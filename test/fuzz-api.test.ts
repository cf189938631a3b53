// Property-based hostile input: thousands of generated bodies, query strings and path ids sent to
// every endpoint. Never a 5xx; a rejected request never changes a row or a file.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSuggestion } from './helpers/suggestions.js';
import { eventually, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
let suggestionId: number;
// The regression watch is off: it writes the action of an accepted apply in the background, which
// a later refused request's before/after snapshot would take for that request's doing.
const JOB_YAML = '# keep me\nname: ETL\ncmd: ./etl.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  watch:\n    enabled: false\n';

beforeAll(async () => {
  stack = await startStack({ commandRateLimit: 1_000_000 });
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  await writeFile(yamlFile, JOB_YAML);
  suggestionId = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: JOB_YAML.replace('keep me', 'changed') });
});
afterAll(async () => {
  // The figures docs/SECURITY.md and the README quote: how many requests, and what they got.
  const byStatus = [...answered.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`).join(', ');
  console.log(`[fuzz] ${[...answered.values()].reduce((a, b) => a + b, 0)} generated requests answered ${byStatus}`);
  await stack?.stop();
});

const answered = new Map<number, number>();

/** Everything a rejected request must leave as it was. */
async function snapshot(): Promise<string> {
  const tables = ['healing_reviews', 'healing_suggestions', 'healing_actions', 'job_runs'];
  const parts: string[] = [await readFile(yamlFile, 'utf8')];
  for (const table of tables) parts.push(JSON.stringify(await stack.db(table).orderBy('id')));
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** A request the API refused, and whether every row and file was left as it was. */
interface Refusal {
  request: string;
  unchanged: boolean;
}

/** Sends a generated command; a refused one is added to `refusals`, to be checked after the run. */
async function sendCommand(refusals: Refusal[], method: string, url: string, body: string): Promise<number> {
  const before = await snapshot();
  const status = await send(method, url, body);
  if (status >= 400) refusals.push({ request: `${status} ${method} ${url} ${body.slice(0, 80)}`, unchanged: (await snapshot()) === before });
  return status;
}

/** Some requests were refused, and none of them changed a row or a file. */
function expectRefusalsChangedNothing(refusals: Refusal[]): void {
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals.filter((r) => !r.unchanged).map((r) => r.request)).toEqual([]);
}

async function send(method: string, url: string, body?: string): Promise<number> {
  const response = await fetch(stack.api + url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body });
  await response.arrayBuffer();
  answered.set(response.status, (answered.get(response.status) ?? 0) + 1);
  // An accepted trigger goes on in the background: let it finish so the next snapshot is stable.
  if (response.status < 400 && method !== 'GET') await eventually(async () => !(await stack.db('healing_reviews').where({ status: 'running' }).first()), 30_000, 'reviews to settle');
  return response.status;
}

const jsonBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', 'null', '[]', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '{"reason":"\\u0000"}', '{"reason":"why\\u0000not","comment":"\\u0000"}', '{"external_id":"r\\u0000","started_at":"2026-11-23T02:00:00Z"}', '{"external_id":"r1","started_at":"2026-11-23T02:00:00Z","log_tail":"a\\u0000b","session_messages":[{"content":"\\u0000"}]}', `{"a":${'['.repeat(500)}`),
  fc.record({ reason: fc.anything(), comment: fc.anything(), apply: fc.anything(), force: fc.anything(), job_id: fc.anything() }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? 'null'),
);
const pathId = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('0', '-1', '1e9', '9007199254740993', '..%2F..%2Fetc%2Fpasswd', '%00', 'NaN', '1.5', ' 1', '0x10'),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
const query = fc
  .dictionary(
    fc.constantFrom('job_id', 'status', 'category', 'severity', 'trigger', 'limit', 'offset', 'review_id', 'suggestion_id', 'cursor', 'x[y]', '__proto__'),
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.integer().map(String),
      fc.constantFrom('-1', '501', '1e400', 'pending', 'applied', ''),
      // cursors shaped like the API's own, with impossible dates, offsets and ids
      fc
        .tuple(fc.constantFrom('2026-02-30 00:00:00+00', '2026-11-23 10:00:00+20', '2026-13-01 00:00:00+00', '0000-01-01 00:00:00+00', '2026-11-23 24:00:00.5+00', '2026-11-23 10:00:00+00'), fc.oneof(fc.integer(), fc.constant(2 ** 62)))
        .map((key) => Buffer.from(JSON.stringify(key)).toString('base64url')),
    ),
  )
  .map((q) => new URLSearchParams(q).toString());

const lists = ['/api/v1/healing/reviews', '/api/v1/healing/suggestions', '/api/v1/healing/actions', '/api/v1/healing/suggestions/pending/count', '/api/v1/jobs', '/api/v1/healing/stats', '/api/v1/healing/stats/ai'];
const byId = ['/api/v1/healing/reviews/', '/api/v1/healing/suggestions/', '/api/v1/healing/actions/', '/api/v1/jobs/', '/api/v1/healing/stats/'];
const commands: [string, string][] = [
  ['POST', '/api/v1/healing/trigger'],
  ['POST', '/api/v1/healing/reviews/etl/trigger'],
  ['POST', '/api/v1/jobs/etl/runs'],
  ['PUT', '/api/v1/jobs/etl/self-healing'],
];
const decisions = ['approve', 'reject', 'apply'];

describe('generated hostile requests', () => {
  it('list endpoints answer every query string without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), query, async (url, q) => {
        const status = await send('GET', `${url}?${q}`);
        expect(status, `${url}?${q}`).toBeLessThan(500);
      }),
      { numRuns: 600 },
    );
  });

  it('endpoints with a path id answer every id without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...byId), pathId, async (url, id) => {
        const status = await send('GET', url + id);
        expect(status, url + id).toBeLessThan(500);
      }),
      { numRuns: 600 },
    );
  });

  it('commands answer every body without a 5xx, and a rejected one changes no row and no file', async () => {
    const refusals: Refusal[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...commands), jsonBody, async ([method, url], body) => {
        const status = await sendCommand(refusals, method, url, body);
        expect(status, `${method} ${url} ${body.slice(0, 80)}`).toBeLessThan(500);
      }),
      { numRuns: 500 },
    );
    expectRefusalsChangedNothing(refusals);
  });

  it('decisions with hostile bodies or ids never 5xx, and rejected ones leave the suggestion as it was', async () => {
    const refusals: Refusal[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...decisions), fc.oneof(fc.constant(String(suggestionId)), pathId), jsonBody, async (decision, id, body) => {
        const status = await sendCommand(refusals, 'POST', `/api/v1/healing/suggestions/${id}/${decision}`, body);
        expect(status, `${decision} ${id} ${body.slice(0, 80)}`).toBeLessThan(500);
      }),
      { numRuns: 500 },
    );
    expectRefusalsChangedNothing(refusals);
    const rollback = await send('POST', '/api/v1/healing/actions/999999/rollback', '{"force":"maybe"}');
    expect(rollback).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
