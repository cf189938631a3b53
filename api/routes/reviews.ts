// Reviews: list, show (with its suggestions), trigger.
import { Router } from 'express';
import { maskForDisplay } from '../../core/display-mask.js';
import { isUnchangedSkip } from '../../core/context-fingerprint.js';
import { isBelowMinRunsSkip } from '../../core/review.js';
import { describeRun, OPEN_RUN_MAX_AGE_MS } from '../../core/running.js';
import { queuePlaces, type QueuePlace } from '../../db/analysis-queue.js';
import { findJob } from '../../db/catalog.js';
import type { Db } from '../../db/knex.js';
import { getReview, listReviews } from '../../db/reviews.js';
import { openRuns } from '../../db/runs.js';
import { listSuggestions, reviewFiles } from '../../db/suggestions.js';
import type { ApiDeps } from '../context.js';
import { HttpError, isUnavailable, notFound, parseInput } from '../errors.js';
import { jobSecrets, maskSuggestion, rawAllowed } from '../masking.js';
import { DetailQuery, IdParam, JobIdParam, ReviewListQuery, TriggerBody, TriggerForJobBody } from '../schemas.js';
import { startReview } from '../temporal.js';

export function reviewsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/healing/reviews', async (req, res) => {
    const { limit, offset, ...filters } = parseInput(ReviewListQuery, req.query, 'query');
    const page = await listReviews(deps.db, filters, { limit, offset });
    const places = await queuePlaces(deps.db, page.rows.filter((r) => r.status === 'running').map((r) => r.id));
    res.json({ reviews: page.rows.map((r) => withQueuePlace(withForceHint(r), places)), total: page.total, limit, offset });
  });

  router.get('/healing/reviews/:id', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'review id');
    const { raw } = parseInput(DetailQuery, req.query, 'query');
    const found = await getReview(deps.db, id);
    if (!found) throw notFound(`review ${id}`);
    const { context_fingerprint: _hashes, ...row } = found; // hashes for the next review's comparison, no reading for a person
    const review = withQueuePlace(row, found.status === 'running' ? await queuePlaces(deps.db, [id]) : new Map());
    const suggestions = await listSuggestions(deps.db, { review_id: id }, { limit: 500, offset: 0 });
    if (rawAllowed(deps, res, raw, `review ${id}`)) {
      res.json({ ...withForceHint(review), suggestions: suggestions.rows, masked: false, secrets_masked: 0 });
      return;
    }
    // The answer may echo the files the review read: their secrets are known wherever they recur.
    const files = await reviewFiles(deps.db, id);
    const known = await jobSecrets(deps, review.job_id, files);
    const masked = maskForDisplay({ raw_response: review.raw_response, error_message: review.error_message }, known, files.map((f) => f.content));
    res.json({
      ...withForceHint(review),
      raw_response: masked.texts.raw_response,
      error_message: masked.texts.error_message,
      suggestions: suggestions.rows.map((row) => maskSuggestion(row, known, files.map((f) => f.content)).row),
      masked: true,
      secrets_masked: masked.hidden,
    });
  });

  const trigger = async (jobId: string, force: boolean) => {
    const job = await findJob(deps.jobsSource, jobId);
    if (!job) throw notFound(`job "${jobId}"`);
    if (!job.config.self_healing.enabled) {
      throw new HttpError(409, `self-healing is not enabled for job "${jobId}"; set self_healing.enabled: true in its file or through PUT /api/v1/jobs/${jobId}/self-healing`);
    }
    if (!force) {
      // A review now would read a run without its end, log or exit code.
      const [open] = await openRuns(deps.db, { jobId, now: new Date(), maxAgeMs: OPEN_RUN_MAX_AGE_MS, limit: 1 });
      if (open) {
        const run = { id: open.id, external_id: open.external_id, started_at: open.started_at.toISOString() };
        throw new HttpError(
          409,
          `job "${jobId}" is running: ${describeRun({ job_id: jobId, ...run })} has not reported its end; trigger the review once it has, or with force: true to review it now`,
          { code: 'job_running', job_id: jobId, run },
        );
      }
    }
    const started = await startReview(await deps.temporal(), deps.db, { jobId, trigger: 'manual', force });
    const reviewId = await waitForReviewRow(deps.db, started.runId);
    return {
      success: true,
      review_id: reviewId,
      job_id: jobId,
      workflow_id: started.workflowId,
      already_running: started.alreadyRunning,
      status: 'running',
    };
  };

  router.post('/healing/trigger', async (req, res) => {
    const body = parseInput(TriggerBody, req.body ?? {}, 'body');
    const result = await trigger(body.job_id, body.force);
    res.status(result.already_running ? 200 : 202).json(result);
  });

  router.post('/healing/reviews/:id/trigger', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const body = parseInput(TriggerForJobBody, req.body ?? {}, 'body');
    const result = await trigger(id, body.force);
    res.status(result.already_running ? 200 : 202).json(result);
  });

  return router;
}

/** A skip that a forced review would not have: the dashboard offers "review anyway" for it. And a skip for an unchanged context. */
function withForceHint<T extends { status: string; skip_reason: string | null }>(review: T): T & { skipped_below_min_runs: boolean; skipped_unchanged: boolean } {
  const skipped = review.status === 'skipped';
  return { ...review, skipped_below_min_runs: skipped && isBelowMinRunsSkip(review.skip_reason), skipped_unchanged: skipped && isUnchangedSkip(review.skip_reason) };
}

/** A running review's place in the analysis queue (waiting: position and wait; analysing: since when), else null. */
function withQueuePlace<T extends { id: number }>(review: T, places: Map<number, Exclude<QueuePlace, null>>): T & { analysis_queue: QueuePlace } {
  return { ...review, analysis_queue: places.get(review.id) ?? null };
}

/** The review row is the workflow's first step; wait briefly for it so the caller gets its id. */
async function waitForReviewRow(db: Db, workflowRunId: string): Promise<number | null> {
  const deadline = Date.now() + 10_000;
  for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 250)) {
    let row: { id: number } | undefined;
    try {
      row = await db('healing_reviews').where({ workflow_run_id: workflowRunId }).first('id');
    } catch (error) {
      // The review is started in Temporal and opens its row once Postgres is back: the trigger
      // succeeded, so answer it (the workflow id finds the review) rather than a 503.
      if (isUnavailable(error)) return null;
      throw error;
    }
    if (row) return row.id;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return null; // no worker has picked it up yet; the workflow id still finds it
}
