// healing_notifications: one row per review and channel; every attempt bumps `attempts`.
import type { Db } from './knex.js';

export type NotificationStatus = 'sent' | 'failed' | 'skipped';

export interface NotificationRecord {
  id: number;
  review_id: number;
  job_id: string;
  channel: string;
  target: string | null;
  status: NotificationStatus;
  error: string | null;
  attempts: number;
  suggestions_count: number;
  created_at: Date;
  updated_at: Date;
}

export async function getNotification(db: Db, reviewId: number, channel: string): Promise<NotificationRecord | undefined> {
  return db('healing_notifications').where({ review_id: reviewId, channel }).first();
}

/** Records one attempt: the first inserts the row, each later one updates it and counts. */
export async function recordNotificationAttempt(
  db: Db,
  attempt: { review_id: number; job_id: string; channel: string; target: string | null; status: NotificationStatus; error: string | null; suggestions_count: number },
): Promise<NotificationRecord> {
  const [row] = await db('healing_notifications')
    .insert({ ...attempt, attempts: attempt.status === 'skipped' ? 0 : 1 })
    .onConflict(['review_id', 'channel'])
    .merge({
      target: attempt.target,
      status: attempt.status,
      error: attempt.error,
      suggestions_count: attempt.suggestions_count,
      attempts: db.raw('healing_notifications.attempts + ?', [attempt.status === 'skipped' ? 0 : 1]),
      updated_at: db.fn.now(),
    })
    .returning('*');
  return row as NotificationRecord;
}

/** A notice with no target, recorded as skipped with the reason (nothing is sent). */
export async function recordSkippedNotice(db: Db, notice: { reviewId: number; jobId: string; channel: string; reason: string; count: number }): Promise<void> {
  await recordNotificationAttempt(db, {
    review_id: notice.reviewId,
    job_id: notice.jobId,
    channel: notice.channel,
    target: null,
    status: 'skipped',
    error: notice.reason,
    suggestions_count: notice.count,
  });
}
