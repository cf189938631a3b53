export { reviewWorkflow } from './review.js';
export { suggestionWorkflow } from './suggestion.js';
