// The rules analyzer: every rule, in the order they run, over one review context. Later rules
// read the titles earlier ones fired so the same evidence is not reported twice.
import type { Severity } from '../job.js';
import type { ReviewContext, SuggestionDraft } from '../review.js';
import { ruleAgentLoops, ruleAiUsage, rulePromptSize } from './ai.js';
import { collectFacts, type Facts } from './facts.js';
import { ruleConfigRegression, ruleKilled, ruleRecurringError, ruleSuccessRate, ruleTransientWithoutRetry } from './failures.js';
import { ruleSecrets } from './hard-coded-secrets.js';
import { ruleHiddenFailures } from './hidden-failures.js';
import { ruleOverlap, ruleSlaDuration, ruleSlaViolations, ruleSlowingDown } from './timing.js';

type Rule = (f: Facts) => SuggestionDraft | SuggestionDraft[] | null;

/** Rules in order: later ones read `fired` to avoid repeating evidence an earlier one reported. */
const RULES: Rule[] = [
  ruleSecrets,
  ruleConfigRegression,
  ruleTransientWithoutRetry,
  ruleHiddenFailures,
  ruleKilled,
  ruleRecurringError,
  ruleSuccessRate,
  ruleSlaDuration,
  ruleOverlap,
  ruleSlowingDown,
  ruleSlaViolations,
  rulePromptSize,
  ruleAiUsage,
  ruleAgentLoops,
];

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** The built-in analyzer: every rule over the context, most severe first. */
export function analyzeWithRules(ctx: ReviewContext): SuggestionDraft[] {
  const f = collectFacts(ctx);
  const out: SuggestionDraft[] = [];
  for (const rule of RULES) {
    const result = rule(f);
    for (const s of Array.isArray(result) ? result : result ? [result] : []) {
      f.fired.add(s.title);
      out.push(s);
    }
  }
  return out
    .map((s, i) => ({ s, i }))
    .sort((a, b) => SEVERITY_ORDER[a.s.severity] - SEVERITY_ORDER[b.s.severity] || a.i - b.i)
    .map(({ s }) => s);
}
