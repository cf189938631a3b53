// A ProcClaw database that was replaced (ProcClaw's recovery moves a damaged file aside and starts
// a fresh one, whose run ids restart at 1) is imported as a new generation: the cursor remembers
// which generation it reads and the run it stopped at, to tell the same file from a new one.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('import_cursors', (t) => {
    t.integer('generation').notNullable().defaultTo(1);
    t.text('last_run_key'); // job id and start time of the run at last_run_id, as the source wrote them
    // where each earlier generation stopped, [{generation, last_run_id, last_run_key}]: a file put back is read on from there
    t.jsonb('earlier_generations').notNullable().defaultTo(knex.raw("'[]'::jsonb"));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('import_cursors', (t) => {
    t.dropColumn('generation');
    t.dropColumn('last_run_key');
    t.dropColumn('earlier_generations');
  });
}
