// What the routes share to serve file contents with their secrets masked (core/display-mask.ts),
// and the one way to see them in full: raw=true with an admin token, logged.
import type { Response } from 'express';
import { knownSecrets, maskForDisplay } from '../core/display-mask.js';
import type { KnownSecret } from '../core/redact.js';
import type { Evidence, MissingContext } from '../core/review.js';
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
const SUGGESTION_TEXTS = ['title', 'description', 'current_state', 'suggested_change', 'expected_impact', 'error_message', 'current_content', 'proposed_content', 'rejection_reason', 'review_comment'] as const;
type SuggestionTexts = Partial<Record<(typeof SUGGESTION_TEXTS)[number], string | null>>;

/** What a suggestion cites: its log and file lines quote a log or a file, so they are masked with its texts. */
type Cited = { evidence?: Evidence | null; missing_context?: MissingContext[] | null };

/** The quoted lines of a suggestion's evidence and its missing-context notes, keyed for one masking session. */
function citedTexts(row: Cited): Record<string, string> {
  const out: Record<string, string> = {};
  for (const list of ['log_lines', 'config_lines'] as const) {
    row.evidence?.[list]?.forEach((range, i) => range.lines.forEach((line, j) => (out[`${list}:${i}:${j}`] = line)));
  }
  row.missing_context?.forEach((m, i) => (out[`missing:${i}`] = m.detail));
  return out;
}

function withCited<T extends Cited>(row: T, masked: Record<string, string | null>): Pick<T, 'evidence' | 'missing_context'> {
  const out: Pick<T, 'evidence' | 'missing_context'> = {} as Pick<T, 'evidence' | 'missing_context'>;
  if (row.evidence) {
    const lines = (list: 'log_lines' | 'config_lines') =>
      row.evidence![list].map((range, i) => ({ ...range, lines: range.lines.map((line, j) => masked[`${list}:${i}:${j}`] ?? line) }));
    out.evidence = { ...row.evidence, log_lines: lines('log_lines'), config_lines: lines('config_lines') } as T['evidence'];
  }
  if (row.missing_context) out.missing_context = row.missing_context.map((m, i) => ({ ...m, detail: masked[`missing:${i}`] ?? m.detail })) as T['missing_context'];
  return out;
}

/** A suggestion row with the secrets of its texts (and of the lines its evidence quotes) masked, in one session (one value, one mask). */
export function maskSuggestion<T extends SuggestionTexts & Cited>(row: T, known: KnownSecret[], learnFrom: (string | null)[] = []): { row: T; hidden: number } {
  const texts: Record<string, string | null> = Object.fromEntries(SUGGESTION_TEXTS.filter((key) => key in row).map((key) => [key, row[key] ?? null]));
  const cited = citedTexts(row);
  const masked = maskForDisplay({ ...texts, ...cited }, known, learnFrom);
  const own = Object.fromEntries(Object.keys(texts).map((key) => [key, masked.texts[key] ?? null]));
  return { row: { ...row, ...own, ...withCited(row, masked.texts) }, hidden: masked.hidden };
}

/** The secrets of each job among `rows` (jobSecrets, or a cache of it), each job looked up once. */
export async function secretsOfJobs(rows: { job_id: string }[], secretsOf: (jobId: string) => Promise<KnownSecret[]>): Promise<Map<string, KnownSecret[]>> {
  const ids = [...new Set(rows.map((row) => row.job_id))];
  const secrets = await Promise.all(ids.map(secretsOf));
  return new Map(ids.map((id, i) => [id, secrets[i]!]));
}

/**
 * A list's rows masked and written as JSON, kept by row version: a page dashboards poll is masked
 * and serialised once, not on every request. A kept row is used only for the same version of the
 * row (its xmin, which every write changes), the same shape and the same secrets of its job, so it
 * is never stale. At most `max` rows, the oldest dropped first.
 */
export function maskedRowCache(max: number) {
  const kept = new Map<string, { secrets: string; json: string }>();
  return <T extends SuggestionTexts & Cited & { id: number }>(row: T, version: string, shape: string, secrets: KnownSecret[], secretsKey: string): string => {
    const key = `${shape}:${version}:${row.id}`;
    const hit = kept.get(key);
    if (hit?.secrets === secretsKey) return hit.json;
    const json = JSON.stringify(maskSuggestion(row, secrets).row);
    kept.delete(key);
    kept.set(key, { secrets: secretsKey, json });
    if (kept.size > max) kept.delete(kept.keys().next().value!);
    return json;
  };
}
