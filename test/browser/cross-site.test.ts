// A page of another site, in a real browser (Debian's chromium), against the open API (no tokens,
// as `npm start` runs it on loopback): the commands a browser sends it without asking first (a
// no-cors fetch with a text/plain or empty body, a form) are refused and change nothing, while the
// same command from the API's own origin works. Clients that are not browsers are checked too.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSuggestion, etlJobYaml } from '../helpers/suggestions.js';
import { http, startStack, type Stack } from '../helpers/stack.js';
import { launchChromium } from './support.js';

let stack: Stack;
let browser: Browser;
let evil: Server;
let evilUrl: string;
let yamlFile: string;
const PROPOSED = etlJobYaml('  max_suggestions: 2\n');

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchChromium()]);
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  await writeFile(yamlFile, etlJobYaml());
  // Another origin: another port on the same host (the same site, to a browser).
  evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await stack?.stop();
});

/** Runs `script` in a page at `origin` with the API's address and a suggestion id; answers what it answers. */
async function fromPage<T>(origin: string, id: number, script: (arg: { api: string; id: number }) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(origin);
    return await page.evaluate(script, { api: stack.api, id });
  } finally {
    await context.close();
  }
}

const statusOf = async (id: number) => ((await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body as { status: string }).status;

describe("another site's page", () => {
  it('cannot approve, apply, reject or trigger through the open API: no-cors fetches and a form change nothing', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED });
    const reviewsBefore = Number((await stack.db('healing_reviews').where({ job_id: 'etl' }).count<{ n: string }[]>({ n: '*' }))[0]!.n);
    // Each is sent and carried out by an API that does not refuse it; the page only sees a network
    // error (Cross-Origin-Resource-Policy hides the answer), so what counts is what changed.
    await fromPage(evilUrl, id, async ({ api, id }) => {
      await Promise.allSettled([
        fetch(`${api}/api/v1/healing/suggestions/${id}/approve`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }),
        fetch(`${api}/api/v1/healing/suggestions/${id}/apply`, { method: 'POST', mode: 'no-cors' }),
        fetch(`${api}/api/v1/healing/suggestions/${id}/reject`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"reason":"x"}' }),
        fetch(`${api}/api/v1/healing/reviews/etl/trigger`, { method: 'POST', mode: 'no-cors' }),
      ]);
    });
    // A form posts too, and navigates to the answer.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(evilUrl);
    await page.setContent(`<form method="post" action="${stack.api}/api/v1/healing/suggestions/${id}/approve"><input name="apply" value="true"></form>`);
    await Promise.all([page.waitForNavigation(), page.evaluate(() => document.forms[0]!.submit())]);
    expect(await page.textContent('body')).toContain("commands from another site's page are refused");
    await context.close();

    expect(await statusOf(id)).toBe('pending');
    expect(await readFile(yamlFile, 'utf8')).toBe(etlJobYaml());
    const reviewsAfter = Number((await stack.db('healing_reviews').where({ job_id: 'etl' }).count<{ n: string }[]>({ n: '*' }))[0]!.n);
    expect(reviewsAfter).toBe(reviewsBefore);
  });

  it("the same approval from the API's own origin (the dashboard's) applies", async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED });
    const answer = await fromPage(`${stack.api}/api/v1/`, id, ({ api, id }) =>
      fetch(`${api}/api/v1/healing/suggestions/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status),
    );
    expect(answer).toBe(200);
    expect(await statusOf(id)).toBe('applied');
    await writeFile(yamlFile, etlJobYaml());
  });
});

describe('clients that are not browsers', () => {
  it('a command naming another Origin is a 403, a body that is not JSON a 415; without an Origin, JSON works', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED });
    const url = `${stack.api}/api/v1/healing/suggestions/${id}/reject`;
    const foreign = await fetch(url, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{"reason":"x"}' });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ success: false, detail: { origin: 'http://evil.example' } });
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"reason":"x"}' });
    expect(plain.status).toBe(415);
    expect((await plain.json()).error).toContain('Content-Type: application/json');
    expect(await statusOf(id)).toBe('pending');
    const ownOrigin = await fetch(url, { method: 'POST', headers: { origin: stack.api, 'content-type': 'application/json' }, body: '{"reason":"not now"}' });
    expect(ownOrigin.status).toBe(200);
    expect(await statusOf(id)).toBe('rejected');
  });
});
