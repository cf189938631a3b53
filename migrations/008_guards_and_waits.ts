// Issue 14's records. A suggestion whose file edit the job's policy does not allow (allowed_actions,
// a forbidden path, a file other jobs share) is kept as advice with the reason; a severity the
// analyzer wrote outside the four is stored as medium with what it wrote; an action keeps the mode
// of the file it replaced, so a forced rollback of a deleted file recreates it as it was; a run of
// skipped reviews is one row with a count; a review waiting for running OpenClaw jobs says so.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.text('advisory_reason');
    t.text('severity_reported');
  });
  await knex.schema.alterTable('healing_actions', (t) => {
    t.integer('file_mode');
  });
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.integer('skip_count').notNullable().defaultTo(0);
    t.text('waiting_reason');
    t.timestamp('waiting_since', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.dropColumn('waiting_since');
    t.dropColumn('waiting_reason');
    t.dropColumn('skip_count');
  });
  await knex.schema.alterTable('healing_actions', (t) => {
    t.dropColumn('file_mode');
  });
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropColumn('severity_reported');
    t.dropColumn('advisory_reason');
  });
}
