// Review schedules on the real Temporal dev server: what each frequency becomes, how the reconciler
// follows the job files, the PUT endpoint, and a schedule that fires a review. The service runs with
// HEALING_DEFAULT_TIMEZONE=America/New_York, the zone of jobs that set none.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_SCHEDULE_ID, scheduleId } from '../core/temporal.js';
import { reconcileSchedules, startScheduleReconciler } from '../worker/schedules.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let jobsDir: string;

const job = (name: string, selfHealing: string, extra = '') =>
  `# ${name}: a job of the schedule tests\nname: ${name}\ncmd: ./run.sh\n${extra}self_healing:\n${selfHealing}`;

const JOBS: Record<string, string> = {
  'every-hour': job('Every hour', '  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: hourly\n'),
  'every-day': job('Every day', '  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: daily\n    time: "06:30"\n', 'timezone: Europe/Paris\n'),
  'every-week': job(
    'Every week',
    '  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: weekly\n    day: 0\n    time: "09:15"\n    timezone: America/New_York\n',
    'timezone: Asia/Tokyo\n',
  ),
  'every-month': job('Every month', '  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: monthly\n    day_of_month: 15\n    time: "22:05"\n'),
  'on-failure': job('On failure', '  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n'),
  'by-hand': job('By hand', '  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: manual\n'),
  'switched-off': job('Switched off', '  enabled: false\n  mode: proactive\n  review_schedule:\n    frequency: daily\n'),
};

/** A reconcile pass as the service's worker runs it, with the service's default zone. */
const reconcile = (opts: { retention?: boolean } = {}) => reconcileSchedules(stack.env.client, jobsDir, { defaultTimeZone: stack.defaultTimeZone, ...opts });
const describeSchedule = (jobId: string) => stack.env.client.schedule.getHandle(scheduleId(jobId)).describe();
const startOf = (ranges: { start: unknown }[] | undefined) => ranges?.map((r) => r.start);

async function exists(jobId: string): Promise<boolean> {
  try {
    await describeSchedule(jobId);
    return true;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return false;
    throw error;
  }
}

/** The wall-clock parts of a date in a time zone. */
function wallClock(date: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', weekday: 'long', day: 'numeric', hour: 'numeric', minute: 'numeric',
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return { weekday: get('weekday').toUpperCase(), day: Number(get('day')), hour: Number(get('hour')), minute: Number(get('minute')) };
}

beforeAll(async () => {
  stack = await startStack({ defaultTimeZone: 'America/New_York' });
  jobsDir = stack.jobsDir;
  await mkdir(jobsDir, { recursive: true });
  for (const [id, text] of Object.entries(JOBS)) await writeFile(path.join(jobsDir, `${id}.yaml`), text);
});
afterAll(async () => stack?.stop());

