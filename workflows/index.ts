export { reviewWorkflow } from './review.js';
export { suggestionWorkflow } from './suggestion.js';
export { scheduledReviewWorkflow } from './scheduled-review.js';
export { retentionWorkflow } from './retention.js';
export { notifyWorkflow } from './notify.js';
export { batchWorkflow } from './batch.js';
