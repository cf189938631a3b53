// Evidence on every suggestion, through the real stack: a ProcClaw job's runs imported, reviewed
// by the rules analyzer and by the (fake, scripted) openclaw analyzer. Each stored suggestion
// cites the runs (with their external ids) and log lines it stands on, what the review could not
// see is recorded on it, a citation of anything the prompt did not send is dropped and counted,
// and the API serves it all with the job's secrets masked.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SuggestionDetailAnswer } from '../api/schemas.js';
import { importProcclawOnce, type ImportDeps } from '../cli/procclaw/import.js';
import { ProcclawDb } from './helpers/procclaw-db.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

/** reviewed by the rules analyzer */
const RULES_JOB = 'partner-sync';
/** reviewed by the openclaw analyzer (a review after another of the same job would see only the runs since) */
const AI_JOB = 'partner-push';
const TOKEN = 'ptk-7f3a9c2e51d04b8e';
const HOUR = 3_600_000;

let stack: Stack;
let tmp: string;
let deps: ImportDeps;
type ImportedRun = { id: number; external_id: string; exit_code: number; log_tail: string | null };
/** each job's runs as imported, oldest first */
const runsOf: Record<string, ImportedRun[]> = {};

beforeAll(async () => {
  stack = await startStack();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'healing-evidence-'));
  await mkdir(stack.jobsDir, { recursive: true });
  const procclaw = new ProcclawDb(path.join(stack.workDir, 'procclaw', 'procclaw.db'));
  const now = Date.now();
  for (const job of [RULES_JOB, AI_JOB]) {
    // The script the job runs does not exist: the review says it could not read it.
    await writeFile(
      path.join(stack.jobsDir, `${job}.yaml`),
      `name: ${job}\ncmd: ./${job}.sh\ntype: scheduled\nschedule: "0 * * * *"\nenv:\n  PARTNER_TOKEN: "${TOKEN}"\nsla:\n  max_duration: 600\nself_healing:\n  enabled: true\n  mode: proactive\n`,
    );
    for (let i = 0; i < 8; i++) {
      const failed = i % 2 === 1;
      const at = new Date(now - (9 - i) * HOUR);
      procclaw.run({
        job,
        at,
        finishedAt: new Date(at.getTime() + 20_000),
        exit: failed ? 1 : 0,
        stdout: ['fetching partner orders', `GET https://partner.example/api/orders?token=${TOKEN}`, ...(failed ? [] : ['synced 120 orders'])],
        stderr: failed ? ['requests.exceptions.ConnectionError: Connection reset by peer'] : [],
      });
    }
  }
  procclaw.close();
  deps = { db: stack.db, jobsSource: stack.jobsDir, startReview: null, api: null };
  await importProcclawOnce(deps, { dbFile: procclaw.file });
  for (const job of [RULES_JOB, AI_JOB]) {
    runsOf[job] = await stack.db('job_runs').where({ job_id: job }).orderBy('started_at').select('id', 'external_id', 'exit_code', 'log_tail');
    expect(runsOf[job]).toHaveLength(8);
  }
});

afterEach(() => {
  stack.analyzer.mode = 'rules';
  delete process.env.FAKE_OPENCLAW_MODE;
  delete process.env.FAKE_OPENCLAW_REPLY;
  delete process.env.FAKE_OPENCLAW_PROMPT_FILE;
});

