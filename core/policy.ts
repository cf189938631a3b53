// The auto-apply policy of a job's `self_healing.suggestions` block.
import { SEVERITIES, type Category, type Severity, type SuggestionBehavior } from './job.js';

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/**
 * A suggestion that edits a file applies without a person when its category is listed in
 * `auto_apply_categories`, or when `auto_apply` is on and its severity is below
 * `min_severity_for_approval`. The analyzer's own `auto_apply: false` always vetoes.
 */
export function shouldAutoApply(
  policy: Pick<SuggestionBehavior, 'auto_apply' | 'auto_apply_categories' | 'min_severity_for_approval'>,
  suggestion: { category: Category; severity: Severity; edits_file: boolean; analyzer_auto_apply: boolean | null },
): boolean {
  if (!suggestion.edits_file || suggestion.analyzer_auto_apply === false) return false;
  if (policy.auto_apply_categories.includes(suggestion.category)) return true;
  return policy.auto_apply && severityRank(suggestion.severity) < severityRank(policy.min_severity_for_approval);
}

/** Critical suggestions and every security one need two different approvers. */
export function requiredApprovals(suggestion: { category: Category; severity: Severity }, twoPersonRule: boolean): number {
  if (!twoPersonRule) return 1;
  return suggestion.severity === 'critical' || suggestion.category === 'security' ? 2 : 1;
}
