// Advice is acknowledged, not applied (core/suggestion-state.ts, ADVICE_STATUS). Advice approved
// before this was marked applied with no action and an applied_at, and so counted as a change in
// place, in the time to resolution and in the job's before/after: those rows become acknowledged
// without applied_at. The status column is free text (the counters follow by trigger, 004): no
// schema change. updated_at is left alone so retention ages them as before.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex('healing_suggestions').where({ status: 'applied' }).whereNull('action_id').update({ status: 'acknowledged', applied_at: null });
}

export async function down(knex: Knex): Promise<void> {
  // The approval is the closest record of when it was "applied".
  await knex('healing_suggestions').where({ status: 'acknowledged' }).update({ status: 'applied', applied_at: knex.raw('coalesce(reviewed_at, updated_at)') });
}
