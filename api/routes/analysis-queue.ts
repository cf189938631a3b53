// The analysis queue: reviews waiting for a healing-analysis slot (HEALING_ANALYSIS_CONCURRENCY),
// with their position and wait, and those analysing now.
import { Router } from 'express';
import { analysisQueue } from '../../db/analysis-queue.js';
import type { ApiDeps } from '../context.js';
import { parseInput } from '../errors.js';
import { AnalysisQueueQuery } from '../schemas.js';

export function analysisQueueRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/healing/analysis-queue', async (req, res) => {
    const { job_id, limit } = parseInput(AnalysisQueueQuery, req.query, 'query');
    res.json(await analysisQueue(deps.db, { jobId: job_id, limit }));
  });
  return router;
}
