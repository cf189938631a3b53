// Stats: global figures, per-job summary (the same handler serves both of its paths).
import { Router, type Request, type Response } from 'express';
import { findJob, loadCatalog } from '../../db/catalog.js';
import { globalStats, jobHasHistory, jobStats } from '../../db/stats.js';
import { verdictTotals } from '../../db/trend.js';
import { shortCache } from '../cache.js';
import type { ApiDeps } from '../context.js';
import { notFound, parseInput } from '../errors.js';
import { JobIdParam, NoQuery } from '../schemas.js';
import { jobSchedule } from '../schedules.js';

export function statsRouter(deps: ApiDeps): Router {
  const router = Router();
  // Figures at most statsCacheMs old: a room of dashboards polling costs one computation a second.
  const ttl = deps.statsCacheMs ?? 1_000;

  const globalBody = shortCache(ttl, async () => {
    const [stats, catalog, verdicts] = await Promise.all([globalStats(deps.db), loadCatalog(deps.jobsSource), verdictTotals(deps.db)]);
    const healing = catalog.jobs.filter((j) => j.config.self_healing.enabled);
    return {
      ...stats,
      jobs: {
        total: catalog.jobs.length,
        with_healing: healing.length,
        proactive: healing.filter((j) => j.config.self_healing.mode === 'proactive').length,
        with_errors: new Set(catalog.errors.map((e) => e.job_id ?? e.file)).size,
      },
      // which kinds of suggestions helped: the regression watch's verdicts per category and analyzer
      verdicts,
    };
  });

  const summaryBody = shortCache(ttl, async (id) => {
    const job = await findJob(deps.jobsSource, id);
    if (!job && !(await jobHasHistory(deps.db, id))) throw notFound(`job "${id}"`);
    const [stats, schedule] = await Promise.all([jobStats(deps.db, id), jobSchedule(deps.temporal, id)]);
    const healing = job?.config.self_healing;
    return {
      ...stats,
      in_catalog: Boolean(job),
      healing: healing ? { enabled: healing.enabled, mode: healing.mode, frequency: healing.review_schedule.frequency } : null,
      next_review_at: schedule?.next_review_at ?? null,
      schedule,
    };
  });

  router.get('/healing/stats', async (req, res) => {
    parseInput(NoQuery, req.query, 'query'); // `?job_id=` here would be global figures read as one job's
    res.json(await globalBody(''));
  });

  const summary = async (req: Request, res: Response) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    parseInput(NoQuery, req.query, 'query');
    res.json(await summaryBody(id));
  };
  router.get('/healing/stats/:id', summary);
  router.get('/jobs/:id/healing/summary', summary);

  return router;
}
