// Decisions recorded by the suggestion workflow: approvals, approve/reject, an apply in progress, expiry.
import type { ApplyingStep, SuggestionStatus } from '../core/suggestion-state.js';
import { getSuggestion, updateSuggestion } from '../db/suggestions.js';
import type { ActivityDeps } from './deps.js';

export function createDecisionActivities({ db }: ActivityDeps) {
  return {
    /** Adds one approver (once) and answers with everyone who has approved. */
    async recordApproval(input: { suggestionId: number; by: string; comment: string | null }): Promise<string[]> {
      return db.transaction(async (trx) => {
        const row = await trx('healing_suggestions').where({ id: input.suggestionId }).forUpdate().first();
        const approvals = (row?.approvals ?? []) as { by: string; at: string; comment?: string | null }[];
        if (!approvals.some((a) => a.by === input.by)) {
          approvals.push({ by: input.by, at: new Date().toISOString(), comment: input.comment });
          await updateSuggestion(trx, input.suggestionId, { approvals });
        }
        return approvals.map((a) => a.by);
      });
    },

    async recordDecision(input: {
      suggestionId: number;
      status: Extract<SuggestionStatus, 'approved' | 'rejected'>;
      by: string;
      comment?: string | null;
      reason?: string;
    }): Promise<void> {
      await updateSuggestion(db, input.suggestionId, {
        status: input.status,
        reviewed_at: new Date(),
        reviewed_by: input.by,
        review_comment: input.comment ?? null,
        rejection_reason: input.reason ?? null,
      });
    },

    /**
     * Marks an apply that goes on after its command answered: approved (a retry of a failed apply
     * is approved again by whoever retries it) and applying, until the status written at its end.
     */
    async markApplying(input: { suggestionId: number; step: ApplyingStep; applyAt?: string; reason?: string }): Promise<void> {
      await updateSuggestion(db, input.suggestionId, {
        status: 'approved',
        applying_step: input.step,
        applying_since: new Date(),
        // set with the `window` step only: any other step is no longer waiting for the window
        apply_at: input.applyAt ? new Date(input.applyAt) : null,
        apply_wait_reason: input.reason ?? null,
      });
    },

    /** An admin's "apply now" that ends the wait for the job's apply window. */
    async recordApplyNow(input: { suggestionId: number; by: string }): Promise<void> {
      await updateSuggestion(db, input.suggestionId, { applied_now_by: input.by, applied_now_at: new Date() });
    },

    async expireSuggestion(input: { suggestionId: number }): Promise<void> {
      const row = await getSuggestion(db, input.suggestionId);
      // Only a suggestion still open: one decided meanwhile keeps its decision.
      if (row && ['pending', 'approved', 'failed'].includes(row.status)) await updateSuggestion(db, input.suggestionId, { status: 'expired' });
    },
  };
}
