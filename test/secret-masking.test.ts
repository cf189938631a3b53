// Secrets in file contents the API serves: masked in suggestions, their diffs, actions, a
// rollback's conflict diff and a review's raw answer, for every role; only an admin sees them in
// full (raw=true), and that is logged. The apply still writes the real content.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadTokens } from '../api/auth.js';
import { mask } from '../core/secrets.js';
import { createSuggestion } from './helpers/suggestions.js';
import { http, startStack, type Stack } from './helpers/stack.js';

const TOKENS = {
  alice: 'alice-approver-token-0123456789',
  carol: 'carol-viewer-token-abcdefghijkl',
  root: 'root-admin-token-zyxwvutsrqpon',
};

const SECRET = 'sk_live_51HxQmaskingTestToken0123456789';
const ROTATED = 'sk_live_51HxQmaskingTestTokenABCDEFGHIJ';
const PASSWORD = 'Xk9-pQ2-zz81-partner';
const ENV_VALUE = 'partner-4711-x';
const JOB_YAML = `name: Report\ncmd: ./report.sh\nenv:\n  PARTNER_ID: "${ENV_VALUE}"\nself_healing:\n  enabled: true\n`;
const SCRIPT = [
  '#!/bin/bash',
  `API_TOKEN=${SECRET}`,
  `PARTNER_PASSWORD='${PASSWORD}'`,
  `curl -sf -u "report:$PARTNER_PASSWORD" -H "Authorization: Bearer $API_TOKEN" "https://partner.example.com/report?id=${ENV_VALUE}"`,
  '',
].join('\n');
/** Takes the token out of the script. */
const WITHOUT_TOKEN = SCRIPT.replace(`API_TOKEN=${SECRET}`, 'API_TOKEN="${API_TOKEN:?set API_TOKEN in the job env}"');
/** Keeps the secrets and adds a line: what the apply writes must be this, secrets included. */
const WITH_STRICT_MODE = SCRIPT.replace('#!/bin/bash\n', '#!/bin/bash\nset -euo pipefail\n');

let stack: Stack;
let scriptFile: string;
const logged: Record<string, unknown>[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-tokens-'));
  const tokensFile = path.join(dir, 'tokens.yaml');
  await writeFile(tokensFile, `tokens:\n  - { name: alice, role: approver, token: ${TOKENS.alice} }\n  - { name: carol, role: viewer, token: ${TOKENS.carol} }\n`);
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
  stack = await startStack({ tokens: loadTokens({ apiToken: TOKENS.root, tokensFile }), log });
  await mkdir(stack.jobsDir, { recursive: true });
  scriptFile = path.join(stack.jobsDir, 'report.sh');
});
beforeEach(async () => {
  await writeFile(path.join(stack.jobsDir, 'report.yaml'), JOB_YAML);
  await writeFile(scriptFile, SCRIPT, { mode: 0o755 });
  logged.length = 0;
});
afterAll(async () => stack?.stop());

const get = (url: string, token: string) => http(stack.api, 'GET', `/api/v1${url}`, undefined, token);
/** The whole answer as the client receives it: no secret anywhere in it. */
const expectNoSecret = (body: unknown) => {
  const text = JSON.stringify(body);
  for (const secret of [SECRET, ROTATED, PASSWORD, ENV_VALUE]) expect(text).not.toContain(secret);
};
const rawReads = () => logged.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('secrets shown in full'));

