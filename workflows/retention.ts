// retentionWorkflow: deletes data older than the retention window in batches, then records how
// much it removed. The cut-off is fixed once, so every batch and every continued run agree on it.
import { continueAsNew, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RetentionCounts, RetentionInput, RetentionOutcome } from '../core/temporal.js';
import { withSummary } from './activity-proxies.js';

const retention = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const ZERO: RetentionCounts = { reviews: 0, suggestions: 0, actions: 0, runs: 0, notifications: 0 };

export async function retentionWorkflow(input: RetentionInput = {}): Promise<RetentionOutcome> {
  const batchSize = input.batchSize ?? 1_000;
  const batchesPerRun = input.batchesPerRun ?? 200;
  const startedAt = input.startedAt ?? new Date().toISOString(); // the workflow clock: deterministic
  let cutoff = input.cutoff;
  let retentionDays = input.retentionDaysUsed;
  if (cutoff === undefined || retentionDays === undefined) {
    const fixed = await withSummary(retention.retentionCutoff, 'fix the cut-off: now less HEALING_RETENTION_DAYS', { retentionDays: input.retentionDays });
    cutoff = fixed.cutoff;
    retentionDays = fixed.retentionDays;
  }
  const totals: RetentionCounts = { ...ZERO, ...input.totals };

  const progress = (state: string) =>
    setCurrentDetails(`${state}: rows older than ${cutoff} (${retentionDays} days); removed so far: ${Object.entries(totals).map(([table, n]) => `${n} ${table}`).join(', ')}`);
  progress('deleting');
  for (let batch = 0; batch < batchesPerRun; batch++) {
    const { removed, more } = await withSummary(retention.retentionBatch, `delete up to ${batchSize} rows per table older than ${cutoff} (batch ${batch + 1})`, { cutoff, batchSize });
    for (const key of Object.keys(totals) as (keyof RetentionCounts)[]) totals[key] += removed[key];
    progress('deleting');
    if (!more) {
      await withSummary(retention.recordRetention, 'record what this pass removed', { workflowId: workflowInfo().workflowId, cutoff, retentionDays, startedAt, removed: totals });
      progress('done');
      return { cutoff, retentionDays, removed: totals };
    }
  }
  // Very many rows: start afresh with a short history, carrying the cut-off and the totals.
  return continueAsNew<typeof retentionWorkflow>({ ...input, cutoff, retentionDaysUsed: retentionDays, totals, startedAt });
}
