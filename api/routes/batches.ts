// Bulk decisions (issue 19): approve, reject or apply many suggestions in one action. The request
// only records the batch (who, with which role, the filter or ids, one item per suggestion) and
// starts its workflow; the answer is a 202 with the batch's id at once, and the progress is read
// (or followed live on /events, table `batches`) from GET /healing/batches/:id.
import { Router } from 'express';
import { z } from 'zod';
import { BATCH_DECISIONS, BATCH_OUTCOMES, batchWorkflowId, DEFAULT_BATCH_CONCURRENCY, MAX_BATCH_ITEMS, type BatchDecision, type BatchInput } from '../../core/batch.js';
import { TASK_QUEUE } from '../../core/temporal.js';
import { statusesTaking } from '../../core/suggestion-state.js';
import { batchItems, closeBatch, createBatch, getBatch, listBatches, matchingSuggestions, setBatchWorkflow, suggestionStatuses, type BatchRecord } from '../../db/batches.js';
import type { Role } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { HttpError, isUnavailable, notFound, parseInput } from '../errors.js';
import { IdParam, SUGGESTION_FILTERS } from '../schemas.js';
import { actor } from './suggestions.js';

/** How many of the ids a dry run lists: enough to show which, not all of them. */
export const DRY_RUN_IDS = 20;

export const BatchBody = z
  .strictObject({
    decision: z.enum(BATCH_DECISIONS),
    ids: z
      .array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER))
      .min(1, 'name at least one suggestion')
      .max(MAX_BATCH_ITEMS, `at most ${MAX_BATCH_ITEMS} suggestions in one batch`)
      .optional()
      .meta({ description: `the suggestions to decide, in this order (at most ${MAX_BATCH_ITEMS}); or \`filter\`` }),
    filter: z.strictObject(SUGGESTION_FILTERS).optional().meta({ description: 'the filters GET /healing/suggestions takes: every suggestion they select is decided' }),
    reason: z.string().trim().min(1).max(2_000).optional().meta({ description: 'required for reject (but for a dry run): one reason for all' }),
    comment: z.string().max(2_000).optional().meta({ description: 'an approval\'s comment, one for all' }),
    dry_run: z.boolean().default(false).meta({
      description: 'true: answer how many suggestions (and the first ids) would be decided, how many are skipped (not found, or in a state that does not take the decision), and decide nothing',
    }),
  })
  .superRefine((body, ctx) => {
    if ((body.ids === undefined) === (body.filter === undefined)) ctx.addIssue({ code: 'custom', path: ['ids'], message: 'give either ids or filter (one of them)' });
    if (body.decision === 'reject' && !body.reason && !body.dry_run) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a rejection needs a reason (one for all)' });
    if (body.decision !== 'reject' && body.reason !== undefined) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'only a rejection takes a reason' });
    if (body.decision !== 'approve' && body.comment !== undefined) ctx.addIssue({ code: 'custom', path: ['comment'], message: 'only an approval takes a comment' });
  });

const paging = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(MAX_BATCH_ITEMS).default(0),
};
export const BatchListQuery = z.strictObject({ limit: paging.limit, offset: z.coerce.number().int().min(0).max(10_000_000).default(0) });
export const BatchDetailQuery = z.strictObject({
  ...paging,
  outcome: z.enum([...BATCH_OUTCOMES, 'pending']).optional().meta({ description: 'only the items with this outcome; pending: those not decided yet' }),
});

