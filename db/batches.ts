// healing_batches and healing_batch_items (migrations/017_bulk_decisions.ts): a bulk decision and
// what became of each of its suggestions. The API writes a batch and its items once; the batch
// activity writes each item's outcome and then the batch's counters, after each chunk.
import type { Knex } from 'knex';
import type { BatchDecision, BatchOutcome, BatchStatus, RefusalCode } from '../core/batch.js';
import type { Db } from './knex.js';
import { fetchPage, newestFirst, type Page, type Paged } from './paging.js';
import { whereSuggestions, type SuggestionFilters } from './suggestions.js';

export interface BatchRecord {
  id: number;
  decision: BatchDecision;
  status: BatchStatus;
  created_by: string;
  created_role: string;
  identified: boolean;
  filter: SuggestionFilters | null;
  ids: number[] | null;
  reason: string | null;
  comment: string | null;
  concurrency: number;
  total: number;
  done: number;
  decided: number;
  waiting_approver: number;
  refused: number;
  failed: number;
  peak_concurrency: number;
  workflow_id: string | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface BatchItemRecord {
  position: number;
  suggestion_id: number;
  outcome: BatchOutcome | null;
  status_after: string | null;
  code: RefusalCode | null;
  message: string | null;
  approvals_needed: number | null;
  action_id: number | null;
  decided_at: Date | null;
}

const ITEM_COLUMNS = ['position', 'suggestion_id', 'outcome', 'status_after', 'code', 'message', 'approvals_needed', 'action_id', 'decided_at'] as const;

/** An item as the API shows it: with the suggestion's apply_at while its approval waits for the job's apply window. */
export type BatchItemView = BatchItemRecord & { apply_at: Date | null };

/** What became of one item, as the activity records it. */
export type ItemResult = Pick<BatchItemRecord, 'status_after' | 'code' | 'message' | 'approvals_needed' | 'action_id'> & { outcome: BatchOutcome };

export type NewBatch = Pick<BatchRecord, 'decision' | 'created_by' | 'created_role' | 'identified' | 'filter' | 'ids' | 'reason' | 'comment' | 'concurrency'>;

/**
 * What a filter selects: how many suggestions it matches, how many of them are in a status that
 * takes the decision (`count`), and the ids of the first `limit` of those (by id). The others are
 * not decided: sending a decision a status refuses would only fill the batch with refusals.
 */
export async function matchingSuggestions(
  db: Db,
  filters: SuggestionFilters,
  statuses: readonly string[],
  limit: number,
): Promise<{ matched: number; count: number; ids: number[] }> {
  const [counted, rows] = await Promise.all([
    whereSuggestions(db('healing_suggestions'), filters)
      .select(db.raw('count(*)::int as matched'), db.raw('(count(*) filter (where healing_suggestions.status = any(?::text[])))::int as count', [[...statuses]]))
      .first() as Promise<{ matched: number; count: number }>,
    whereSuggestions(db('healing_suggestions'), filters).whereIn('healing_suggestions.status', statuses).orderBy('id').limit(limit).pluck('id') as Promise<number[]>,
  ]);
  return { matched: Number(counted?.matched ?? 0), count: Number(counted?.count ?? 0), ids: rows };
}

/** The status of each of these ids that is a suggestion. */
export async function suggestionStatuses(db: Db, ids: readonly number[]): Promise<Map<number, string>> {
  const rows = (await db('healing_suggestions').whereIn('id', ids).select('id', 'status')) as { id: number; status: string }[];
  return new Map(rows.map((r) => [r.id, r.status]));
}

/**
 * Writes the batch and one item per suggestion, in the order given, in one transaction. Ids with
 * no suggestion (`missing`) are items refused at once, so the batch's answer accounts for every
 * id the person chose.
 */
export async function createBatch(db: Db, batch: NewBatch, suggestionIds: readonly number[], missing: ReadonlySet<number>): Promise<BatchRecord> {
  return db.transaction(async (trx) => {
    const [row] = await trx('healing_batches')
      .insert({
        ...batch,
        filter: batch.filter === null ? null : JSON.stringify(batch.filter),
        ids: batch.ids === null ? null : JSON.stringify(batch.ids),
        total: suggestionIds.length,
      })
      .returning('*');
    const now = new Date();
    const items = suggestionIds.map((suggestionId, position) =>
      missing.has(suggestionId)
        ? { batch_id: row.id, position, suggestion_id: suggestionId, outcome: 'refused', code: 'not_found', message: `suggestion ${suggestionId} not found`, decided_at: now }
        : { batch_id: row.id, position, suggestion_id: suggestionId },
    );
    await trx.batchInsert('healing_batch_items', items, 1_000);
    if (missing.size === 0) return row as BatchRecord;
    return refreshCounts(trx, row.id, 0);
  });
}

export async function setBatchWorkflow(db: Db, batchId: number, workflowId: string): Promise<void> {
  await db('healing_batches').where({ id: batchId }).update({ workflow_id: workflowId });
}

export async function getBatch(db: Db, batchId: number): Promise<BatchRecord | undefined> {
  return db('healing_batches').where({ id: batchId }).first();
}

export async function listBatches(db: Db, page: Page): Promise<Paged<BatchRecord>> {
  return fetchPage<BatchRecord>(db('healing_batches'), page, newestFirst());
}

/** A page of a batch's items in their order, optionally of one outcome (`pending`: none yet). */
export async function batchItems(db: Db, batchId: number, page: { limit: number; offset: number }, outcome?: BatchOutcome | 'pending'): Promise<{ items: BatchItemView[]; total: number }> {
  const query = db('healing_batch_items').where('healing_batch_items.batch_id', batchId);
  if (outcome === 'pending') query.whereNull('healing_batch_items.outcome');
  else if (outcome) query.where('healing_batch_items.outcome', outcome);
  // The due time is the suggestion's, read now: a window changed since the decision moves it, and an apply done clears it.
  const waiting = (join: Knex.JoinClause) =>
    join.on('w.id', 'healing_batch_items.suggestion_id').andOnVal('healing_batch_items.outcome', 'decided').andOnVal('w.applying_step', 'window');
  const [items, [counted]] = await Promise.all([
    query
      .clone()
      .leftJoin('healing_suggestions as w', waiting)
      .select(ITEM_COLUMNS.map((c) => `healing_batch_items.${c}`))
      .select('w.apply_at')
      .orderBy('healing_batch_items.position')
      .limit(page.limit)
      .offset(page.offset),
    query.clone().count<{ count: number }[]>({ count: '*' }),
  ]);
  return { items, total: Number(counted?.count ?? 0) };
}

/** The next items without an outcome, in order. */
export async function undecidedItems(db: Db, batchId: number, limit: number): Promise<Pick<BatchItemRecord, 'position' | 'suggestion_id'>[]> {
  return db('healing_batch_items').where({ batch_id: batchId }).whereNull('outcome').orderBy('position').limit(limit).select('position', 'suggestion_id');
}

export async function countUndecided(db: Db, batchId: number): Promise<number> {
  const [row] = await db('healing_batch_items').where({ batch_id: batchId }).whereNull('outcome').count<{ count: number }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}

export async function recordItem(db: Db, batchId: number, position: number, result: ItemResult): Promise<void> {
  await db('healing_batch_items').where({ batch_id: batchId, position }).update({ ...result, decided_at: new Date() });
}

/**
 * The batch's counters, counted again from its items (so a retried chunk never counts twice), and
 * the most decisions in flight at once so far. One write per chunk: one change notification.
 */
export async function refreshCounts(db: Db, batchId: number, peakConcurrency: number): Promise<BatchRecord> {
  const counts = db('healing_batch_items')
    .where({ batch_id: batchId })
    .select(
      db.raw('count(outcome)::int as done'),
      db.raw("count(*) filter (where outcome = 'decided')::int as decided"),
      db.raw("count(*) filter (where outcome = 'waiting_approver')::int as waiting_approver"),
      db.raw("count(*) filter (where outcome = 'refused')::int as refused"),
      db.raw("count(*) filter (where outcome = 'failed')::int as failed"),
    )
    .first();
  const row = (await counts) as Pick<BatchRecord, 'done' | 'decided' | 'waiting_approver' | 'refused' | 'failed'>;
  const [updated] = await db('healing_batches')
    .where({ id: batchId })
    .update({ ...row, peak_concurrency: db.raw('greatest(peak_concurrency, ?)', [peakConcurrency]), updated_at: db.fn.now() })
    .returning('*');
  return updated as BatchRecord;
}

/** Closes the batch: `finished` once every item has its outcome, `failed` with the reason when it could not go on. */
export async function closeBatch(db: Db, batchId: number, status: Exclude<BatchStatus, 'running'>, error: string | null = null): Promise<BatchRecord> {
  const [row] = await db('healing_batches')
    .where({ id: batchId })
    .update({ status, error, finished_at: db.fn.now(), updated_at: db.fn.now() })
    .returning('*');
  return row as BatchRecord;
}
