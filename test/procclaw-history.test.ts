// ProcClaw's history over time, as its supervisor writes it (test/helpers/procclaw-db.ts): SLA
// verdicts ProcClaw never stores, runs that stay open for weeks, and a database ProcClaw replaced.
import { rename, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReview } from '../api/temporal.js';
import { describeSummary, importProcclawOnce, type ImportDeps } from '../cli/procclaw/import.js';
import { ProcclawDb } from './helpers/procclaw-db.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
let stack: Stack;
let deps: ImportDeps;

const job = (id: string, body: string) => writeFile(path.join(stack.jobsDir, `${id}.yaml`), `name: ${id}\ncmd: ./${id}.sh\n${body}`);
const runOf = (jobId: string, externalId: string) => stack.db('job_runs').where({ job_id: jobId, external_id: externalId }).first();
const reviewsOf = async (jobId: string) => (await http(stack.api, 'GET', `/api/v1/healing/reviews?job_id=${jobId}`)).body.reviews as { trigger: string; run_id: number | null }[];

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  await job('nightly-report', 'schedule: 0 2 * * *\nsla:\n  enabled: true\n  max_duration: 600\nself_healing:\n  enabled: true\n  review_schedule:\n    frequency: on_sla_breach\n    min_runs: 1\n');
  await job('stream-consumer', 'type: continuous\n');
  await job('oc-digest', 'type: openclaw\nschedule: "0 7 * * *"\nself_healing:\n  enabled: true\n  review_schedule:\n    frequency: on_failure\n    min_runs: 1\n');
  // One job a test: ProcClaw's run ids are this service's external ids, so two files must not share a job here.
  for (const id of ['hourly-sync', 'flaky-webhook', 'outgrown-job', 'cleaned-job', 'restored-job', 'quiet-job', 'held-job', 'silent-job']) {
    await job(id, 'schedule: "*/5 * * * *"\nself_healing:\n  enabled: true\n  review_schedule:\n    frequency: on_failure\n    min_runs: 1\n');
  }
  deps = { db: stack.db, jobsSource: stack.jobsDir, startReview: (input) => startReview(stack.env.client, stack.db, input), api: null };
});
afterAll(async () => {
  await stack?.stop();
});

describe('SLA verdicts ProcClaw does not store', () => {
  it('when a run far over its sla.max_duration is imported directly, it is stored as an SLA breach with the reason, and a fresh one starts its on_sla_breach review', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'sla', 'procclaw.db'));
    const now = Date.now();
    const old = procclaw.run({ job: 'nightly-report', at: new Date(now - 2 * DAY), finishedAt: new Date(now - 2 * DAY + 900_000), exit: 0, stdout: ['report written'] });
    const quick = procclaw.run({ job: 'nightly-report', at: new Date(now - DAY), finishedAt: new Date(now - DAY + 300_000), exit: 0 });
    const fresh = procclaw.run({ job: 'nightly-report', at: new Date(now - 16 * MINUTE), finishedAt: new Date(now - MINUTE), exit: 0 });
    procclaw.close();
    const summary = await importProcclawOnce(deps, { dbFile: procclaw.file });
    expect(summary).toMatchObject({ created: 3, reviews_not_started: 0 });
    expect(await runOf('nightly-report', `procclaw-${old}`)).toMatchObject({
      sla_status: 'fail',
      sla_details: expect.objectContaining({ max_duration: 600, reason: 'run took 900.0 s, longer than the SLA max_duration of 600 s' }),
    });
    expect(await runOf('nightly-report', `procclaw-${quick}`)).toMatchObject({ sla_status: 'pass' });
    const freshRun = await runOf('nightly-report', `procclaw-${fresh}`);
    expect(freshRun).toMatchObject({ sla_status: 'fail' });
    // Only the fresh breach starts a review: the older one is history.
    expect(summary.reviews).toEqual([expect.objectContaining({ job_id: 'nightly-report', run_id: freshRun.id })]);
    const reviews = await eventually(async () => {
      const items = await reviewsOf('nightly-report');
      return items.length > 0 ? items : undefined;
    }, 20_000, 'the on_sla_breach review');
    expect(reviews).toEqual([expect.objectContaining({ trigger: 'on_sla_breach', run_id: freshRun.id })]);
  });

  it("when a job in ProcClaw's own folder sets only sla.max_duration, its slow runs get no verdict, as ProcClaw checks nothing then", async () => {
    const home = path.join(stack.workDir, 'procclaw-home');
    await mkdir(path.join(home, 'jobs'), { recursive: true });
    await writeFile(path.join(home, 'jobs', 'slow-export.yaml'), 'name: Slow export\ncmd: ./export.sh\nschedule: 0 3 * * *\nsla:\n  max_duration: 60\n');
    const procclaw = new ProcclawDb(path.join(home, 'procclaw.db'));
    const id = procclaw.run({ job: 'slow-export', at: new Date(Date.now() - DAY), finishedAt: new Date(Date.now() - DAY + 600_000), exit: 0 });
    procclaw.close();
    await importProcclawOnce({ ...deps, jobsSource: home }, { dbFile: procclaw.file });
    expect(await runOf('slow-export', `procclaw-${id}`)).toMatchObject({ duration_ms: 600_000, sla_status: null });
  });
});

