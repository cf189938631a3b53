// The ProcClaw import reporting fresh runs to the real API (`healing import procclaw --api`):
// a report too big for the API's body limit is sent shortened, and a report the API refuses
// holds back neither the runs after it nor the import, whose log says what happened.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUnreachableError, RUN_REPORT_MAX_BYTES } from '../cli/procclaw/api-report.js';
import { describeSummary, followProcclaw, importProcclawOnce, type ImportDeps, type ImportSummary } from '../cli/procclaw/import.js';
import { API_BODY_LIMIT_BYTES } from '../core/run-report.js';
import { ProcclawDb } from './helpers/procclaw-db.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

/** A job of this service's catalog whose failed runs start a reactive review. */
function reactiveJob(name: string, cmd: string, type = 'scheduled'): string {
  return `name: ${name}
cmd: ${cmd}
type: ${type}
schedule: "*/10 * * * *"
self_healing:
  enabled: true
  mode: reactive
  review_schedule:
    frequency: on_failure
    min_runs: 1
`;
}

/** OpenClaw's session transcript of a long research run: a prompt, then tool calls with page extracts and replies. */
function longSession(count: number): object[] {
  const page = (i: number) =>
    `Extract ${i} from https://news.example/item/${i}: ` +
    'The vendor announced a usage-based plan for small teams, with a free tier of 10,000 events a month and overage billed per million. '.repeat(24);
  return Array.from({ length: count }, (_, i) =>
    i === 0
      ? { type: 'message', message: { role: 'user', content: [{ type: 'text', text: 'Research pricing changes of our competitors this week.' }] }, timestamp: '2026-03-02T17:00:00Z' }
      : { type: 'message', message: { role: i % 2 === 1 ? 'toolResult' : 'assistant', content: [{ type: 'text', text: page(i) }] } },
  );
}

const runOf = (job: string, procclawId: number) => stack.db('job_runs').where({ job_id: job, external_id: `procclaw-${procclawId}` }).first();
const reviewsOf = async (job: string) => (await http(stack.api, 'GET', `/api/v1/healing/reviews?job_id=${job}`)).body.reviews as any[];

let stack: Stack;
let deps: ImportDeps;
let databases = 0;

/** A fresh ProcClaw database, so each case has its own cursor. */
function procclawDb(): ProcclawDb {
  databases++;
  return new ProcclawDb(path.join(stack.workDir, `procclaw-${databases}`, 'procclaw.db'));
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  await writeFile(path.join(stack.jobsDir, 'oc-researcher.yaml'), reactiveJob("'[OC] Researcher'", 'python3 ~/.procclaw/scripts/oc-runner-v3.py ~/.procclaw/prompts/researcher.md', 'openclaw'));
  await writeFile(path.join(stack.jobsDir, 'order-sync.yaml'), reactiveJob('Order sync', 'python3 sync.py'));
  await writeFile(path.join(stack.jobsDir, 'sensor-upload.yaml'), reactiveJob('Sensor upload', './upload.sh'));
  await writeFile(path.join(stack.jobsDir, 'partner-push.yaml'), reactiveJob('Partner push', './push.sh'));
  deps = { db: stack.db, jobsSource: stack.jobsDir, startReview: null, api: { url: stack.api, token: null } };
});
afterAll(async () => {
  await stack?.stop();
});

