// An apply still in progress after its command answered (the AI writing the new file takes
// 15-90 s): what it is doing and since when, so the API and the dashboard show it applying instead
// of a request held for the whole AI turn (core/suggestion-state.ts, APPLYING_STEPS). Null when no
// apply is in progress, which is every row written before this.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.text('applying_step');
    t.timestamp('applying_since', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropColumn('applying_since');
    t.dropColumn('applying_step');
  });
}
