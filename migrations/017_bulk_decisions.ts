// Issue 19, bulk decisions: a batch is one person's approve, reject or apply of many suggestions
// (who ran it, with which role, the filter or the ids they chose), with one item per suggestion
// holding what became of it. The batch row's writes are announced on the change feed (as 009 does
// for suggestions) so the dashboard follows a batch's progress live; items are not, the batch row's
// counters (written after each chunk) say enough.
import type { Knex } from 'knex';
import { CHANNEL } from './009_change_notifications.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('healing_batches', (t) => {
    t.increments('id').primary();
    t.text('decision').notNullable(); // approve | reject | apply
    t.text('status').notNullable().defaultTo('running'); // running | finished | failed
    t.text('created_by').notNullable();
    t.text('created_role').notNullable();
    t.boolean('identified').notNullable(); // whether created_by came from an API token
    t.jsonb('filter'); // the list filter used; null when ids were given
    t.jsonb('ids'); // the ids given; null when a filter was used
    t.text('reason'); // a rejection's, one for all
    t.text('comment');
    t.integer('concurrency').notNullable();
    t.integer('total').notNullable();
    t.integer('done').notNullable().defaultTo(0);
    t.integer('decided').notNullable().defaultTo(0);
    t.integer('waiting_approver').notNullable().defaultTo(0);
    t.integer('refused').notNullable().defaultTo(0);
    t.integer('failed').notNullable().defaultTo(0);
    t.integer('peak_concurrency').notNullable().defaultTo(0); // most decisions in flight at once, counted by the activity
    t.text('workflow_id');
    t.text('error'); // why a batch failed as a whole
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['created_at', 'id']);
  });
  await knex.schema.createTable('healing_batch_items', (t) => {
    t.integer('batch_id').notNullable().references('id').inTable('healing_batches').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.integer('suggestion_id').notNullable(); // no foreign key: an item outlives a suggestion retention removes
    t.text('outcome'); // null until decided: decided | waiting_approver | refused | failed
    t.text('status_after');
    t.text('code'); // a refusal's (core/batch.ts REFUSAL_CODES)
    t.text('message');
    t.integer('approvals_needed');
    t.integer('action_id');
    t.timestamp('decided_at', { useTz: true });
    t.primary(['batch_id', 'position']);
    t.unique(['batch_id', 'suggestion_id']);
  });
  await knex.raw(`
    create function healing_notify_batches() returns trigger language plpgsql as $$
    begin
      perform pg_notify('${CHANNEL}', json_build_object('table', 'batches', 'op', lower(tg_op), 'id', r.id, 'job_id', null, 'status', r.status)::text)
         from new_rows as r;
      return null;
    end $$;
    create trigger healing_notify_batches_insert after insert on healing_batches
      referencing new table as new_rows for each statement execute function healing_notify_batches();
    create trigger healing_notify_batches_update after update on healing_batches
      referencing new table as new_rows for each statement execute function healing_notify_batches();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('healing_batch_items');
  await knex.schema.dropTable('healing_batches');
  await knex.raw('drop function if exists healing_notify_batches()');
}
