// What a review may read (issue 14): a run report's log_path and a job's business_log only inside
// the job's own places (cwd, its YAML's folder, ProcClaw's logs, HEALING_LOG_ROOTS), symlinks
// resolved; run times in the future refused; the business-log view. Real stack, through the API.
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RUN_CLOCK_SKEW_MS } from '../api/schemas.js';
import { upsertRun } from '../db/runs.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

/** An error line the rules analyzer quotes when it recurs, with a sentinel to look for. */
const LINE = 'ERROR: ledger.db is locked by another writer (SENTINEL-7731)';
const SENTINEL = 'SENTINEL-7731';
const ENV_PASSWORD = 'Tr0ub4dor-and-3';
const GITHUB_TOKEN = `ghp_${'a1B2c3D4e5'.repeat(4)}`;

let stack: Stack;
/** a folder HEALING_LOG_ROOTS lists */
let listedRoot: string;
/** a folder nobody lists, outside every job's places */
let unlisted: string;
/** root-only (mode 600), in the home folder but outside every job's folder */
let rootOnly: string;
let promptFile: string;
let replyFile: string;
let externalId = 0;

const cwdOf = (jobId: string) => path.join(stack.jobsDir, jobId);

function job(id: string, extra = ''): string {
  return `name: ${id}\ncmd: ./run.sh\ncwd: ./${id}\ntype: scheduled\n${extra}self_healing:\n  enabled: true\n  mode: proactive\n`;
}

beforeAll(async () => {
  listedRoot = await mkdtemp(path.join(os.tmpdir(), 'healing-listed-root-'));
  unlisted = await mkdtemp(path.join(os.tmpdir(), 'healing-unlisted-'));
  stack = await startStack({ logRoots: [listedRoot] });
  const privateDir = path.join(stack.workDir, 'private');
  await mkdir(privateDir, { recursive: true });
  rootOnly = path.join(privateDir, 'root-only.log');
  await writeFile(rootOnly, `starting\n${LINE}\n`);
  await chmod(rootOnly, 0o600);
  promptFile = path.join(unlisted, 'prompt.txt');
  replyFile = path.join(unlisted, 'reply.txt');
  await writeFile(replyFile, '{"suggestions": []}');

  for (const id of ['guarded', 'readable', 'legacy', 'legacy-ai', 'plain']) {
    await mkdir(cwdOf(id), { recursive: true });
    await writeFile(path.join(stack.jobsDir, `${id}.yaml`), job(id));
  }
  await mkdir(cwdOf('biz'), { recursive: true });
  await writeFile(
    path.join(stack.jobsDir, 'biz.yaml'),
    `${job('biz', `env:\n  DB_PASSWORD: "${ENV_PASSWORD}"\n`)}  business_log:\n    path: ${path.join(cwdOf('biz'), 'business.jsonl')}\n    max_lines: 50\n`,
  );
  // Written by hand (not through the API) with a path outside: it must never be read either.
  await mkdir(cwdOf('biz-outside'), { recursive: true });
  await writeFile(path.join(stack.jobsDir, 'biz-outside.yaml'), `${job('biz-outside')}  business_log:\n    path: ${rootOnly}\n`);
});

afterEach(() => {
  stack.analyzer.mode = 'rules';
  delete process.env.FAKE_OPENCLAW_MODE;
  delete process.env.FAKE_OPENCLAW_REPLY;
  delete process.env.FAKE_OPENCLAW_PROMPT_FILE;
});

afterAll(async () => {
  await stack?.stop();
  for (const dir of [listedRoot, unlisted]) if (dir) await rm(dir, { recursive: true, force: true });
});

function report(jobId: string, fields: Record<string, unknown>) {
  const startedAt = new Date(Date.now() - 3_600_000 + externalId * 1000).toISOString();
  return http(stack.api, 'POST', `/api/v1/jobs/${jobId}/runs`, { external_id: `run-${++externalId}`, started_at: startedAt, exit_code: 1, ...fields });
}

