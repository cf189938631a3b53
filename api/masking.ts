// What the routes share to serve file contents with their secrets masked (core/display-mask.ts),
// and the one way to see them in full: raw=true with an admin token, logged.
import type { Response } from 'express';
import { knownSecrets, maskForDisplay } from '../core/display-mask.js';
import type { KnownSecret } from '../core/redact.js';
import { findJob } from '../db/catalog.js';
import type { Role } from './auth.js';
import type { ApiDeps } from './context.js';
import { HttpError } from './errors.js';

/**
 * Whether this answer may hold secrets in full: only when raw=true was asked by an admin (in open
 * mode, loopback only without tokens, the one anonymous person is the admin). Every such read is
 * logged with who asked for which row; anyone else asking gets a 403.
 */
export function rawAllowed(deps: ApiDeps, res: Response, raw: boolean | undefined, what: string): boolean {
  if (!raw) return false;
  const role = res.locals.role as Role | undefined;
  const actor = (res.locals.actor as string | undefined) ?? 'human';
  if (role !== 'admin') {
    throw new HttpError(403, `raw=true shows ${what}'s secrets in full and needs an admin token; token "${actor}" has role ${role ?? 'none'}. Without raw the secrets are masked`);
  }
  deps.log.warn({ actor, identified: res.locals.identified === true, row: what }, `secrets shown in full: ${actor} read ${what} with raw=true`);
  return true;
}

/**
 * The values the prompt redaction treats as secret wherever they appear: the job's env values
 * (from its file as it is now; none when it no longer loads) and those of YAML files among `files`.
 */
export async function jobSecrets(deps: ApiDeps, jobId: string, files: { path: string | null; content: string | null }[] = []): Promise<KnownSecret[]> {
  const job = await findJob(deps.jobsSource, jobId).catch(() => undefined);
  const named = files.filter((f): f is { path: string; content: string | null } => f.path !== null);
  return knownSecrets(job?.config.env, named);
}

/** A suggestion's texts that may quote a file or a log: every one is masked, contents included. */
const SUGGESTION_TEXTS = ['title', 'description', 'current_state', 'suggested_change', 'expected_impact', 'error_message', 'current_content', 'proposed_content'] as const;
type SuggestionTexts = Partial<Record<(typeof SUGGESTION_TEXTS)[number], string | null>>;

/** A suggestion row with the secrets of its texts masked, in one session (one value, one mask). */
export function maskSuggestion<T extends SuggestionTexts>(row: T, known: KnownSecret[], learnFrom: (string | null)[] = []): { row: T; hidden: number } {
  const texts = Object.fromEntries(SUGGESTION_TEXTS.filter((key) => key in row).map((key) => [key, row[key] ?? null]));
  const masked = maskForDisplay(texts, known, learnFrom);
  return { row: { ...row, ...masked.texts }, hidden: masked.hidden };
}

/** Rows of a list (several jobs): each masked with its own job's secrets, each job looked up once. */
export async function maskSuggestionRows<T extends SuggestionTexts & { job_id: string }>(deps: ApiDeps, rows: T[]): Promise<T[]> {
  const jobs = new Map<string, Promise<KnownSecret[]>>();
  for (const row of rows) if (!jobs.has(row.job_id)) jobs.set(row.job_id, jobSecrets(deps, row.job_id));
  return Promise.all(rows.map(async (row) => maskSuggestion(row, await jobs.get(row.job_id)!).row));
}