describe('the schedule reconciler', () => {
  it('when jobs ask for hourly, daily, weekly and monthly reviews, each gets its calendar spec in its review time zone', async () => {
    const result = await reconcile();
    expect(result).toMatchObject({ created: 4, updated: 0, paused: 0, deleted: 0, failed: [], retention: 'created' });

    const hourly = await describeSchedule('every-hour');
    expect(startOf(hourly.spec.calendars![0]!.minute)).toEqual([0]);
    expect(hourly.spec.calendars![0]!.hour).toEqual([{ start: 0, end: 23, step: 1 }]);
    expect(hourly.spec.timezone).toBe('America/New_York'); // the job sets none: HEALING_DEFAULT_TIMEZONE
    expect(hourly.info.nextActionTimes[0]!.getUTCMinutes()).toBe(0);

    const daily = await describeSchedule('every-day');
    expect(startOf(daily.spec.calendars![0]!.hour)).toEqual([6]);
    expect(startOf(daily.spec.calendars![0]!.minute)).toEqual([30]);
    expect(daily.spec.timezone).toBe('Europe/Paris');
    expect(wallClock(daily.info.nextActionTimes[0]!, 'Europe/Paris')).toMatchObject({ hour: 6, minute: 30 });

    const weekly = await describeSchedule('every-week');
    expect(startOf(weekly.spec.calendars![0]!.dayOfWeek)).toEqual(['SUNDAY']);
    expect(weekly.spec.timezone).toBe('America/New_York'); // the review's own zone wins over the job's
    expect(wallClock(weekly.info.nextActionTimes[0]!, 'America/New_York')).toMatchObject({ weekday: 'SUNDAY', hour: 9, minute: 15 });

    const monthly = await describeSchedule('every-month');
    expect(startOf(monthly.spec.calendars![0]!.dayOfMonth)).toEqual([15]);
    expect(monthly.spec.timezone).toBe('America/New_York');
    expect(wallClock(monthly.info.nextActionTimes[0]!, 'America/New_York')).toMatchObject({ day: 15, hour: 22, minute: 5 });

    for (const d of [hourly, daily, weekly, monthly]) {
      expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 60_000 });
      expect(d.state.paused).toBe(false);
      expect(d.action).toMatchObject({ workflowType: 'scheduledReviewWorkflow', taskQueue: 'healing' });
    }
    expect(daily.action.args).toEqual([{ jobId: 'every-day' }]);

    for (const id of ['on-failure', 'by-hand', 'switched-off']) expect(await exists(id), id).toBe(false);
    const retention = await stack.env.client.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
    expect(retention.action.workflowType).toBe('retentionWorkflow');
  });

  it('when nothing changed, a reconcile writes nothing', async () => {
    const before = await describeSchedule('every-day');
    const result = await reconcile();
    expect(result).toMatchObject({ created: 0, updated: 0, paused: 0, deleted: 0, unchanged: 7, retention: 'unchanged', failed: [] });
    const after = await describeSchedule('every-day');
    expect(after.info.lastUpdatedAt?.getTime()).toBe(before.info.lastUpdatedAt?.getTime());
  });

  it('when a job sets no time zone, its schedule runs in HEALING_DEFAULT_TIMEZONE and its note says so; a zoned job\'s note names its own zone', async () => {
    const monthly = await describeSchedule('every-month');
    expect(monthly.spec.timezone).toBe('America/New_York');
    expect(monthly.state.note).toBe('reviews monthly on day 15 at 22:05 America/New_York (HEALING_DEFAULT_TIMEZONE; the job sets none)');
    expect((await describeSchedule('every-hour')).state.note).toBe('reviews hourly at minute 0 (America/New_York: HEALING_DEFAULT_TIMEZONE; the job sets none)');
    expect((await describeSchedule('every-day')).state.note).toBe('reviews daily at 06:30 Europe/Paris');
    expect((await describeSchedule('every-week')).state.note).toBe('reviews weekly on sunday at 09:15 America/New_York');
  });

  it('when the default zone changes, the schedules of jobs without a zone move to it in one pass and stay; zoned jobs are left alone', async () => {
    const tokyo = { zone: 'Asia/Tokyo', source: 'HEALING_DEFAULT_TIMEZONE' } as const;
    const daily = await describeSchedule('every-day');
    const moved = await reconcileSchedules(stack.env.client, jobsDir, { retention: false, defaultTimeZone: tokyo });
    expect(moved).toMatchObject({ updated: 2, created: 0, paused: 0, deleted: 0, unchanged: 5, failed: [] });
    const monthly = await describeSchedule('every-month');
    expect(monthly.spec.timezone).toBe('Asia/Tokyo');
    expect(wallClock(monthly.info.nextActionTimes[0]!, 'Asia/Tokyo')).toMatchObject({ day: 15, hour: 22, minute: 5 });
    expect((await describeSchedule('every-hour')).spec.timezone).toBe('Asia/Tokyo');
    expect((await describeSchedule('every-day')).info.lastUpdatedAt?.getTime()).toBe(daily.info.lastUpdatedAt?.getTime());
    // applied once: the next pass with the same default writes nothing
    expect(await reconcileSchedules(stack.env.client, jobsDir, { retention: false, defaultTimeZone: tokyo })).toMatchObject({ updated: 0, unchanged: 7 });
    expect(await reconcile({ retention: false })).toMatchObject({ updated: 2, unchanged: 5 });
    expect((await describeSchedule('every-month')).spec.timezone).toBe('America/New_York');
  });

  it('when a job file is edited, the running reconciler updates its schedule within seconds', async () => {
    const reconciler = startScheduleReconciler({
      client: stack.env.client, jobsSource: jobsDir, log: pino({ level: 'silent' }), debounceMs: 200, retention: false, defaultTimeZone: stack.defaultTimeZone,
    });
    try {
      await reconciler.ready;
      const file = path.join(jobsDir, 'every-day.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"06:30"', '"07:45"'));
      const updated = await eventually(async () => {
        const d = await describeSchedule('every-day');
        return startOf(d.spec.calendars![0]!.hour)?.[0] === 7 ? d : undefined;
      }, 10_000, 'the schedule to follow the edit');
      expect(startOf(updated.spec.calendars![0]!.minute)).toEqual([45]);
    } finally {
      await reconciler.stop();
    }
  });

  it('when healing is disabled the schedule is paused with a note, and enabling it again resumes it', async () => {
    const file = path.join(jobsDir, 'every-month.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('enabled: true', 'enabled: false'));
    expect(await reconcile({ retention: false })).toMatchObject({ paused: 1, deleted: 0, created: 0 });
    const paused = await describeSchedule('every-month');
    expect(paused.state.paused).toBe(true);
    expect(paused.state.note).toMatch(/enabled is false/);

    // Edited while paused, there and back: Temporal holds what the YAML says each time.
    const disabled = original.replace('enabled: true', 'enabled: false');
    await writeFile(file, disabled.replace('"22:05"', '"23:10"'));
    await reconcile({ retention: false });
    expect(startOf((await describeSchedule('every-month')).spec.calendars![0]!.hour)).toEqual([23]);
    await writeFile(file, disabled);
    await reconcile({ retention: false });
    const back = await describeSchedule('every-month');
    expect(back.state.paused).toBe(true);
    expect(startOf(back.spec.calendars![0]!.hour)).toEqual([22]);

    await writeFile(file, original);
    expect(await reconcile({ retention: false })).toMatchObject({ updated: 1, paused: 0 });
    expect((await describeSchedule('every-month')).state.paused).toBe(false);
  });

  it('when a job file no longer loads, its schedule is paused, not deleted', async () => {
    const file = path.join(jobsDir, 'every-week.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('frequency: weekly', 'frequency: fortnightly'));
    expect(await reconcile({ retention: false })).toMatchObject({ paused: 1, deleted: 0 });
    const paused = await describeSchedule('every-week');
    expect(paused.state.note).toMatch(/does not load.*frequency/);
    await writeFile(file, original);
    expect(await reconcile({ retention: false })).toMatchObject({ updated: 1 });
  });

  it('when a job file is deleted, its schedule is deleted', async () => {
    await writeFile(path.join(jobsDir, 'short-lived.yaml'), job('Short lived', '  enabled: true\n  mode: proactive\n'));
    expect(await reconcile({ retention: false })).toMatchObject({ created: 1 });
    expect(await exists('short-lived')).toBe(true);
    await rm(path.join(jobsDir, 'short-lived.yaml'));
    // the listing the reconciler deletes from is eventually consistent: the schedule shows up in it soon
    await eventually(async () => {
      const result = await reconcile({ retention: false });
      return !(await exists('short-lived')) ? result : undefined;
    }, 15_000, 'the schedule to be deleted');
    expect(await exists('short-lived')).toBe(false);
    expect(await exists('every-hour')).toBe(true);
  });

  it('when a schedule is triggered, it runs a review of the job with trigger scheduled under the job\'s review id', async () => {
    await writeFile(
      path.join(jobsDir, 'fires-now.yaml'),
      job('Fires now', '  enabled: true\n  mode: proactive\n  review_schedule:\n    frequency: daily\n    min_runs: 0\n'),
    );
    await reconcile({ retention: false });
    await stack.env.client.schedule.getHandle(scheduleId('fires-now')).trigger();
    const review = await eventually(async () => {
      const row = await stack.db('healing_reviews').where({ job_id: 'fires-now' }).first();
      return row && row.status !== 'running' ? row : undefined;
    }, 30_000, 'the scheduled review');
    expect(review.trigger).toBe('scheduled');
    expect(review.status).toBe('completed');
    expect(review.workflow_id).toBe('healing-review/fires-now');
    const described: ScheduleDescription = await describeSchedule('fires-now');
    expect(described.info.numActionsTaken).toBe(1);
  });
});

