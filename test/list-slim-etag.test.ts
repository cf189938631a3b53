// GET /healing/suggestions answers slim items (no long texts) unless fields=full asks for them,
// and every page has an ETag: asked again with If-None-Match it answers 304 while nothing on the
// page changed, and 200 with a new ETag once something did (a decision, a new suggestion, a new
// secret in the job's env that its masks must hide). A page is kept whole until Postgres announces
// a change of a suggestion, and a second at most.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SuggestionListAnswer } from '../api/schemas.js';
import { createSuggestion, etlJobYaml } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let yamlFile: string;
const LONG_TEXTS = ['description', 'current_state', 'suggested_change', 'expected_impact'];
const LIST = '/api/v1/healing/suggestions?job_id=etl';

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  await writeFile(yamlFile, etlJobYaml());
});
afterAll(async () => stack?.stop());

const get = (url: string, etag?: string) => fetch(stack.api + url, { headers: etag ? { 'if-none-match': etag } : {} });

/** The page's ETag once its rows are still (a new suggestion's workflow writes its row once started). */
const stillTag = (url: string) =>
  eventually(async () => {
    const etag = (await get(url)).headers.get('etag')!;
    return (await get(url, etag)).status === 304 ? etag : undefined;
  }, 10_000, `${url} unchanged between two requests`);

describe('list shapes', () => {
  it('the list is slim by default, full with fields=full; the detail keeps the long texts either way', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: etlJobYaml('  max_suggestions: 3\n'), suggestedChange: 'Cap the suggestions at 3.' });

    const slim = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=etl');
    expect(slim.status).toBe(200);
    expect(slim.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(SuggestionListAnswer.safeParse(slim.body).error).toBeUndefined();
    const item = slim.body.suggestions.find((s: { id: number }) => s.id === id);
    expect(item).toMatchObject({ id, job_id: 'etl', title: expect.any(String), target_file: yamlFile, status: 'pending', affected_files: [yamlFile] });
    for (const key of LONG_TEXTS) expect(item).not.toHaveProperty(key);

    const full = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=etl&fields=full');
    expect(full.status).toBe(200);
    expect(SuggestionListAnswer.safeParse(full.body).error).toBeUndefined();
    const fullItem = full.body.suggestions.find((s: { id: number }) => s.id === id);
    expect(fullItem).toMatchObject({ ...item, description: 'made by a test', suggested_change: 'Cap the suggestions at 3.', current_state: null, expected_impact: null });

    const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`);
    expect(detail.body).toMatchObject({ description: 'made by a test', suggested_change: 'Cap the suggestions at 3.' });

    const wrong = await http(stack.api, 'GET', '/api/v1/healing/suggestions?fields=everything');
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.body)).toContain('fields');
  });

  it('the OpenAPI document names fields, the list answer and its 304', async () => {
    const doc = (await http(stack.api, 'GET', '/api/v1/openapi.json')).body;
    const list = doc.paths['/healing/suggestions'].get;
    expect(list.parameters.find((p: { name: string }) => p.name === 'fields').schema).toMatchObject({ enum: ['slim', 'full'], default: 'slim' });
    expect(list.responses['200'].content['application/json'].schema.properties.suggestions).toBeDefined();
    expect(list.responses['304'].description).toContain('If-None-Match');
  });
});

describe('conditional requests', () => {
  it('an unchanged page answers 304 to its ETag; a decision on it, or a new suggestion, gives 200 with a new ETag', async () => {
    const first = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: etlJobYaml('  max_suggestions: 4\n') });
    expect((await get(LIST)).status).toBe(200);
    const etag = await stillTag(LIST);
    expect(etag).toMatch(/^W\/".+"$/);

    const again = await get(LIST, etag);
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    // another shape of the same page is another answer
    expect((await get(`${LIST}&fields=full`, etag)).status).toBe(200);

    const rejected = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${first}/reject`, { reason: 'not now' });
    expect(rejected.body.status).toBe('rejected');
    const afterDecision = await get(LIST, etag);
    expect(afterDecision.status).toBe(200);
    const decided = (await afterDecision.json()) as { suggestions: { id: number; status: string }[] };
    expect(decided.suggestions.find((s) => s.id === first)?.status).toBe('rejected');
    const etag2 = afterDecision.headers.get('etag')!;
    expect(etag2).not.toBe(etag);
    expect((await get(LIST, await stillTag(LIST))).status).toBe(304);

    const added = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: etlJobYaml('  max_suggestions: 5\n') });
    const afterInsert = await get(LIST, etag2);
    expect(afterInsert.status).toBe(200);
    expect(((await afterInsert.json()) as { suggestions: { id: number }[] }).suggestions.map((s) => s.id)).toContain(added);
    expect(afterInsert.headers.get('etag')).not.toBe(etag2);
  });

  it("a secret added to the job's env is masked in the list within a second, with a new ETag", async () => {
    const secret = 'wh-4f9c2e7a1b8d';
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: etlJobYaml('  max_suggestions: 6\n'), title: `Webhook ${secret} is sent in clear` });
    const etag = await stillTag(LIST);
    expect(await (await get(LIST)).text()).toContain(secret);

    await writeFile(yamlFile, etlJobYaml().replace('self_healing:', `env:\n  WEBHOOK_KEY: "${secret}"\nself_healing:`));
    const changed = await eventually(async () => {
      const answer = await get(LIST, etag);
      return answer.status === 200 && !(await answer.clone().text()).includes(secret) ? answer : undefined;
    }, 5_000, 'the secret masked once the env has it');
    expect(changed.headers.get('etag')).not.toBe(etag);
    const body = (await changed.json()) as { suggestions: { id: number; title: string }[] };
    expect(JSON.stringify(body)).not.toContain(secret);
    expect(body.suggestions.find((s) => s.id === id)?.title).toBe('Webhook wh-4…(15 chars) is sent in clear');
  });
});

describe('kept pages', () => {
  it('a page is kept until Postgres announces a change of a suggestion, and a change it does not announce shows within a second', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: etlJobYaml('  max_suggestions: 7\n'), title: 'kept page, first title' });
    await stillTag(LIST);
    const titleOf = async () => ((await (await get(LIST)).json()) as { suggestions: { id: number; title: string }[] }).suggestions.find((s) => s.id === id)?.title;
    expect(await titleOf()).toBe('kept page, first title');

    // Another process (the worker) writes the row: the page is built again once the feed has the notification.
    const announced = new Promise<void>((resolve) => {
      const stop = stack.changes.subscribe({
        change: (change) => {
          if (change.table !== 'suggestions' || change.id !== id) return;
          stop();
          resolve();
        },
        live: () => undefined,
        close: () => undefined,
      });
    });
    await stack.db('healing_suggestions').where({ id }).update({ title: 'kept page, announced title' });
    await announced;
    expect(await titleOf()).toBe('kept page, announced title');

    // Written with its triggers off (as a replica or a restore writes), no notification is sent:
    // the kept page is answered until it is a second old.
    await stack.db.transaction(async (trx) => {
      await trx.raw('set local session_replication_role = replica');
      await trx('healing_suggestions').where({ id }).update({ title: 'kept page, silent title' });
    });
    expect(await titleOf()).toBe('kept page, announced title');
    await eventually(async () => ((await titleOf()) === 'kept page, silent title' ? true : undefined), 1_500, 'the silent change shown once the kept page is a second old');
  });
});