afterAll(async () => {
  await stack?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function reviewAndWait(job: string): Promise<any> {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${job}/trigger`, { force: true });
  expect([200, 202], JSON.stringify(started.body)).toContain(started.status);
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, 'the review');
}

describe('evidence of a rules review', () => {
  it('when transient errors fire the retry rule, the suggestion cites the failed runs whose logs showed them, with their ProcClaw ids and the line of each, and says what the review could not read, secrets masked', async () => {
    const runs = runsOf[RULES_JOB]!;
    const review = await reviewAndWait(RULES_JOB);
    expect(review.status).toBe('completed');
    const retry = review.suggestions.find((s: any) => s.title === 'Retry transient failures');
    expect(retry, JSON.stringify(review.suggestions.map((s: any) => s.title))).toBeDefined();
    const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${retry.id}`);
    expect(detail.status).toBe(200);
    const { evidence, missing_context } = detail.body;
    // The review reads the logs of the five newest runs: the failed ones among them are cited, no other.
    const failed = runs.slice(-5).filter((r) => r.exit_code === 1);
    expect(failed).toHaveLength(3);
    expect(evidence.runs.map((r: any) => r.id).sort()).toEqual(failed.map((r) => r.id).sort());
    for (const cited of evidence.runs) expect(cited.external_id).toBe(failed.find((r) => r.id === cited.id)!.external_id);
    expect(evidence.runs[0].external_id).toMatch(/^procclaw-\d+$/);
    expect(evidence.log_lines.length).toBeGreaterThan(0);
    for (const range of evidence.log_lines) {
      const lines = (runs.find((r) => r.id === range.run_id)!.log_tail ?? '').split('\n');
      expect(range.lines).toEqual([lines[range.from - 1]]);
      expect(range.lines[0]).toContain('Connection reset by peer');
    }
    expect(evidence.dropped_citations).toBe(0);
    expect(missing_context).toContainEqual(expect.objectContaining({ kind: 'missing_file', detail: expect.stringContaining(`${RULES_JOB}.sh`) }));
    expect(missing_context).toContainEqual({ kind: 'logs_not_read', detail: 'the logs of 3 more run(s) were not read: a review reads the logs of 5 runs' });
    // Every suggestion of the review records the same blind spots.
    for (const s of review.suggestions) {
      const other = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${s.id}`);
      expect(other.body.missing_context).toEqual(missing_context);
      expect(SuggestionDetailAnswer.safeParse(other.body).error).toBeUndefined();
    }
    expect(JSON.stringify(detail.body)).not.toContain(TOKEN);
  });

  it('when a quoted log line holds one of the job\'s secrets in full, the API serves it masked, and in full only to an admin asking raw=true', async () => {
    const [row] = await stack.db('healing_suggestions').where({ job_id: RULES_JOB, title: 'Retry transient failures' });
    const leaky = { ...row.evidence, log_lines: [{ run_id: row.evidence.runs[0].id, file: null, from: 2, to: 2, lines: [`GET https://partner.example/api/orders?token=${TOKEN}`] }] };
    await stack.db('healing_suggestions').where({ id: row.id }).update({ evidence: JSON.stringify(leaky) });
    const shown = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${row.id}`);
    expect(shown.body.evidence.log_lines[0].lines[0]).toMatch(/^GET https:\/\/partner\.example\/api\/orders\?token=\S*…\(\d+ chars\)$/);
    expect(JSON.stringify(shown.body)).not.toContain(TOKEN);
    expect(shown.body.secrets_masked).toBeGreaterThan(0);
    const raw = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${row.id}?raw=true`);
    expect(raw.body.evidence.log_lines[0].lines[0]).toContain(TOKEN);
  });
});

describe('evidence of an openclaw review', () => {
  it('when the AI cites a run, a log line and a file line it was sent plus ones it was not, the sent ones are stored with their lines and the others are dropped and counted', async () => {
    const promptFile = path.join(tmp, 'prompt.txt');
    const failed = runsOf[AI_JOB]!.filter((r) => r.exit_code === 1).at(-1)!;
    const reply = JSON.stringify({
      suggestions: [
        {
          category: 'reliability',
          severity: 'high',
          title: 'Back off and retry partner calls',
          description: 'The partner API resets connections.',
          evidence: {
            runs: [failed.id, 987_654],
            log_lines: [
              { run_id: failed.id, from: 1, to: 2 },
              { run_id: failed.id, from: -3, to: 1_000_000_000 }, // hostile
            ],
            config_lines: [
              { file: `${AI_JOB}.yaml`, from: 7, to: 8 },
              { file: '/etc/passwd', from: 1, to: 1 }, // never sent
            ],
            sla: { max_duration_s: 600 },
          },
        },
      ],
    });
    const replyFile = path.join(tmp, 'reply.json');
    await writeFile(replyFile, reply);
    stack.analyzer.mode = 'openclaw';
    process.env.FAKE_OPENCLAW_MODE = 'reply-file';
    process.env.FAKE_OPENCLAW_REPLY = replyFile;
    process.env.FAKE_OPENCLAW_PROMPT_FILE = promptFile;

    const review = await reviewAndWait(AI_JOB);
    expect(review.status, review.error_message).toBe('completed');
    const stored = review.suggestions.find((s: any) => s.title === 'Back off and retry partner calls');
    expect(stored).toBeDefined();
    const prompt = await readFile(promptFile, 'utf8');
    const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${stored.id}`);
    const { evidence, missing_context } = detail.body;

    expect(evidence.runs).toEqual([{ id: failed.id, external_id: failed.external_id }]);
    const logLines = (failed.log_tail ?? '').split('\n');
    expect(evidence.log_lines).toHaveLength(1);
    expect(evidence.log_lines[0]).toMatchObject({ run_id: failed.id, from: 1, to: 2 });
    expect(prompt).toContain(`1| ${logLines[0]}`); // the lines stored are the lines the prompt numbered
    expect(evidence.log_lines[0].lines[0]).toBe(logLines[0]);
    expect(evidence.log_lines[0].lines[1]).not.toContain(TOKEN); // the URL's token was redacted before the AI saw it
    expect(evidence.config_lines).toEqual([{ file: path.join(stack.jobsDir, `${AI_JOB}.yaml`), from: 7, to: 8, lines: ['sla:', '  max_duration: 600'] }]);
    expect(evidence.sla).toEqual({ max_duration_s: 600 });
    expect(evidence.dropped_citations).toBe(3);
    // The AI saw the job's token as a marker: the suggestion says so.
    expect(missing_context.map((m: any) => m.kind)).toEqual(expect.arrayContaining(['redacted', 'missing_file']));
    expect(JSON.stringify(detail.body)).not.toContain(TOKEN);
  });
});
