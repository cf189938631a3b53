// The pure part of the schedule reconciler: what each self_healing block asks Temporal for.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveDefaultTimeZone } from '../../core/config.js';
import { JobSchema, type DefaultTimeZone } from '../../core/job.js';
import { buildAnalysisPrompt } from '../../core/prompt.js';
import { reviewScheduleSpec, scheduleIntent, stableHash } from '../../core/schedule-spec.js';
import { makeContext } from './factories.js';

const job = (selfHealing: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  config: JobSchema.parse({ name: 'J', cmd: './j.sh', self_healing: selfHealing, ...over }),
});
const proactive = (review_schedule: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  job({ enabled: true, mode: 'proactive', review_schedule }, over);
/** The machine's zone on a UTC machine, as the service passes it when HEALING_DEFAULT_TIMEZONE is unset. */
const UTC_MACHINE: DefaultTimeZone = { zone: 'UTC', source: 'machine' };
const NEW_YORK: DefaultTimeZone = { zone: 'America/New_York', source: 'HEALING_DEFAULT_TIMEZONE' };

describe('review schedule specs', () => {
  it('hourly runs at minute 0 of every hour in the default zone when no time zone is set, and its comment says why that zone', () => {
    expect(reviewScheduleSpec(proactive({ frequency: 'hourly' }).config, UTC_MACHINE)).toEqual({
      calendars: [{ minute: 0, hour: '*', dayOfWeek: '*', dayOfMonth: '*', comment: "hourly at minute 0 (UTC: this machine's zone; the job sets none)" }],
      timezone: 'UTC',
    });
    expect(reviewScheduleSpec(proactive({ frequency: 'hourly' }, { timezone: 'Europe/Paris' }).config, UTC_MACHINE)?.calendars[0].comment).toBe('hourly at minute 0 (Europe/Paris)');
  });

  it('daily, weekly and monthly run at their time, on their day, in the review time zone before the job one', () => {
    const daily = reviewScheduleSpec(proactive({ frequency: 'daily', time: '06:30' }, { timezone: 'Europe/Paris' }).config, NEW_YORK);
    expect(daily).toMatchObject({ calendars: [{ hour: 6, minute: 30, dayOfWeek: '*', dayOfMonth: '*' }], timezone: 'Europe/Paris' });
    const weekly = reviewScheduleSpec(proactive({ frequency: 'weekly', day: 0, time: '09:15', timezone: 'America/New_York' }, { timezone: 'Asia/Tokyo' }).config, UTC_MACHINE);
    expect(weekly).toMatchObject({ calendars: [{ hour: 9, minute: 15, dayOfWeek: 'SUNDAY', dayOfMonth: '*' }], timezone: 'America/New_York' });
    const monthly = reviewScheduleSpec(proactive({ frequency: 'monthly', day_of_month: 28, time: '23:59' }).config, UTC_MACHINE);
    expect(monthly).toMatchObject({ calendars: [{ hour: 23, minute: 59, dayOfWeek: '*', dayOfMonth: 28 }], timezone: 'UTC' });
  });

  it('event-driven and manual frequencies have no spec', () => {
    for (const frequency of ['on_failure', 'on_sla_breach', 'manual']) expect(reviewScheduleSpec(proactive({ frequency }).config, UTC_MACHINE)).toBeNull();
  });
});

describe('schedule intents', () => {
  it('only an enabled proactive job with a timed frequency gets an active schedule; the others say why they are paused', () => {
    expect(scheduleIntent(proactive({ frequency: 'daily' }), UTC_MACHINE).kind).toBe('active');
    expect(scheduleIntent(job({ enabled: false, mode: 'proactive' }), UTC_MACHINE)).toMatchObject({ kind: 'paused', reason: expect.stringContaining('enabled is false') });
    expect(scheduleIntent(job({ enabled: true, mode: 'reactive' }), UTC_MACHINE)).toMatchObject({ kind: 'paused', reason: expect.stringContaining('mode is reactive') });
    expect(scheduleIntent(proactive({ frequency: 'manual' }), UTC_MACHINE)).toMatchObject({ kind: 'paused', spec: null, reason: expect.stringContaining('only when triggered') });
    expect(scheduleIntent(null, UTC_MACHINE, 'self_healing.mode: invalid')).toMatchObject({ kind: 'paused', reason: expect.stringContaining('does not load') });
    expect(scheduleIntent(null, UTC_MACHINE)).toEqual({ kind: 'absent' });
  });

  it('the hash ignores key order and changes with any value', () => {
    expect(stableHash({ a: 1, b: { c: [1, 2] } })).toBe(stableHash({ b: { c: [1, 2] }, a: 1 }));
    expect(stableHash({ a: 1, b: { c: [1, 2] } })).not.toBe(stableHash({ a: 1, b: { c: [2, 1] } }));
  });
});

describe('jobs that set no time zone', () => {
  it('when a job sets no time zone, its reviews run in the default given, and the comment names where it came from', () => {
    const spec = reviewScheduleSpec(proactive({ frequency: 'daily', time: '03:00' }).config, NEW_YORK);
    expect(spec).toMatchObject({ calendars: [{ hour: 3, minute: 0 }], timezone: 'America/New_York' });
    expect(spec?.calendars[0].comment).toBe('daily at 03:00 America/New_York (HEALING_DEFAULT_TIMEZONE; the job sets none)');
    const machine = reviewScheduleSpec(proactive({ frequency: 'weekly', day: 1, time: '09:00' }).config, { zone: 'Asia/Tokyo', source: 'machine' });
    expect(machine?.timezone).toBe('Asia/Tokyo');
    expect(machine?.calendars[0].comment).toBe("weekly on monday at 09:00 Asia/Tokyo (this machine's zone; the job sets none)");
  });

  it("when the job sets a time zone, it wins over the default, and the schedule's own wins over both", () => {
    const jobs = reviewScheduleSpec(proactive({ frequency: 'daily', time: '03:00' }, { timezone: 'Europe/Lisbon' }).config, NEW_YORK);
    expect(jobs).toMatchObject({ timezone: 'Europe/Lisbon', calendars: [{ comment: 'daily at 03:00 Europe/Lisbon' }] });
    const own = reviewScheduleSpec(proactive({ frequency: 'daily', time: '03:00', timezone: 'Asia/Tokyo' }, { timezone: 'Europe/Lisbon' }).config, NEW_YORK);
    expect(own).toMatchObject({ timezone: 'Asia/Tokyo', calendars: [{ comment: 'daily at 03:00 Asia/Tokyo' }] });
  });

  it('when the default zone changes, the spec of a job without one changes (so the reconciler rewrites it once) and a zoned one stays', () => {
    const bare = proactive({ frequency: 'daily' }).config;
    const zoned = proactive({ frequency: 'daily' }, { timezone: 'Europe/Lisbon' }).config;
    expect(stableHash(reviewScheduleSpec(bare, NEW_YORK))).not.toBe(stableHash(reviewScheduleSpec(bare, UTC_MACHINE)));
    expect(stableHash(reviewScheduleSpec(zoned, NEW_YORK))).toBe(stableHash(reviewScheduleSpec(zoned, UTC_MACHINE)));
  });

  it('when HEALING_DEFAULT_TIMEZONE is set, the service takes it (spelled as Temporal needs), else this machine\'s zone', () => {
    expect(loadConfig({ HEALING_DEFAULT_TIMEZONE: 'America/New_York' }, '/srv', '/home/ops').defaultTimeZone).toEqual(NEW_YORK);
    expect(loadConfig({ HEALING_DEFAULT_TIMEZONE: 'america/new_york' }, '/srv', '/home/ops').defaultTimeZone).toEqual(NEW_YORK);
    expect(loadConfig({}, '/srv', '/home/ops').defaultTimeZone).toEqual({ zone: Intl.DateTimeFormat().resolvedOptions().timeZone, source: 'machine' });
    expect(resolveDefaultTimeZone(undefined).source).toBe('machine');
  });

  it('when HEALING_DEFAULT_TIMEZONE is not an IANA zone, start-up stops with a message naming the variable and the value', () => {
    for (const value of ['Mars/Olympus', '+05:00', 'EST 5']) {
      expect(() => loadConfig({ HEALING_DEFAULT_TIMEZONE: value }, '/srv', '/home/ops')).toThrow(ConfigError);
      expect(() => loadConfig({ HEALING_DEFAULT_TIMEZONE: value }, '/srv', '/home/ops')).toThrow(`HEALING_DEFAULT_TIMEZONE: "${value}" is not an IANA time zone`);
    }
  });

  it("when a job sets no time zone, the analyzer's prompt gives its schedule's zone as the default and says why", () => {
    const bare = makeContext({ job: JobSchema.parse({ name: 'J', cmd: './j.sh', schedule: '0 2 * * *' }), job_timezone: { zone: 'America/New_York', source: 'machine' } });
    expect(buildAnalysisPrompt(bare)).toContain("schedule: 0 2 * * * (time zone America/New_York: this machine's zone, the job sets none");
    const zoned = makeContext({ job: JobSchema.parse({ name: 'J', cmd: './j.sh', schedule: '0 2 * * *', timezone: 'Europe/Lisbon' }), job_timezone: { zone: 'Europe/Lisbon', source: 'job' } });
    expect(buildAnalysisPrompt(zoned)).toContain('schedule: 0 2 * * * (time zone Europe/Lisbon');
    expect(buildAnalysisPrompt(zoned)).not.toContain('the job sets none');
  });
});
