// ProcClaw on a machine in New York across the clock change of 1 November 2026: it writes naive
// local times, so every run between 01:00 and 02:00 has a start that names two instants, and a
// run that spans the change gets a wall-clock duration off by an hour (even negative). Imported
// into the real stack in one pass, pass by pass as --follow reads them, and through the API.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importProcclawOnce, type ImportDeps } from '../cli/procclaw/import.js';
import { ProcclawDb } from './helpers/procclaw-db.js';
import { http, startStack, type Stack } from './helpers/stack.js';

const NY = 'America/New_York';
const MIN = 60_000;
/** 01:00 EDT, when the repeated hour starts; the clock goes back at 06:00Z (02:00 EDT → 01:00 EST). */
const REPEAT_FROM = Date.parse('2026-11-01T05:00:00Z');
const CLOCK_BACK = Date.parse('2026-11-01T06:00:00Z');
const REPEAT_TO = Date.parse('2026-11-01T07:00:00Z');

interface PlannedRun {
  job: string;
  at: Date;
  finishedAt: Date;
}

/**
 * What ProcClaw ran that night, in start order: a job every 15 minutes from 00:00 EDT to 03:00
 * EST, 5 minutes each; a run from 00:50 EDT to 02:10 EST (plain times, 140 min, ProcClaw says 80);
 * one from 01:50 EDT to 01:10 EST (both ambiguous, 20 min, ProcClaw says -40).
 */
function night(prefix: string): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (let at = Date.parse('2026-11-01T04:00:00Z'); at <= Date.parse('2026-11-01T08:00:00Z'); at += 15 * MIN) {
    runs.push({ job: `${prefix}-sync`, at: new Date(at), finishedAt: new Date(at + 5 * MIN) });
  }
  runs.push({ job: `${prefix}-long`, at: new Date('2026-11-01T04:50:00Z'), finishedAt: new Date('2026-11-01T07:10:00Z') });
  runs.push({ job: `${prefix}-long`, at: new Date('2026-11-01T05:50:00Z'), finishedAt: new Date('2026-11-01T06:10:00Z') });
  return runs.sort((a, b) => a.at.getTime() - b.at.getTime());
}

const inRepeatedHour = (d: Date) => d.getTime() >= REPEAT_FROM && d.getTime() < REPEAT_TO;
const spansChange = (r: PlannedRun) => r.at.getTime() < CLOCK_BACK && r.finishedAt.getTime() >= CLOCK_BACK;

let stack: Stack;
let deps: ImportDeps;

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  deps = { db: stack.db, jobsSource: null, startReview: null, api: null };
});
afterAll(async () => {
  await stack?.stop();
});

async function storedRuns(jobPrefix: string): Promise<any[]> {
  return stack.db('job_runs').where('job_id', 'like', `${jobPrefix}-%`).orderBy('id');
}

