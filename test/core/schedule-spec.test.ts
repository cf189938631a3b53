// The pure part of the schedule reconciler: what each self_healing block asks Temporal for.
import { describe, expect, it } from 'vitest';
import { JobSchema } from '../../core/job.js';
import { reviewScheduleSpec, scheduleIntent, stableHash } from '../../core/schedule-spec.js';

const job = (selfHealing: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  config: JobSchema.parse({ name: 'J', cmd: './j.sh', self_healing: selfHealing, ...over }),
});
const proactive = (review_schedule: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  job({ enabled: true, mode: 'proactive', review_schedule }, over);

describe('review schedule specs', () => {
  it('hourly runs at minute 0 of every hour in UTC when no time zone is set', () => {
    expect(reviewScheduleSpec(proactive({ frequency: 'hourly' }).config)).toEqual({
      calendars: [{ minute: 0, hour: '*', dayOfWeek: '*', dayOfMonth: '*', comment: 'hourly at minute 0 (UTC)' }],
      timezone: 'UTC',
    });
  });

  it('daily, weekly and monthly run at their time, on their day, in the review time zone before the job one', () => {
    const daily = reviewScheduleSpec(proactive({ frequency: 'daily', time: '06:30' }, { timezone: 'Europe/Paris' }).config);
    expect(daily).toMatchObject({ calendars: [{ hour: 6, minute: 30, dayOfWeek: '*', dayOfMonth: '*' }], timezone: 'Europe/Paris' });
    const weekly = reviewScheduleSpec(proactive({ frequency: 'weekly', day: 0, time: '09:15', timezone: 'America/New_York' }, { timezone: 'Asia/Tokyo' }).config);
    expect(weekly).toMatchObject({ calendars: [{ hour: 9, minute: 15, dayOfWeek: 'SUNDAY', dayOfMonth: '*' }], timezone: 'America/New_York' });
    const monthly = reviewScheduleSpec(proactive({ frequency: 'monthly', day_of_month: 28, time: '23:59' }).config);
    expect(monthly).toMatchObject({ calendars: [{ hour: 23, minute: 59, dayOfWeek: '*', dayOfMonth: 28 }], timezone: 'UTC' });
  });

  it('event-driven and manual frequencies have no spec', () => {
    for (const frequency of ['on_failure', 'on_sla_breach', 'manual']) expect(reviewScheduleSpec(proactive({ frequency }).config)).toBeNull();
  });
});

describe('schedule intents', () => {
  it('only an enabled proactive job with a timed frequency gets an active schedule; the others say why they are paused', () => {
    expect(scheduleIntent(proactive({ frequency: 'daily' })).kind).toBe('active');
    expect(scheduleIntent(job({ enabled: false, mode: 'proactive' }))).toMatchObject({ kind: 'paused', reason: expect.stringContaining('enabled is false') });
    expect(scheduleIntent(job({ enabled: true, mode: 'reactive' }))).toMatchObject({ kind: 'paused', reason: expect.stringContaining('mode is reactive') });
    expect(scheduleIntent(proactive({ frequency: 'manual' }))).toMatchObject({ kind: 'paused', spec: null, reason: expect.stringContaining('only when triggered') });
    expect(scheduleIntent(null, 'self_healing.mode: invalid')).toMatchObject({ kind: 'paused', reason: expect.stringContaining('does not load') });
    expect(scheduleIntent(null)).toEqual({ kind: 'absent' });
  });

  it('the hash ignores key order and changes with any value', () => {
    expect(stableHash({ a: 1, b: { c: [1, 2] } })).toBe(stableHash({ b: { c: [1, 2] }, a: 1 }));
    expect(stableHash({ a: 1, b: { c: [1, 2] } })).not.toBe(stableHash({ a: 1, b: { c: [2, 1] } }));
  });
});
