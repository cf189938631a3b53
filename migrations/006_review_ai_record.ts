// What an AI analysis left on its review, kept for failed reviews too: the model and provider that
// answered, the OpenClaw session the turn ran as, and the tools the model tried to call (a jsonb
// `{ calls, tools, refused, ran }`, db/reviews.ts ToolAttempt; null when it tried none). Null for
// reviews analyzed before, and for the rules analyzer.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.text('ai_model');
    t.text('ai_provider');
    t.text('ai_session_id');
    t.jsonb('tool_calls');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_reviews', (t) => {
    t.dropColumns('ai_model', 'ai_provider', 'ai_session_id', 'tool_calls');
  });
}
