// Import bookkeeping: how far each external run history (a ProcClaw SQLite database, keyed by its
// absolute path) has been imported, and which of its runs were still running at the last pass.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('import_cursors', (t) => {
    t.text('source').primary(); // e.g. the absolute path of a procclaw.db
    t.text('kind').notNullable(); // 'procclaw'
    t.bigInteger('last_run_id').notNullable().defaultTo(0);
    t.jsonb('pending_run_ids').notNullable().defaultTo(knex.raw("'[]'::jsonb"));
    t.bigInteger('runs_imported').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('import_cursors');
}
