// Suggestions: read from Postgres; every decision is a command to the suggestion's workflow.
import { Router, type Response } from 'express';
import { createTwoFilesPatch } from 'diff';
import { describeRun } from '../../core/running.js';
import { APPLYING_STEP_TEXT } from '../../core/suggestion-state.js';
import type { CommandResult } from '../../core/temporal.js';
import { countByStatus, getSuggestion, listSuggestions } from '../../db/suggestions.js';
import type { ApiDeps } from '../context.js';
import { notFound, parseInput } from '../errors.js';
import { jobSecrets, maskSuggestion, maskSuggestionRows, rawAllowed } from '../masking.js';
import { ApplyBody, ApproveBody, DetailQuery, IdParam, PendingCountQuery, RejectBody, SuggestionListQuery } from '../schemas.js';
import { commandHttpStatus, failedApply, sendCommand } from '../temporal.js';

export function suggestionsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/healing/suggestions', async (req, res) => {
    const { limit, offset, cursor, ...filters } = parseInput(SuggestionListQuery, req.query, 'query');
    const page = await listSuggestions(deps.db, filters, { limit, offset, cursor });
    res.json({ suggestions: await maskSuggestionRows(deps, page.rows), total: page.total, limit, offset, next_cursor: page.next_cursor });
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
    const { row: suggestion, hidden } = inFull
      ? { row: stored, hidden: 0 }
      : maskSuggestion(stored, await jobSecrets(deps, stored.job_id, [
            { path: stored.target_file, content: stored.current_content },
            { path: stored.target_file, content: stored.proposed_content },
          ]));
    const diff =
      suggestion.target_file && suggestion.proposed_content !== null
        ? createTwoFilesPatch(suggestion.target_file, suggestion.target_file, suggestion.current_content ?? '', suggestion.proposed_content, 'current', 'proposed')
        : null;
    res.json({ ...suggestion, diff, masked: !inFull, secrets_masked: hidden });
  });

  const command = async (res: Response, id: number, name: 'approve' | 'reject' | 'apply', args: object) => {
    const suggestion = await getSuggestion(deps.db, id);
    if (!suggestion) throw notFound(`suggestion ${id}`);
    const by = actor(res);
    const result = await sendCommand(await deps.temporal(), id, name, { ...args, by, identified: res.locals.identified === true }, async () => (await getSuggestion(deps.db, id))?.status);
    const failure = failedApply(id, result);
    if (failure) throw failure;
    const applying = 'applying' in result && result.applying
      ? { note: `the apply goes on (${applyingText(result)}); GET /api/v1/healing/suggestions/${id} shows applying_step until it is applied or failed` }
      : {};
    res.status(commandHttpStatus(result)).json({ success: true, suggestion_id: id, ...result, ...applying });
  };

  router.post('/healing/suggestions/:id/approve', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    const body = parseInput(ApproveBody, req.body ?? {}, 'body');
    await command(res, id, 'approve', body);
  });

  router.post('/healing/suggestions/:id/reject', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    const body = parseInput(RejectBody, req.body ?? {}, 'body');
    await command(res, id, 'reject', body);
  });

  router.post('/healing/suggestions/:id/apply', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'suggestion id');
    parseInput(ApplyBody, req.body ?? {}, 'body');
    await command(res, id, 'apply', {});
  });

  return router;
}

/** What an apply going on after its answer does, naming the run it waits for. */
function applyingText(result: CommandResult): string {
  if (result.applying === 'job_running' && result.waiting_for_run) {
    return `nothing is written while the job runs: waiting for ${describeRun(result.waiting_for_run)} to end, until ${result.wait_until} at most, then it fails with the reason`;
  }
  return APPLYING_STEP_TEXT[result.applying!];
}

/** Who is asking: the token's name when auth is on, else "human". */
export function actor(res: Response): string {
  return (res.locals.actor as string | undefined) ?? 'human';
}
