// Apply windows (core/apply-window.ts): open or closed at an instant and when they next open, on
// the job's wall clock across midnight and clock changes, and between a job's scheduled runs. Pure.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readApplyWindow } from '../../core/config.js';
import { applyWindowAt, ApplyWindowSchema, describeApplyWindow, JobApplyWindowSchema, parseCron, windowWaitText, type ApplyWindow } from '../../core/apply-window.js';
import { describeIssues, JobSchema } from '../../core/job.js';
import { humanError } from '../../core/messages.js';

const NY = 'America/New_York';
const weekdays: ApplyWindow = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: ['09:00-17:00'] };
const at = (iso: string) => new Date(iso);
const opens = (window: ApplyWindow, zone: string, iso: string, schedule?: string) => {
  const answer = applyWindowAt(window, zone, at(iso), schedule);
  return { open: answer.open, opensAt: answer.opensAt?.toISOString() ?? null };
};

describe('a window of days and hours', () => {
  it('is open inside its hours on its days, and says so with the instant itself', () => {
    expect(opens(weekdays, 'UTC', '2026-12-02T10:00:00Z')).toEqual({ open: true, opensAt: '2026-12-02T10:00:00.000Z' });
  });

  it('when closed in the evening, opens the next weekday morning; on Friday evening, on Monday', () => {
    expect(opens(weekdays, 'UTC', '2026-12-02T17:00:00Z')).toEqual({ open: false, opensAt: '2026-12-03T09:00:00.000Z' });
    expect(opens(weekdays, 'UTC', '2026-12-04T18:30:00Z')).toEqual({ open: false, opensAt: '2026-12-07T09:00:00.000Z' });
  });

  it('reads the hours on the zone\'s wall clock', () => {
    // 13:00 UTC is 08:00 in New York (EST): it opens at 09:00 EST, 14:00 UTC
    expect(opens(weekdays, NY, '2026-12-02T13:00:00Z')).toEqual({ open: false, opensAt: '2026-12-02T14:00:00.000Z' });
  });

  it('a range across midnight belongs to the day it starts on', () => {
    const nights: ApplyWindow = { days: ['fri'], hours: ['22:00-06:00'] };
    expect(opens(nights, 'UTC', '2026-12-05T03:00:00Z').open).toBe(true); // Saturday 03:00, Friday's night
    expect(opens(nights, 'UTC', '2026-12-05T07:00:00Z')).toEqual({ open: false, opensAt: '2026-12-11T22:00:00.000Z' });
    expect(opens(nights, 'UTC', '2026-12-04T21:59:00Z')).toEqual({ open: false, opensAt: '2026-12-04T22:00:00.000Z' });
  });

  it('days alone are whole days; hours alone are every day', () => {
    expect(opens({ days: ['sat', 'sun'] }, 'UTC', '2026-12-04T12:00:00Z')).toEqual({ open: false, opensAt: '2026-12-05T00:00:00.000Z' });
    expect(opens({ hours: ['00:00-24:00'] }, 'UTC', '2026-12-04T12:00:00Z').open).toBe(true);
  });

  it('when the clock goes forward (New York, 14 March 2027), a range starting in the skipped hour opens when the clock lands', () => {
    expect(opens({ hours: ['02:30-04:00'] }, NY, '2027-03-14T06:00:00Z')).toEqual({ open: false, opensAt: '2027-03-14T07:00:00.000Z' });
    // 09:00 local is 14:00 UTC before the change and 13:00 UTC after
    expect(opens({ hours: ['09:00-10:00'] }, NY, '2027-03-13T15:00:00Z')).toEqual({ open: false, opensAt: '2027-03-14T13:00:00.000Z' });
  });

  it('when the clock goes back (New York, 1 November 2026), a range starting in the repeated hour opens the first time', () => {
    expect(opens({ hours: ['01:30-03:00'] }, NY, '2026-11-01T04:00:00Z')).toEqual({ open: false, opensAt: '2026-11-01T05:30:00.000Z' });
    expect(opens({ hours: ['01:30-03:00'] }, NY, '2026-11-01T06:45:00Z').open).toBe(true); // 01:45 EST, the second time round
  });
});