function expectRefused(answer: { status: number; body: any }, field: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(answer.body.success).toBe(false);
  expect(answer.body.error).toMatch(new RegExp(`^invalid (body|self_healing): ${field.replace('.', '\\.')}: resolves \\(through symlinks\\) to a place outside the job's folders; a log must lie inside one of: `));
  expect(answer.body.detail).toEqual([{ field, reason: expect.stringMatching(/^resolves \(through symlinks\) to a place outside/) }]);
}

/** Starts a forced review of the job and waits for its end; with `prompt`, through the fake openclaw, keeping the prompt. */
async function reviewOf(jobId: string, opts: { prompt?: boolean } = {}): Promise<{ review: any; text: string; prompt: string | null }> {
  if (opts.prompt) {
    stack.analyzer.mode = 'openclaw';
    process.env.FAKE_OPENCLAW_MODE = 'reply-file';
    process.env.FAKE_OPENCLAW_REPLY = replyFile;
    process.env.FAKE_OPENCLAW_PROMPT_FILE = promptFile;
    await rm(promptFile, { force: true });
  }
  const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: jobId, force: true });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const review = await eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
  }, 90_000, `the review of ${jobId}`);
  expect(review.status, review.error_message).toBe('completed');
  // Everything a viewer can open: the review, and each suggestion in full.
  const details = await Promise.all(review.suggestions.map((s: any) => http(stack.api, 'GET', `/api/v1/healing/suggestions/${s.id}`)));
  const text = JSON.stringify([review, ...details.map((d) => d.body)]);
  return { review, text, prompt: opts.prompt ? await readFile(promptFile, 'utf8') : null };
}

describe('a run report names its log', () => {
  it('when log_path is a root-only file outside every job folder, the report is refused with 400 naming log_path and no run is stored', async () => {
    const answer = await report('guarded', { external_id: 'steal-1', log_path: rootOnly });
    expectRefused(answer, 'log_path');
    expect(answer.body.error).toContain(`${cwdOf('guarded')} (its cwd)`);
    expect(answer.body.error).not.toContain(SENTINEL);
    const runs = await http(stack.api, 'GET', '/api/v1/jobs/guarded/runs');
    expect(runs.body.runs.map((r: any) => r.external_id)).not.toContain('steal-1');
  });

  it('when log_path is a symlink inside the job folder pointing outside, or goes through a symlinked folder, the report is refused', async () => {
    const link = path.join(cwdOf('guarded'), 'innocent.log');
    await symlink(rootOnly, link);
    expectRefused(await report('guarded', { log_path: link }), 'log_path');
    // A file not written yet, under a folder that is a symlink to outside.
    const escape = path.join(cwdOf('guarded'), 'escape');
    await symlink(path.dirname(rootOnly), escape);
    expectRefused(await report('guarded', { log_path: path.join(escape, 'not-yet.log') }), 'log_path');
    // ".." that leaves the job folder.
    expectRefused(await report('guarded', { log_path: `${cwdOf('guarded')}/../../private/root-only.log` }), 'log_path');
  });

  it('when log_path is relative, the report is refused: nothing says which folder it is relative to', async () => {
    const answer = await report('guarded', { log_path: 'logs/run.log' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      success: false,
      error: 'invalid body: log_path: must be an absolute path (or start with ~/)',
      detail: [{ field: 'log_path', reason: 'must be an absolute path (or start with ~/)' }],
    });
  });

  it('when HEALING_LOG_ROOTS lists a folder, a log there is accepted; a folder it does not list is still refused', async () => {
    const listed = path.join(listedRoot, 'guarded.log');
    await writeFile(listed, 'ok\n');
    const accepted = await report('guarded', { log_path: listed });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    expect(accepted.body.run.log_path).toBe(listed);
    const other = path.join(unlisted, 'guarded.log');
    await writeFile(other, 'ok\n');
    const refused = await report('guarded', { log_path: other });
    expectRefused(refused, 'log_path');
    // Places are listed resolved (macOS: /var is /private/var).
    expect(refused.body.error).toContain(`${await realpath(listedRoot)} (HEALING_LOG_ROOTS)`);
  });

  it("when the logs lie inside the job's cwd (one not written yet), the reports are accepted and the review quotes their lines", async () => {
    for (let i = 0; i < 3; i++) {
      const log = path.join(cwdOf('readable'), 'logs', `run-${i}.log`);
      await mkdir(path.dirname(log), { recursive: true });
      await writeFile(log, `starting run ${i}\n${LINE}\n`);
      expect((await report('readable', { log_path: log })).status).toBe(201);
    }
    expect((await report('readable', { log_path: path.join(cwdOf('readable'), 'logs', 'still-writing.log'), exit_code: null })).status).toBe(201);
    const { review, text } = await reviewOf('readable');
    // This is the contrast the next tests rely on: a log that is read is quoted to every viewer.
    expect(review.suggestions.map((s: any) => s.title)).toContain('Recurring error in run logs');
    expect(text).toContain(SENTINEL);
  });

  it('when a run stored earlier (before this check) names a log outside the job folders, no review reads it: not in suggestions, not in the prompt', async () => {
    const now = Date.now();
    // Two jobs with the same history: one reviewed by the rules (what viewers see), one through the AI (what it is sent).
    for (const jobId of ['legacy', 'legacy-ai']) {
      for (let i = 0; i < 3; i++) {
        await upsertRun(stack.db, {
          job_id: jobId, external_id: `${jobId}-${i}`, started_at: new Date(now - (i + 1) * 3_600_000), finished_at: new Date(now - (i + 1) * 3_600_000 + 1000),
          exit_code: 1, duration_ms: 1000, trigger: 'scheduled', error: null, sla_status: null, sla_details: null, log_path: rootOnly, log_tail: null, session_messages: null,
        });
      }
    }
    const byRules = await reviewOf('legacy');
    expect(byRules.review.runs_analyzed).toBe(3);
    expect(byRules.text).not.toContain(SENTINEL);
    expect(byRules.review.suggestions.map((s: any) => s.title)).not.toContain('Recurring error in run logs');

    const byAi = await reviewOf('legacy-ai', { prompt: true });
    expect(byAi.prompt).not.toContain(SENTINEL);
    expect(byAi.prompt).toContain(`(log file ${rootOnly} is outside the job's folders; a review does not read it)`);
  });
});

