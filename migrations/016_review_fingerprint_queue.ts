// Issue 19, the AI bill: what each analysed review saw, as a fingerprint, so a scheduled review
// that would see the same is skipped for free; and when a review asked for its analysis and when
// the analysis began, so the queue of reviews waiting for a healing-analysis slot can be shown.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.jsonb('context_fingerprint'); // null: not analysed, or analysed before this migration
    t.timestamp('analysis_requested_at', { useTz: true });
    t.timestamp('analysis_started_at', { useTz: true });
  });
  // The analysis queue reads only the running reviews that asked for an analysis.
  await knex.raw(
    "create index healing_reviews_analysis_queue on healing_reviews (analysis_requested_at, id) where status = 'running' and analysis_requested_at is not null",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists healing_reviews_analysis_queue');
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.dropColumn('analysis_started_at');
    t.dropColumn('analysis_requested_at');
    t.dropColumn('context_fingerprint');
  });
}
