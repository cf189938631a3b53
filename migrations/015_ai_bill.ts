// Issue 19, the AI bill: what each review's AI turn cost, split in and out (ai_tokens_used stays
// the total), its cost when the OpenClaw meta or HEALING_AI_PRICES gives one (null: unknown), and
// budget_note when a monthly budget made the review use the rules analyzer or skip the AI. And
// the budget notices (80 % and 100 %, service-wide or one job's) already handled, one row per
// scope, month and threshold, so each goes out once a month whatever number of reviews cross it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.integer('ai_tokens_in').notNullable().defaultTo(0);
    t.integer('ai_tokens_out').notNullable().defaultTo(0);
    t.decimal('ai_cost', 14, 6); // null: the price is not known
    t.text('ai_cost_source'); // 'openclaw' (its meta), 'configured' (HEALING_AI_PRICES), null
    t.text('budget_note');
  });
  await knex.schema.createTable('healing_budget_notices', (t) => {
    t.bigIncrements('id');
    t.text('scope').notNullable(); // 'service' or a job id
    t.text('month').notNullable(); // 'YYYY-MM', UTC
    t.integer('threshold').notNullable(); // 80 or 100
    t.text('measure').notNullable(); // 'tokens' or 'cost': the budget that crossed it
    t.decimal('spent', 20, 6).notNullable();
    t.decimal('limit', 20, 6).notNullable();
    t.bigInteger('review_id'); // the review whose analysis saw it crossed
    t.text('channel');
    t.text('target');
    t.text('status').notNullable(); // sending, sent, failed, skipped
    t.text('error');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['scope', 'month', 'threshold']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('healing_budget_notices');
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.dropColumns('ai_tokens_in', 'ai_tokens_out', 'ai_cost', 'ai_cost_source', 'budget_note');
  });
}
