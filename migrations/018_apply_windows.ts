// Apply windows (core/apply-window.ts): an approved suggestion whose apply waits for its job's
// window shows when it applies and why (`apply_at`, `apply_wait_reason`, with applying_step
// `window`); an admin's "apply now" that ended such a wait is recorded with who and when. Null on
// every row written before this, and on every apply that did not wait.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.timestamp('apply_at', { useTz: true });
    t.text('apply_wait_reason');
    t.text('applied_now_by');
    t.timestamp('applied_now_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('healing_suggestions', (t) => {
    t.dropColumn('applied_now_at');
    t.dropColumn('applied_now_by');
    t.dropColumn('apply_wait_reason');
    t.dropColumn('apply_at');
  });
}
