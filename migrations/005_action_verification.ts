// How each applied file was checked after its write, kept on the action so a person sees whether
// the change was verified (and by what), or why no check ran, instead of a silent pass: a jsonb
// `{ status, check, reason }` (db/actions.ts, ActionVerification). Null for actions applied before.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_actions', (t) => {
    t.jsonb('verification');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_actions', (t) => {
    t.dropColumn('verification');
  });
}