describe('a window between runs', () => {
  const between: ApplyWindow = { between_runs: true };

  it('for an hourly job, is closed within ten minutes either side of the start and open between', () => {
    expect(opens(between, 'UTC', '2026-12-02T10:30:00Z', '0 * * * *').open).toBe(true);
    expect(opens(between, 'UTC', '2026-12-02T10:55:00Z', '0 * * * *')).toEqual({ open: false, opensAt: '2026-12-02T11:10:00.000Z' });
    expect(opens(between, 'UTC', '2026-12-02T11:05:00Z', '0 * * * *')).toEqual({ open: false, opensAt: '2026-12-02T11:10:00.000Z' });
  });

  it('with margin_minutes, and inside days and hours', () => {
    const window: ApplyWindow = { hours: ['09:00-17:00'], between_runs: true, margin_minutes: 20 };
    expect(opens(window, 'UTC', '2026-12-02T08:00:00Z', '0 * * * *')).toEqual({ open: false, opensAt: '2026-12-02T09:20:00.000Z' });
  });

  it('for a job that starts every five minutes with the default margin, never opens', () => {
    expect(opens(between, 'UTC', '2026-12-02T10:00:00Z', '*/5 * * * *')).toEqual({ open: false, opensAt: null });
  });

  it('for a job with no readable schedule, is open and says only an open run closes it', () => {
    const answer = applyWindowAt(between, 'UTC', at('2026-12-02T10:00:00Z'), 'every hour');
    expect(answer.open).toBe(true);
    expect(answer.note).toMatch(/not a cron expression/);
  });
});

describe('reading windows and schedules', () => {
  it('refuses a window that names nothing, a bad range and an unknown key, each with the reason', () => {
    const problems = (value: unknown) => ApplyWindowSchema.safeParse(value).error?.issues.map((i) => i.message) ?? [];
    expect(problems({})).toEqual([expect.stringMatching(/needs days, hours or between_runs/)]);
    expect(problems({ hours: ['9-17'] })).toEqual([expect.stringMatching(/HH:MM-HH:MM/)]);
    expect(problems({ hours: ['09:00-09:00'] })).toEqual([expect.stringMatching(/must not start where it ends/)]);
    expect(problems({ days: ['monday'] })).toEqual([expect.stringMatching(/must be a day/)]);
    expect(ApplyWindowSchema.safeParse({ day: ['mon'], hours: ['09:00-17:00'] }).success).toBe(false);
    expect(ApplyWindowSchema.parse({ days: ['Mon'] })).toEqual({ days: ['mon'] });
    expect(ApplyWindowSchema.parse({ hours: ['00:00-24:00', '22:00-06:00'] }).hours).toHaveLength(2);
  });

  it('a job may set false: any time', () => {
    expect(JobApplyWindowSchema.parse(false)).toBe(false);
    expect(JobApplyWindowSchema.safeParse({ hours: ['x'] }).error?.issues[0]?.path).toEqual(['hours', 0]);
  });

  it('says the window in words', () => {
    expect(describeApplyWindow(weekdays, 'Europe/Lisbon')).toBe('mon-fri 09:00-17:00 (Europe/Lisbon)');
    expect(describeApplyWindow({ between_runs: true }, 'UTC')).toBe('between runs, 10 min either side of a scheduled start (UTC)');
  });

  it('reads cron expressions, and refuses what it cannot read', () => {
    expect(parseCron('@hourly')).not.toBeNull();
    expect(parseCron('*/15 9-17 * * mon-fri')?.weekdays).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(parseCron('0 0 * * 7')?.weekdays).toEqual(new Set([0]));
    expect(parseCron('0 25 * * *')).toBeNull();
    expect(parseCron('every hour')).toBeNull();
  });
});