describe('masked for every role', () => {
  it('when a suggestion removes a hard-coded token, its detail, diff and list row show masks for a viewer, an approver and an admin', async () => {
    const id = await createSuggestion(stack, {
      jobId: 'report',
      targetFile: scriptFile,
      proposed: WITHOUT_TOKEN,
      title: 'Hard-coded secret in script',
      suggestedChange: `Read API_TOKEN from the environment instead of API_TOKEN=${SECRET}.`,
    });
    for (const token of [TOKENS.carol, TOKENS.alice, TOKENS.root]) {
      const detail = await get(`/healing/suggestions/${id}`, token);
      expect(detail.status).toBe(200);
      expectNoSecret(detail.body);
      expect(detail.body).toMatchObject({ masked: true, secrets_masked: 3 });
      expect(detail.body.current_content).toBe(
        SCRIPT.replace(SECRET, mask(SECRET)).replace(PASSWORD, mask(PASSWORD)).replace(ENV_VALUE, mask(ENV_VALUE)),
      );
      // The line whose secret the proposal removes still shows as changed, without the value.
      expect(detail.body.diff).toContain(`\n-API_TOKEN=${mask(SECRET)}\n`);
      expect(detail.body.diff).toContain('\n+API_TOKEN="${API_TOKEN:?set API_TOKEN in the job env}"\n');
      expect(detail.body.suggested_change).toBe(`Read API_TOKEN from the environment instead of API_TOKEN=${mask(SECRET)}.`);

      const list = await get('/healing/suggestions?job_id=report', token);
      expect(list.status).toBe(200);
      expect(list.body.suggestions.map((s: { id: number }) => s.id)).toContain(id);
      expectNoSecret(list.body);
    }
    expect(rawReads()).toEqual([]);
  });

  it('when the suggestion is applied, the file gets the real content while the action detail shows masks', async () => {
    const id = await createSuggestion(stack, { jobId: 'report', targetFile: scriptFile, proposed: WITH_STRICT_MODE });
    const applied = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    expect(applied.status).toBe(200);
    expect(applied.body.status).toBe('applied');
    expect(await readFile(scriptFile, 'utf8')).toBe(WITH_STRICT_MODE);

    const action = await get(`/healing/actions/${applied.body.action_id}`, TOKENS.carol);
    expect(action.status).toBe(200);
    expectNoSecret(action.body);
    expect(action.body).toMatchObject({ masked: true, secrets_masked: 3 });
    expect(action.body.new_content).toBe(
      WITH_STRICT_MODE.replace(SECRET, mask(SECRET)).replace(PASSWORD, mask(PASSWORD)).replace(ENV_VALUE, mask(ENV_VALUE)),
    );
    expect(action.body.diff).toContain('\n+set -euo pipefail\n');
    expect(action.body.diff).toContain(` API_TOKEN=${mask(SECRET)}\n`);
  });

  it('when a rollback is refused because the token was rotated by hand, the 409 diff shows the change with masks; force restores the real original', async () => {
    const id = await createSuggestion(stack, { jobId: 'report', targetFile: scriptFile, proposed: WITH_STRICT_MODE });
    const applied = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    expect(applied.body.status).toBe('applied');
    await writeFile(scriptFile, WITH_STRICT_MODE.replace(SECRET, ROTATED));

    const conflict = await http(stack.api, 'POST', `/api/v1/healing/actions/${applied.body.action_id}/rollback`, {}, TOKENS.alice);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toBe(`${scriptFile} was changed after the apply; roll back with force to overwrite those changes`);
    expectNoSecret(conflict.body);
    // Two values with the same mask text: the new one is told apart, so the line shows changed.
    expect(conflict.body.detail.diff).toContain(`\n-API_TOKEN=${mask(SECRET)}\n+API_TOKEN=${mask(ROTATED)}#2\n`);
    expect(conflict.body.detail.secrets_masked).toBe(4);

    const forced = await http(stack.api, 'POST', `/api/v1/healing/actions/${applied.body.action_id}/rollback`, { force: true }, TOKENS.alice);
    expect(forced.status).toBe(200);
    expect(await readFile(scriptFile, 'utf8')).toBe(SCRIPT);
  });

  it("when a review's raw answer echoes the file's password without its key, the review detail masks it", async () => {
    const id = await createSuggestion(stack, { jobId: 'report', targetFile: scriptFile, proposed: WITHOUT_TOKEN });
    const { review_id: reviewId } = await stack.db('healing_suggestions').where({ id }).first('review_id');
    const answer = JSON.stringify({ suggestions: [{ title: 'Secrets in clear', current_state: `the script sends ${PASSWORD} and ${SECRET} in clear` }] });
    await stack.db('healing_reviews').where({ id: reviewId }).update({ raw_response: answer });

    const review = await get(`/healing/reviews/${reviewId}`, TOKENS.carol);
    expect(review.status).toBe(200);
    expectNoSecret(review.body);
    expect(review.body.raw_response).toBe(answer.replace(PASSWORD, mask(PASSWORD)).replace(SECRET, mask(SECRET)));
    expect(review.body).toMatchObject({ masked: true, secrets_masked: 2 });
    expect(review.body.suggestions.map((s: { id: number }) => s.id)).toEqual([id]);
  });
});