describe('run times', () => {
  it('when started_at is in the future beyond the clock skew, the report is refused with 400 naming started_at', async () => {
    const answer = await report('guarded', { started_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(answer.status).toBe(400);
    const reason = "is in the future (more than 5 minutes ahead of this server's clock); send the time the run really started or finished, in UTC or with its offset";
    expect(answer.body).toEqual({ success: false, error: `invalid body: started_at: ${reason}`, detail: [{ field: 'started_at', reason }] });
  });

  it('when finished_at is in the future beyond the clock skew, the report is refused with 400 naming finished_at', async () => {
    const answer = await report('guarded', { finished_at: new Date(Date.now() + RUN_CLOCK_SKEW_MS + 60_000).toISOString() });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toEqual([{ field: 'finished_at', reason: expect.stringMatching(/^is in the future/) }]);
  });

  it('when finished_at is before started_at, or started_at before 2000, or a time is no ISO time, the report is refused with one reason naming the field', async () => {
    const now = Date.now();
    const backwards = await report('guarded', { started_at: new Date(now - 60_000).toISOString(), finished_at: new Date(now - 120_000).toISOString() });
    expect(backwards.status).toBe(400);
    expect(backwards.body.detail).toEqual([{ field: 'finished_at', reason: 'is before started_at: a run finishes after it starts' }]);
    const ancient = await report('guarded', { started_at: '0000-01-01T00:00:00Z', finished_at: null });
    expect(ancient.body.detail).toEqual([{ field: 'started_at', reason: 'is before 2000-01-01; send the time the run really started or finished' }]);
    const epoch = await report('guarded', { started_at: '1796403000', finished_at: null });
    expect(epoch.status).toBe(400);
    expect(epoch.body.detail).toHaveLength(1);
    expect(epoch.body.detail[0].field).toBe('started_at');
    expect(epoch.body.detail[0].reason).not.toMatch(/future/);
  });

  it('when log_path is a folder inside the job\'s places, the report is refused: a log is a file', async () => {
    const folder = path.join(stack.jobsDir, 'logs-folder');
    await mkdir(folder, { recursive: true });
    const answer = await report('guarded', { log_path: folder });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toEqual([{ field: 'log_path', reason: 'is a folder; name the log file itself' }]);
  });

  it('when the times are a little ahead (a clock that drifts less than the allowed skew), the report is accepted', async () => {
    const ahead = Date.now() + RUN_CLOCK_SKEW_MS - 60_000;
    const answer = await report('guarded', { started_at: new Date(ahead - 1000).toISOString(), finished_at: new Date(ahead).toISOString() });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body.run.duration_ms).toBe(1000);
  });
});

describe('business_log', () => {
  it('when a PUT sets business_log.path or summary_path outside the job folders, it is refused with 400 naming the field and the file is unchanged', async () => {
    const file = path.join(stack.jobsDir, 'guarded.yaml');
    const before = await readFile(file, 'utf8');
    const answer = await http(stack.api, 'PUT', '/api/v1/jobs/guarded/self-healing', { business_log: { path: rootOnly } });
    expectRefused(answer, 'business_log.path');
    const summary = await http(stack.api, 'PUT', '/api/v1/jobs/guarded/self-healing', { business_log: { summary_path: '~/private/root-only.log' } });
    expectRefused(summary, 'business_log.summary_path');
    expect(await readFile(file, 'utf8')).toBe(before);

    const inside = path.join(cwdOf('guarded'), 'decisions.jsonl');
    const saved = await http(stack.api, 'PUT', '/api/v1/jobs/guarded/self-healing', { business_log: { path: inside } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.self_healing.business_log.path).toBe(inside);
  });

  it('when a job file names a business log outside its folders, the view says it is refused and a review never reads it', async () => {
    const view = await http(stack.api, 'GET', '/api/v1/jobs/biz-outside/business-logs');
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ job_id: 'biz-outside', configured: true, path: rootOnly, lines: [], refused: true, redacted: 0 });
    expect(view.body.reason).toMatch(/^business_log\.path resolves \(through symlinks\) to a place outside the job's folders/);
    const { prompt } = await reviewOf('biz-outside', { prompt: true });
    expect(prompt).not.toContain(SENTINEL);
    expect(prompt).toContain(`(business log ${rootOnly} is outside the job's folders; a review does not read it)`);
  });

  it('the business-logs view answers the last lines, bounded by max_lines or ?lines, with secrets redacted', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ event: 'decision', n: i }));
    lines.push(`connected to the ledger with ${ENV_PASSWORD}`, `pushed with token ${GITHUB_TOKEN}`);
    await writeFile(path.join(cwdOf('biz'), 'business.jsonl'), `${lines.join('\n')}\n`);

    const last = await http(stack.api, 'GET', '/api/v1/jobs/biz/business-logs?lines=3');
    expect(last.status).toBe(200);
    expect(last.body).toEqual({
      job_id: 'biz',
      configured: true,
      path: path.join(cwdOf('biz'), 'business.jsonl'),
      lines: ['{"event":"decision","n":299}', 'connected to the ledger with [REDACTED:env#1]', 'pushed with token [REDACTED:github-token#2]'],
      max_lines: 3,
      redacted: 2,
      refused: false,
      reason: null,
    });
    const byConfig = await http(stack.api, 'GET', '/api/v1/jobs/biz/business-logs');
    expect(byConfig.body.lines).toHaveLength(50);
    expect(byConfig.body.lines[0]).toBe('{"event":"decision","n":252}');
    expect(JSON.stringify(byConfig.body)).not.toContain(ENV_PASSWORD);
    expect(JSON.stringify(byConfig.body)).not.toContain(GITHUB_TOKEN);
  });

  it('the business-logs view says when the job has none, answers 404 for an unknown job and 400 for a bad line count', async () => {
    const none = await http(stack.api, 'GET', '/api/v1/jobs/plain/business-logs');
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ job_id: 'plain', configured: false, path: null, lines: [], max_lines: 200, redacted: 0, refused: false, reason: 'the job has no self_healing.business_log.path' });
    const unknown = await http(stack.api, 'GET', '/api/v1/jobs/nope/business-logs');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ success: false, error: 'job "nope" not found', detail: null });
    const bad = await http(stack.api, 'GET', '/api/v1/jobs/biz/business-logs?lines=0');
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toEqual([{ field: 'lines', reason: expect.any(String) }]);
  });
});
