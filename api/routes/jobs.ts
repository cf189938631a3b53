// Jobs from the catalog (with load errors), and run reports. A failed run report starts a
// reactive review for jobs that ask for one.
import os from 'node:os';
import path from 'node:path';
import { Router } from 'express';
import { businessLogView } from '../../activities/business-log-view.js';
import { ConfigurationProblem, sendNotification } from '../../activities/notify.js';
import { checkReadPath } from '../../activities/read-guard.js';
import { resolveDefaultTimeZone } from '../../core/config.js';
import { reviewTimeZone, type DefaultTimeZone, type Job } from '../../core/job.js';
import type { ReadPlacesEnv } from '../../core/read-places.js';
import { reactiveTrigger } from '../../core/review.js';
import { slaVerdict } from '../../core/sla.js';
import { checkSelfHealingPatch } from '../../core/self-healing-edit.js';
import { findJob, loadCatalog } from '../../db/catalog.js';
import { writeSelfHealing } from '../../db/job-writer.js';
import { listRuns, upsertRun } from '../../db/runs.js';
import { listSilences, liftSilence } from '../../db/silences.js';
import type { ApiDeps } from '../context.js';
import { HttpError, isUnavailable, notFound, parseInput } from '../errors.js';
import { jobSchedule, jobSchedules, type ScheduleView } from '../schedules.js';
import { BusinessLogQuery, JobIdParam, NoQuery, SilenceIdParam, NotifyTestBody, RunListQuery, RunReportBody } from '../schemas.js';
import { startReview } from '../temporal.js';