export function batchesRouter(deps: ApiDeps): Router {
  const router = Router();

  router.post('/healing/batches', async (req, res) => {
    const body = parseInput(BatchBody, req.body ?? {}, 'body');
    const selected = body.ids ? await fromIds(deps, body.ids, body.decision) : await fromFilter(deps, body.filter!, body.decision);
    if (body.dry_run) {
      res.json({
        success: true,
        dry_run: true,
        decision: body.decision,
        count: selected.count,
        ids: selected.decidable.slice(0, DRY_RUN_IDS),
        skipped: selected.skipped,
        missing: [...selected.missing],
        max: MAX_BATCH_ITEMS,
      });
      return;
    }
    if (selected.count > MAX_BATCH_ITEMS) {
      throw new HttpError(400, `the filter selects ${selected.count} suggestions; one batch decides at most ${MAX_BATCH_ITEMS}: narrow the filter (by job, status, severity...)`, { count: selected.count, max: MAX_BATCH_ITEMS });
    }
    if (selected.ids.length === 0) {
      const skipped = selected.skipped.wrong_state > 0 ? `: the ${selected.skipped.wrong_state} it matches are in a state that does not take ${body.decision}` : '';
      throw new HttpError(400, `the filter selects no suggestion to ${body.decision}${skipped}`, { count: 0, skipped: selected.skipped });
    }
    const concurrency = deps.batchConcurrency ?? DEFAULT_BATCH_CONCURRENCY;
    const batch = await createBatch(
      deps.db,
      {
        decision: body.decision,
        created_by: actor(res),
        created_role: (res.locals.role as Role | undefined) ?? 'admin',
        identified: res.locals.identified === true,
        filter: body.filter ?? null,
        ids: body.ids ?? null,
        reason: body.reason ?? null,
        comment: body.comment ?? null,
        concurrency,
      },
      selected.ids,
      selected.missing,
    );
    const workflowId = batchWorkflowId(batch.id);
    try {
      const client = await deps.temporal();
      await client.workflow.start('batchWorkflow', { workflowId, taskQueue: TASK_QUEUE, args: [{ batchId: batch.id, concurrency } satisfies BatchInput] });
    } catch (error) {
      // Nothing was sent to any suggestion: the batch is closed as failed, and the person may retry.
      await closeBatch(deps.db, batch.id, 'failed', `not started: ${(error as Error).message}`);
      if (isUnavailable(error)) throw new HttpError(503, `Temporal is unreachable: batch ${batch.id} was not started and decided nothing; try again later`);
      throw error;
    }
    await setBatchWorkflow(deps.db, batch.id, workflowId);
    res.status(202).json({ success: true, batch_id: batch.id, status: 'running', total: batch.total, url: `/api/v1/healing/batches/${batch.id}` });
  });

  router.get('/healing/batches', async (req, res) => {
    const { limit, offset } = parseInput(BatchListQuery, req.query, 'query');
    const page = await listBatches(deps.db, { limit, offset });
    res.json({ batches: page.rows.map(summary), total: page.total, limit, offset });
  });

  router.get('/healing/batches/:id', async (req, res) => {
    const { id } = parseInput(IdParam, req.params, 'batch id');
    const { limit, offset, outcome } = parseInput(BatchDetailQuery, req.query, 'query');
    const batch = await getBatch(deps.db, id);
    if (!batch) throw notFound(`batch ${id}`);
    const { items, total } = await batchItems(deps.db, id, { limit, offset }, outcome);
    res.json({ ...summary(batch), items, items_total: total, limit, offset });
  });

  return router;
}

/** A batch as the API shows it: its counts together, and what it decided on. */
function summary(b: BatchRecord) {
  return {
    id: b.id,
    decision: b.decision,
    status: b.status,
    created_by: b.created_by,
    created_role: b.created_role,
    filter: b.filter,
    ids: b.ids,
    reason: b.reason,
    comment: b.comment,
    total: b.total,
    done: b.done,
    counts: { decided: b.decided, waiting_approver: b.waiting_approver, refused: b.refused, failed: b.failed },
    concurrency: b.concurrency,
    peak_concurrency: b.peak_concurrency,
    workflow_id: b.workflow_id,
    error: b.error,
    created_at: b.created_at,
    finished_at: b.finished_at,
  };
}

interface Selection {
  /** how many suggestions take the decision now: what will be decided */
  count: number;
  /** the batch's items: every id given, or what the filter selects that takes the decision */
  ids: number[];
  /** the ids that take the decision now, in order */
  decidable: number[];
  /** what is selected but will not be decided: ids with no suggestion, suggestions whose status refuses the decision */
  skipped: { not_found: number; wrong_state: number };
  /** ids given that name no suggestion */
  missing: Set<number>;
}

/**
 * Every id given is an item, so the batch accounts for each (the workflow refuses those whose
 * state does not take the decision, and the state may change before it gets there); the count
 * says how many will be decided as things are now.
 */
async function fromIds(deps: ApiDeps, given: number[], decision: BatchDecision): Promise<Selection> {
  const ids = [...new Set(given)];
  const statuses = await suggestionStatuses(deps.db, ids);
  const taking = statusesTaking(decision) as readonly string[];
  const decidable = ids.filter((id) => taking.includes(statuses.get(id) ?? ''));
  const missing = new Set(ids.filter((id) => !statuses.has(id)));
  return { count: decidable.length, ids, decidable, skipped: { not_found: missing.size, wrong_state: ids.length - missing.size - decidable.length }, missing };
}

/** A filter selects only suggestions whose status takes the decision. */
async function fromFilter(deps: ApiDeps, filter: NonNullable<z.infer<typeof BatchBody>['filter']>, decision: BatchDecision): Promise<Selection> {
  const { matched, count, ids } = await matchingSuggestions(deps.db, filter, statusesTaking(decision), MAX_BATCH_ITEMS);
  return { count, ids, decidable: ids, skipped: { not_found: 0, wrong_state: matched - count }, missing: new Set() };
}
