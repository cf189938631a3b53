// Actions: applied changes, their diff, and rollback through the suggestion's workflow.
import { Router } from 'express';
import { createTwoFilesPatch } from 'diff';
import { maskForDisplay } from '../../core/display-mask.js';
import { getAction, listActions, type ActionRecord } from '../../db/actions.js';
import { getSuggestion } from '../../db/suggestions.js';
import type { ApiDeps } from '../context.js';
import { HttpError, notFound, parseInput } from '../errors.js';
import { jobSecrets, rawAllowed } from '../masking.js';
import { ActionListQuery, DetailQuery, IdParam, RollbackBody } from '../schemas.js';
import { commandHttpStatus, sendCommand } from '../temporal.js';
import { actor } from './suggestions.js';

export function actionsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/healing/actions', async (req, res) => {
    const { limit, offset, ...filters } = parseInput(ActionListQuery, req.query, 'query');
    const page = await listActions(deps.db, filters, { limit, offset });
    res.json({ actions: page.rows, total: page.total, limit, offset });
  });

  router.get('/healing/actions/:id', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'action id');
    const { raw } = parseInput(DetailQuery, req.query, 'query');
    const stored = await getAction(deps.db, id);
    if (!stored) throw notFound(`action ${id}`);
    const inFull = rawAllowed(deps, res, raw, `action ${id}`);
    let action = stored;
    let hidden = 0;
    if (!inFull) {
      // Both contents in one session, so the diff below is made from two sides that agree on every mask.
      const files = [stored.original_content, stored.new_content].map((content) => ({ path: stored.file_path, content }));
      const masked = maskForDisplay(
        { original_content: stored.original_content, new_content: stored.new_content, error_message: stored.error_message, command_executed: stored.command_executed },
        await jobSecrets(deps, stored.job_id, files),
      );
      action = { ...stored, ...masked.texts };
      hidden = masked.hidden;
    }
    const diff = action.file_path
      ? createTwoFilesPatch(action.file_path, action.file_path, action.original_content ?? '', action.new_content ?? '', 'original', 'applied')
      : null;
    res.json({ ...action, diff, masked: !inFull, secrets_masked: hidden });
  });

  router.post('/healing/actions/:id/rollback', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'action id');
    const body = parseInput(RollbackBody, req.body ?? {}, 'body');
    const action = await getAction(deps.db, id);
    if (!action) throw notFound(`action ${id}`);
    if (action.status !== 'success') throw new HttpError(409, `cannot roll back action ${id}: it is ${action.status.replace('_', ' ')}`, { status: action.status });
    const result = await sendCommand(
      await deps.temporal(),
      action.suggestion_id,
      'rollback',
      { by: actor(res), force: body.force, actionId: id },
      async () => (await getSuggestion(deps.db, action.suggestion_id))?.status,
    ).catch(async (error: unknown) => {
      throw await maskedConflict(error, action, deps);
    });
    res.status(commandHttpStatus(result)).json({ success: true, ...result, action_id: id, suggestion_id: action.suggestion_id });
  });

  return router;
}

/**
 * A rollback refused because the file changed after the apply carries the diff of the applied
 * content and the file now: masked here, where it leaves, with the action's contents known so a
 * secret of the file is hidden in the diff too (the activity's message stays as it is in Temporal).
 */
async function maskedConflict(error: unknown, action: ActionRecord, deps: ApiDeps): Promise<unknown> {
  const detail = error instanceof HttpError ? (error.detail as { diff?: unknown } | null) : null;
  if (!(error instanceof HttpError) || typeof detail?.diff !== 'string') return error;
  const files = [action.original_content, action.new_content].map((content) => ({ path: action.file_path, content }));
  const masked = maskForDisplay({ diff: detail.diff }, await jobSecrets(deps, action.job_id, files), [action.original_content, action.new_content]);
  return new HttpError(error.status, error.message, { ...detail, diff: masked.texts.diff, secrets_masked: masked.hidden });
}
