// batchWorkflow, id `healing-batch/<batchId>`: carries out one bulk decision (issue 19). The items
// and who decides are in the batch's rows (written by the API before it starts this); each chunk
// is one activity that sends each item's decision to that suggestion's own workflow, a bounded
// number at a time, and writes the outcomes and the batch's progress. A new workflow type: no
// history of it predates this code, so it needs no patch.
import { log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { BATCH_CHUNK_SIZE, type BatchInput, type BatchResult } from '../core/batch.js';
import { innermostMessage } from '../core/failures.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/temporal.js';
import { io, withSummary } from './activity-proxies.js';

/** A chunk waits on up to BATCH_CHUNK_SIZE applies; it heartbeats every few seconds meanwhile. */
const chunks = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const { batchId, concurrency } = input;
  const chunkSize = input.chunkSize ?? BATCH_CHUNK_SIZE;
  let decided = 0;
  try {
    for (;;) {
      const chunk = await withSummary(chunks.decideBatchChunk, `decide up to ${chunkSize} suggestions of batch ${batchId}, ${concurrency} at a time`, { batchId, chunkSize, concurrency });
      decided += chunk.done;
      setCurrentDetails(`${decided} decided, ${chunk.remaining} to go`);
      if (chunk.remaining === 0 || chunk.done === 0) break;
    }
  } catch (error) {
    // The items decided so far keep their outcomes; the rest stay without one, and the batch says why.
    const message = innermostMessage(error);
    log.warn('batch stopped', { batchId, error: message });
    return withSummary(io.closeBatch, `close batch ${batchId} as failed`, { batchId, error: `stopped after ${decided} decisions: ${message}` });
  }
  return withSummary(io.closeBatch, `close batch ${batchId}`, { batchId });
}
