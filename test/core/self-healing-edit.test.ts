// Editing a job's self_healing block in its YAML text: comments, order and unknown fields kept.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkSelfHealingPatch, editSelfHealing } from '../../core/self-healing-edit.js';

const ONE_JOB = `# Nightly backup
name: Backup   # shown in the dashboard
cmd: ./backup.sh
owner: ops        # not modeled
self_healing:
    enabled: true    # on since March
    mode: proactive
    review_schedule:
        frequency: daily
        time: "03:00"
    custom: keep-me
`;

const JOBS_MAP = `# All jobs
jobs:
  backup:
    name: Backup
    cmd: ./backup.sh
  report:
    name: Report   # the sales report
    cmd: ./report.py
    self_healing:
      enabled: false
`;

describe('editSelfHealing', () => {
  it('merges fields into a one-job file, keeping comments, unknown fields and the file indentation', () => {
    const result = editSelfHealing(ONE_JOB, 'backup', { review_schedule: { frequency: 'weekly', day: 2 }, suggestions: { auto_apply_categories: ['config'] } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.text).toContain('# Nightly backup');
    expect(result.text).toContain('# on since March');
    expect(result.text).toContain('owner: ops');
    expect(result.text).toContain('custom: keep-me');
    expect(result.text).toContain('        frequency: weekly');
    const value = parse(result.text);
    expect(value.self_healing.review_schedule).toEqual({ frequency: 'weekly', time: '03:00', day: 2 });
    expect(value.self_healing.suggestions.auto_apply_categories).toEqual(['config']);
    expect(result.config.self_healing.review_schedule.day).toBe(2);
  });

  it('edits jobs.<id>.self_healing in a jobs.yaml map and leaves the other jobs alone', () => {
    const result = editSelfHealing(JOBS_MAP, 'backup', { enabled: true, mode: 'proactive' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const value = parse(result.text);
    expect(value.jobs.backup.self_healing).toEqual({ enabled: true, mode: 'proactive' });
    expect(value.jobs.report.self_healing).toEqual({ enabled: false });
    expect(result.text).toContain('# the sales report');
  });

  it('a null removes a field so it falls back to its default', () => {
    const result = editSelfHealing(ONE_JOB, 'backup', { review_schedule: { time: null }, mode: null });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const value = parse(result.text);
    expect(value.self_healing.review_schedule).toEqual({ frequency: 'daily' });
    expect(value.self_healing.mode).toBeUndefined();
    expect(result.config.self_healing.mode).toBe('reactive');
  });

  it('a job missing from a jobs.yaml map, or a file that is not YAML, is refused', () => {
    expect(editSelfHealing(JOBS_MAP, 'nope', { enabled: true })).toMatchObject({ ok: false, status: 409 });
    expect(editSelfHealing('name: [unclosed', 'x', { enabled: true })).toMatchObject({ ok: false, status: 409 });
  });
});

describe('checkSelfHealingPatch', () => {
  it('names unknown fields and invalid values; accepts nulls and an empty patch', () => {
    expect(checkSelfHealingPatch({})).toEqual([]);
    expect(checkSelfHealingPatch({ review_schedule: { time: null } })).toEqual([]);
    expect(checkSelfHealingPatch({ enabeld: true }).map((p) => p.field)).toEqual(['enabeld']);
    expect(checkSelfHealingPatch({ review_scope: { analyse_logs: true } }).map((p) => p.field)).toEqual(['review_scope.analyse_logs']);
    expect(checkSelfHealingPatch({ review_schedule: { day: 7 } }).map((p) => p.field)).toEqual(['review_schedule.day']);
    expect(checkSelfHealingPatch('yes').map((p) => p.field)).toEqual(['(root)']);
  });
});