describe('a run report too big for the API', () => {
  it('when an OpenClaw run with 405 long session messages is followed by a failed run, --follow reports both at once: the big one without its oldest messages, behind a marker, and the failed one starts its review', async () => {
    const procclaw = procclawDb();
    const now = Date.now();
    const session = longSession(405);
    expect(Buffer.byteLength(JSON.stringify(session))).toBeGreaterThan(API_BODY_LIMIT_BYTES); // whole, it would be refused
    const big = procclaw.run({ job: 'oc-researcher', at: new Date(now - 200_000), finishedAt: new Date(now - 20_000), exit: 0, stdout: ['[oc-runner] session started', '[oc-runner] done'], session });
    const failed = procclaw.run({ job: 'order-sync', at: new Date(now - 15_000), finishedAt: new Date(now - 10_000), exit: 1, stderr: ['requests.exceptions.ConnectionError: partner API unreachable'] });
    procclaw.close();

    // Stopped after the first pass that gets through, or after three that do not.
    const stop = new AbortController();
    const passes: ImportSummary[] = [];
    const errors: Error[] = [];
    await followProcclaw(deps, {
      dbFile: procclaw.file,
      intervalMs: 200,
      signal: stop.signal,
      onPass: (s) => {
        passes.push(s);
        stop.abort();
      },
      onError: (e) => {
        errors.push(e);
        if (errors.length >= 3) stop.abort();
      },
    });
    expect(errors.map((e) => e.message)).toEqual([]);
    const [pass] = passes;
    expect(pass).toMatchObject({ created: 2, rejected: [] });

    const stored = await runOf('oc-researcher', big);
    const messages = stored.session_messages as { role: string; content: string }[];
    const leftOut = 405 - (messages.length - 1);
    expect(leftOut).toBeGreaterThan(0);
    expect(messages[0]).toEqual({ role: 'system', content: `[${leftOut} earlier session messages left out to fit the run report]` });
    expect(messages.length).toBeLessThan(405);
    // The newest messages are the ones kept, whole.
    expect(messages.at(-1)?.content).toBe((session.at(-1) as any).message.content[0].text);
    expect(messages[1]?.content).toBe((session[leftOut] as any).message.content[0].text);
    expect(stored).toMatchObject({ exit_code: 0, log_tail: '[oc-runner] session started\n[oc-runner] done' });
    expect(Buffer.byteLength(JSON.stringify(stored.session_messages))).toBeLessThanOrEqual(RUN_REPORT_MAX_BYTES);

    const failedRun = await runOf('order-sync', failed);
    expect(failedRun).toMatchObject({ exit_code: 1 });
    expect(pass!.reviews).toEqual([expect.objectContaining({ job_id: 'order-sync', run_id: failedRun.id, workflow_id: 'healing-review/order-sync' })]);
    const review = await eventually(async () => (await reviewsOf('order-sync'))[0], 10_000, 'the reactive review');
    expect(review).toMatchObject({ trigger: 'on_failure', run_id: failedRun.id });
    expect(describeSummary(pass!)).toContain(
      `run procclaw-${big} of job oc-researcher sent to the API shortened to fit its size limit (the oldest ${leftOut} of 405 session messages left out)`,
    );
  });
});