describe('runs that stay open', () => {
  it('when a continuous job has run for ten days, every pass still watches it, and it is brought up to date once ProcClaw stops it', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'continuous', 'procclaw.db'));
    const started = new Date(Date.now() - 10 * DAY);
    const history = Array.from({ length: 30 }, (_, i) =>
      procclaw.run({ job: 'hourly-sync', at: new Date(started.getTime() - (i + 1) * DAY), finishedAt: new Date(started.getTime() - (i + 1) * DAY + 1_000), exit: 0 }),
    );
    const open = procclaw.addRun({ job: 'stream-consumer', at: started, trigger: 'manual' });
    expect(await importProcclawOnce(deps, { dbFile: procclaw.file })).toMatchObject({ created: history.length + 1, running: 1 });
    // Passes with nothing new read the open run only, not the history.
    const idle = await importProcclawOnce(deps, { dbFile: procclaw.file, now: () => new Date(Date.now() + 5 * DAY) });
    expect(idle).toMatchObject({ seen: 1, created: 0, updated: 0, running: 1 });
    expect(await runOf('stream-consumer', `procclaw-${open}`)).toMatchObject({ finished_at: null, exit_code: null });
    procclaw.finishRun(open, { finishedAt: new Date(), exit: -15, manualStop: true });
    procclaw.close();
    const closed = await importProcclawOnce(deps, { dbFile: procclaw.file });
    expect(closed).toMatchObject({ updated: 1, running: 0 });
    const run = await runOf('stream-consumer', `procclaw-${open}`);
    expect(run).toMatchObject({ exit_code: -15, error: 'Manually stopped' });
    expect(run.finished_at).not.toBeNull();
    expect(run.duration_ms).toBeGreaterThan(9 * DAY);
  });
});

