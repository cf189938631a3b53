// The auto-apply policy of a job's `self_healing.suggestions` block, and who must approve.
import { SEVERITIES, type Category, type Severity, type SuggestionBehavior } from './job.js';

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export type AutoApplyPolicy = Pick<SuggestionBehavior, 'auto_apply' | 'auto_apply_categories' | 'min_severity_for_approval' | 'two_person_rule'>;

export interface AutoApplyCandidate {
  category: Category;
  severity: Severity;
  /** it names one of the job's files and the change (or its new content) */
  edits_file: boolean;
  /** the analyzer's own `auto_apply`: only an explicit true makes it eligible */
  analyzer_auto_apply: boolean | null;
  /** why the job's policy does not let it be applied at all (allowed_actions, a forbidden or shared file) */
  advisory_reason: string | null;
}

export interface AutoApplyDecision {
  auto: boolean;
  /** why it applies by itself, or why a person decides */
  reason: string;
}

/**
 * Applies without a person only when every condition holds: it edits a file the job's policy lets
 * it edit, the analyzer said `auto_apply: true`, the job opted in (`auto_apply`, or its category is
 * in `auto_apply_categories`), its severity is below `min_severity_for_approval`, and one approver
 * would do. A listed category opts in; it never lifts the severity threshold. A job that is running
 * is no veto: the apply itself waits for the run to end (workflows/suggestion.ts).
 */
export function autoApplyDecision(policy: AutoApplyPolicy, s: AutoApplyCandidate): AutoApplyDecision {
  const person = (reason: string): AutoApplyDecision => ({ auto: false, reason });
  if (!s.edits_file) return person('it edits no file: advice is for a person to act on');
  if (s.advisory_reason) return person(`it is advice only: ${s.advisory_reason}`);
  if (s.analyzer_auto_apply !== true) {
    return person(s.analyzer_auto_apply === false ? 'the analyzer asked for a person to decide' : 'the analyzer did not mark it auto_apply: true');
  }
  if (!policy.auto_apply && !policy.auto_apply_categories.includes(s.category)) {
    return person(`the job neither sets auto_apply nor lists "${s.category}" in auto_apply_categories`);
  }
  if (severityRank(s.severity) >= severityRank(policy.min_severity_for_approval)) {
    return person(`severity ${s.severity} is not below min_severity_for_approval (${policy.min_severity_for_approval})`);
  }
  if (requiredApprovals(s, policy.two_person_rule) > 1) return person('it needs two approvers (two_person_rule)');
  return { auto: true, reason: policy.auto_apply ? 'auto_apply is on and its severity is below the threshold' : `"${s.category}" is in auto_apply_categories and its severity is below the threshold` };
}

/** Critical suggestions and every security one need two different approvers. */
export function requiredApprovals(suggestion: { category: Category; severity: Severity }, twoPersonRule: boolean): number {
  if (!twoPersonRule) return 1;
  return suggestion.severity === 'critical' || suggestion.category === 'security' ? 2 : 1;
}