/** Every stored run against what really happened: its instants, its real duration, a note exactly where a time was ambiguous or the duration corrected. */
async function expectRealTimes(jobPrefix: string, planned: PlannedRun[], procclawIds: number[]) {
  const stored = await storedRuns(jobPrefix);
  expect(stored).toHaveLength(planned.length);
  planned.forEach((run, i) => {
    const row = stored.find((r) => r.job_id === run.job && r.external_id === `procclaw-${procclawIds[i]}`);
    const what = `${run.job} started ${run.at.toISOString()}`;
    expect(row, what).toBeDefined();
    expect(row.started_at.toISOString(), what).toBe(run.at.toISOString());
    expect(row.finished_at.toISOString(), what).toBe(run.finishedAt.toISOString());
    expect(row.duration_ms, what).toBe(run.finishedAt.getTime() - run.at.getTime());
    const noted = inRepeatedHour(run.at) || inRepeatedHour(run.finishedAt) || spansChange(run);
    if (!noted) expect(row.time_note, what).toBeNull();
    else expect(row.time_note, what).toEqual(expect.any(String));
    if (inRepeatedHour(run.at)) expect(row.time_note, what).toMatch(/^started_at 2026-11-01T01:\d\d:00 is ambiguous in America\/New_York \(the clock went back 1 h, so it happened twice\); read as 01:\d\d E[SD]T/);
    if (inRepeatedHour(run.finishedAt)) expect(row.time_note, what).toMatch(/finished_at 2026-11-01T01:\d\d:00 is ambiguous in America\/New_York/);
    if (spansChange(run)) expect(row.time_note, what).toMatch(/the difference of ProcClaw's wall clocks across the clock change; stored the real \d+ s \(finished_at - started_at\)$/);
  });
}

describe('a ProcClaw database written across the fall-back in New York', () => {
  let procclaw: ProcclawDb;
  let planned: PlannedRun[];
  let ids: number[];

  beforeAll(() => {
    procclaw = new ProcclawDb(path.join(stack.workDir, 'night', 'procclaw.db'), NY);
    planned = night('night');
    // ProcClaw's order: `add_run` at each start, `update_run` at each finish.
    ids = planned.map((run) => procclaw.addRun(run));
    planned.forEach((run, i) => procclaw.finishRun(ids[i]!, { finishedAt: run.finishedAt, exit: 0 }));
  });
  afterAll(() => procclaw?.close());

  it('when imported, every run starts and finishes at the instant it really did, an hour apart where the wall clock repeated', async () => {
    // what ProcClaw wrote: the same wall time twice
    const walls = planned.map((run) => (procclaw.sqlite.prepare('SELECT started_at FROM job_runs WHERE id = ?').get(ids[planned.indexOf(run)]) as { started_at: string }).started_at);
    expect(walls.filter((w) => w.startsWith('2026-11-01T01:15:00'))).toHaveLength(2);

    const summary = await importProcclawOnce(deps, { dbFile: procclaw.file, naiveZone: NY });
    expect(summary).toMatchObject({ created: planned.length, skipped: [] });
    await expectRealTimes('night', planned, ids);

    const stored = await storedRuns('night');
    const at0115 = stored.filter((r) => r.time_note?.startsWith('started_at 2026-11-01T01:15:00'));
    expect(at0115.map((r) => r.started_at.toISOString()).sort()).toEqual(['2026-11-01T05:15:00.000Z', '2026-11-01T06:15:00.000Z']);
    const second = at0115.find((r) => r.started_at.toISOString() === '2026-11-01T06:15:00.000Z');
    expect(second.time_note).toBe(
      'started_at 2026-11-01T01:15:00 is ambiguous in America/New_York (the clock went back 1 h, so it happened twice); read as 01:15 EST (-05:00), after the run before it (started 01:00 EST (-05:00)); ' +
        'finished_at 2026-11-01T01:20:00 is ambiguous in America/New_York (the clock went back 1 h, so it happened twice); read as 01:20 EST (-05:00), the first reading not before its start (01:15 EST (-05:00))',
    );
  });

  it('when a run spans the clock change, its duration is the real one, not ProcClaw\'s wall-clock difference (negative here), and the note says so', async () => {
    const long = (await storedRuns('night')).filter((r) => r.job_id === 'night-long');
    expect(long.map((r) => r.duration_ms)).toEqual([140 * MIN, 20 * MIN]);
    const recorded = ids.filter((_, i) => planned[i]!.job === 'night-long').map((id) => (procclaw.sqlite.prepare('SELECT duration_seconds FROM job_runs WHERE id = ?').get(id) as { duration_seconds: number }).duration_seconds);
    expect(recorded).toEqual([80 * 60, -40 * 60]);
    expect(long[0].time_note).toBe("duration_seconds 4800 is the difference of ProcClaw's wall clocks across the clock change; stored the real 8400 s (finished_at - started_at)");
    expect(long[1].time_note).toContain('duration_seconds -2400 is the difference');
  });

  it('when imported again, nothing changes', async () => {
    const before = await storedRuns('night');
    const again = await importProcclawOnce(deps, { dbFile: procclaw.file, naiveZone: NY });
    expect(again).toMatchObject({ created: 0, updated: 0 });
    expect(await storedRuns('night')).toEqual(before);
  });

  it('when the runs are listed through the API, each carries its time_note', async () => {
    const answer = await http(stack.api, 'GET', '/api/v1/jobs/night-long/runs?limit=10');
    expect(answer.status).toBe(200);
    expect(answer.body.runs.map((r: { time_note: string | null }) => r.time_note)).toEqual([expect.stringContaining('duration_seconds -2400'), expect.stringContaining('duration_seconds 4800')]);
  });
});

describe('following ProcClaw through the night', () => {
  it('when each start and finish is imported by its own pass (as --follow reads them), every run still gets its real instants and notes', async () => {
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'follow', 'procclaw.db'), NY);
    try {
      const planned = night('follow');
      const ids: number[] = [];
      const events = [
        ...planned.map((run, i) => ({ at: run.at.getTime(), order: 0, apply: () => void (ids[i] = procclaw.addRun(run)) })),
        ...planned.map((run, i) => ({ at: run.finishedAt.getTime(), order: 1, apply: () => procclaw.finishRun(ids[i]!, { finishedAt: run.finishedAt, exit: 0 }) })),
      ].sort((a, b) => a.at - b.at || a.order - b.order);
      for (const event of events) {
        event.apply();
        const pass = await importProcclawOnce(deps, { dbFile: procclaw.file, naiveZone: NY });
        expect(pass.skipped).toEqual([]);
      }
      await expectRealTimes('follow', planned, ids);
      const again = await importProcclawOnce(deps, { dbFile: procclaw.file, naiveZone: NY });
      expect(again).toMatchObject({ created: 0, updated: 0, running: 0 });
    } finally {
      procclaw.close();
    }
  });
});

