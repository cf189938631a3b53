// Apply windows: when an approved change may be written to a job's files. A window is days of the
// week and time ranges on the job's wall clock (its zone), and/or "between runs": away from the
// job's scheduled starts. Pure (zod and Intl only): the schema both job files and
// HEALING_APPLY_WINDOW use, and the one function that says, for an instant, whether the window is
// open and when it next opens. An open run always closes it too; the suggestion workflow waits for
// that itself (WAIT_FOR_RUNNING_JOB), so it is not judged here.
import { z } from 'zod';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Minutes either side of a scheduled start a `between_runs` window stays closed, unless it sets margin_minutes. */
export const DEFAULT_MARGIN_MINUTES = 10;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far ahead the next opening is looked for: a window that does not open within it never opens. */
const HORIZON_MS = 15 * DAY_MS;

const TIME_RANGE = /^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

const timeRange = z
  .string()
  .regex(TIME_RANGE, 'must be "HH:MM-HH:MM" (24-hour), e.g. "09:00-17:00"; a range may cross midnight ("22:00-06:00") and end at "24:00"')
  .refine((text) => {
    if (!TIME_RANGE.test(text)) return true; // the regex said why
    const [start, end] = parseRange(text);
    return start !== end;
  }, 'a range must not start where it ends (a whole day is "00:00-24:00")');

/**
 * `days`: the days a range starts on (all when absent); `hours`: ranges on the job's wall clock
 * (the whole day when absent), where one crossing midnight runs into the next day; `between_runs`:
 * also closed within `margin_minutes` either side of each start the job's cron `schedule` names.
 * Strict: a misspelt key would otherwise leave a window that is always open.
 */
export const ApplyWindowSchema = z
  .strictObject({
    days: z.array(z.preprocess((value) => (typeof value === 'string' ? value.toLowerCase() : value), z.enum(WEEKDAYS, { error: 'must be a day: sun, mon, tue, wed, thu, fri or sat' }))).min(1).max(7).optional(),
    hours: z.array(timeRange).min(1).max(24).optional(),
    between_runs: z.boolean().optional(),
    margin_minutes: z.number().int().min(1).max(720).optional(),
  })
  .refine((w) => w.days !== undefined || w.hours !== undefined || w.between_runs === true, {
    error: 'an apply window needs days, hours or between_runs: true, e.g. { days: [mon, tue, wed, thu, fri], hours: ["09:00-17:00"] }',
  });
export type ApplyWindow = z.infer<typeof ApplyWindowSchema>;

/**
 * A job's `self_healing.apply_window`: a window, or `false` for any time (overriding
 * HEALING_APPLY_WINDOW). `null` is refused: it reads as "no window" as readily as "the service's".
 */
export const JobApplyWindowSchema = z.custom<ApplyWindow | false>().superRefine((value, ctx) => {
  if (value === false) return;
  if (value === null) {
    ctx.addIssue({ code: 'custom', message: "null is not a window: write false for any time, or leave apply_window out for the service's (HEALING_APPLY_WINDOW)" });
    return;
  }
  const parsed = ApplyWindowSchema.safeParse(value);
  for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
}).transform((value) => (value === false ? false : ApplyWindowSchema.parse(value)));

export interface WindowAnswer {
  open: boolean;
  /** when it next opens (`at` itself when open); null when it does not open within fifteen days */
  opensAt: Date | null;
  /** something a person should know about how it was judged (a schedule this cannot read); null when nothing */
  note: string | null;
}

/**
 * Whether `window` is open at `at` on the wall clock of `zone`, and when it next opens. `schedule`:
 * the job's cron expression, read by `between_runs` (absent, or one this cannot read: only an open
 * run closes it, said in `note`). Days and ranges are wall-clock times: on the day the clock goes
 * forward a range inside the skipped hour is empty and one across it opens when the clock lands;
 * on the day it goes back the repeated hour is inside a range both times.
 */
