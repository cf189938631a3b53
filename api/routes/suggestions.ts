// Suggestions: read from Postgres; every decision is a command to the suggestion's workflow.
import { readFile, stat } from 'node:fs/promises';
import { Router, type Response } from 'express';
import { createTwoFilesPatch } from 'diff';
import { windowWaitText } from '../../core/apply-window.js';
import { sha256 } from '../../core/hash.js';
import { requiredApprovals } from '../../core/policy.js';
import { describeRun } from '../../core/running.js';
import { APPLYING_STEP_TEXT, type SuggestionStatus } from '../../core/suggestion-state.js';
import type { CommandResult } from '../../core/temporal.js';
import { findJob } from '../../db/catalog.js';
import { createSilence } from '../../db/silences.js';
import { countByStatus, getSuggestion, listSuggestions, type SuggestionRecord } from '../../db/suggestions.js';
import type { Role } from '../auth.js';
import { shortCache } from '../../core/short-cache.js';
import type { ApiDeps } from '../context.js';
import { notFound, parseInput } from '../errors.js';
import { answerTag, answeredNotModified } from '../etag.js';
import { keptPages } from '../kept-pages.js';
import { jobSecrets, maskSuggestion, maskedRowCache, rawAllowed, secretsOfJobs } from '../masking.js';
import { ApplyBody, ApproveBody, DetailQuery, IdParam, PendingCountQuery, RejectBody, SuggestionListQuery } from '../schemas.js';
import { commandHttpStatus, failedApply, sendCommand } from '../temporal.js';

/** How long the list keeps a job's secrets (for its masks). */
const JOB_SECRETS_TTL_MS = 1_000;
/** Masked list rows kept as JSON (about 1 KB each): a few hundred dashboards' pages. */
const LIST_ROWS_KEPT = 10_000;
/** Whole list answers kept while no suggestion changes (api/kept-pages.ts): a few dashboards' pages each. */
const LIST_PAGES_KEPT = 500;
/** ...and 32 MB of them at most (a page of 500 full items can be several MB). */
const LIST_BYTES_KEPT = 32 * 1024 * 1024;

export function suggestionsRouter(deps: ApiDeps): Router {
  const router = Router();

  // A page holds the suggestions of up to 50 jobs, and reading a job's file for its secrets (a few
  // stats and a validation, ~0.13 ms) cost up to 6 ms of CPU a page: each job's are kept a second,
  // as long as the stats' answers (core/short-cache.ts). The detail reads them afresh.
  const listSecrets = shortCache(JOB_SECRETS_TTL_MS, (jobId) => jobSecrets(deps, jobId));
  const maskedRow = maskedRowCache(LIST_ROWS_KEPT);

  const pages = keptPages(deps.changes, { table: 'suggestions', ttlMs: JOB_SECRETS_TTL_MS, max: LIST_PAGES_KEPT, maxBytes: LIST_BYTES_KEPT });

  router.get('/healing/suggestions', async (req, res) => {
    const query = parseInput(SuggestionListQuery, req.query, 'query');
    const { tag, body } = await pages.answer(JSON.stringify(query), async () => {
      const { limit, offset, cursor, sort, fields, ...filters } = query;
      const page = await listSuggestions(deps.db, filters, { limit, offset, cursor }, sort, fields);
      const secrets = await secretsOfJobs(page.rows, listSecrets);
      const secretsKeys = new Map([...secrets].map(([job, known]) => [job, JSON.stringify(known)]));
      const rows = page.rows.map((row, i) => [row.id, page.versions[i]]);
      const tag = answerTag([fields, page.total, page.next_cursor, rows, [...secretsKeys]]);
      // What res.json would write, from each row's JSON as kept (maskedRowCache)
      const items = page.rows.map((row, i) => maskedRow(row, page.versions[i]!, fields, secrets.get(row.job_id)!, secretsKeys.get(row.job_id)!));
      return { tag, body: `{"suggestions":[${items.join(',')}],"total":${page.total},"limit":${limit},"offset":${offset},"next_cursor":${JSON.stringify(page.next_cursor)}}` };
    });
    if (answeredNotModified(req, res, tag)) return;
    res.type('json').send(body);
  });

  router.get('/healing/suggestions/pending/count', async (req, res) => {
    const { job_id } = parseInput(PendingCountQuery, req.query, 'query');
    res.json({ count: await countByStatus(deps.db, 'pending', job_id) });
  });

  router.get('/healing/suggestions/:id', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    const { raw } = parseInput(DetailQuery, req.query, 'query');
    const stored = await getSuggestion(deps.db, id);
    if (!stored) throw notFound(`suggestion ${id}`);
    // The diff is made from the masked contents: the two sides agree on every mask, and the value
    // never reaches the diff.
    const inFull = rawAllowed(deps, res, raw, `suggestion ${id}`);
    const files = [stored.current_content, stored.proposed_content].map((content) => ({ path: stored.target_file, content }));
    const { row: suggestion, hidden } = inFull ? { row: stored, hidden: 0 } : maskSuggestion(stored, await jobSecrets(deps, stored.job_id, files));
    const diff =
      suggestion.target_file && suggestion.proposed_content !== null
        ? createTwoFilesPatch(suggestion.target_file, suggestion.target_file, suggestion.current_content ?? '', suggestion.proposed_content, 'current', 'proposed')
        : null;
    res.json({ ...suggestion, diff, masked: !inFull, secrets_masked: hidden, ...(await staleness(stored)), ...(await whoDecides(deps, res, stored)), watch: await watchOf(deps, stored.action_id) });
  });

  /** `after` runs once the command succeeded, and adds to the answer. */
  const command = async (res: Response, id: number, name: 'approve' | 'reject' | 'apply' | 'applyNow', args: object, after?: (s: SuggestionRecord, result: { status: string | null }) => Promise<object>) => {
    const suggestion = await getSuggestion(deps.db, id);
    if (!suggestion) throw notFound(`suggestion ${id}`);
    const by = actor(res);
    const result = await sendCommand(await deps.temporal(), id, name, { ...args, by, identified: res.locals.identified === true }, async () => (await getSuggestion(deps.db, id))?.status);
    const failure = failedApply(id, result);
    if (failure) throw failure;
    const applying = 'applying' in result && result.applying
      ? { note: `the apply goes on (${applyingText(result)}); GET /api/v1/healing/suggestions/${id} shows applying_step until it is applied or failed` }
      : {};
    const more = after ? await after(suggestion, result) : {};
    res.status(commandHttpStatus(result)).json({ success: true, suggestion_id: id, ...result, ...applying, ...more });
  };

  router.post('/healing/suggestions/:id/approve', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    const body = parseInput(ApproveBody, req.body ?? {}, 'body');
    await command(res, id, 'approve', body);
  });

  router.post('/healing/suggestions/:id/reject', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    const { silence, ...body } = parseInput(RejectBody, req.body ?? {}, 'body');
    // The silence is the job's, not the suggestion's state: written once the workflow recorded the
    // rejection, so a refused reject silences nothing.
    await command(res, id, 'reject', body, async (suggestion, result) => {
      if (!silence || result.status !== 'rejected') return {};
      const now = new Date();
      const row = await createSilence(deps.db, {
        job_id: suggestion.job_id,
        fingerprint: suggestion.fingerprint,
        kind: silence.kind,
        until: silence.kind === 'not_now' ? new Date(now.getTime() + silence.days * 86_400_000) : null,
        suggestion_id: suggestion.id,
        title: suggestion.title,
        created_by: actor(res),
      }, now);
      return { silence: row };
    });
  });

  router.post('/healing/suggestions/:id/apply', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    parseInput(ApplyBody, req.body ?? {}, 'body');
    await command(res, id, 'apply', {});
  });

  // Ends an apply's wait for the job's apply window: an admin's call (api/auth.ts roleNeeded).
  router.post('/healing/suggestions/:id/apply-now', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    parseInput(ApplyBody, req.body ?? {}, 'body');
    await command(res, id, 'applyNow', {});
  });

  return router;
}