export function jobsRouter(deps: ApiDeps): Router {
  const router = Router();
  const readPlaces: ReadPlacesEnv = deps.readPlaces ?? { home: os.homedir(), procclawHome: path.join(os.homedir(), '.procclaw') };
  const defaultZone = deps.defaultTimeZone ?? resolveDefaultTimeZone(undefined);

  router.get('/jobs', async (req, res) => {
    parseInput(NoQuery, req.query, 'query');
    const [catalog, schedules] = await Promise.all([loadCatalog(deps.jobsSource), jobSchedules(deps.temporal)]);
    const jobs = catalog.jobs.map((job) => ({ ...describeJob(job, defaultZone), ...scheduleFields(schedules.get(job.id) ?? null) }));
    res.json({ jobs, errors: catalog.errors, total: catalog.jobs.length });
  });

  router.get('/jobs/:id', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    parseInput(NoQuery, req.query, 'query');
    const catalog = await loadCatalog(deps.jobsSource);
    const job = catalog.jobs.find((j) => j.id === id);
    const errors = catalog.errors.filter((e) => e.job_id === id);
    if (!job && errors.length === 0) throw notFound(`job "${id}"`);
    const schedule = await jobSchedule(deps.temporal, id);
    res.json({ ...(job ? describeJob(job, defaultZone) : { id, loaded: false }), ...scheduleFields(schedule), errors });
  });

  // Edits the job's self_healing block in its YAML (merged field by field; null removes a field),
  // then brings its review schedule in line.
  router.put('/jobs/:id/self-healing', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const body: unknown = req.body ?? {};
    const problems = checkSelfHealingPatch(body);
    if (problems.length > 0) throw fieldError(400, problems);
    const catalog = await loadCatalog(deps.jobsSource);
    const job = catalog.jobs.find((j) => j.id === id);
    if (!job) {
      const broken = catalog.errors.filter((e) => e.job_id === id);
      if (broken.length === 0) throw notFound(`job "${id}"`);
      throw fieldError(409, broken.map((e) => ({ field: e.field, reason: e.reason })), `the file of job "${id}" does not load; fix it first`);
    }
    const outside = await businessLogPathProblems(job, body as Record<string, unknown>, readPlaces);
    if (outside.length > 0) throw fieldError(400, outside);
    const written = await writeSelfHealing(job, body as Record<string, unknown>);
    if (!written.ok) throw fieldError(written.status, written.problems);

    let scheduleChange: string | null = null;
    let scheduleError: string | null = null;
    if (deps.reconcileSchedule) {
      try {
        scheduleChange = await deps.reconcileSchedule(id);
      } catch (error) {
        // The file is written; the worker's reconciler brings the schedule in line when it can.
        if (!isUnavailable(error)) deps.log.error({ err: error, jobId: id }, 'reconciling the schedule after an edit failed');
        scheduleError = `the schedule was not updated yet (${(error as Error).message}); the worker updates it at its next reconcile`;
      }
    }
    const updated = (await findJob(deps.jobsSource, id)) ?? { ...job, config: written.config };
    const schedule = await jobSchedule(deps.temporal, id);
    res.json({ success: true, ...describeJob(updated, defaultZone), ...scheduleFields(schedule), schedule_change: scheduleChange, schedule_error: scheduleError, errors: [] });
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
    if (body.log_path) {
      // Checked before anything is stored: a review would read this file and quote its lines.
      const verdict = await checkReadPath(body.log_path, job, readPlaces);
      if (!verdict.ok) throw new HttpError(400, `invalid body: log_path: ${verdict.reason}`, [{ field: 'log_path', reason: verdict.reason }]);
    }
    const durationMs =
      body.duration_ms ??
      (body.duration_seconds != null ? Math.round(body.duration_seconds * 1000) : null) ??
      (body.finished_at ? Math.max(0, Date.parse(body.finished_at) - Date.parse(body.started_at)) : null);
    // A report without a verdict gets the one the job's sla settings give, so an on_sla_breach
    // review still starts for it.
    const verdict = body.sla_status == null && durationMs !== null ? slaVerdict(job.config.sla ?? null, durationMs) : null;
    const { run, created } = await upsertRun(deps.db, {
      job_id: id,
      external_id: String(body.external_id ?? body.id),
      started_at: new Date(body.started_at),
      finished_at: body.finished_at ? new Date(body.finished_at) : null,
      exit_code: body.exit_code ?? null,
      duration_ms: durationMs,
      trigger: body.trigger ?? null,
      error: body.error ?? null,
      sla_status: body.sla_status ?? verdict?.status ?? null,
      sla_details: body.sla_details ?? verdict?.details ?? null,
      log_path: body.log_path ?? null,
      log_tail: body.log_tail ?? null,
      session_messages: body.session_messages ?? null,
    });
    // A report sent again (its first answer was a 503 after the run was stored, say) still starts
    // the review it calls for, unless a review of that run exists already.
    const wanted = reactiveTrigger(job.config, run);
    const trigger = wanted && (created || !(await deps.db('healing_reviews').where({ run_id: run.id }).first('id'))) ? wanted : null;
    let review: { workflow_id: string; already_running: boolean } | null = null;
    if (trigger) {
      const started = await startReview(await deps.temporal(), deps.db, { jobId: id, trigger, runId: run.id });
      review = { workflow_id: started.workflowId, already_running: started.alreadyRunning };
    }
    res.status(created ? 201 : 200).json({ success: true, created, run, review });
  });

  // A test notification through the job's channel and target (or the ones being edited), so a
  // wrong target shows now rather than as a review's silent failure. Approver role and rate
  // limited, like every command.
  router.post('/jobs/:id/notify-test', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const body = parseInput(NotifyTestBody, req.body ?? {}, 'body');
    const job = await findJob(deps.jobsSource, id);
    if (!job) throw notFound(`job "${id}"`);
    const policy = job.config.self_healing.suggestions;
    const channel = body.channel ?? policy.notify_channel;
    const target = (body.target ?? policy.notify_target ?? '').trim();
    if (!target) {
      const reason = `no target for channel ${channel}: set the target (a phone number, chat id or webhook URL) first`;
      throw new HttpError(400, `invalid body: target: ${reason}`, [{ field: 'target', reason }]);
    }
    const by = (res.locals.actor as string | undefined) ?? 'human';
    const link = deps.notify?.dashboardUrl ? `${deps.notify.dashboardUrl.replace(/\/+$/, '')}/#/jobs` : null;
    const text = [
      `ProcClaw Healing: a test notification for job "${job.config.name}" (${id}), sent by ${by}.`,
      'Suggestions from its reviews are announced here.',
      ...(link ? [`Dashboard: ${link}`] : []),
    ].join('\n');
    try {
      await sendNotification(
        { channel, target, text, payload: { test: true, job_id: id, job_name: job.config.name, text, sent_by: by, dashboard_url: link } },
        { bin: deps.notify?.openclawBin ?? 'openclaw', node: deps.notify?.openclawNode ?? null },
      );
    } catch (error) {
      const reason = (error as Error).message;
      if (error instanceof ConfigurationProblem) throw new HttpError(400, `invalid body: target: ${reason}`, [{ field: 'target', reason }]);
      deps.log.warn({ jobId: id, channel, by, error: reason }, 'test notification failed');
      res.json({ success: true, job_id: id, channel, target, sent: false, error: reason });
      return;
    }
    deps.log.info({ jobId: id, channel, by }, 'test notification sent');
    res.json({ success: true, job_id: id, channel, target, sent: true, error: null });
  });

  // Silences people put on rejected findings of the job (db/silences.ts): listed in the job modal,
  // lifted there (approver: it undoes part of a rejection).
  router.get('/jobs/:id/silences', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    parseInput(NoQuery, req.query, 'query');
    const silences = await listSilences(deps.db, id, new Date());
    if (silences.length === 0 && !(await findJob(deps.jobsSource, id))) throw notFound(`job "${id}"`);
    // Whether this caller may lift them, so the dashboard offers Lift only to those who can.
    res.json({ silences, total: silences.length, can_lift: res.locals.role === 'approver' || res.locals.role === 'admin' });
  });

  router.delete('/jobs/:id/silences/:silenceId', async (req, res) => {
    const { id, silenceId } = parseInput(SilenceIdParam, req.params, 'silence');
    parseInput(NoQuery, req.query, 'query');
    const row = await liftSilence(deps.db, id, silenceId, (res.locals.actor as string | undefined) ?? 'human', new Date());
    if (!row) throw notFound(`silence ${silenceId} of job "${id}"`);
    res.json({ success: true, silence: row });
  });

  // The last lines of the job's business log, redacted: what a review of it reads.
  router.get('/jobs/:id/business-logs', async (req, res) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    const { lines } = parseInput(BusinessLogQuery, req.query, 'query');
    const job = await findJob(deps.jobsSource, id);
    if (!job) throw notFound(`job "${id}"`);
    res.json(await businessLogView(job, readPlaces, lines));
  });

  return router;
}

