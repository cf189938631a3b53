// Notification attempts, retention passes, and the indexes retention and stats read by.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('healing_notifications', (t) => {
    t.bigIncrements('id');
    // No foreign key: a notification outlives nothing, and retention deletes it by its own age.
    t.bigInteger('review_id').notNullable();
    t.text('job_id').notNullable();
    t.text('channel').notNullable();
    t.text('target');
    t.text('status').notNullable(); // sent, failed, skipped
    t.text('error');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('suggestions_count').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['review_id', 'channel']); // one row per review and channel; each attempt bumps `attempts`
    t.index(['job_id', 'created_at'], 'healing_notifications_job_created');
    t.index(['created_at', 'id'], 'healing_notifications_created');
  });

  await knex.schema.createTable('healing_retention_runs', (t) => {
    t.bigIncrements('id');
    t.text('workflow_id').notNullable().unique();
    t.timestamp('cutoff', { useTz: true }).notNullable();
    t.integer('retention_days').notNullable();
    t.integer('reviews_deleted').notNullable().defaultTo(0);
    t.integer('suggestions_deleted').notNullable().defaultTo(0);
    t.integer('actions_deleted').notNullable().defaultTo(0);
    t.integer('runs_deleted').notNullable().defaultTo(0);
    t.integer('notifications_deleted').notNullable().defaultTo(0);
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // Retention finds old suggestions by their last change; stats find a job's last applied change.
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.index(['updated_at', 'id'], 'healing_suggestions_updated');
    t.index(['job_id', 'applied_at'], 'healing_suggestions_job_applied');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropIndex(['job_id', 'applied_at'], 'healing_suggestions_job_applied');
    t.dropIndex(['updated_at', 'id'], 'healing_suggestions_updated');
  });
  await knex.schema.dropTableIfExists('healing_retention_runs');
  await knex.schema.dropTableIfExists('healing_notifications');
}
