// What a review's analyzer is shown, reduced to hashes: stored on each analysed review, so a
// scheduled review that would show it the same again is skipped for free (activities/reviews.ts
// prepareAnalysis). Pure: run by activities, never by workflows.
import { sha256 } from './hash.js';
import type { ReviewContext, RunSummary } from './review.js';

/** A run as the fingerprint keeps it: its id, its key in the scheduler, and a hash of its status. */
export interface FingerprintRun {
  id: number;
  key: string | null;
  /** end, exit code, duration, error and SLA verdict, hashed: a run that ends or is re-imported changes it */
  state: string;
}

export interface ContextFingerprint {
  version: 1;
  /** everything the analyzer sees besides the runs: the job's config, files, business log, the rejections it is told of, its zone and schedule, the analyzer settings */
  inputs: string;
  /** the job's files as read (sha256 of the content), null when the job has none or it was not read */
  config: string | null;
  script: string | null;
  prompt: string | null;
  /** the runs the review collected (new since the last analysed review, or the failed run a reactive one looks at) */
  runs: FingerprintRun[];
  /** what the analyzer is shown of those runs: summaries, logs, SLA breaches, AI sessions */
  seen: string;
}

export function runState(run: RunSummary): string {
  return sha256(JSON.stringify([run.started_at, run.finished_at, run.exit_code, run.duration_ms, run.error, run.sla_status]));
}

/**
 * The fingerprint of a context. `runs` are all the runs the review collected (the context's list is
 * empty when the job's review_scope leaves runs out, yet their logs may be shown). The trigger is
 * left out: the same data is the same question, whoever asks.
 */
export function contextFingerprint(context: ReviewContext, runs: RunSummary[], analyzer: Record<string, unknown>): ContextFingerprint {
  const fileOf = (role: string) => context.files.find((f) => f.role === role)?.sha256 ?? null;
  const inputs = {
    mode: context.mode,
    job: context.job,
    files: context.files.map((f) => [f.role, f.path, f.sha256, f.truncated]),
    schedule_interval_s: context.schedule_interval_s,
    job_timezone: context.job_timezone ?? null,
    business_log: context.business_log,
    config_changed_at: context.config_changed_at,
    rejections: context.rejections ?? [],
    analyzer,
  };
  const seen = { runs: context.runs, logs: context.logs, sla: context.sla_violations, sessions: context.ai_sessions };
  return {
    version: 1,
    inputs: sha256(stableJson(inputs)),
    config: fileOf('config'),
    script: fileOf('script'),
    prompt: fileOf('prompt'),
    runs: runs.map((r) => ({ id: r.id, key: r.external_id, state: runState(r) })),
    seen: sha256(stableJson(seen)),
  };
}

/** The reason words of a skip for an unchanged context (the API flags such skips with them). */
const UNCHANGED = /^nothing changed since review \d+ /;

export function isUnchangedSkip(reason: string | null | undefined): boolean {
  return typeof reason === 'string' && UNCHANGED.test(reason);
}

/**
 * Why a scheduled review with context `now` need not be analysed, after the last analysed review
 * (`last`, with the fingerprint it stored and the current state of the runs it saw), or null when
 * something the analyzer would see differs.
 */
export function unchangedReason(
  now: ContextFingerprint,
  last: { id: number; started_at: Date; fingerprint: ContextFingerprint; currentRunStates: Map<number, string> },
): string | null {
  const before = last.fingerprint;
  if (before.version !== now.version || before.inputs !== now.inputs) return null;
  // No run new since it, or (a reactive review) the very runs it looked at, as it saw them.
  const sameRuns = now.runs.length === 0 || (now.seen === before.seen && sameRunList(now.runs, before.runs));
  if (!sameRuns) return null;
  // A run it saw that has since ended, or was re-imported with another status, is news.
  if (before.runs.some((r) => last.currentRunStates.get(r.id) !== r.state)) return null;
  const files = [now.config && 'config', now.script && 'script', now.prompt && 'prompt'].filter(Boolean) as string[];
  const runs = now.runs.length === 0 ? 'no new runs' : `the same ${now.runs.length === 1 ? `run (#${now.runs[0]!.id})` : `${now.runs.length} runs`}, status unchanged`;
  const same = files.length ? `same ${files.length > 1 ? `${files.slice(0, -1).join(', ')} and ${files.at(-1)}` : files[0]}` : 'same job settings';
  const when = last.started_at.toISOString().slice(0, 16).replace('T', ' ');
  return `nothing changed since review ${last.id} on ${when} UTC: ${runs}, ${same}; not analysed again (no AI tokens spent)`;
}

function sameRunList(a: FingerprintRun[], b: FingerprintRun[]): boolean {
  return a.length === b.length && a.every((r, i) => r.id === b[i]!.id && r.state === b[i]!.state);
}

/** JSON with object keys sorted, so the same data hashes the same whatever order it was built in. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}
