// How an imported run's local time was read where the clock changed: ProcClaw writes naive wall
// times, and at a fall-back one names two instants (at a spring-forward none), so the import
// chooses one and says which and why; it also says when it corrected ProcClaw's duration across
// the change (cli/procclaw/local-time.ts). Null for every other run.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('job_runs', (t) => {
    t.text('time_note');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('job_runs', (t) => {
    t.dropColumn('time_note');
  });
}