describe('through the API', () => {
  it('when fresh runs are reported to the API, the rows it stores get their time notes too', async () => {
    await writeFile(path.join(stack.jobsDir, 'api-sync.yaml'), 'name: API sync\ncmd: ./sync.sh\n');
    const procclaw = new ProcclawDb(path.join(stack.workDir, 'api', 'procclaw.db'), NY);
    try {
      const planned = night('api').filter((r) => r.job === 'api-sync');
      const ids = planned.map((run) => procclaw.run({ ...run, exit: 0 }));
      // a review window wide enough that the night's runs count as fresh: they go through the API
      const summary = await importProcclawOnce({ ...deps, api: { url: stack.api, token: null } }, { dbFile: procclaw.file, naiveZone: NY, reviewWindowMs: 400 * 86_400_000 });
      expect(summary).toMatchObject({ created: planned.length, updated: 0 });
      await expectRealTimes('api', planned, ids);
    } finally {
      procclaw.close();
    }
  });
});

describe('a time the clock skipped', () => {
  it('when ProcClaw wrote a wall time New York skipped (ProcClaw ran under TZ=UTC once), it is read with the offset before the change and noted', async () => {
    const file = path.join(stack.workDir, 'gap', 'procclaw.db');
    const inNewYork = new ProcclawDb(file, NY);
    const underUtc = new ProcclawDb(file, 'UTC');
    try {
      // 02:30 on 8 March 2026 does not exist in New York: 02:00 EST became 03:00 EDT.
      const id = underUtc.run({ job: 'gap-job', at: new Date('2026-03-08T02:30:00Z'), finishedAt: new Date('2026-03-08T02:31:00Z'), exit: 0 });
      const next = inNewYork.run({ job: 'gap-job', at: new Date('2026-03-08T08:00:00Z'), finishedAt: new Date('2026-03-08T08:01:00Z'), exit: 0 });
      expect(inNewYork.sqlite.prepare('SELECT started_at FROM job_runs WHERE id = ?').get(id)).toEqual({ started_at: '2026-03-08T02:30:00.000000' });
      const summary = await importProcclawOnce(deps, { dbFile: file, naiveZone: NY });
      expect(summary).toMatchObject({ created: 2, skipped: [] });
      const skipped = await stack.db('job_runs').where({ job_id: 'gap-job', external_id: `procclaw-${id}` }).first();
      expect(skipped.started_at.toISOString()).toBe('2026-03-08T07:30:00.000Z');
      expect(skipped.duration_ms).toBe(60_000);
      expect(skipped.time_note).toBe(
        'started_at 2026-03-08T02:30:00 does not exist in America/New_York (the clock went forward 1 h past it); read with the offset before the change, as 03:30 EDT (-04:00); ' +
          'finished_at 2026-03-08T02:31:00 does not exist in America/New_York (the clock went forward 1 h past it); read with the offset before the change, as 03:31 EDT (-04:00)',
      );
      const plain = await stack.db('job_runs').where({ job_id: 'gap-job', external_id: `procclaw-${next}` }).first();
      expect(plain).toMatchObject({ started_at: new Date('2026-03-08T08:00:00Z'), time_note: null });
    } finally {
      underUtc.close();
      inNewYork.close();
    }
  });
});