describe('the jobs API and schedules', () => {
  it('the jobs list and a job show next_review_at from the schedule, null for jobs without one', async () => {
    // The reconciler may still be creating the schedule on a loaded machine: wait for it.
    const one = await eventually(async () => {
      const r = await http(stack.api, 'GET', '/api/v1/jobs/every-hour');
      return r.body.next_review_at ? r : undefined;
    }, 15_000, 'the job to show its schedule');
    expect(one.status).toBe(200);
    expect(new Date(one.body.next_review_at).getTime()).toBeGreaterThan(Date.now());
    expect(one.body.healing_schedule).toMatchObject({ schedule_id: 'healing-schedule/every-hour', paused: false });
    const list = await eventually(async () => {
      const r = await http(stack.api, 'GET', '/api/v1/jobs');
      const hourly = r.body.jobs.find((j: any) => j.id === 'every-hour');
      return hourly?.next_review_at ? r : undefined;
    }, 15_000, 'the listing to show the schedule');
    expect(list.body.jobs.find((j: any) => j.id === 'on-failure').next_review_at).toBeNull();
  });

  it('when a job sets no time zone, the jobs API gives the zone its reviews run in and that it came from HEALING_DEFAULT_TIMEZONE', async () => {
    const bare = await http(stack.api, 'GET', '/api/v1/jobs/every-month');
    expect(bare.status).toBe(200);
    expect(bare.body).toMatchObject({ timezone: null, review_timezone: 'America/New_York', review_timezone_source: 'HEALING_DEFAULT_TIMEZONE' });
    expect(bare.body.healing_schedule.note).toContain('America/New_York (HEALING_DEFAULT_TIMEZONE; the job sets none)');
    expect(wallClock(new Date(bare.body.next_review_at), 'America/New_York')).toMatchObject({ day: 15, hour: 22, minute: 5 });

    const list = await http(stack.api, 'GET', '/api/v1/jobs');
    const zoneOf = (id: string) => {
      const j = list.body.jobs.find((x: any) => x.id === id);
      return [j.timezone, j.review_timezone, j.review_timezone_source];
    };
    expect(zoneOf('every-month')).toEqual([null, 'America/New_York', 'HEALING_DEFAULT_TIMEZONE']);
    expect(zoneOf('every-day')).toEqual(['Europe/Paris', 'Europe/Paris', 'job']);
    expect(zoneOf('every-week')).toEqual(['Asia/Tokyo', 'America/New_York', 'schedule']);
  });

  it('PUT self-healing writes the block keeping comments and unknown fields, and updates the schedule', async () => {
    const file = path.join(jobsDir, 'edited.yaml');
    await writeFile(
      file,
      [
        '# Edited through the API; this comment must survive.',
        'name: Edited',
        'cmd: ./run.sh',
        'owner: data-team   # not modeled here',
        'self_healing:',
        '  enabled: true   # switched on in March',
        '  mode: proactive',
        '  review_schedule:',
        '    frequency: daily',
        '    time: "03:00"',
        '  escalation: pager   # unknown to this service',
        '',
      ].join('\n'),
    );
    await reconcile({ retention: false });

    const put = await http(stack.api, 'PUT', '/api/v1/jobs/edited/self-healing', {
      review_schedule: { frequency: 'weekly', day: 3, time: '05:30' },
      suggestions: { notify_channel: 'telegram', notify_target: '@ops' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.id).toBe('edited');
    expect(put.body.self_healing.review_schedule).toMatchObject({ frequency: 'weekly', day: 3, time: '05:30' });
    expect(put.body.schedule_change).toBe('updated');
    expect(put.body).toMatchObject({ review_timezone: 'America/New_York', review_timezone_source: 'HEALING_DEFAULT_TIMEZONE' });
    expect(wallClock(new Date(put.body.next_review_at), 'America/New_York')).toMatchObject({ weekday: 'WEDNESDAY', hour: 5, minute: 30 });

    const text = await readFile(file, 'utf8');
    expect(text).toContain('# Edited through the API; this comment must survive.');
    expect(text).toContain('# switched on in March');
    expect(text).toContain('owner: data-team');
    expect(text).toContain('escalation: pager');
    expect(text).toContain('notify_target: "@ops"');
    const described = await describeSchedule('edited');
    expect(startOf(described.spec.calendars![0]!.dayOfWeek)).toEqual(['WEDNESDAY']);

    const off = await http(stack.api, 'PUT', '/api/v1/jobs/edited/self-healing', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.body.schedule_change).toBe('paused');
    expect(off.body.next_review_at).toBeNull();
    expect((await describeSchedule('edited')).state.paused).toBe(true);
  });

  it('PUT self-healing with an invalid or unknown field answers 400 naming it and leaves the file untouched', async () => {
    const file = path.join(jobsDir, 'edited.yaml');
    const before = await readFile(file, 'utf8');
    const cases: [unknown, string][] = [
      [{ review_schedule: { time: '25:00' } }, 'review_schedule.time'],
      [{ mode: 'sometimes' }, 'mode'],
      [{ enabeld: true }, 'enabeld'],
      [{ suggestions: { auto_aply: true } }, 'suggestions.auto_aply'],
      [{ review_schedule: { timezone: 'Mars/Olympus' } }, 'review_schedule.timezone'],
      [[1, 2], '(root)'],
    ];
    for (const [body, field] of cases) {
      const res = await http(stack.api, 'PUT', '/api/v1/jobs/edited/self-healing', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.error).toContain(field);
      expect(res.body.detail.map((d: any) => d.field)).toContain(field);
    }
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('PUT self-healing for a job that is not in the catalog answers 404', async () => {
    const res = await http(stack.api, 'PUT', '/api/v1/jobs/no-such-job/self-healing', { enabled: true });
    expect(res.status).toBe(404);
    expect(res.body.error).toContain('no-such-job');
  });
});
