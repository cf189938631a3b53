// "Did healing help?" (issue 18) through the real stack: runs reported through the API over the
// last days, changes applied and rolled back through the API (their verdicts written as the
// regression watch would, to not wait on it), then GET /jobs/{id}/trend per day in the job's zone,
// per run for a sparse window, and the stats endpoint's verdict totals per category and analyzer.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrendAnswer } from '../api/routes/trend.js';
import { createSuggestion } from './helpers/suggestions.js';
import { http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
const JOB = 'trend-etl';
const ZONE = 'America/New_York';

/** YYYY-MM-DD of `instant` in New York. */
const nyDay = (instant: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
const TODAY = nyDay(new Date());
/** The New York calendar day `k` days before today. */
const day = (k: number) => new Date(Date.parse(`${TODAY}T00:00:00Z`) - k * 86_400_000).toISOString().slice(0, 10);
/** 17:00 UTC is 12:00 or 13:00 in New York: the same calendar day, and in the past for k >= 2. */
const noonOf = (k: number, minutes = 0) => new Date(Date.parse(`${day(k)}T17:00:00Z`) + minutes * 60_000);

let reported = 0;
async function report(started: Date, run: { exit: number | null; ms: number }) {
  reported += 1;
  const answer = await http(stack.api, 'POST', `/api/v1/jobs/${JOB}/runs`, {
    external_id: `run-${reported}`,
    started_at: started.toISOString(),
    ...(run.exit === null ? {} : { finished_at: new Date(started.getTime() + run.ms).toISOString(), exit_code: run.exit, duration_ms: run.ms }),
    error: run.exit ? 'upload failed: connection reset by peer' : null,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
}

/** Three runs at noon of day k, ten minutes apart. */
async function reportDay(k: number, runs: { exit: number; ms: number }[]) {
  for (const [i, run] of runs.entries()) await report(noonOf(k, i * 10), run);
}

const ok = (ms: number) => ({ exit: 0, ms });
const failed = { exit: 1, ms: 500 };

let script: string;
let improvedAction: number;
let personRolledBack: number;
let autoReverted: number;
let personRollbackBy: string;

/** Applies `proposed` to the job's script through an approve, as a person would. */
async function approveScript(title: string, category: string, proposed: string): Promise<{ suggestionId: number; actionId: number }> {
  const suggestionId = await createSuggestion(stack, { jobId: JOB, targetFile: script, proposed, title, category });
  const answer = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${suggestionId}/approve`, {});
  expect(answer.body.status, JSON.stringify(answer.body)).toBe('applied');
  return { suggestionId, actionId: answer.body.action_id as number };
}

async function rollBack(actionId: number) {
  const answer = await http(stack.api, 'POST', `/api/v1/healing/actions/${actionId}/rollback`, {});
  expect(answer.body.status, JSON.stringify(answer.body)).toBe('rolled_back');
}

/** Moves an applied change back in time, and gives it a verdict as the watch would. */
async function backdate(actionId: number, appliedAt: Date, watch: Record<string, unknown>, analyzer: string | null) {
  const action = await stack.db('healing_actions').where({ id: actionId }).first('suggestion_id');
  await stack.db('healing_suggestions').where({ id: action.suggestion_id }).update({ applied_at: appliedAt });
  if (Object.keys(watch).length > 0) await stack.db('healing_actions').where({ id: actionId }).update(watch);
  const suggestion = await stack.db('healing_suggestions').where({ id: action.suggestion_id }).first('review_id');
  await stack.db('healing_reviews').where({ id: suggestion.review_id }).update({ analyzer });
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  script = path.join(stack.jobsDir, 'trend-etl.sh');
  await writeFile(script, '#!/bin/bash\necho load\n');
  await writeFile(
    path.join(stack.jobsDir, `${JOB}.yaml`),
    `name: Trend ETL\ncmd: ./trend-etl.sh\ntype: scheduled\nschedule: "0 12 * * *"\ntimezone: ${ZONE}\n` +
      'self_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: manual\n  watch:\n    enabled: false\n',
  );

  // Three changes, each applied and (two of them) rolled back through the API.
  const improved = await approveScript('Retry the upload', 'reliability', '#!/bin/bash\necho load --retry 3\n');
  improvedAction = improved.actionId;
  personRolledBack = (await approveScript('Compress before upload', 'performance', '#!/bin/bash\necho load --retry 3 --gzip\n')).actionId;
  await rollBack(personRolledBack);
  autoReverted = (await approveScript('Upload in parallel', 'performance', '#!/bin/bash\necho load --retry 3 --parallel 8\n')).actionId;
  await rollBack(autoReverted);
  personRollbackBy = (await stack.db('healing_actions').where({ id: personRolledBack }).first('rolled_back_by')).rolled_back_by;

  await backdate(improvedAction, new Date(Date.parse(`${day(5)}T20:00:00Z`)), { watch_status: 'done', verdict: 'improved', verdict_at: noonOf(3), verdict_details: JSON.stringify({ summary: 'success rate 33% -> 100%' }) }, 'rules');
  await backdate(personRolledBack, noonOf(4, 45), {}, null);
  await backdate(autoReverted, noonOf(3, 45), { watch_status: 'done', verdict: 'regressed', verdict_at: new Date(), auto_reverted: true, rolled_back_by: 'regression-watch', verdict_details: JSON.stringify({ summary: 'success rate 100% -> 0%' }) }, 'openclaw');

  // The runs: three a day at noon in New York, one late evening, one still open, one long ago.
  await report(new Date(Date.parse(`${day(120)}T17:00:00Z`)), ok(99_000));
  await reportDay(7, [ok(1000), ok(2000), failed]);
  await reportDay(6, [failed, failed, ok(4000)]);
  await reportDay(5, [failed, failed, failed]);
  // 03:30 UTC of day 4 is the evening of day 5 in New York
  await report(new Date(Date.parse(`${day(4)}T03:30:00Z`)), ok(7000));
  await reportDay(4, [ok(1000), ok(2000), ok(3000)]);
  await reportDay(3, [ok(1000), ok(1000), ok(1000)]);
  await reportDay(2, [ok(500), ok(1500), failed]);
  await report(noonOf(2, 40), { exit: null, ms: 0 }); // still running: not counted
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const trend = async (query = '') => http(stack.api, 'GET', `/api/v1/jobs/${JOB}/trend${query}`);
const figures = (points: any[]) => points.map((p) => ({ day: p.day, runs: p.runs, succeeded: p.succeeded, success_rate: p.success_rate, p95_duration_ms: p.p95_duration_ms }));

describe('GET /jobs/{id}/trend', () => {
  it('when a job ran three times a day, shows each New York day\'s success rate and p95 duration of its successful runs, and every change and rollback with its verdict', async () => {
    const answer = await trend();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(TrendAnswer.safeParse(answer.body).error).toBeUndefined();
    const body = answer.body;
    expect(body).toMatchObject({ job_id: JOB, days: 90, time_zone: ZONE, time_zone_note: null, granularity: 'day', runs: 19, succeeded: 12 });
    expect(figures(body.points)).toEqual([
      { day: day(7), runs: 3, succeeded: 2, success_rate: 0.6667, p95_duration_ms: 1950 },
      { day: day(6), runs: 3, succeeded: 1, success_rate: 0.3333, p95_duration_ms: 4000 },
      { day: day(5), runs: 4, succeeded: 1, success_rate: 0.25, p95_duration_ms: 7000 },
      { day: day(4), runs: 3, succeeded: 3, success_rate: 1, p95_duration_ms: 2900 },
      { day: day(3), runs: 3, succeeded: 3, success_rate: 1, p95_duration_ms: 1000 },
      { day: day(2), runs: 3, succeeded: 2, success_rate: 0.6667, p95_duration_ms: 1450 },
    ]);
    // a day starts at midnight in New York
    const start = new Date(body.points[0].at);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(start)).toBe('00:00');
    expect(nyDay(start)).toBe(day(7));
    expect(nyDay(new Date(body.from))).toBe(day(89));

    const markers = body.markers.map((m: any) => ({ ...m, at: m.at.slice(0, 16) }));
    const now = (m: any) => Math.abs(Date.parse(body.markers.find((x: any) => x.kind === m.kind && x.action_id === m.action_id).at) - Date.now()) < 10 * 60_000;
    expect(markers.map((m: any) => [m.kind, m.action_id])).toEqual([
      ['applied', improvedAction],
      ['applied', personRolledBack],
      ['applied', autoReverted],
      ['rollback', personRolledBack],
      ['rollback', autoReverted],
    ]);
    expect(markers[0]).toEqual({
      kind: 'applied', at: `${day(5)}T20:00`, action_id: improvedAction, suggestion_id: expect.any(Number), title: 'Retry the upload', category: 'reliability',
      verdict: 'improved', watch_status: 'done', verdict_at: noonOf(3).toISOString(), summary: 'success rate 33% -> 100%', auto_reverted: false,
    });
    expect(markers[1]).toMatchObject({ kind: 'applied', at: noonOf(4, 45).toISOString().slice(0, 16), title: 'Compress before upload', verdict: null, watch_status: null, auto_reverted: false });
    expect(markers[2]).toMatchObject({ kind: 'applied', at: noonOf(3, 45).toISOString().slice(0, 16), title: 'Upload in parallel', category: 'performance', verdict: 'regressed', summary: 'success rate 100% -> 0%', auto_reverted: true });
    expect(markers[3]).toEqual({ kind: 'rollback', at: markers[3].at, action_id: personRolledBack, suggestion_id: expect.any(Number), title: 'Compress before upload', category: 'performance', rolled_back_by: personRollbackBy, auto_reverted: false });
    expect(markers[4]).toMatchObject({ kind: 'rollback', action_id: autoReverted, rolled_back_by: 'regression-watch', auto_reverted: true });
    expect(now(markers[3]) && now(markers[4])).toBe(true);
    expect(body.markers_truncated).toBe(false);
  });

  it('when the window holds fewer than two runs a day, each run is its own point, and only the changes and rollbacks inside it are marked', async () => {
    const body = (await trend('?days=3')).body;
    expect(body).toMatchObject({ days: 3, granularity: 'run', runs: 3, succeeded: 2 });
    expect(body.points.map((p: any) => ({ day: p.day, at: p.at, success_rate: p.success_rate, p95_duration_ms: p.p95_duration_ms, exit_code: p.run.exit_code, duration_ms: p.run.duration_ms }))).toEqual([
      { day: day(2), at: noonOf(2).toISOString(), success_rate: 1, p95_duration_ms: 500, exit_code: 0, duration_ms: 500 },
      { day: day(2), at: noonOf(2, 10).toISOString(), success_rate: 1, p95_duration_ms: 1500, exit_code: 0, duration_ms: 1500 },
      { day: day(2), at: noonOf(2, 20).toISOString(), success_rate: 0, p95_duration_ms: null, exit_code: 1, duration_ms: 500 },
    ]);
    // the applies were before the window; both rollbacks (today) are in it
    expect(body.markers.map((m: any) => [m.kind, m.action_id])).toEqual([
      ['rollback', personRolledBack],
      ['rollback', autoReverted],
    ]);
  });

  it('when the query is out of bounds or misspelt, answers 400 naming the field; an unknown job 404', async () => {
    for (const query of ['?days=0', '?days=366', '?days=ten', '?days=2.5']) {
      const answer = await trend(query);
      expect(answer.status, query).toBe(400);
      expect(answer.body.detail[0].field, query).toBe('days');
    }
    const misspelt = await trend('?dayz=30');
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.detail[0].field).toBe('dayz');
    expect((await http(stack.api, 'GET', '/api/v1/jobs/no-such-job/trend')).status).toBe(404);
    expect((await trend('?days=365')).body.days).toBe(365);
  });

  it('is in the OpenAPI document with its query and answer', async () => {
    const doc = (await http(stack.api, 'GET', '/api/v1/openapi.json')).body;
    const op = doc.paths['/jobs/{id}/trend'].get;
    expect(op.parameters.map((p: any) => p.name)).toEqual(['id', 'days']);
    expect(op.responses['200'].content['application/json'].schema.properties.markers).toBeDefined();
  });
});

describe('the stats endpoint\'s verdict totals', () => {
  it('when changes were judged, counts each verdict per category and per analyzer, and a change with no verdict in none', async () => {
    await stack.db('healing_actions').where({ id: personRolledBack }).update({ watch_status: 'watching' }); // as if still watched
    try {
      const stats = (await http(stack.api, 'GET', '/api/v1/healing/stats')).body;
      const none = { improved: 0, no_change: 0, regressed: 0, inconclusive: 0, watching: 0 };
      expect(stats.verdicts.total).toEqual({ ...none, improved: 1, regressed: 1, watching: 1 });
      expect(stats.verdicts.by_category.reliability).toEqual({ ...none, improved: 1 });
      expect(stats.verdicts.by_category.performance).toEqual({ ...none, regressed: 1, watching: 1 });
      expect(stats.verdicts.by_category.security).toEqual(none);
      expect(stats.verdicts.by_analyzer).toEqual({ rules: { ...none, improved: 1 }, openclaw: { ...none, regressed: 1 }, unknown: { ...none, watching: 1 } });
    } finally {
      await stack.db('healing_actions').where({ id: personRolledBack }).update({ watch_status: null });
    }
  });
});
