// Actions: applied changes, their diff, and rollback through the suggestion's workflow.
import { Router } from 'express';
import { createTwoFilesPatch } from 'diff';
import { getAction, listActions } from '../../db/actions.js';
import { getSuggestion } from '../../db/suggestions.js';
import type { ApiDeps } from '../context.js';
import { HttpError, notFound, parseInput } from '../errors.js';
import { ActionListQuery, IdParam, RollbackBody } from '../schemas.js';
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
    const action = await getAction(deps.db, id);
    if (!action) throw notFound(`action ${id}`);
    const diff = action.file_path
      ? createTwoFilesPatch(action.file_path, action.file_path, action.original_content ?? '', action.new_content ?? '', 'original', 'applied')
      : null;
    res.json({ ...action, diff });
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
    );
    res.status(commandHttpStatus(result)).json({ success: true, ...result, action_id: id, suggestion_id: action.suggestion_id });
  });

  return router;
}
