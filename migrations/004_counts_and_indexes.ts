// Counters instead of scans. With 100,000 suggestions a COUNT(*) per list page and the group-bys
// behind the stats read the whole table on every request (20-160 ms each, measured by
// bench/list-suggestions.ts and bench/stats.ts). These tables keep the counts per status (and per
// category, severity and trigger), maintained in the same transaction as the rows by
// statement-level triggers, so they are exact and cost one small upsert per write. A suggestion
// also carries its review's trigger (filled on insert), so the list's `trigger` filter needs no
// join. And two indexes: one covering the time-to-resolution figure (an index-only scan instead
// of reading the whole table), one for a job's suggestions newest first (the dashboard's job
// filter), which otherwise read and sorted every suggestion the job ever had.
import type { Knex } from 'knex';

interface Counted {
  table: string;
  counts: string;
  keys: string[];
}

const COUNTED: Counted[] = [
  { table: 'healing_suggestions', counts: 'healing_suggestion_counts', keys: ['status', 'category', 'severity', 'trigger'] },
  { table: 'healing_reviews', counts: 'healing_review_counts', keys: ['status', 'trigger'] },
  { table: 'healing_actions', counts: 'healing_action_counts', keys: ['status'] },
];

/** Adds (sign 1) or removes (sign -1) the rows of a transition table; keys in order, so two writers lock counters in the same order. */
function bump(c: Counted, rows: string, sign: 1 | -1, onlyChanged: boolean): string {
  const keys = c.keys.join(', ');
  const from = onlyChanged
    ? `old_rows o join new_rows n using (id) where (${c.keys.map((k) => `o.${k}`).join(', ')}) is distinct from (${c.keys.map((k) => `n.${k}`).join(', ')})`
    : rows;
  const cols = onlyChanged ? c.keys.map((k) => `${rows === 'old_rows' ? 'o' : 'n'}.${k}`).join(', ') : keys;
  return `insert into ${c.counts} as c (${keys}, n)
      select ${cols}, ${sign} * count(*) from ${from} group by ${cols} order by ${cols}
      on conflict (${keys}) do update set n = c.n + excluded.n;`;
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.text('trigger');
  });
  await knex.raw('update healing_suggestions s set trigger = r.trigger from healing_reviews r where r.id = s.review_id');
  await knex.raw('alter table healing_suggestions alter column trigger set not null');
  await knex.raw(`
    create function healing_suggestions_trigger() returns trigger language plpgsql as $$
    begin
      if new.trigger is null then
        select r.trigger into new.trigger from healing_reviews r where r.id = new.review_id;
      end if;
      return new;
    end $$;
    create trigger healing_suggestions_trigger before insert on healing_suggestions
      for each row execute function healing_suggestions_trigger();
  `);
  for (const c of COUNTED) {
    await knex.schema.createTable(c.counts, (t) => {
      for (const key of c.keys) t.text(key).notNullable();
      t.bigInteger('n').notNullable().defaultTo(0);
      t.primary(c.keys);
    });
    await knex.raw(`insert into ${c.counts} (${c.keys.join(', ')}, n) select ${c.keys.join(', ')}, count(*) from ${c.table} group by ${c.keys.join(', ')}`);
    await knex.raw(`
      create function ${c.counts}_insert() returns trigger language plpgsql as $$
      begin
        ${bump(c, 'new_rows', 1, false)}
        return null;
      end $$;
      create function ${c.counts}_delete() returns trigger language plpgsql as $$
      begin
        ${bump(c, 'old_rows', -1, false)}
        return null;
      end $$;
      create function ${c.counts}_update() returns trigger language plpgsql as $$
      begin
        ${bump(c, 'old_rows', -1, true)}
        ${bump(c, 'new_rows', 1, true)}
        return null;
      end $$;
      create function ${c.counts}_truncate() returns trigger language plpgsql as $$
      begin
        delete from ${c.counts};
        return null;
      end $$;
      create trigger ${c.counts}_insert after insert on ${c.table}
        referencing new table as new_rows for each statement execute function ${c.counts}_insert();
      create trigger ${c.counts}_delete after delete on ${c.table}
        referencing old table as old_rows for each statement execute function ${c.counts}_delete();
      create trigger ${c.counts}_update after update on ${c.table}
        referencing old table as old_rows new table as new_rows for each statement execute function ${c.counts}_update();
      create trigger ${c.counts}_truncate after truncate on ${c.table}
        for each statement execute function ${c.counts}_truncate();
    `);
  }
  await knex.raw(
    'create index healing_suggestions_resolution on healing_suggestions (applied_at) include (created_at, status) where applied_at is not null',
  );
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.index(['job_id', 'created_at', 'id'], 'healing_suggestions_job_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropIndex(['job_id', 'created_at', 'id'], 'healing_suggestions_job_created');
  });
  await knex.raw('drop index if exists healing_suggestions_resolution');
  for (const c of [...COUNTED].reverse()) {
    for (const op of ['insert', 'delete', 'update', 'truncate']) {
      await knex.raw(`drop trigger if exists ${c.counts}_${op} on ${c.table}`);
      await knex.raw(`drop function if exists ${c.counts}_${op}()`);
    }
    await knex.schema.dropTableIfExists(c.counts);
  }
  await knex.raw('drop trigger if exists healing_suggestions_trigger on healing_suggestions');
  await knex.raw('drop function if exists healing_suggestions_trigger()');
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropColumn('trigger');
  });
}
