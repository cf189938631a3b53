// Live updates. Every write to a suggestion, a review or an action notifies channel
// `healing_changes` with a small JSON payload ({ table, op, id, job_id, status }); the API listens
// on one connection and pushes the changes to the dashboard as server-sent events
// (api/routes/events.ts). The triggers are per statement, like the counters of 004: one function
// call per write, whatever its size. A statement touching more than MAX_ROWS rows (a bulk import,
// a retention batch) sends one payload with `id: null` and `rows`, which tells listeners to reload
// everything, instead of thousands of notifications. A NOTIFY is sent at commit and only then, so
// a rolled-back write tells nobody. And for the suggestions list's default order (pending first,
// then severity, newest first), two indexes: the whole list, and the list of one status.
import type { Knex } from 'knex';

export const CHANNEL = 'healing_changes';
/** Beyond this many rows in one statement, one "many rows changed" payload instead of one per row. */
export const MAX_ROWS = 20;

const TABLES = [
  { table: 'healing_suggestions', name: 'suggestions' },
  { table: 'healing_reviews', name: 'reviews' },
  { table: 'healing_actions', name: 'actions' },
] as const;

const OPS = ['insert', 'update', 'delete'] as const;

/** The function behind one table's trigger for one operation: `rows` is its transition table. */
function notifyFunction(name: string, op: (typeof OPS)[number]): string {
  const rows = op === 'delete' ? 'old_rows' : 'new_rows';
  return `
    create function healing_notify_${name}_${op}() returns trigger language plpgsql as $$
    declare
      n integer;
    begin
      select count(*) into n from (select 1 from ${rows} limit ${MAX_ROWS + 1}) as r;
      if n > ${MAX_ROWS} then
        perform pg_notify('${CHANNEL}', json_build_object('table', '${name}', 'op', '${op}', 'id', null, 'job_id', null, 'status', null, 'rows', n)::text);
      elsif n > 0 then
        perform pg_notify('${CHANNEL}', json_build_object('table', '${name}', 'op', '${op}', 'id', r.id, 'job_id', r.job_id, 'status', r.status)::text)
           from ${rows} as r;
      end if;
      return null;
    end $$;`;
}

export async function up(knex: Knex): Promise<void> {
  for (const { table, name } of TABLES) {
    for (const op of OPS) {
      const referencing = op === 'delete' ? 'old table as old_rows' : 'new table as new_rows';
      await knex.raw(`
        ${notifyFunction(name, op)}
        create trigger healing_notify_${name}_${op} after ${op} on ${table}
          referencing ${referencing} for each statement execute function healing_notify_${name}_${op}();
      `);
    }
  }
  // Pending first (true sorts after false: descending), then severity, newest first: one backward scan.
  await knex.raw(
    "create index healing_suggestions_priority on healing_suggestions ((status = 'pending'), severity_rank, created_at, id)",
  );
  await knex.raw('create index healing_suggestions_status_severity on healing_suggestions (status, severity_rank, created_at, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists healing_suggestions_status_severity');
  await knex.raw('drop index if exists healing_suggestions_priority');
  for (const { table, name } of TABLES) {
    for (const op of OPS) {
      await knex.raw(`drop trigger if exists healing_notify_${name}_${op} on ${table}`);
      await knex.raw(`drop function if exists healing_notify_${name}_${op}()`);
    }
  }
}
