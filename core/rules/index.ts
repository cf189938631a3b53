// The built-in `rules` analyzer: deterministic checks over a review context, no AI. Each rule
// looks for one kind of problem, fires only on evidence it can quote (counts, run ids,
// durations, lines), and proposes a whole new file only where the fix is a mechanical edit.
// A healthy job gets no suggestions: every threshold in the rules is there to keep it that way.
// The run helpers are exported for the prompt builder.
export { analyzeWithRules } from './registry.js';
export { formatDuration } from './evidence.js';
export { isFailed, isFinished, normaliseLogLine, percentile } from './runs.js';