describe('a database ProcClaw replaced', () => {
  it('when ProcClaw moved a damaged file aside and started a fresh one, its runs (ids from 1 again) are imported as a new generation beside the old ones, and a failed one starts its review', async () => {
    const dir = path.join(stack.workDir, 'replaced');
    const file = path.join(dir, 'procclaw.db');
    const first = new ProcclawDb(file);
    const oldIds = Array.from({ length: 5 }, (_, i) =>
      first.run({ job: 'flaky-webhook', at: new Date(Date.now() - (10 - i) * DAY), finishedAt: new Date(Date.now() - (10 - i) * DAY + 2_000), exit: 0, stdout: [`old run ${i}`] }),
    );
    first.close();
    expect(await importProcclawOnce(deps, { dbFile: file })).toMatchObject({ created: 5 });

    // db.py _ensure_db: the damaged file becomes procclaw.db.corrupt; a fresh one takes its place.
    await rename(file, path.join(dir, 'procclaw.db.corrupt'));
    const fresh = new ProcclawDb(file);
    const ok = fresh.run({ job: 'flaky-webhook', at: new Date(Date.now() - 10 * MINUTE), finishedAt: new Date(Date.now() - 10 * MINUTE + 2_000), exit: 0, stdout: ['new run ok'] });
    const failed = fresh.run({ job: 'flaky-webhook', at: new Date(Date.now() - 2 * MINUTE), finishedAt: new Date(Date.now() - MINUTE), exit: 1, stderr: ['HTTP 500 from the partner'] });
    expect([ok, failed]).toEqual([1, 2]);

    const summary = await importProcclawOnce(deps, { dbFile: file });
    expect(summary).toMatchObject({ created: 2, new_generation: { generation: 2 } });
    expect(summary.new_generation?.reason).toContain("ProcClaw's recovery moves a damaged file there");
    expect(describeSummary(summary)).toContain('imported as generation 2');
    const failedRun = await runOf('flaky-webhook', 'procclaw-g2-2');
    expect(failedRun).toMatchObject({ exit_code: 1, log_tail: expect.stringContaining('HTTP 500') });
    expect(summary.reviews).toEqual([expect.objectContaining({ job_id: 'flaky-webhook', run_id: failedRun.id })]);
    expect(await runOf('flaky-webhook', 'procclaw-g2-1')).toMatchObject({ exit_code: 0, log_tail: 'new run ok' });
    // The old generation's runs keep their ids and their lines.
    for (const [i, id] of oldIds.entries()) expect(await runOf('flaky-webhook', `procclaw-${id}`)).toMatchObject({ log_tail: `old run ${i}` });

    // The next passes read the new file as the same one.
    const next = fresh.run({ job: 'flaky-webhook', at: new Date(Date.now() - 30_000), finishedAt: new Date(Date.now() - 28_000), exit: 0 });
    fresh.close();
    const after = await importProcclawOnce(deps, { dbFile: file });
    expect(after).toMatchObject({ created: 1 });
    expect(after.new_generation).toBeUndefined();
    expect(await runOf('flaky-webhook', `procclaw-g2-${next}`)).toBeTruthy();
  });

  it('when the fresh file already holds more runs than the old one had, it is still told apart by the run under the old id', async () => {
    const file = path.join(stack.workDir, 'outgrown', 'procclaw.db');
    const first = new ProcclawDb(file);
    for (let i = 0; i < 2; i++) first.run({ job: 'outgrown-job', at: new Date(Date.now() - (5 - i) * DAY), finishedAt: new Date(Date.now() - (5 - i) * DAY + 1_000), exit: 0 });
    first.close();
    await importProcclawOnce(deps, { dbFile: file });
    await rename(file, `${file}.old`);
    const fresh = new ProcclawDb(file);
    for (let i = 0; i < 4; i++) fresh.run({ job: 'outgrown-job', at: new Date(Date.now() - (4 - i) * 3_600_000), finishedAt: new Date(Date.now() - (4 - i) * 3_600_000 + 1_000), exit: 0 });
    fresh.close();
    const summary = await importProcclawOnce(deps, { dbFile: file });
    expect(summary).toMatchObject({ created: 4, new_generation: { generation: 2 } });
  });

  it('when ProcClaw deletes its old runs (cleanup_old_runs) or the fresh file is still empty, no generation is started twice', async () => {
    const file = path.join(stack.workDir, 'cleaned', 'procclaw.db');
    const procclaw = new ProcclawDb(file);
    for (let i = 0; i < 3; i++) procclaw.run({ job: 'cleaned-job', at: new Date(Date.now() - (40 - i) * DAY), finishedAt: new Date(Date.now() - (40 - i) * DAY + 1_000), exit: 0 });
    await importProcclawOnce(deps, { dbFile: file });
    // db.py cleanup_old_runs: every run is older than 30 days, so all go, the newest imported too.
    procclaw.sqlite.prepare('DELETE FROM job_runs').run();
    expect((await importProcclawOnce(deps, { dbFile: file })).new_generation).toBeUndefined();
    const later = procclaw.run({ job: 'cleaned-job', at: new Date(Date.now() - DAY), finishedAt: new Date(Date.now() - DAY + 1_000), exit: 0 });
    procclaw.close();
    expect(await importProcclawOnce(deps, { dbFile: file })).toMatchObject({ created: 1 });
    expect(await runOf('cleaned-job', `procclaw-${later}`)).toBeTruthy();

    await rename(file, `${file}.corrupt`);
    new ProcclawDb(file).close();
    const passes = [];
    for (let i = 0; i < 3; i++) passes.push(await importProcclawOnce(deps, { dbFile: file }));
    expect(passes.map((p) => p.new_generation?.generation ?? null)).toEqual([2, null, null]);
    expect((await stack.db('import_cursors').where({ source: file }).first()).generation).toBe(2);
  });

  it('when a database already imported is put back (a restored backup), it is read on from where its import stopped: nothing is imported twice, no review starts again', async () => {
    const dir = path.join(stack.workDir, 'restored');
    const file = path.join(dir, 'procclaw.db');
    const original = new ProcclawDb(file);
    for (let i = 0; i < 4; i++) original.run({ job: 'restored-job', at: new Date(Date.now() - (4 - i) * 60 * MINUTE), finishedAt: new Date(Date.now() - (4 - i) * 60 * MINUTE + 1_000), exit: i === 3 ? 1 : 0 });
    original.close();
    await importProcclawOnce(deps, { dbFile: file });
    await rename(file, path.join(dir, 'backup.db'));
    const fresh = new ProcclawDb(file);
    fresh.run({ job: 'restored-job', at: new Date(Date.now() - 5 * MINUTE), finishedAt: new Date(Date.now() - 4 * MINUTE), exit: 0 });
    fresh.close();
    expect(await importProcclawOnce(deps, { dbFile: file })).toMatchObject({ created: 1, new_generation: { generation: 2 } });
    const runsBefore = await stack.db('job_runs').where({ job_id: 'restored-job' }).count<{ count: number }[]>({ count: '*' });

    await rename(file, path.join(dir, 'fresh.db'));
    await rename(path.join(dir, 'backup.db'), file);
    const back = await importProcclawOnce(deps, { dbFile: file });
    expect(back).toMatchObject({ created: 0, updated: 0, reviews: [], new_generation: { generation: 1 } });
    expect(back.new_generation?.reason).toContain('generation 1 again');
    expect(await stack.db('job_runs').where({ job_id: 'restored-job' }).count<{ count: number }[]>({ count: '*' })).toEqual(runsBefore);
    // It goes on from there: its next run is imported under generation 1's ids.
    const reopened = new ProcclawDb(file);
    const next = reopened.run({ job: 'restored-job', at: new Date(Date.now() - 2 * MINUTE), finishedAt: new Date(Date.now() - MINUTE), exit: 0 });
    reopened.close();
    expect(await importProcclawOnce(deps, { dbFile: file })).toMatchObject({ created: 1 });
    expect(await runOf('restored-job', `procclaw-${next}`)).toBeTruthy();
  });
});

