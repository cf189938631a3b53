// The auto-apply policy as one table over every combination of its inputs, and the cases the
// acceptance run found.
import { describe, expect, it } from 'vitest';
import { CATEGORIES, SEVERITIES, type Category, type Severity } from '../../core/job.js';
import { autoApplyDecision, requiredApprovals, severityRank, type AutoApplyPolicy } from '../../core/policy.js';

interface Row {
  autoApply: boolean;
  categories: Category[];
  minSeverity: Severity;
  twoPerson: boolean;
  category: Category;
  severity: Severity;
  edits: boolean;
  flag: boolean | null;
  advisory: string | null;
}

/** The rule as issue 14 states it, written independently of the implementation's shape. */
function expected(r: Row): boolean {
  const optedIn = r.autoApply || r.categories.includes(r.category);
  const belowThreshold = SEVERITIES.indexOf(r.severity) < SEVERITIES.indexOf(r.minSeverity);
  const twoApprovers = r.twoPerson && (r.severity === 'critical' || r.category === 'security');
  return r.edits && r.advisory === null && r.flag === true && optedIn && belowThreshold && !twoApprovers;
}

function decide(r: Row) {
  const policy: AutoApplyPolicy = { auto_apply: r.autoApply, auto_apply_categories: r.categories, min_severity_for_approval: r.minSeverity, two_person_rule: r.twoPerson };
  return autoApplyDecision(policy, { category: r.category, severity: r.severity, edits_file: r.edits, analyzer_auto_apply: r.flag, advisory_reason: r.advisory });
}

describe('autoApplyDecision', () => {
  const rows: Row[] = [];
  for (const autoApply of [false, true])
    for (const categories of [[], ['config'], ['config', 'security'], [...CATEGORIES]] as Category[][])
      for (const minSeverity of SEVERITIES)
        for (const twoPerson of [false, true])
          for (const category of CATEGORIES)
            for (const severity of SEVERITIES)
              for (const edits of [false, true])
                for (const flag of [null, true, false] as const)
                  for (const advisory of [null, 'allowed_actions [restart_job] does not include edit_script'])
                    rows.push({ autoApply, categories, minSeverity, twoPerson, category, severity, edits, flag, advisory });

  it(`agrees with the stated rule on all ${rows.length} combinations (category listed or not, severity against the threshold, the AI's flag true/false/missing, two-person severities, allowed actions)`, () => {
    const wrong = rows.filter((r) => decide(r).auto !== expected(r)).map((r) => JSON.stringify(r));
    expect(wrong).toEqual([]);
    expect(rows.filter((r) => decide(r).auto).length).toBeGreaterThan(100);
  });

  it('gives every outcome a reason a person can read', () => {
    const reasons = new Set(rows.map((r) => decide(r).reason));
    for (const reason of reasons) expect(reason.length).toBeGreaterThan(10);
  });

  const base: Row = { autoApply: false, categories: [], minSeverity: 'medium', twoPerson: true, category: 'config', severity: 'low', edits: true, flag: true, advisory: null };
  it.each<[string, Partial<Row>, boolean, string]>([
    ['a listed category does not lift the threshold: config high with [config] and medium', { categories: ['config'], severity: 'high' }, false, 'severity high is not below min_severity_for_approval (medium)'],
    ['a listed category below the threshold applies', { categories: ['config'] }, true, '"config" is in auto_apply_categories and its severity is below the threshold'],
    ['the AI omitted auto_apply: a person decides', { autoApply: true, flag: null }, false, 'the analyzer did not mark it auto_apply: true'],
    ['the AI said auto_apply: false: a person decides', { autoApply: true, flag: false }, false, 'the analyzer asked for a person to decide'],
    ['the job did not opt in', {}, false, 'the job neither sets auto_apply nor lists "config" in auto_apply_categories'],
    ['a security fix needs two approvers, so never applies by itself', { autoApply: true, category: 'security', minSeverity: 'critical' }, false, 'it needs two approvers (two_person_rule)'],
    ['an edit the job does not allow is advice', { autoApply: true, advisory: 'allowed_actions [restart_job] does not include edit_script' }, false, 'it is advice only: allowed_actions [restart_job] does not include edit_script'],
    ['advice without a file edit', { autoApply: true, edits: false }, false, 'it edits no file: advice is for a person to act on'],
  ])('%s', (_name, change, auto, reason) => {
    expect(decide({ ...base, ...change })).toEqual({ auto, reason });
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