describe('raw=true', () => {
  it('when an admin asks raw=true, the suggestion, action and review come as stored, and each read is logged with who and which row', async () => {
    const id = await createSuggestion(stack, { jobId: 'report', targetFile: scriptFile, proposed: WITH_STRICT_MODE });
    const applied = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {}, TOKENS.alice);
    const { review_id: reviewId } = await stack.db('healing_suggestions').where({ id }).first('review_id');
    await stack.db('healing_reviews').where({ id: reviewId }).update({ raw_response: `echo ${SECRET}` });

    const suggestion = await get(`/healing/suggestions/${id}?raw=true`, TOKENS.root);
    expect(suggestion.status).toBe(200);
    expect(suggestion.body).toMatchObject({ current_content: SCRIPT, proposed_content: WITH_STRICT_MODE, masked: false, secrets_masked: 0 });
    expect(suggestion.body.diff).toContain(` API_TOKEN=${SECRET}\n`);
    const action = await get(`/healing/actions/${applied.body.action_id}?raw=true`, TOKENS.root);
    expect(action.body).toMatchObject({ original_content: SCRIPT, new_content: WITH_STRICT_MODE, masked: false });
    const review = await get(`/healing/reviews/${reviewId}?raw=true`, TOKENS.root);
    expect(review.body).toMatchObject({ raw_response: `echo ${SECRET}`, masked: false });
    // raw=false is the default, said out loud
    expect((await get(`/healing/suggestions/${id}?raw=false`, TOKENS.root)).body.masked).toBe(true);

    expect(rawReads().map((l) => ({ actor: l.actor, row: l.row, level: l.level }))).toEqual([
      { actor: 'admin', row: `suggestion ${id}`, level: 40 },
      { actor: 'admin', row: `action ${applied.body.action_id}`, level: 40 },
      { actor: 'admin', row: `review ${reviewId}`, level: 40 },
    ]);
  });

  it('when a viewer or an approver asks raw=true, it is a 403 saying an admin token is needed, and nothing is logged as read', async () => {
    const id = await createSuggestion(stack, { jobId: 'report', targetFile: scriptFile, proposed: WITHOUT_TOKEN });
    for (const [name, token, role] of [['carol', TOKENS.carol, 'viewer'], ['alice', TOKENS.alice, 'approver']] as const) {
      const answer = await get(`/healing/suggestions/${id}?raw=true`, token);
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe(
        `raw=true shows suggestion ${id}'s secrets in full and needs an admin token; token "${name}" has role ${role}. Without raw the secrets are masked`,
      );
      expectNoSecret(answer.body);
    }
    expect(rawReads()).toEqual([]);
  });

  it('when a detail is asked with an unknown parameter or a raw that is not true/false, it is a 400 naming it', async () => {
    const id = await createSuggestion(stack, { jobId: 'report', targetFile: scriptFile, proposed: WITHOUT_TOKEN });
    const unknown = await get(`/healing/suggestions/${id}?rwa=true`, TOKENS.root);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid query: rwa: unknown parameter; accepted: raw');
    const bad = await get(`/healing/actions/1?raw=yes`, TOKENS.root);
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toEqual([{ field: 'raw', reason: expect.stringMatching(/true|false/) }]);
  });
});
