// Retention: deletes rows older than the cut-off in bounded batches, never live work. Each batch
// is one transaction, so a retried activity never counts a half-done batch.
import type { Knex } from 'knex';
import type { RetentionCounts } from '../core/temporal.js';
import type { Db } from './knex.js';


/**
 * One batch of at most `batchSize` rows per table, children before parents:
 * - actions older than the cut-off whose rollback window is closed (`can_rollback` false) and
 *   that are not running;
 * - suggestions last changed before the cut-off that are decided (not `pending` or `approved`,
 *   which their workflow still waits on) and have no action still in its rollback window, running
 *   or newer than the cut-off; their remaining actions go with them, explicitly;
 * - reviews started before the cut-off that are not running and have no suggestion left (the
 *   foreign key cascades, so a review is only deleted once its suggestions are gone);
 * - notifications and runs older than the cut-off.
 * `more` is true when a table filled its batch, so another batch may find more.
 */
export async function deleteRetentionBatch(db: Db, cutoff: Date, batchSize: number): Promise<{ removed: RetentionCounts; more: boolean }> {
  return db.transaction(async (trx) => {
    const actions = await count(trx, `
      with doomed as (
        select id from healing_actions
        where created_at < :cutoff and can_rollback = false and status <> 'running'
        order by id limit :n for update skip locked
      )
      delete from healing_actions a using doomed where a.id = doomed.id returning 1`, cutoff, batchSize);

    const [withSuggestions] = (await trx.raw(
      `with doomed as (
        select s.id from healing_suggestions s
        where s.updated_at < :cutoff and s.status not in ('pending', 'approved')
          and not exists (
            select 1 from healing_actions a
            where a.suggestion_id = s.id and (a.can_rollback or a.status = 'running' or a.created_at >= :cutoff)
          )
        order by s.id limit :n for update skip locked
      ), gone_actions as (
        delete from healing_actions a using doomed where a.suggestion_id = doomed.id returning 1
      ), gone as (
        delete from healing_suggestions s using doomed where s.id = doomed.id returning 1
      )
      select (select count(*) from gone)::int as suggestions, (select count(*) from gone_actions)::int as actions`,
      { cutoff, n: batchSize },
    )).rows as { suggestions: number; actions: number }[];

    const reviews = await count(trx, `
      with doomed as (
        select r.id from healing_reviews r
        where r.started_at < :cutoff and r.status <> 'running'
          and not exists (select 1 from healing_suggestions s where s.review_id = r.id)
        order by r.id limit :n for update skip locked
      )
      delete from healing_reviews r using doomed where r.id = doomed.id returning 1`, cutoff, batchSize);

    const notifications = await count(trx, `
      with doomed as (
        select id from healing_notifications where created_at < :cutoff order by id limit :n for update skip locked
      )
      delete from healing_notifications x using doomed where x.id = doomed.id returning 1`, cutoff, batchSize);

    const runs = await count(trx, `
      with doomed as (
        select id from job_runs where started_at < :cutoff order by id limit :n for update skip locked
      )
      delete from job_runs x using doomed where x.id = doomed.id returning 1`, cutoff, batchSize);

    const suggestions = withSuggestions?.suggestions ?? 0;
    const removed = { reviews, suggestions, actions: actions + (withSuggestions?.actions ?? 0), runs, notifications };
    const more = [actions, suggestions, reviews, notifications, runs].some((n) => n >= batchSize);
    return { removed, more };
  });
}

async function count(trx: Knex.Transaction, sql: string, cutoff: Date, batchSize: number): Promise<number> {
  const result = (await trx.raw(sql, { cutoff, n: batchSize })) as { rowCount: number | null };
  return result.rowCount ?? 0;
}

export async function recordRetentionRun(
  db: Db,
  run: { workflow_id: string; cutoff: Date; retention_days: number; started_at: Date; removed: RetentionCounts },
): Promise<void> {
  const row = {
    workflow_id: run.workflow_id,
    cutoff: run.cutoff,
    retention_days: run.retention_days,
    reviews_deleted: run.removed.reviews,
    suggestions_deleted: run.removed.suggestions,
    actions_deleted: run.removed.actions,
    runs_deleted: run.removed.runs,
    notifications_deleted: run.removed.notifications,
    started_at: run.started_at,
    finished_at: db.fn.now(),
  };
  await db('healing_retention_runs').insert(row).onConflict('workflow_id').merge();
}
