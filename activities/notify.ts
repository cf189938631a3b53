// Notifications of new pending suggestions: channel `webhook` posts JSON to a URL; every other
// channel goes through `openclaw message send`. Each attempt is recorded before a failure is
// thrown, so Temporal retries it (the review's notify proxy gives up after a few tries and the
// review never fails for it).
import { ApplicationFailure } from '@temporalio/activity';
import type { Job } from '../core/job.js';
import { dashboardLink } from '../core/links.js';
import { findJob } from '../db/catalog.js';
import { getNotification, recordNotificationAttempt, recordSkippedNotice } from '../db/notifications.js';
import { currentActivity } from './activity-context.js';
import type { ActivityDeps } from './deps.js';
import { cliError, runCli } from './openclaw.js';

const WEBHOOK_TIMEOUT_MS = 10_000;
const CLI_TIMEOUT_MS = 45_000;
const TITLES_IN_TEXT = 3;
export const NOTIFICATION_FAILED = 'NotificationFailed';

export interface NotifiedSuggestion {
  id: number;
  title: string;
  severity: string;
  category: string;
  /** the suggestion in the dashboard (#/suggestions/<id>) */
  url: string;
}

export interface WebhookPayload {
  job_id: string;
  job_name: string;
  review_id: number;
  count: number;
  suggestions: NotifiedSuggestion[];
  dashboard_url: string;
}

export function createNotifyActivities(deps: ActivityDeps) {
  const { db } = deps;

  return {
    async notifySuggestions(input: { reviewId: number; jobId: string; suggestionIds: number[] }): Promise<{ sent: boolean; detail: string }> {
      const job = await findJob(deps.jobsSource, input.jobId);
      if (!job) return { sent: false, detail: `job "${input.jobId}" is no longer in the catalog` };
      const route = noticeRoute(job);
      if (route.kind === 'off') return { sent: false, detail: 'notify_on_suggestion is off' };
      const { channel } = route;

      const previous = await getNotification(db, input.reviewId, channel);
      if (previous?.status === 'sent') return { sent: true, detail: `already sent to ${channel}` };

      // Most severe first; only those still pending (a fast approver may have been quicker).
      const rows = (await db('healing_suggestions')
        .whereIn('id', input.suggestionIds)
        .andWhere('status', 'pending')
        .orderBy([{ column: 'severity_rank', order: 'desc' }, { column: 'id', order: 'asc' }])
        .select('id', 'title', 'severity', 'category')) as Omit<NotifiedSuggestion, 'url'>[];
      const suggestions: NotifiedSuggestion[] = rows.map((s) => ({ ...s, url: dashboardLink(deps.dashboardUrl, 'suggestions', s.id) }));
      if (suggestions.length === 0) return { sent: false, detail: 'no suggestion is pending any more' };

      if (route.kind === 'no_target') {
        await recordSkippedNotice(db, { reviewId: input.reviewId, jobId: input.jobId, channel, reason: route.reason, count: suggestions.length });
        return { sent: false, detail: route.reason };
      }
      const { target } = route;
      const record = (status: 'sent' | 'failed', error: string | null) =>
        recordNotificationAttempt(db, {
          review_id: input.reviewId,
          job_id: input.jobId,
          channel,
          target,
          status,
          error,
          suggestions_count: suggestions.length,
        });

      const payload: WebhookPayload = {
        job_id: input.jobId,
        job_name: job.config.name,
        review_id: input.reviewId,
        count: suggestions.length,
        suggestions,
        dashboard_url: dashboardLink(deps.dashboardUrl, 'reviews', input.reviewId),
      };
      try {
        await sendNotification({ channel, target, text: notificationText(payload), payload }, { bin: deps.analyzer.openclawBin, node: deps.analyzer.openclawNode ?? null });
      } catch (error) {
        const message = (error as Error).message;
        await record('failed', message);
        deps.log.warn({ reviewId: input.reviewId, channel, error: message }, 'notification failed');
        throw ApplicationFailure.create({
          message: `notification to ${channel} failed: ${message}`,
          type: NOTIFICATION_FAILED,
          nonRetryable: error instanceof ConfigurationProblem,
        });
      }
      await record('sent', null);
      return { sent: true, detail: `sent to ${channel} ${target}` };
    },
  };
}

