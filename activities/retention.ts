// Retention activities: fix the cut-off once, delete in batches, record what was removed.
import { DEFAULT_RETENTION_DAYS } from '../core/config.js';
import type { RetentionCounts } from '../core/temporal.js';
import { deleteRetentionBatch, recordRetentionRun } from '../db/retention.js';
import type { ActivityDeps } from './deps.js';

const DAY_MS = 86_400_000;

export function createRetentionActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async retentionCutoff(input: { retentionDays?: number }): Promise<{ cutoff: string; retentionDays: number }> {
      const retentionDays = input.retentionDays ?? deps.retentionDays ?? DEFAULT_RETENTION_DAYS;
      return { cutoff: new Date(Date.now() - retentionDays * DAY_MS).toISOString(), retentionDays };
    },

    async retentionBatch(input: { cutoff: string; batchSize: number }): Promise<{ removed: RetentionCounts; more: boolean }> {
      return deleteRetentionBatch(db, new Date(input.cutoff), input.batchSize);
    },

    async recordRetention(input: { workflowId: string; cutoff: string; retentionDays: number; startedAt: string; removed: RetentionCounts }): Promise<void> {
      await recordRetentionRun(db, {
        workflow_id: input.workflowId,
        cutoff: new Date(input.cutoff),
        retention_days: input.retentionDays,
        started_at: new Date(input.startedAt),
        removed: input.removed,
      });
      deps.log.info({ ...input.removed, cutoff: input.cutoff }, 'retention pass finished');
    },
  };
}