export function applyWindowAt(window: ApplyWindow, zone: string, at: Date, schedule?: string | null): WindowAnswer {
  const margin = (window.margin_minutes ?? DEFAULT_MARGIN_MINUTES) * MINUTE_MS;
  const cron = window.between_runs ? parseCron(schedule) : null;
  const note = window.between_runs && !cron ? `the job's schedule ${schedule ? `"${schedule}" is not a cron expression this reads` : 'is not set'}: between runs means only while no run is open` : null;
  const start = at.getTime();
  let t = start;
  // Alternate between the two conditions until both hold at one instant.
  for (let round = 0; round < 500 && t - start <= HORIZON_MS; round += 1) {
    const calendarOpen = calendarOpensAt(window, zone, t);
    if (calendarOpen === null) break;
    const runsOpen = cron ? clearOfStartsAt(cron, zone, calendarOpen, margin) : calendarOpen;
    if (runsOpen === null) break;
    if (runsOpen === calendarOpen) return { open: runsOpen === start, opensAt: new Date(runsOpen), note };
    t = runsOpen;
  }
  return { open: false, opensAt: null, note };
}

/**
 * What an apply that waits for the window does, as an approval's answer says it: when it applies,
 * or, when the window does not open within the horizon (`applyAt` null), that nothing is written
 * until the window or the schedule changes, rather than a promise it applies.
 */
export function windowWaitText(window: string | null, applyAt: string | null): string {
  const outside = `outside the job's apply window (${window ?? 'see apply_wait_reason'})`;
  if (applyAt) return `${outside}: it applies at ${applyAt}; an admin can POST .../apply-now`;
  return (
    `${outside}, which does not open within ${HORIZON_MS / DAY_MS} days for the job's schedule: nothing is written ` +
    'unless the window or the schedule changes (looked at again daily) or an admin POSTs .../apply-now'
  );
}

/** The window in words, e.g. "mon-fri 09:00-17:00 (Europe/Lisbon)" or "between runs, 10 min either side of a scheduled start (UTC)". */
export function describeApplyWindow(window: ApplyWindow, zone: string): string {
  const parts: string[] = [];
  if (window.days) parts.push(describeDays(window.days));
  if (window.hours) parts.push(window.hours.join(', '));
  if (window.between_runs) parts.push(`between runs, ${window.margin_minutes ?? DEFAULT_MARGIN_MINUTES} min either side of a scheduled start`);
  return `${parts.join(' ')} (${zone})`;
}

function describeDays(days: readonly Weekday[]): string {
  const sorted = WEEKDAYS.filter((day) => days.includes(day));
  const indexes = sorted.map((day) => WEEKDAYS.indexOf(day));
  const consecutive = indexes.length > 2 && indexes.every((index, i) => i === 0 || index === indexes[i - 1]! + 1);
  return consecutive ? `${sorted[0]}-${sorted[sorted.length - 1]}` : sorted.join(', ');
}

function parseRange(text: string): [number, number] {
  const m = TIME_RANGE.exec(text)!;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = m[5] ? 1440 : Number(m[3]) * 60 + Number(m[4]);
  return [start, end];
}

