// What Temporal schedule a job's `self_healing` block asks for: pure data, shaped like the
// client's ScheduleSpec (calendars + timezone) so the reconciler passes it through unchanged.
import { sha256 } from './hash.js';
import { defaultedZoneReason, reviewTimeZone, type DefaultTimeZone, type Job, type JobConfig } from './job.js';

export const DAYS_OF_WEEK = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

/** One calendar entry; fields left out match every value (`hour: '*'` for hourly). */
export interface ReviewCalendar {
  minute: number;
  hour: number | '*';
  dayOfWeek: DayOfWeek | '*';
  dayOfMonth: number | '*';
  comment: string;
}

export interface ReviewScheduleSpec {
  calendars: [ReviewCalendar];
  timezone: string;
}

/**
 * The calendar spec of the job's review schedule, or null when its frequency is not timed.
 * hourly: minute 0 of every hour; daily: `time`; weekly: `day` (0 = Sunday) at `time`;
 * monthly: `day_of_month` at `time`; all in the review time zone, which is `defaultZone` for a
 * job that sets none. The comment says so, and so does the schedule's note built from it.
 */
export function reviewScheduleSpec(config: JobConfig, defaultZone: DefaultTimeZone): ReviewScheduleSpec | null {
  const schedule = config.self_healing.review_schedule;
  const zone = reviewTimeZone(config, defaultZone);
  const timezone = zone.zone;
  const why = defaultedZoneReason(zone);
  const [hour, minute] = schedule.time.split(':').map(Number) as [number, number];
  const at = `${schedule.time} ${timezone}${why ? ` (${why})` : ''}`;
  let calendar: ReviewCalendar;
  switch (schedule.frequency) {
    case 'hourly':
      calendar = { minute: 0, hour: '*', dayOfWeek: '*', dayOfMonth: '*', comment: `hourly at minute 0 (${timezone}${why ? `: ${why}` : ''})` };
      break;
    case 'daily':
      calendar = { minute, hour, dayOfWeek: '*', dayOfMonth: '*', comment: `daily at ${at}` };
      break;
    case 'weekly': {
      const day = DAYS_OF_WEEK[schedule.day]!;
      calendar = { minute, hour, dayOfWeek: day, dayOfMonth: '*', comment: `weekly on ${day.toLowerCase()} at ${at}` };
      break;
    }
    case 'monthly':
      calendar = { minute, hour, dayOfWeek: '*', dayOfMonth: schedule.day_of_month, comment: `monthly on day ${schedule.day_of_month} at ${at}` };
      break;
    default:
      return null;
  }
  return { calendars: [calendar], timezone };
}

/**
 * What the reconciler should make of a job's schedule:
 * - `active`: a running schedule with this spec;
 * - `paused`: keep an existing schedule but paused, with a note saying why (never created);
 * - `absent`: the job is gone, so is its schedule.
 */
export type ScheduleIntent =
  | { kind: 'active'; spec: ReviewScheduleSpec }
  | { kind: 'paused'; spec: ReviewScheduleSpec | null; reason: string }
  | { kind: 'absent' };

export function scheduleIntent(job: Pick<Job, 'config'> | null, defaultZone: DefaultTimeZone, loadError?: string): ScheduleIntent {
  if (!job) {
    return loadError === undefined ? { kind: 'absent' } : { kind: 'paused', spec: null, reason: `the job file does not load: ${loadError}` };
  }
  const healing = job.config.self_healing;
  const spec = reviewScheduleSpec(job.config, defaultZone);
  const frequency = healing.review_schedule.frequency;
  if (!healing.enabled) return { kind: 'paused', spec, reason: 'self_healing.enabled is false' };
  if (healing.mode !== 'proactive') return { kind: 'paused', spec, reason: `mode is ${healing.mode}: reviews start on events, not on a schedule` };
  if (!spec) {
    const why = frequency === 'manual' ? 'reviews run only when triggered' : 'reviews start when a run reports it';
    return { kind: 'paused', spec: null, reason: `frequency is ${frequency}: ${why}` };
  }
  return { kind: 'active', spec };
}

/** A stable hash of anything JSON-shaped (object keys sorted), to tell cheaply whether it changed. */
export function stableHash(value: unknown): string {
  return sha256(canonicalJson(value)).slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
