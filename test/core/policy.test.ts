// The auto-apply rule, over every combination of its inputs.
import { describe, expect, it } from 'vitest';
import { CATEGORIES, SEVERITIES, type Category, type Severity } from '../../core/job.js';
import { requiredApprovals, severityRank, shouldAutoApply } from '../../core/policy.js';

/** The rule as the issue states it, written independently of the implementation's shape. */
function expected(p: { autoApply: boolean; categories: Category[]; minSeverity: Severity }, s: { category: Category; severity: Severity; edits: boolean; veto: boolean | null }): boolean {
  if (!s.edits) return false;
  if (s.veto === false) return false;
  const byCategory = p.categories.includes(s.category);
  const bySeverity = p.autoApply && SEVERITIES.indexOf(s.severity) < SEVERITIES.indexOf(p.minSeverity);
  return byCategory || bySeverity;
}

describe('shouldAutoApply', () => {
  const categoryLists: Category[][] = [[], ['config'], ['config', 'prompt'], [...CATEGORIES]];
  const rows: [string, boolean, boolean][] = [];
  for (const autoApply of [false, true])
    for (const categories of categoryLists)
      for (const minSeverity of SEVERITIES)
        for (const category of CATEGORIES)
          for (const severity of SEVERITIES)
            for (const edits of [false, true])
              for (const veto of [null, true, false] as const) {
                const policy = { auto_apply: autoApply, auto_apply_categories: categories, min_severity_for_approval: minSeverity };
                const suggestion = { category, severity, edits_file: edits, analyzer_auto_apply: veto };
                rows.push([
                  JSON.stringify({ autoApply, categories, minSeverity, category, severity, edits, veto }),
                  shouldAutoApply(policy, suggestion),
                  expected({ autoApply, categories, minSeverity }, { category, severity, edits, veto }),
                ]);
              }

  it(`agrees with the stated rule on all ${2 * 4 * 4 * 7 * 4 * 2 * 3} combinations`, () => {
    const wrong = rows.filter(([, got, want]) => got !== want).map(([name]) => name);
    expect(wrong).toEqual([]);
    expect(rows.some(([, got]) => got)).toBe(true);
    expect(rows.some(([, got]) => !got)).toBe(true);
  });

  it.each([
    ['the seed default (auto_apply off, no categories)', false, [], 'medium', 'config', 'low', false],
    ['auto_apply on, low below medium', true, [], 'medium', 'script', 'low', true],
    ['auto_apply on, medium not below medium', true, [], 'medium', 'script', 'medium', false],
    ['listed category applies whatever the severity', false, ['prompt'], 'low', 'prompt', 'critical', true],
  ] as const)('%s', (_name, autoApply, categories, minSeverity, category, severity, want) => {
    const got = shouldAutoApply(
      { auto_apply: autoApply, auto_apply_categories: [...categories], min_severity_for_approval: minSeverity },
      { category, severity, edits_file: true, analyzer_auto_apply: null },
    );
    expect(got).toBe(want);
  });
});

describe('requiredApprovals and severityRank', () => {
  it('needs two approvers for critical or security suggestions only when the two-person rule is on', () => {
    expect(requiredApprovals({ category: 'security', severity: 'low' }, true)).toBe(2);
    expect(requiredApprovals({ category: 'config', severity: 'critical' }, true)).toBe(2);
    expect(requiredApprovals({ category: 'config', severity: 'high' }, true)).toBe(1);
    expect(requiredApprovals({ category: 'security', severity: 'critical' }, false)).toBe(1);
  });
  it('orders severities low < medium < high < critical', () => {
    expect(SEVERITIES.map(severityRank)).toEqual([0, 1, 2, 3]);
  });
});
