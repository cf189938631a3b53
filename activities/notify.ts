// Notifications of new pending suggestions. Best effort: a failure is logged and retried by
// Temporal a few times, and never fails the review.
import type { ActivityDeps } from './deps.js';

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    async notifySuggestions(input: { reviewId: number; jobId: string; suggestionIds: number[] }): Promise<{ sent: boolean; detail: string }> {
      deps.log.info({ ...input }, 'pending suggestions to notify');
      return { sent: false, detail: 'notifications are not configured' };
    },
  };
}
