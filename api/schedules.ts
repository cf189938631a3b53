// Reads the review schedules Temporal holds, for `next_review_at`. Jobs come from their files, so
// a Temporal that does not answer quickly leaves the field null rather than failing the request.
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { SCHEDULE_ID_PREFIX, scheduleId } from '../core/temporal.js';

const READ_TIMEOUT_MS = 3_000;

export interface ScheduleView {
  schedule_id: string;
  paused: boolean;
  note: string | null;
  /** the next time the schedule starts a review; null while paused */
  next_review_at: string | null;
}

/** One job's schedule, or null when it has none (or Temporal does not answer). */
export async function jobSchedule(temporal: () => Promise<Client>, jobId: string): Promise<ScheduleView | null> {
  return withTimeout(async () => {
    const client = await temporal();
    try {
      const d = await client.schedule.getHandle(scheduleId(jobId)).describe();
      return view(d.scheduleId, d.state.paused, d.state.note, d.info.nextActionTimes);
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return null;
      throw error;
    }
  }, null);
}

/** Every job's schedule by job id, from one listing (eventually consistent, fine for a list). */
export async function jobSchedules(temporal: () => Promise<Client>): Promise<Map<string, ScheduleView>> {
  return withTimeout(async () => {
    const client = await temporal();
    const found = new Map<string, ScheduleView>();
    for await (const s of client.schedule.list()) {
      if (!s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) continue;
      found.set(s.scheduleId.slice(SCHEDULE_ID_PREFIX.length), view(s.scheduleId, s.state.paused, s.state.note, s.info.nextActionTimes));
    }
    return found;
  }, new Map());
}

function view(id: string, paused: boolean, note: string | undefined, next: Date[]): ScheduleView {
  return { schedule_id: id, paused, note: note ?? null, next_review_at: !paused && next[0] ? next[0].toISOString() : null };
}

async function withTimeout<T>(work: () => Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work().catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
