// notifyWorkflow: tells people about a review's new pending suggestions, started by the review
// once its row is closed and left to run on its own (ParentClosePolicy.ABANDON), so a slow or
// failing channel (three tries, about 21 s; a real send takes 9-10 s) never holds the review.
import { log, setCurrentDetails } from '@temporalio/workflow';
import { innermostMessage } from '../core/failures.js';
import type { NotifyInput, NotifyOutcome } from '../core/temporal.js';
import { oneLine } from '../core/temporal-ui.js';
import { notify, withSummary } from './activity-proxies.js';

export async function notifyWorkflow(input: NotifyInput): Promise<NotifyOutcome> {
  const what = `${input.suggestionIds.length} pending suggestion${input.suggestionIds.length === 1 ? '' : 's'} of review ${input.reviewId} (${input.jobId})`;
  try {
    const outcome = await withSummary(notify.notifySuggestions, `notify about the ${what}`, input);
    setCurrentDetails(`${outcome.sent ? 'sent' : 'not sent'}: ${oneLine(outcome.detail, 1_000)}`);
    return outcome;
  } catch (error) {
    // Each attempt is recorded in healing_notifications; a notice that could not go out is not a
    // fault of this service, so the workflow ends with the reason rather than as failed.
    const detail = innermostMessage(error);
    log.warn('notification not sent', { reviewId: input.reviewId, jobId: input.jobId, error: detail });
    setCurrentDetails(`not sent after three tries: ${oneLine(detail, 1_000)}`);
    return { sent: false, detail };
  }
}