describe('a run report the API refuses', () => {
  it('when the API refuses one run (started at 1970, before the clock was set at boot), that run is stored directly, the failed run after it is reported and reviewed, and the import says so', async () => {
    const procclaw = procclawDb();
    const now = Date.now();
    // A machine without a real-time clock: ProcClaw started the job at boot, before NTP set the clock.
    const atBoot = procclaw.run({ job: 'sensor-upload', at: new Date('1970-01-01T00:00:12Z'), finishedAt: new Date(now - 30_000), exit: 2, stderr: ['upload.sh: certificate is not yet valid'] });
    const next = procclaw.run({ job: 'sensor-upload', at: new Date(now - 12_000), finishedAt: new Date(now - 8_000), exit: 1, stderr: ['curl: (28) Operation timed out'] });
    procclaw.close();

    const pass = await importProcclawOnce(deps, { dbFile: procclaw.file });
    expect(pass).toMatchObject({ created: 2, reviews_not_started: 1, shortened: [] });
    expect(pass.rejected).toEqual([
      { job_id: 'sensor-upload', external_id: `procclaw-${atBoot}`, status: 400, reason: expect.stringContaining('started_at: is before 2000-01-01'), review_not_started: true },
    ]);
    // Its history is kept as ProcClaw recorded it.
    const rejected = await runOf('sensor-upload', atBoot);
    expect(rejected).toMatchObject({ exit_code: 2, error: 'Exit code: 2' });
    expect(rejected.started_at).toEqual(new Date('1970-01-01T00:00:12Z'));
    expect(rejected.log_tail).toContain('certificate is not yet valid');
    // The run after it was not held back: the API stored it and started its review.
    const nextRun = await runOf('sensor-upload', next);
    expect(pass.reviews).toEqual([expect.objectContaining({ job_id: 'sensor-upload', run_id: nextRun.id })]);
    const review = await eventually(async () => (await reviewsOf('sensor-upload'))[0], 10_000, 'the reactive review');
    expect(review).toMatchObject({ trigger: 'on_failure', run_id: nextRun.id });
    expect((await reviewsOf('sensor-upload')).map((r) => r.run_id)).not.toContain(rejected.id);
    const line = describeSummary(pass);
    expect(line).toContain(`the API rejected run procclaw-${atBoot} of job sensor-upload: 400 invalid body: started_at: is before 2000-01-01`);
    expect(line).toContain('stored directly, review not started (trigger it from the dashboard)');
    expect(line).not.toContain('pass --api');

    // The cursor moved on: the next pass sends neither again.
    const again = await importProcclawOnce(deps, { dbFile: procclaw.file });
    expect(again).toMatchObject({ created: 0, rejected: [], reviews: [] });
  });

  it('when a proxy in front of the API answers 503, the pass fails and stores nothing; when it answers 413 for one run, that run is stored directly and the next one still reaches the API', async () => {
    const standIn = await apiStandIn(stack.api);
    try {
      const procclaw = procclawDb();
      const now = Date.now();
      const first = procclaw.run({ job: 'partner-push', at: new Date(now - 20_000), finishedAt: new Date(now - 16_000), exit: 1, stderr: ['HTTP 500 from partner'] });
      const second = procclaw.run({ job: 'partner-push', at: new Date(now - 10_000), finishedAt: new Date(now - 6_000), exit: 1, stderr: ['HTTP 502 from partner'] });
      procclaw.close();
      const viaStandIn: ImportDeps = { ...deps, api: { url: standIn.url, token: null } };

      // 503: every report would fail alike; nothing is passed over, the next pass tries again.
      standIn.answers.push({ status: 503, error: 'Temporal is unreachable' });
      const down = await importProcclawOnce(viaStandIn, { dbFile: procclaw.file }).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(ApiUnreachableError);
      expect((down as Error).message).toContain(`refused run procclaw-${first} of partner-push: 503 Temporal is unreachable`);
      expect(await runOf('partner-push', first)).toBeUndefined();

      // 413 for the first run only.
      standIn.answers.push({ status: 413, error: 'request entity too large' });
      const pass = await importProcclawOnce(viaStandIn, { dbFile: procclaw.file });
      expect(pass.rejected).toEqual([{ job_id: 'partner-push', external_id: `procclaw-${first}`, status: 413, reason: 'request entity too large', review_not_started: true }]);
      expect(await runOf('partner-push', first)).toMatchObject({ exit_code: 1 });
      const secondRun = await runOf('partner-push', second);
      expect(pass.reviews).toEqual([expect.objectContaining({ job_id: 'partner-push', run_id: secondRun.id })]);
      expect(standIn.received).toEqual([`procclaw-${first}`, `procclaw-${first}`, `procclaw-${second}`]);
      expect(describeSummary(pass)).toContain(`the API rejected run procclaw-${first} of job partner-push: 413 request entity too large; stored directly, review not started`);
    } finally {
      await standIn.close();
    }
  });
});

/**
 * A loopback server standing in front of the API: answers the next report with the queued status
 * when there is one, else passes it on. Keeps the external id of every report it received.
 */
async function apiStandIn(api: string) {
  const answers: { status: number; error: string }[] = [];
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') received.push((JSON.parse(body.toString()) as { external_id: string }).external_id);
      const canned = answers.shift();
      if (canned) {
        res.writeHead(canned.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: false, error: canned.error, detail: null }));
        return;
      }
      fetch(`${api}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'GET' ? undefined : body })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(await answer.text());
        })
        .catch((error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url, answers, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
