// Jobs from the catalog (with load errors), and run reports. A failed run report starts a
// reactive review for jobs that ask for one.
import { Router } from 'express';
import type { Job } from '../../core/job.js';
import type { Trigger } from '../../core/review.js';
import { findJob, loadCatalog } from '../../db/catalog.js';
import { listRuns, upsertRun } from '../../db/runs.js';
import type { ApiDeps } from '../context.js';
import { notFound, parseInput } from '../errors.js';
import { JobIdParam, RunListQuery, RunReportBody } from '../schemas.js';
import { startReview } from '../temporal.js';

export function jobsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/jobs', async (_req, res) => {
    const catalog = await loadCatalog(deps.jobsSource);
    res.json({ jobs: catalog.jobs.map(describeJob), errors: catalog.errors, total: catalog.jobs.length });
  });

  router.get('/jobs/:id', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const catalog = await loadCatalog(deps.jobsSource);
    const job = catalog.jobs.find((j) => j.id === id);
    const errors = catalog.errors.filter((e) => e.job_id === id);
    if (!job && errors.length === 0) throw notFound(`job "${id}"`);
    res.json({ ...(job ? describeJob(job) : { id, loaded: false }), errors });
  });

  router.get('/jobs/:id/runs', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const { limit, offset } = parseInput(RunListQuery, req.query, 'query');
    const page = await listRuns(deps.db, id, { limit, offset });
    res.json({ runs: page.rows, total: page.total, limit, offset });
  });

  router.post('/jobs/:id/runs', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const body = parseInput(RunReportBody, req.body ?? {}, 'body');
    const job = await findJob(deps.jobsSource, id);
    if (!job) throw notFound(`job "${id}"`);
    const durationMs = body.duration_ms ?? (body.duration_seconds != null ? Math.round(body.duration_seconds * 1000) : null);
    const { run, created } = await upsertRun(deps.db, {
      job_id: id,
      external_id: String(body.external_id ?? body.id),
      started_at: new Date(body.started_at),
      finished_at: body.finished_at ? new Date(body.finished_at) : null,
      exit_code: body.exit_code ?? null,
      duration_ms: durationMs,
      trigger: body.trigger ?? null,
      error: body.error ?? null,
      sla_status: body.sla_status ?? null,
      sla_details: body.sla_details ?? null,
      log_path: body.log_path ?? null,
      log_tail: body.log_tail ?? null,
      session_messages: body.session_messages ?? null,
    });
    const trigger = created ? reactiveTrigger(job, run) : null;
    let review: { workflow_id: string; already_running: boolean } | null = null;
    if (trigger) {
      const started = await startReview(await deps.temporal(), { jobId: id, trigger, runId: run.id });
      review = { workflow_id: started.workflowId, already_running: started.alreadyRunning };
    }
    res.status(created ? 201 : 200).json({ success: true, created, run, review });
  });

  return router;
}

/** The reactive trigger a new run calls for, if any. */
function reactiveTrigger(job: Job, run: { exit_code: number | null; sla_status: string | null }): Trigger | null {
  const healing = job.config.self_healing;
  if (!healing.enabled) return null;
  const frequency = healing.review_schedule.frequency;
  if (frequency === 'on_failure' && run.exit_code !== null && run.exit_code !== 0) return 'on_failure';
  if (frequency === 'on_sla_breach' && run.sla_status === 'fail') return 'on_sla_breach';
  return null;
}

function describeJob(job: Job) {
  const { self_healing, ...config } = job.config;
  return {
    id: job.id,
    name: job.config.name,
    type: job.config.type,
    file: job.file,
    schedule: job.config.schedule ?? null,
    timezone: job.config.timezone ?? null,
    enabled: job.config.enabled,
    loaded: true,
    config,
    self_healing,
  };
}
