// Live updates. Every write to a suggestion, a review or an action notifies channel
// `healing_changes` with a small JSON payload ({ table, op, id, job_id, status }); the API listens
// on one connection and pushes the changes to the dashboard as server-sent events
// (api/routes/events.ts). The triggers are per statement, like the counters of 004: one function
// call per write, whatever its size. A statement touching more than MAX_ROWS rows (a bulk import,
// a retention batch) sends one payload with `id: null` and `rows`, which tells listeners to reload
// everything, instead of thousands of notifications. A NOTIFY is sent at commit and only then, so
// a rolled-back write tells nobody. Measured: a review's insert of 10 suggestions costs the same
// with and without them (within the noise of ~1 ms).
// And for the suggestions list: its orders (pending first, then severity, newest first; or by
// severity), the whole list and one status's, each read from an index; and its search (`q`, any
// part of the title, description or job id) from trigram indexes where Postgres has pg_trgm
// (contrib: the embedded, the docker image and the managed services have it): 100,000
// suggestions are searched in 50-150 ms instead of 1.5 s, for about 8 ms more per review's
// insert. Without pg_trgm the search works, reading every row.
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

/** The columns the suggestions search (`q`) reads; each has its trigram index. */
const SEARCHED = ['title', 'description', 'job_id'];

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
  await knex.raw('create index healing_suggestions_severity on healing_suggestions (severity_rank, created_at, id)');
  await knex.raw(`
    do $$
    begin
      if exists (select 1 from pg_available_extensions where name = 'pg_trgm') then
        create extension if not exists pg_trgm;
      end if;
    exception when insufficient_privilege then
      raise notice 'pg_trgm is not installed and this user may not install it: the suggestions search reads every row';
    end $$;
    do $$
    begin
      if exists (select 1 from pg_extension where extname = 'pg_trgm') then
        ${SEARCHED.map((c) => `create index healing_suggestions_search_${c} on healing_suggestions using gin (${c} gin_trgm_ops);`).join(' ')}
      end if;
    end $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  // pg_trgm stays: other databases or schemas of the server may use it.
  for (const c of SEARCHED) await knex.raw(`drop index if exists healing_suggestions_search_${c}`);
  await knex.raw('drop index if exists healing_suggestions_severity');
  await knex.raw('drop index if exists healing_suggestions_status_severity');
  await knex.raw('drop index if exists healing_suggestions_priority');
  for (const { table, name } of TABLES) {
    for (const op of OPS) {
      await knex.raw(`drop trigger if exists healing_notify_${name}_${op} on ${table}`);
      await knex.raw(`drop function if exists healing_notify_${name}_${op}()`);
    }
  }
}
