// Issue 18, rejections teach the next review: the evidence a rules finding stood on (its bucketed
// figures, core/fingerprint.ts evidenceFingerprint), so a rejected finding comes back only when
// that evidence changed; and how many findings a review left out because a person silenced them.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.text('evidence_fingerprint'); // null: an AI finding, or one stored before this migration
  });
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.integer('silenced_count').notNullable().defaultTo(0);
  });
  // The silences in force for a job, read by every review that stores suggestions.
  await knex.raw('create index job_silences_active on job_silences (job_id) where lifted_at is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists job_silences_active');
  await knex.schema.alterTable('healing_reviews', (t) => t.dropColumn('silenced_count'));
  await knex.schema.alterTable('healing_suggestions', (t) => t.dropColumn('evidence_fingerprint'));
}
