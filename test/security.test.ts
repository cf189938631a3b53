// Auth, roles, the two-person rule, security headers and request limits, on the real stack.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokens } from '../api/auth.js';
import { createSuggestion } from './helpers/suggestions.js';
import { http, startStack, type Stack } from './helpers/stack.js';

const TOKENS = {
  alice: 'alice-approver-token-0123456789',
  bob: 'bob-approver-token-9876543210xx',
  carol: 'carol-viewer-token-abcdefghijkl',
  root: 'root-admin-token-zyxwvutsrqpon',
};

let stack: Stack;
let yamlFile: string;
const JOB_YAML = 'name: ETL\ncmd: ./etl.sh\nself_healing:\n  enabled: true\n';
const PROPOSED = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:');

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-tokens-'));
  const file = path.join(dir, `tokens-${process.pid}.yaml`);
  await writeFile(
    file,
    `tokens:\n  - { name: alice, role: approver, token: ${TOKENS.alice} }\n  - { name: bob, role: approver, token: ${TOKENS.bob} }\n  - { name: carol, role: viewer, token: ${TOKENS.carol} }\n`,
  );
  const tokens = loadTokens({ apiToken: TOKENS.root, tokensFile: file });
  stack = await startStack({ tokens, commandRateLimit: 30 });
  await mkdir(stack.jobsDir, { recursive: true });
  yamlFile = path.join(stack.jobsDir, 'etl.yaml');
  await writeFile(yamlFile, JOB_YAML);
});
afterAll(async () => stack?.stop());

describe('bearer tokens and roles', () => {
  it('when no token or a wrong one is sent, every API call answers 401 and changes nothing', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED });
    for (const token of [undefined, 'wrong-token-wrong-token', `${TOKENS.alice}x`, TOKENS.alice.slice(0, -1)]) {
      const read = await http(stack.api, 'GET', '/api/v1/healing/suggestions', undefined, token);
      expect(read.status).toBe(401);
      expect(read.headers.get('www-authenticate')).toMatch(/Bearer/);
      const approve = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, token);
      expect(approve.status).toBe(401);
    }
    const forged = await fetch(`${stack.api}/api/v1/healing/suggestions`, { headers: { referer: stack.api, origin: stack.api, 'x-forwarded-for': '127.0.0.1' } });
    expect(forged.status).toBe(401);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });

  it('when health is asked without a token, it tells reachability only; with one, the details', async () => {
    const open = await http(stack.api, 'GET', '/health');
    expect(Object.keys(open.body).sort()).toEqual(['postgres', 'status', 'temporal', 'worker']);
    expect(open.body.temporal).toEqual({ ok: true });
    const full = await http(stack.api, 'GET', '/health', undefined, TOKENS.carol);
    expect(full.body).toMatchObject({ status: 'ok', analyzer: { active: expect.any(String) }, temporal: { ok: true, namespace: expect.any(String) } });
  });

  it('when metrics are scraped without a token, 401; with one, Prometheus text', async () => {
    expect((await fetch(`${stack.api}/metrics`)).status).toBe(401);
    const scraped = await fetch(`${stack.api}/metrics`, { headers: { authorization: `Bearer ${TOKENS.carol}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^# HELP/m);
  });

  it('when a viewer tries to decide, it is a 403; an approver decides and is recorded by name', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: null, proposed: null });
    const viewer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'no' }, TOKENS.carol);
    expect(viewer.status).toBe(403);
    expect(viewer.body.error).toMatch(/viewer/);
    expect((await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`, undefined, TOKENS.carol)).status).toBe(200);
    const approver = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/reject`, { reason: 'not now' }, TOKENS.alice);
    expect(approver.status).toBe(200);
    const row = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`, undefined, TOKENS.carol)).body;
    expect(row).toMatchObject({ status: 'rejected', reviewed_by: 'alice', rejection_reason: 'not now' });
  });

  it('when a job config is edited, only an admin may', async () => {
    const asApprover = await http(stack.api, 'PUT', '/api/v1/jobs/etl/self-healing', { enabled: false }, TOKENS.bob);
    expect(asApprover.status).toBe(403);
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
  });
});

describe('two approvers for critical and security suggestions', () => {
  it('when alice approves a critical suggestion it waits; alice again is refused; bob applies it', async () => {
    const id = await createSuggestion(stack, { jobId: 'etl', targetFile: yamlFile, proposed: PROPOSED, severity: 'critical', input: { requiredApprovals: 2 } });
    const first = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    expect(first.body).toMatchObject({ status: 'pending', approvals_needed: 1 });
    expect(await readFile(yamlFile, 'utf8')).toBe(JOB_YAML);
    const again = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/alice has already approved/);
    const second = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.bob);
    expect(second.body.status).toBe('applied');
    expect(await readFile(yamlFile, 'utf8')).toBe(PROPOSED);
    const row = (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`, undefined, TOKENS.carol)).body;
    expect(row.approvals.map((a: { by: string }) => a.by)).toEqual(['alice', 'bob']);
    expect(row.reviewed_by).toBe('bob');
  });
});

describe('headers and limits', () => {
  it('answers with security headers and no CORS grant to other origins', async () => {
    const answer = await fetch(`${stack.api}/health`, { headers: { origin: 'https://evil.example' } });
    expect(answer.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('x-frame-options')).toBeTruthy();
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${stack.api}/api/v1/healing/trigger`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('when a body is over 1 MB it is refused with 413, in the error body', async () => {
    const answer = await http(stack.api, 'POST', '/api/v1/jobs/etl/runs', { external_id: 'x', started_at: new Date().toISOString(), log_tail: 'x'.repeat(1_100_000) }, TOKENS.alice);
    expect(answer.status).toBe(413);
    expect(answer.body.success).toBe(false);
  });

  it('when a caller sends commands faster than the limit, it gets 429 and reads still work', async () => {
    const answers = [];
    for (let i = 0; i < 35; i++) answers.push((await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: 'nope' }, TOKENS.bob)).status);
    expect(answers).toContain(429);
    expect(answers.filter((s) => s === 404).length).toBeLessThanOrEqual(30);
    expect((await http(stack.api, 'GET', '/api/v1/healing/reviews', undefined, TOKENS.bob)).status).toBe(200);
  });
});
