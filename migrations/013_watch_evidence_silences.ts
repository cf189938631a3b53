// Issue 18: the regression watch's verdict on every applied change, the evidence each suggestion
// stands on, and the silences a person puts on a rejected finding for a job.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_actions', (t) => {
    t.text('watch_status'); // null: not watched (a rollback); 'watching'; 'done'
    t.text('verdict'); // improved | no_change | regressed | inconclusive
    t.jsonb('verdict_details'); // the figures behind it: baseline and after, per measure, the rule applied
    t.timestamp('verdict_at', { useTz: true });
    t.boolean('auto_reverted').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.jsonb('evidence'); // {runs, log_lines, sla, config_lines, ...}: what the suggestion cites, checked against what the review sent
    t.jsonb('missing_context'); // what the review could not see (truncated logs, a missing script, ...)
  });
  await knex.schema.createTable('job_silences', (t) => {
    t.bigIncrements('id');
    t.text('job_id').notNullable();
    t.text('fingerprint').notNullable();
    t.text('kind').notNullable(); // 'never' | 'not_now'
    t.timestamp('until', { useTz: true }); // for not_now
    t.bigInteger('suggestion_id').references('id').inTable('healing_suggestions').onDelete('SET NULL');
    t.text('title'); // of the suggestion it came from, for the job modal
    t.text('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('lifted_at', { useTz: true });
    t.text('lifted_by');
    t.index(['job_id', 'fingerprint']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('job_silences');
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropColumn('evidence');
    t.dropColumn('missing_context');
  });
  await knex.schema.alterTable('healing_actions', (t) => {
    for (const c of ['watch_status', 'verdict', 'verdict_details', 'verdict_at', 'auto_reverted']) t.dropColumn(c);
  });
}