/** business_log.path and summary_path of a self_healing patch that lie outside the job's places. */
async function businessLogPathProblems(job: Job, patch: Record<string, unknown>, env: ReadPlacesEnv): Promise<{ field: string; reason: string }[]> {
  const block = patch.business_log;
  if (typeof block !== 'object' || block === null) return [];
  const problems: { field: string; reason: string }[] = [];
  for (const key of ['path', 'summary_path'] as const) {
    const value = (block as Record<string, unknown>)[key];
    if (typeof value !== 'string') continue;
    const verdict = await checkReadPath(value, job, env);
    if (!verdict.ok) problems.push({ field: `business_log.${key}`, reason: verdict.reason });
  }
  return problems;
}

function scheduleFields(schedule: ScheduleView | null) {
  return { next_review_at: schedule?.next_review_at ?? null, healing_schedule: schedule };
}

function fieldError(status: number, problems: { field: string; reason: string }[], message?: string): HttpError {
  const listed = problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
  return new HttpError(status, message ? `${message}: ${listed}` : `invalid self_healing: ${listed}`, problems);
}

function describeJob(job: Job, defaultZone: DefaultTimeZone) {
  const { self_healing, ...config } = job.config;
  const reviewZone = reviewTimeZone(job.config, defaultZone);
  return {
    id: job.id,
    name: job.config.name,
    type: job.config.type,
    file: job.file,
    schedule: job.config.schedule ?? null,
    timezone: job.config.timezone ?? null,
    // the zone reviews run in, and whose it is: the review schedule's, the job's, or the default's
    review_timezone: reviewZone.zone,
    review_timezone_source: reviewZone.source,
    enabled: job.config.enabled,
    loaded: true,
    config,
    self_healing,
  };
}
