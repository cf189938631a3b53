// Display helpers: dates, durations, rates, labels. Pure functions.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '-' : dateTime.format(date);
}

/** "3 hours ago", "in 2 days". */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '-';
  const seconds = Math.round((t - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 2700) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 79_200) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 2_592_000) return relative.format(Math.round(seconds / 86_400), 'day');
  return relative.format(Math.round(seconds / 2_592_000), 'month');
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)} min ${Math.round(s % 60)} s`;
  const h = m / 60;
  if (h < 48) return `${Math.floor(h)} h ${Math.round(m % 60)} min`;
  return `${Math.floor(h / 24)} d ${Math.round(h % 24)} h`;
}

export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '-';
  return `${Number((rate * 100).toFixed(1))}%`;
}

/** "rolled_back" -> "rolled back", "on_sla_breach" -> "on SLA breach". */
export function label(value: string | null | undefined): string {
  if (!value) return '-';
  return value.replace(/_/g, ' ').replace(/\bsla\b/gi, 'SLA').replace(/\bai\b/gi, 'AI');
}

export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The review cadence in words: "daily at 03:00", "weekly on Monday at 09:00 Europe/Lisbon" (with the zone when given). */
export function describeFrequency(schedule: { frequency: string; time?: string; day?: number; day_of_month?: number } | undefined, zone?: string | null): string {
  if (!schedule) return '-';
  const at = `${schedule.time ?? '03:00'}${zone ? ` ${zone}` : ''}`;
  switch (schedule.frequency) {
    case 'hourly':
      return 'hourly';
    case 'daily':
      return `daily at ${at}`;
    case 'weekly':
      return `weekly on ${DAYS[schedule.day ?? 1] ?? '?'} at ${at}`;
    case 'monthly':
      return `monthly on day ${schedule.day_of_month ?? 1} at ${at}`;
    default:
      return label(schedule.frequency);
  }
}

/** Why reviews run in a zone the job does not set (core/job.ts defaultedZoneReason); null when the job sets it. */
export function defaultedZoneReason(source: string | null | undefined): string | null {
  if (source === 'machine') return "this machine's zone; the job sets none";
  if (source === 'HEALING_DEFAULT_TIMEZONE') return 'HEALING_DEFAULT_TIMEZONE; the job sets none';
  return null;
}

export function basename(file: string | null | undefined): string {
  if (!file) return '-';
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] || file;
}

/** The last two parts of a path ("scripts/backup.sh"): enough to tell files apart in a list. */
export function shortPath(file: string | null | undefined): string {
  if (!file) return '-';
  const parts = file.split(/[\\/]/).filter(Boolean);
  return parts.slice(-2).join('/') || file;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
