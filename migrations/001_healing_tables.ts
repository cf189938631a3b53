// The seed's three healing tables plus run history, with the columns DESIGN.md adds.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('job_runs', (t) => {
    t.bigIncrements('id');
    t.text('job_id').notNullable();
    t.text('external_id').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.integer('exit_code');
    t.bigInteger('duration_ms');
    t.text('trigger');
    t.text('error');
    t.text('sla_status');
    t.jsonb('sla_details');
    t.text('log_path');
    t.text('log_tail');
    t.jsonb('session_messages');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['job_id', 'external_id']);
    t.index(['job_id', 'started_at'], 'job_runs_job_started');
    t.index(['started_at'], 'job_runs_started');
  });

  await knex.schema.createTable('healing_reviews', (t) => {
    t.bigIncrements('id');
    t.text('job_id').notNullable();
    t.text('trigger').notNullable();
    t.text('status').notNullable();
    t.text('workflow_id').notNullable();
    t.text('workflow_run_id').notNullable().unique();
    t.bigInteger('run_id'); // the run a reactive review looks at
    t.text('analyzer');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.integer('runs_analyzed').notNullable().defaultTo(0);
    t.integer('logs_lines').notNullable().defaultTo(0);
    t.integer('ai_sessions_count').notNullable().defaultTo(0);
    t.integer('sla_violations_count').notNullable().defaultTo(0);
    t.integer('suggestions_count').notNullable().defaultTo(0);
    t.integer('duplicates_count').notNullable().defaultTo(0);
    t.integer('dropped_count').notNullable().defaultTo(0);
    t.integer('auto_applied_count').notNullable().defaultTo(0);
    t.text('error_message');
    t.text('skip_reason');
    t.integer('analysis_duration_ms');
    t.integer('ai_tokens_used').notNullable().defaultTo(0);
    t.text('raw_response');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['job_id', 'started_at'], 'healing_reviews_job_started');
    t.index(['started_at', 'id'], 'healing_reviews_started');
    t.index(['status', 'started_at'], 'healing_reviews_status_started');
  });

  await knex.schema.createTable('healing_suggestions', (t) => {
    t.bigIncrements('id');
    t.bigInteger('review_id').notNullable().references('id').inTable('healing_reviews').onDelete('CASCADE');
    t.integer('ordinal').notNullable(); // position in the review's answer: makes storing idempotent
    t.text('job_id').notNullable();
    t.text('category').notNullable();
    t.text('severity').notNullable();
    t.smallint('severity_rank').notNullable(); // for ordering by severity with an index
    t.text('title').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.text('current_state');
    t.text('suggested_change');
    t.text('expected_impact');
    t.jsonb('affected_files').notNullable().defaultTo('[]');
    t.text('target_file');
    t.text('proposed_content');
    t.text('current_content');
    t.text('current_sha256');
    t.text('fingerprint').notNullable();
    t.boolean('analyzer_auto_apply');
    t.text('ai_session_key'); // the AI session that wrote proposed_content at apply time
    t.text('status').notNullable().defaultTo('pending');
    t.text('workflow_id');
    t.timestamp('reviewed_at', { useTz: true });
    t.text('reviewed_by');
    t.text('review_comment');
    t.text('rejection_reason');
    t.text('error_message'); // why the last apply failed
    t.jsonb('approvals').notNullable().defaultTo('[]');
    t.timestamp('applied_at', { useTz: true });
    t.bigInteger('action_id');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['review_id', 'ordinal']);
    t.index(['created_at', 'id'], 'healing_suggestions_created');
    t.index(['status', 'created_at', 'id'], 'healing_suggestions_status_created');
    t.index(['job_id', 'status', 'created_at', 'id'], 'healing_suggestions_job_status_created');
    t.index(['job_id', 'fingerprint', 'status'], 'healing_suggestions_fingerprint');
    t.index(['review_id'], 'healing_suggestions_review');
  });

  await knex.schema.createTable('healing_actions', (t) => {
    t.bigIncrements('id');
    t.bigInteger('suggestion_id').notNullable().references('id').inTable('healing_suggestions').onDelete('CASCADE');
    t.integer('attempt').notNullable(); // the workflow's apply attempt: one row per attempt, never two
    t.text('job_id').notNullable();
    t.text('action_type').notNullable();
    t.text('file_path');
    t.text('original_content');
    t.text('new_content');
    t.text('original_sha256');
    t.text('new_sha256');
    t.text('backup_path');
    t.text('command_executed');
    t.text('status').notNullable();
    t.text('error_message');
    t.boolean('can_rollback').notNullable().defaultTo(false);
    t.timestamp('rolled_back_at', { useTz: true });
    t.text('rolled_back_by');
    t.integer('execution_duration_ms');
    t.text('ai_session_key');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['suggestion_id', 'attempt']);
    t.index(['job_id', 'created_at', 'id'], 'healing_actions_job_created');
    t.index(['created_at', 'id'], 'healing_actions_created');
    t.index(['status', 'created_at'], 'healing_actions_status_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('healing_actions');
  await knex.schema.dropTableIfExists('healing_suggestions');
  await knex.schema.dropTableIfExists('healing_reviews');
  await knex.schema.dropTableIfExists('job_runs');
}