/**
 * Where a job's notices of new pending suggestions go: nowhere (notify_on_suggestion off), nowhere
 * yet (no notify_target: the notice is recorded as skipped with this reason, and there is nothing
 * to send, so no notify workflow is started for it), or a channel and target to send to.
 */
export function noticeRoute(job: Job): { kind: 'off' } | { kind: 'no_target'; channel: string; reason: string } | { kind: 'send'; channel: string; target: string } {
  const policy = job.config.self_healing.suggestions;
  if (!policy.notify_on_suggestion) return { kind: 'off' };
  const channel = policy.notify_channel;
  const target = policy.notify_target?.trim();
  if (!target) return { kind: 'no_target', channel, reason: `no notify_target is configured for channel ${channel}: set self_healing.suggestions.notify_target in the job's file` };
  return { kind: 'send', channel, target };
}

/** The message text: the job, the count, the most severe titles (three at most) and the link. */
export function notificationText(p: WebhookPayload): string {
  const noun = p.count === 1 ? 'suggestion' : 'suggestions';
  const lines = [`ProcClaw Healing: ${p.count} new ${noun} for job "${p.job_name}" (${p.job_id}).`];
  for (const s of p.suggestions.slice(0, TITLES_IN_TEXT)) lines.push(`- [${s.severity.toUpperCase()}] ${s.title}: ${s.url}`);
  if (p.count > TITLES_IN_TEXT) lines.push(`…and ${p.count - TITLES_IN_TEXT} more.`);
  lines.push(`Review: ${p.dashboard_url}`);
  return lines.join('\n');
}

/**
 * Sends one notification: channel `webhook` posts `payload` as JSON to the target URL; any other
 * channel sends `text` through `openclaw message send`. Throws with the reason (a
 * ConfigurationProblem when the target itself is wrong). The API's test notification sends
 * through here too, so a test that works means a review's notification reaches the same place.
 */
export async function sendNotification(
  message: { channel: string; target: string; text: string; payload: object },
  openclaw: { bin: string; node: string | null },
): Promise<void> {
  if (message.channel === 'webhook') await postWebhook(message.target, message.payload);
  else await sendWithOpenClaw(openclaw.bin, openclaw.node, message.channel, message.target, message.text);
}

/** A problem retrying cannot fix: the job's configuration must change. */
export class ConfigurationProblem extends Error {}

async function postWebhook(target: string, payload: object): Promise<void> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new ConfigurationProblem(`notify_target "${target}" is not a URL; channel webhook needs an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationProblem(`notify_target "${target}" is not an http(s) URL`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'procclaw-healing' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const name = (error as Error).name;
    if (name === 'TimeoutError') throw new Error(`the webhook did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`);
    throw new Error(`the webhook could not be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) throw new Error(`the webhook answered HTTP ${response.status}`);
}

/** `node`: the Node >= 24.16 the CLI needs (OPENCLAW_NODE), as for the analysis. */
async function sendWithOpenClaw(bin: string, node: string | null, channel: string, target: string, text: string): Promise<void> {
  const args = ['message', 'send', '--channel', channel, '--target', target, '--message', text, '--json'];
  let result;
  try {
    result = await runCli(bin, args, { timeoutMs: CLI_TIMEOUT_MS, activity: currentActivity(), node });
  } catch (error) {
    throw new Error(`${bin} could not be started (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (result.timedOut) throw new Error(`openclaw message send did not finish within ${CLI_TIMEOUT_MS / 1000} s`);
  if (result.code !== 0) throw new Error(`openclaw message send exited ${result.code}: ${cliError(result) ?? result.stdout.trim().slice(0, 500)}`);
}