interface Wall {
  /** the wall date as the UTC midnight with the same fields */
  date: number;
  minute: number;
  weekday: number;
  month: number;
  dayOfMonth: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of `zone` at `at` (to the minute). */
function wallAt(zone: string, at: number): Wall {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formats.set(zone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const date = Date.UTC(get('year'), get('month') - 1, get('day'));
  return { date, minute: get('hour') * 60 + get('minute'), weekday: new Date(date).getUTCDay(), month: get('month'), dayOfMonth: get('day') };
}

/** The zone's offset from UTC at `at`, in ms, to the minute. */
function offsetAt(zone: string, at: number): number {
  const wall = wallAt(zone, at);
  return wall.date + wall.minute * MINUTE_MS - Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/**
 * The first instant the wall clock of `zone` shows `wall` (ms of the UTC instant with its fields),
 * or, when the clock skipped it, the instant it landed after the gap.
 */
function firstInstantOf(wall: number, zone: string): number {
  const offsets = [...new Set([offsetAt(zone, wall - DAY_MS), offsetAt(zone, wall + DAY_MS)])].sort((a, b) => b - a);
  // The larger offset gives the earlier instant (the reading before the clock went back).
  for (const offset of offsets) if (offsetAt(zone, wall - offset) === offset) return wall - offset;
  // Skipped: between the two readings the clock jumped; find the minute it landed.
  let low = wall - offsets[0]!;
  let high = wall - offsets[offsets.length - 1]!;
  const before = offsetAt(zone, Math.min(low, high));
  if (low > high) [low, high] = [high, low];
  while (high - low > MINUTE_MS) {
    const mid = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetAt(zone, mid) === before) low = mid;
    else high = mid;
  }
  return high;
}

function calendarOpenAt(window: ApplyWindow, zone: string, at: number): boolean {
  const wall = wallAt(zone, at);
  const onDay = (weekday: number) => !window.days || window.days.includes(WEEKDAYS[(weekday + 7) % 7]!);
  if (!window.hours) return onDay(wall.weekday);
  return window.hours.some((text) => {
    const [start, end] = parseRange(text);
    if (start < end) return onDay(wall.weekday) && wall.minute >= start && wall.minute < end;
    return (onDay(wall.weekday) && wall.minute >= start) || (onDay(wall.weekday - 1) && wall.minute < end);
  });
}

/** The first instant at or after `from` the days and hours allow; null when none within the horizon. */
function calendarOpensAt(window: ApplyWindow, zone: string, from: number): number | null {
  if (calendarOpenAt(window, zone, from)) return from;
  // Closed now, so it opens at a range's start (or where the clock lands past a skipped one).
  const starts = window.hours ? window.hours.map((text) => parseRange(text)[0]) : [0];
  const today = wallAt(zone, from).date;
  let best: number | null = null;
  for (let day = -1; day <= 8; day += 1) {
    for (const start of starts) {
      const at = firstInstantOf(today + day * DAY_MS + start * MINUTE_MS, zone);
      if (at > from && (best === null || at < best) && calendarOpenAt(window, zone, at)) best = at;
    }
  }
  return best;
}

/**
 * The first instant at or after `from` with no scheduled start less than `margin` either side (a
 * run that starts on time is reported before the window reopens); null when none within two days.
 */
function clearOfStartsAt(cron: Cron, zone: string, from: number, margin: number): number | null {
  for (let t = from; t <= from + 2 * DAY_MS; ) {
    const last = lastStartWithin(cron, zone, t, margin);
    if (last === null) return t;
    t = last + margin;
  }
  return null;
}

/** The latest scheduled start less than `margin` either side of `at`; null when none. */
function lastStartWithin(cron: Cron, zone: string, at: number, margin: number): number | null {
  const first = Math.floor((at - margin) / MINUTE_MS + 1) * MINUTE_MS;
  for (let minute = Math.ceil((at + margin) / MINUTE_MS - 1) * MINUTE_MS; minute >= first; minute -= MINUTE_MS) {
    if (cronMatches(cron, wallAt(zone, minute))) return minute;
  }
  return null;
}

interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** cron's rule: with both day fields restricted, a day matching either is a day it runs */
  eitherDay: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** A five-field cron expression (numbers, names, `*`, ranges, steps, lists, the @ macros); null for anything else. */
export function parseCron(expression: string | null | undefined): Cron | null {
  if (!expression) return null;
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const fields = text.toLowerCase().split(/\s+/);
  if (fields.length !== 5) return null;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const minutes = field(minute, 0, 59);
  const hours = field(hour, 0, 23);
  const daysOfMonth = field(dom, 1, 31);
  const months = field(month, 1, 12, MONTH_NAMES, 1);
  const weekdays = field(dow, 0, 7, [...WEEKDAYS], 0);
  if (!minutes || !hours || !daysOfMonth || !months || !weekdays) return null;
  if (weekdays.delete(7)) weekdays.add(0);
  return { minutes, hours, daysOfMonth, months, weekdays, eitherDay: !dom.startsWith('*') && !dow.startsWith('*') };
}

function field(text: string, min: number, max: number, names: string[] = [], firstName = 0): Set<number> | null {
  const value = (part: string): number | null => {
    const named = names.indexOf(part);
    if (named >= 0) return named + firstName;
    return /^\d+$/.test(part) ? Number(part) : null;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!m) return null;
    const step = m[2] ? Number(m[2]) : 1;
    let from = min;
    let to = max;
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-');
      const low = value(a!);
      const high = b === undefined ? (m[2] ? max : low) : value(b);
      if (low === null || high === null) return null;
      from = low;
      to = high;
    }
    if (step < 1 || from < min || to > max || from > to) return null;
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

function cronMatches(cron: Cron, wall: Wall): boolean {
  if (!cron.minutes.has(wall.minute % 60) || !cron.hours.has(Math.floor(wall.minute / 60)) || !cron.months.has(wall.month)) return false;
  const dom = cron.daysOfMonth.has(wall.dayOfMonth);
  const dow = cron.weekdays.has(wall.weekday);
  return cron.eitherDay ? dom || dow : dom && dow;
}
