// job_silences: a person's "never for this job" or "not now" on a rejected finding. A review does
// not store a suggestion whose fingerprint is silenced for its job (activities/reviews.ts).
import type { Db } from './knex.js';

export const SILENCE_KINDS = ['never', 'not_now'] as const;
export type SilenceKind = (typeof SILENCE_KINDS)[number];

export interface SilenceRecord {
  id: number;
  job_id: string;
  fingerprint: string;
  kind: SilenceKind;
  /** a not_now silence ends then; null for never */
  until: Date | null;
  suggestion_id: number | null;
  title: string | null;
  created_by: string | null;
  created_at: Date;
  lifted_at: Date | null;
  lifted_by: string | null;
}

/** bigint columns arrive as strings from pg. */
function normal(row: SilenceRecord): SilenceRecord {
  return { ...row, id: Number(row.id), suggestion_id: row.suggestion_id === null ? null : Number(row.suggestion_id) };
}

/** Not lifted, and for not_now not yet over. */
function inForce(q: ReturnType<Db>, now: Date) {
  return q.whereNull('lifted_at').andWhere((w) => w.where('kind', 'never').orWhere('until', '>', now));
}

/** The fingerprints silenced for the job at `now`. */
export async function silencedFingerprints(db: Db, jobId: string, now: Date): Promise<Set<string>> {
  const rows = (await inForce(db('job_silences').where('job_id', jobId), now).select('fingerprint')) as { fingerprint: string }[];
  return new Set(rows.map((r) => r.fingerprint));
}

/** The job's silences, those in force first (newest first), then the lifted and expired ones (the last 50). */
export async function listSilences(db: Db, jobId: string, now: Date): Promise<(SilenceRecord & { active: boolean })[]> {
  const rows = (await db('job_silences').where('job_id', jobId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(500)) as SilenceRecord[];
  const withState = rows.map((r) => ({ ...normal(r), active: r.lifted_at === null && (r.kind === 'never' || (r.until !== null && r.until > now)) }));
  return [...withState.filter((r) => r.active), ...withState.filter((r) => !r.active).slice(0, 50)];
}

/**
 * Silences the suggestion's finding for its job. A finding silenced already gets the new silence
 * in place of the old one (lifted by the same person), so one silence is in force per finding.
 */
export async function createSilence(
  db: Db,
  s: { job_id: string; fingerprint: string; kind: SilenceKind; until: Date | null; suggestion_id: number; title: string; created_by: string },
  now: Date,
): Promise<SilenceRecord> {
  return db.transaction(async (trx) => {
    await inForce(trx('job_silences').where({ job_id: s.job_id, fingerprint: s.fingerprint }), now).update({ lifted_at: now, lifted_by: s.created_by });
    const [row] = (await trx('job_silences').insert({ ...s, created_at: now }).returning('*')) as SilenceRecord[];
    return normal(row!);
  });
}

/** Lifts a silence of the job; answers the row, or undefined when the job has no such silence. */
export async function liftSilence(db: Db, jobId: string, id: number, by: string, now: Date): Promise<SilenceRecord | undefined> {
  const row = (await db('job_silences').where({ id, job_id: jobId }).first()) as SilenceRecord | undefined;
  if (!row) return undefined;
  if (row.lifted_at === null) await db('job_silences').where({ id }).update({ lifted_at: now, lifted_by: by });
  return normal((await db('job_silences').where({ id }).first()) as SilenceRecord);
}