describe('what arrives after a finish', () => {
  it("when an OpenClaw run's session arrives after its finish, only that run gets it: every other stored run keeps its own lines and session", async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'late-session', 'procclaw.db'));
    const others = [
      procclaw.run({ job: 'quiet-job', at: new Date(Date.now() - 3 * DAY), finishedAt: new Date(Date.now() - 3 * DAY + 1_000), exit: 0, stdout: ['quiet run one'] }),
      procclaw.run({ job: 'oc-digest', at: new Date(Date.now() - 2 * DAY), finishedAt: new Date(Date.now() - 2 * DAY + 1_000), exit: 0, stdout: ['digest sent'], session: [{ role: 'user', content: 'yesterday' }] }),
    ];
    const late = procclaw.run({ job: 'oc-digest', at: new Date(Date.now() - 40_000), finishedAt: new Date(Date.now() - 30_000), exit: 0, stdout: ['digest sent'] });
    await importProcclawOnce(deps, { dbFile: procclaw.file });
    const before = await stack.db('job_runs').select('id', 'log_tail', 'session_messages').orderBy('id');
    procclaw.saveSession(late, [{ role: 'assistant', content: 'today' }]);
    procclaw.close();
    expect(await importProcclawOnce(deps, { dbFile: procclaw.file })).toMatchObject({ updated: 1 });
    expect(await runOf('oc-digest', `procclaw-${late}`)).toMatchObject({ session_messages: [{ role: 'assistant', content: 'today' }] });
    const after = await stack.db('job_runs').select('id', 'log_tail', 'session_messages').orderBy('id');
    const lateId = (await runOf('oc-digest', `procclaw-${late}`)).id;
    expect(after.filter((r) => r.id !== lateId)).toEqual(before.filter((r) => r.id !== lateId));
    expect(await runOf('oc-digest', `procclaw-${others[1]}`)).toMatchObject({ session_messages: [{ role: 'user', content: 'yesterday' }] });
  });

  it('when a run has just failed and ProcClaw has not written its lines yet, it is held back, then stored and reviewed with them', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'held', 'procclaw.db'));
    const id = procclaw.addRun({ job: 'held-job', at: new Date(Date.now() - 3_000) });
    procclaw.finishRun(id, { finishedAt: new Date(), exit: 1 });
    const first = await importProcclawOnce(deps, { dbFile: procclaw.file });
    expect(first).toMatchObject({ created: 0, reviews: [] });
    expect(await runOf('held-job', `procclaw-${id}`)).toBeUndefined();
    procclaw.saveRunLogs(id, 'held-job', { stdout: ['exporting'], stderr: ['OSError: disk full'] });
    procclaw.close();
    const second = await importProcclawOnce(deps, { dbFile: procclaw.file });
    const run = await runOf('held-job', `procclaw-${id}`);
    expect(run).toMatchObject({ exit_code: 1, log_tail: expect.stringContaining('OSError: disk full') });
    expect(second.reviews).toEqual([expect.objectContaining({ job_id: 'held-job', run_id: run.id })]);
  });

  it('when a failed run writes no lines at all, it is stored and reviewed once the hold is over', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'silent', 'procclaw.db'));
    const id = procclaw.run({ job: 'silent-job', at: new Date(Date.now() - 2_000), finishedAt: new Date(), exit: 3 });
    procclaw.close();
    expect(await importProcclawOnce(deps, { dbFile: procclaw.file })).toMatchObject({ created: 0 });
    const later = await importProcclawOnce(deps, { dbFile: procclaw.file, now: () => new Date(Date.now() + 20_000) });
    expect(later).toMatchObject({ created: 1 });
    expect(later.reviews).toHaveLength(1);
    expect(await runOf('silent-job', `procclaw-${id}`)).toMatchObject({ exit_code: 3, log_tail: null });
  });
});
