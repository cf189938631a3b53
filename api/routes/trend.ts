// GET /jobs/{id}/trend: did healing help? The job's success rate and p95 duration per day (per run
// when it runs less than twice a day) over its last days, with a marker at every applied change and
// rollback and the regression watch's verdict on each. The rules are in db/trend.ts.
import { Router } from 'express';
import { z } from 'zod';
import { resolveDefaultTimeZone } from '../../core/config.js';
import { reviewTimeZone } from '../../core/job.js';
import { VERDICTS } from '../../core/regression.js';
import { findJob } from '../../db/catalog.js';
import { jobHasHistory } from '../../db/stats.js';
import { jobTrend, MAX_TREND_MARKERS } from '../../db/trend.js';
import type { ApiDeps } from '../context.js';
import { notFound, parseInput } from '../errors.js';
import { JobIdParam } from '../schemas.js';

export const MAX_TREND_DAYS = 365;

export const TrendQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(MAX_TREND_DAYS).default(90).meta({ description: `calendar days back, today included (1..${MAX_TREND_DAYS}, default 90)` }),
});

const common = {
  at: z.string().meta({ description: 'ISO time of the marker: when the change took effect (the suggestion\'s applied_at), or when it was rolled back' }),
  action_id: z.number().int(),
  suggestion_id: z.number().int(),
  title: z.string(),
  category: z.string(),
  auto_reverted: z.boolean().meta({ description: 'rolled back by the regression watch itself' }),
};

export const TrendAnswer = z.strictObject({
  job_id: z.string(),
  days: z.number().int(),
  time_zone: z.string().meta({ description: "the zone whose calendar days the points are: the job's review time zone" }),
  time_zone_note: z.string().nullable().meta({ description: 'set when Postgres did not know that zone and UTC days were used' }),
  granularity: z.enum(['day', 'run']).meta({ description: 'run: the job ran less than twice a day on average from its first run in the window, so each run is a point' }),
  from: z.string(),
  to: z.string(),
  runs: z.number().int().meta({ description: 'finished runs (with an exit code) in the window' }),
  succeeded: z.number().int(),
  points: z.array(
    z.strictObject({
      day: z.string().meta({ description: 'YYYY-MM-DD in time_zone' }),
      at: z.string(),
      runs: z.number().int(),
      succeeded: z.number().int(),
      success_rate: z.number().meta({ description: '0..1: exit code 0 over finished runs' }),
      p95_duration_ms: z.number().nullable().meta({ description: 'p95 duration of the successful runs (percentile_cont); null when none succeeded' }),
      run: z.strictObject({ id: z.number().int(), external_id: z.string(), exit_code: z.number().int(), duration_ms: z.number().nullable() }).optional(),
    }),
  ).meta({ description: 'oldest first; days without runs are left out' }),
  markers: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('applied'),
        ...common,
        verdict: z.enum(VERDICTS).nullable().meta({ description: 'null while watching (watch_status watching), or when the change was not watched or a rollback ended the watch first' }),
        watch_status: z.string().nullable(),
        verdict_at: z.string().nullable(),
        summary: z.string().nullable().meta({ description: "the watch's summary of its figures" }),
      }),
      z.strictObject({ kind: z.literal('rollback'), ...common, rolled_back_by: z.string().nullable() }),
    ]),
  ).meta({ description: `every applied change and rollback in the window, oldest first, at most ${MAX_TREND_MARKERS} changes` }),
  markers_truncated: z.boolean(),
});

export function trendRouter(deps: ApiDeps): Router {
  const router = Router();
  const defaultZone = deps.defaultTimeZone ?? resolveDefaultTimeZone(undefined);

  router.get('/jobs/:id/trend', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const { days } = parseInput(TrendQuery, req.query, 'query');
    const job = await findJob(deps.jobsSource, id);
    // A job taken out of the catalog still has its history to show, in the default zone.
    if (!job && !(await jobHasHistory(deps.db, id))) throw notFound(`job "${id}"`);
    const zone = job ? reviewTimeZone(job.config, defaultZone).zone : defaultZone.zone;
    res.json(await jobTrend(deps.db, id, { days, zone }));
  });

  return router;
}