/** What an apply going on after its answer does, naming the run it waits for. */
function applyingText(result: CommandResult): string {
  if (result.applying === 'job_running' && result.waiting_for_run) {
    return `nothing is written while the job runs: waiting for ${describeRun(result.waiting_for_run)} to end, until ${result.wait_until} at most, then it fails with the reason`;
  }
  if (result.applying === 'window') {
    return windowWaitText(result.apply_window ?? null, result.apply_at ?? null);
  }
  return APPLYING_STEP_TEXT[result.applying!];
}

/** Statuses whose apply may still come: where a file changed since the review matters. */
const MAY_APPLY: readonly SuggestionStatus[] = ['pending', 'approved', 'failed'];

/**
 * Whether the file the suggestion was made against is no longer as the review read it (the apply
 * would refuse it: activities/apply.ts checkUnchangedSinceReview). Cheap and bounded: a stat, and
 * a read only when the size is that of the content the review stored.
 */
async function staleness(s: SuggestionRecord): Promise<{ stale: boolean; stale_reason: string | null }> {
  if (!s.target_file || s.current_sha256 === null || s.current_content === null || !MAY_APPLY.includes(s.status)) return { stale: false, stale_reason: null };
  const file = s.target_file;
  const stale = (what: string) => ({ stale: true, stale_reason: `${file} ${what} since the review read it: the content shown as current is the file as it was then. Re-review the job for a suggestion made against the file as it is now.` });
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return stale('is gone');
  if (info.size !== Buffer.byteLength(s.current_content, 'utf8')) return stale('changed');
  const now = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => error);
  if (now instanceof Error) return { stale: true, stale_reason: `${file} cannot be read now (${now.code ?? now.message}): whether it changed since the review is unknown.` };
  return sha256(now) === s.current_sha256 ? { stale: false, stale_reason: null } : stale('changed');
}

/**
 * What a decision needs here: how many different approvers (two for critical and security
 * suggestions under the job's two_person_rule, read from the job as it is now), whether the API is
 * open (no tokens: one anonymous person, who cannot be two approvers), who is asking, and whether
 * approving only acknowledges advice (no file edit, or one the job's policy does not allow).
 */
async function whoDecides(deps: ApiDeps, res: Response, s: SuggestionRecord) {
  const job = await findJob(deps.jobsSource, s.job_id).catch(() => undefined);
  return {
    approvals_required: requiredApprovals(s, job?.config.self_healing.suggestions.two_person_rule ?? true),
    api_open: deps.tokens.length === 0,
    viewer: { name: actor(res), role: (res.locals.role as Role | undefined) ?? null },
    advice: !s.target_file || s.advisory_reason !== null,
  };
}

/** The regression watch of the suggestion's applied change (its action's fields); null when none was watched. */
async function watchOf(deps: ApiDeps, actionId: number | null) {
  if (actionId === null) return null;
  const row = await deps.db('healing_actions')
    .where({ id: actionId })
    .first('id as action_id', 'watch_status', 'verdict', 'verdict_details', 'verdict_at', 'auto_reverted');
  return row && row.watch_status !== null ? row : null;
}

/** Who is asking: the token's name when auth is on, else "human". */
export function actor(res: Response): string {
  return (res.locals.actor as string | undefined) ?? 'human';
}
