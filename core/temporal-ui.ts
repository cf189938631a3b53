// What the Temporal UI (and `temporal workflow list/describe`) shows of each workflow this service
// starts: a one-line static summary and markdown static details with the dashboard link, plus the
// small text helpers the workflows use for their current details and their timers' and
// activities' summaries. Pure: the workflows import it. All of it is user metadata, which replay
// does not compare, so the wording may change without a patch.
import { dashboardLink, markdownLink } from './links.js';
import type { Trigger } from './review.js';

/**
 * The memo key under which a schedule's action carries the dashboard address to the workflow it
 * starts (a workflow cannot read the worker's settings), for the metadata of what that one starts.
 */
export const DASHBOARD_URL_MEMO = 'healingDashboardUrl';

export interface StaticMetadata {
  staticSummary: string;
  staticDetails: string;
}

/** Temporal shows a summary on one line; longer ones are cut here rather than by each viewer. */
export const SUMMARY_MAX_CHARS = 200;

/** One line of at most `max` characters: whitespace and control characters become single spaces. */
export function oneLine(text: string, max = SUMMARY_MAX_CHARS): string {
  const flat = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * Text from outside (an AI's title, a rejection reason) made inert for markdown: without brackets,
 * angle brackets and backticks it can form no link, image, HTML or code, and it stays on one line.
 */
export function inertText(text: string, max = SUMMARY_MAX_CHARS): string {
  return oneLine(text.replace(/[[\]<>`]/g, ' ').replace(/^[#>\s-]+/, ''), max);
}

/** `2026-12-17 03:00 UTC`: minutes are enough for a person reading a wait or a decision. */
export function shortTime(ms: number): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return 'never'; // past what a Date holds: a window with no end
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * A keyword search attribute value, or null when it is too long to store: SQL visibility stores a
 * Keyword in a 255-character column, and a start or upsert with a longer one would fail.
 */
export function searchableKeyword(value: string | null | undefined): string | null {
  if (!value) return null;
  return new TextEncoder().encode(value).length <= 255 ? value : null;
}

const TRIGGER_TEXT: Record<Trigger, string> = {
  scheduled: 'scheduled',
  manual: 'started by hand',
  on_failure: 'a failed run',
  on_sla_breach: 'an SLA breach',
};

/** The trigger as a person says it, with the run that caused a reactive review. */
export function triggerText(trigger: Trigger, runId?: number | null): string {
  const text = TRIGGER_TEXT[trigger] ?? trigger;
  return runId != null && (trigger === 'on_failure' || trigger === 'on_sla_breach') ? `${text} (run ${runId})` : text;
}

/** A review started by the API, the ProcClaw import or the demo (its own row does not exist yet). */
export function reviewMetadata(input: { jobId: string; trigger: Trigger; runId?: number | null; force?: boolean }, dashboardUrl: string | null): StaticMetadata {
  const trigger = triggerText(input.trigger, input.runId);
  const lines = [
    `**Review of job \`${input.jobId}\`**, ${trigger}${input.force ? ', forced past min_runs' : ''}.`,
    '',
    'Collects the runs, logs and files the job\'s `review_scope` names, asks the analyzer for improvements, stores them and starts one `suggestionWorkflow` per suggestion. The current details show the step it is at and, once its row is open, its page in the dashboard.',
  ];
  if (dashboardUrl) lines.push('', markdownLink(`Job ${input.jobId} in the dashboard`, dashboardLink(dashboardUrl, 'jobs', input.jobId)));
  return { staticSummary: oneLine(`Review of ${input.jobId}: ${trigger}`), staticDetails: lines.join('\n') };
}

/** What a job's schedule starts; `purpose` is the schedule's calendar in words ("daily at 03:00 (Europe/Lisbon)"). */
export function scheduledReviewMetadata(jobId: string, purpose: string, dashboardUrl: string | null): StaticMetadata {
  const lines = [
    `**Scheduled review of job \`${jobId}\`**: its schedule \`healing-schedule/${jobId}\` reviews it ${purpose}.`,
    '',
    `Starts the job's review as \`healing-review/${jobId}\` (one per job at a time: when one is already running, this one joins it) and waits for its outcome.`,
  ];
  if (dashboardUrl) lines.push('', markdownLink(`Job ${jobId} in the dashboard`, dashboardLink(dashboardUrl, 'jobs', jobId)));
  return { staticSummary: oneLine(`Scheduled review of ${jobId}: ${purpose}`), staticDetails: lines.join('\n') };
}

/** The daily retention pass; `when` is its calendar in words. */
export function retentionMetadata(when: string, dashboardUrl: string | null): StaticMetadata {
  const lines = [
    '**Retention**: deletes reviews, suggestions, actions, runs and notifications older than `HEALING_RETENTION_DAYS` (90 days by default), in batches, and records what it removed.',
    '',
    `Runs ${when}. The current details show the cut-off and the rows removed so far.`,
  ];
  if (dashboardUrl) lines.push('', markdownLink('The dashboard', `${dashboardUrl.replace(/\/+$/, '')}/`));
  return { staticSummary: oneLine(`Retention: deletes healing data older than HEALING_RETENTION_DAYS, ${when}`), staticDetails: lines.join('\n') };
}

export interface SuggestionFacts {
  id: number;
  jobId: string;
  severity: string;
  category: string;
  title: string;
  targetFile: string | null;
  /** why an edit is kept as advice (shared code, a forbidden path, an action the job does not allow) */
  advisoryReason?: string | null;
}

/** A suggestion's workflow: one writer of its state from the review to its end. */
export function suggestionMetadata(s: SuggestionFacts, dashboardUrl: string | null): StaticMetadata {
  const title = inertText(s.title, 120);
  const lines = [
    `**Suggestion #${s.id}** for job \`${s.jobId}\`: ${s.severity} ${s.category}, "${title}".`,
    '',
    s.targetFile && !s.advisoryReason
      ? `Edits \`${s.targetFile.replace(/`/g, '')}\` when applied (with a backup; it can be rolled back).`
      : `Advice: nothing is written when it is approved${s.advisoryReason ? ` (${inertText(s.advisoryReason, 300)})` : ''}.`,
    '',
    'Waits for approve, reject or apply (or applies by the job\'s policy), expires after its TTL, and keeps the rollback window open after an apply. The current details say its state, who decided and when, and what was written.',
  ];
  if (dashboardUrl) lines.push('', markdownLink(`Suggestion #${s.id} in the dashboard`, dashboardLink(dashboardUrl, 'suggestions', s.id)));
  return { staticSummary: oneLine(`#${s.id} ${s.jobId}: ${s.severity} ${s.category}: ${title}`), staticDetails: lines.join('\n') };
}

/** The notice about a review's pending suggestions; `reviewLink` is the review's markdown link, when known. */
export function notifyMetadata(input: { reviewId: number; jobId: string; pending: number }, reviewLink: string | null): StaticMetadata {
  const what = `${input.pending} pending suggestion${input.pending === 1 ? '' : 's'}`;
  const lines = [
    `**Notification** of the ${what} of review #${input.reviewId} (job \`${input.jobId}\`), on the job's \`notify_channel\`.`,
    '',
    'Three tries; a notice that cannot go out ends the workflow with the reason (each try is recorded in `healing_notifications`), never the review.',
  ];
  if (reviewLink) lines.push('', reviewLink);
  return { staticSummary: oneLine(`Notify ${input.jobId}: ${what} of review #${input.reviewId}`), staticDetails: lines.join('\n') };
}

/**
 * The dashboard address when the caller was given none: HEALING_PUBLIC_URL, else the local
 * address the API listens on (cli/runtime.ts gives the worker the same).
 */
export function dashboardUrlFrom(env: Record<string, string | undefined>): string {
  return env.HEALING_PUBLIC_URL || `http://127.0.0.1:${env.PORT || 3000}`;
}