describe('HEALING_APPLY_WINDOW', () => {
  it('is read as YAML; unset is no window; a bad one says what is wrong with an example', () => {
    expect(readApplyWindow('{days: [mon, tue, wed, thu, fri], hours: ["09:00-17:00"]}')).toEqual(weekdays);
    expect(readApplyWindow(undefined)).toBeNull();
    expect(readApplyWindow('{hours: [9-17]}')).toMatch(/^hours\.0: .*HH:MM-HH:MM.*\(e\.g\. \{days/);
    expect(readApplyWindow('{days: [mon')).toMatch(/^is not YAML/);
  });

  it('a bad one stops the service naming the variable; a good one is the workers\' default window', () => {
    expect(() => loadConfig({ HEALING_APPLY_WINDOW: '{days: [funday]}' }, '/tmp', '/root')).toThrow(ConfigError);
    expect(() => loadConfig({ HEALING_APPLY_WINDOW: '{days: [funday]}' }, '/tmp', '/root')).toThrow(/HEALING_APPLY_WINDOW: days\.0: must be a day/);
    expect(loadConfig({ HEALING_APPLY_WINDOW: '{between_runs: true}' }, '/tmp', '/root').waits.applyWindow).toEqual({ between_runs: true });
    expect(loadConfig({}, '/tmp', '/root').waits.applyWindow).toBeNull();
  });
});

describe("a job's own window, as the job loads", () => {
  /** The job load errors (field, reason) the catalog would list for this job, or [] when it loads. */
  const loadErrors = (job: Record<string, unknown>) => {
    const parsed = JobSchema.safeParse({ name: 'x', cmd: 'x', type: 'scheduled', ...job }, { error: humanError });
    return parsed.success ? [] : describeIssues(parsed.error);
  };

  it('refuses a window that never opens for the schedule, saying why and what to change', () => {
    const errors = loadErrors({ schedule: '* * * * *', self_healing: { apply_window: { between_runs: true, margin_minutes: 720 } } });
    expect(errors).toEqual([{ field: 'self_healing.apply_window', reason: expect.stringMatching(/^never opens: between runs, 720 min either side of a scheduled start \(UTC\) leaves no time in the next 8 days clear of the starts of the job's schedule "\* \* \* \* \*".*lower margin_minutes/) }]);
    expect(loadErrors({ schedule: '*/5 * * * *', timezone: 'Europe/Lisbon', self_healing: { apply_window: { hours: ['09:00-17:00'], between_runs: true } } })[0]?.reason).toMatch(/^never opens: 09:00-17:00 between runs, 10 min .*\(Europe\/Lisbon\)/);
  });

  it('loads a window that opens: between an hourly job\'s runs, days and hours, false, or one whose schedule it cannot read', () => {
    expect(loadErrors({ schedule: '0 * * * *', self_healing: { apply_window: { between_runs: true, margin_minutes: 20 } } })).toEqual([]);
    expect(loadErrors({ schedule: '* * * * *', self_healing: { apply_window: { days: ['sat'], hours: ['02:00-03:00'] } } })).toEqual([]);
    expect(loadErrors({ schedule: '* * * * *', self_healing: { apply_window: false } })).toEqual([]);
    expect(loadErrors({ schedule: 'every minute', self_healing: { apply_window: { between_runs: true, margin_minutes: 720 } } })).toEqual([]);
  });

  it('refuses apply_window: null, which could mean either no window or the service\'s', () => {
    expect(loadErrors({ self_healing: { apply_window: null } })).toEqual([
      { field: 'self_healing.apply_window', reason: "null is not a window: write false for any time, or leave apply_window out for the service's (HEALING_APPLY_WINDOW)" },
    ]);
  });
});

describe("an approval's answer while the apply waits for the window", () => {
  it('says when it applies, or, when the window does not open, that nothing is written rather than promise it applies', () => {
    expect(windowWaitText('mon-fri 09:00-17:00 (UTC), self_healing.apply_window', '2026-12-07T09:00:00.000Z')).toBe(
      "outside the job's apply window (mon-fri 09:00-17:00 (UTC), self_healing.apply_window): it applies at 2026-12-07T09:00:00.000Z; an admin can POST .../apply-now",
    );
    const never = windowWaitText('between runs, 720 min either side of a scheduled start (UTC), HEALING_APPLY_WINDOW', null);
    expect(never).toBe(
      "outside the job's apply window (between runs, 720 min either side of a scheduled start (UTC), HEALING_APPLY_WINDOW), which does not open within 15 days for the job's schedule: " +
        'nothing is written unless the window or the schedule changes (looked at again daily) or an admin POSTs .../apply-now',
    );
    expect(never).not.toMatch(/once the window opens|it applies/);
  });
});
