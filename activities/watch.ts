// The regression watch's steps, called by the suggestion workflow after an apply: start it (the
// job's settings, read once and carried in history), judge the runs so far (core/regression.ts),
// end it early (a rollback came first), mark an automatic revert, and tell people about a
// regression. Each is idempotent: a retried step finds its write done and answers the same.
import { ApplicationFailure } from '@temporalio/activity';
import { dashboardLink } from '../core/links.js';
import { judgeRuns, BASELINE_RUNS, type Judgement, type Verdict, type WatchedRun, type WatchRule } from '../core/regression.js';
import { DEFAULT_WATCH_CHECK_S } from '../core/running.js';
import { getAction } from '../db/actions.js';
import { findJob } from '../db/catalog.js';
import type { Db } from '../db/knex.js';
import { getSuggestion } from '../db/suggestions.js';
import type { ActivityDeps } from './deps.js';
import { NOTIFICATION_FAILED, sendNotification, ConfigurationProblem } from './notify.js';

/** How the watch goes: what it was started with (null: not watched, with the reason). */
export interface WatchPlan {
  watching: boolean;
  reason: string | null;
  rule: WatchRule;
  maxMs: number;
  checkMs: number;
  autoRevert: boolean;
}

export interface WatchJudgement {
  verdict: Verdict | null;
  runsAfter: number;
  runsBefore: number;
  summary: string;
}

/** What the watch did about a regression, told to the job's notify channel. */
export type WatchOutcome = 'auto_reverted' | 'revert_refused' | 'needs_person' | 'window_closed';

export interface WatchNotice {
  event: 'regression_watch';
  outcome: WatchOutcome;
  job_id: string;
  job_name: string;
  action_id: number;
  suggestion_id: number;
  verdict: Verdict | null;
  summary: string;
  measures: Judgement['measures'];
  /** why the automatic revert did not happen (revert_refused) */
  reason: string | null;
  /** the action in the dashboard, whose Rollback button undoes the change */
  action_url: string;
}

const OUTCOME_TEXT: Record<WatchOutcome, string> = {
  auto_reverted: 'made the job worse and was rolled back automatically',
  revert_refused: 'made the job worse but was NOT rolled back',
  needs_person: 'made the job worse; roll it back with one click',
  window_closed: 'made the job worse; its rollback window has closed, so undo it by hand',
};

/** The message text: what happened, the figures, and the link. */
export function watchNoticeText(n: WatchNotice): string {
  const lines = [`ProcClaw Healing: the change of action ${n.action_id} (suggestion ${n.suggestion_id}) to job "${n.job_name}" (${n.job_id}) ${OUTCOME_TEXT[n.outcome]}.`];
  if (n.reason) lines.push(`Why not: ${n.reason}`);
  lines.push(n.summary);
  for (const m of n.measures.filter((m) => m.change === 'worse')) lines.push(`- ${m.text}`);
  lines.push(`${n.outcome === 'auto_reverted' ? 'Details' : 'Roll back'}: ${n.action_url}`);
  return lines.join('\n');
}

/** Finished runs with an exit code, as the rule reads them. */
async function finishedRuns(db: Db, jobId: string, side: { after: Date; limit: number } | { before: Date; limit: number }): Promise<WatchedRun[]> {
  const query = db('job_runs')
    .select('external_id', 'exit_code', 'duration_ms', 'error', 'sla_status')
    .where('job_id', jobId)
    .whereNotNull('exit_code')
    .limit(side.limit);
  if ('after' in side) query.andWhere('started_at', '>=', side.after).orderBy([{ column: 'started_at' }, { column: 'id' }]);
  else query.andWhere('started_at', '<', side.before).orderBy([{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
  return (await query) as WatchedRun[];
}

export function createWatchActivities(deps: ActivityDeps) {
  const { db } = deps;

  const loadAction = async (actionId: number) => {
    const action = await getAction(db, actionId);
    if (!action) throw ApplicationFailure.create({ type: 'ActionNotFound', nonRetryable: true, message: `action ${actionId} does not exist` });
    return action;
  };

  /** When the change took effect: the suggestion's applied_at, else the action's creation. */
  const appliedAt = async (action: { suggestion_id: number; created_at: Date }) => {
    const suggestion = await getSuggestion(db, action.suggestion_id);
    return new Date(suggestion?.applied_at ?? action.created_at);
  };

  return {
    /**
     * Reads the job's watch settings once (the workflow keeps them in history) and marks the action
     * watched. `autoApplied`: applied by the job's policy, where auto_revert defaults to on.
     */
    async startWatch(input: { actionId: number; autoApplied: boolean }): Promise<WatchPlan> {
      const action = await loadAction(input.actionId);
      const job = await findJob(deps.jobsSource, action.job_id);
      const settings = job?.config.self_healing.watch;
      const checkS = deps.waits?.watchCheckS ?? DEFAULT_WATCH_CHECK_S;
      const rule: WatchRule = {
        runs: settings?.runs ?? 5,
        min_runs: settings?.min_runs ?? 3,
        success_rate_drop: settings?.success_rate_drop ?? 20,
        p95_increase_pct: settings?.p95_increase_pct ?? 50,
        sla_breach_increase: settings?.sla_breach_increase ?? 20,
        new_error_min_runs: settings?.new_error_min_runs ?? 2,
      };
      const plan = { rule, maxMs: Math.round((settings?.max_days ?? 14) * 86_400_000), checkMs: checkS * 1000, autoRevert: settings?.auto_revert ?? input.autoApplied };
      if (!job || !settings) return { ...plan, watching: false, reason: `job "${action.job_id}" is no longer in the catalog` };
      if (!settings.enabled) return { ...plan, watching: false, reason: 'self_healing.watch.enabled is false for this job' };
      if (action.watch_status === null) {
        const since = await appliedAt(action);
        await db('healing_actions')
          .where({ id: action.id })
          .whereNull('watch_status')
          .update({
            watch_status: 'watching',
            verdict_details: JSON.stringify({ summary: `not enough runs yet: 0 of ${rule.runs} since the apply`, runs_after: 0, since, until: new Date(since.getTime() + plan.maxMs), auto_revert: plan.autoRevert, rule }),
          });
      }
      return { ...plan, watching: true, reason: null };
    },

    /**
     * Judges the runs since the apply. A verdict is stored once (a retry, or a second worker, finds
     * it stored and answers it); without one the progress is stored for the dashboard.
     */
    async judgeWatch(input: { actionId: number; rule: WatchRule; final: boolean; autoRevert: boolean; until: string }): Promise<WatchJudgement> {
      const action = await loadAction(input.actionId);
      const stored = action.verdict_details as Partial<Judgement> | null;
      if (action.watch_status === 'done') {
        return { verdict: action.verdict, runsAfter: stored?.runs_after ?? 0, runsBefore: stored?.runs_before ?? 0, summary: stored?.summary ?? 'the watch has ended' };
      }
      const since = await appliedAt(action);
      const [before, after] = await Promise.all([
        finishedRuns(db, action.job_id, { before: since, limit: BASELINE_RUNS }),
        finishedRuns(db, action.job_id, { after: since, limit: input.rule.runs }),
      ]);
      const judged = judgeRuns(before, after, input.rule, input.final);
      const details = { ...judged, since, until: input.until, auto_revert: input.autoRevert };
      const patch = judged.verdict === null
        ? { verdict_details: JSON.stringify(details) }
        : { watch_status: 'done', verdict: judged.verdict, verdict_details: JSON.stringify(details), verdict_at: new Date() };
      await db('healing_actions').where({ id: action.id, watch_status: 'watching' }).update(patch);
      const now = await loadAction(input.actionId);
      if (now.watch_status === 'done' && now.verdict !== judged.verdict) {
        // Another attempt got there first: its verdict stands.
        const first = now.verdict_details as Partial<Judgement> | null;
        return { verdict: now.verdict, runsAfter: first?.runs_after ?? 0, runsBefore: first?.runs_before ?? 0, summary: first?.summary ?? '' };
      }
      return { verdict: judged.verdict, runsAfter: judged.runs_after, runsBefore: judged.runs_before, summary: judged.summary };
    },

    /** Ends a watch that a rollback (a person's) came before: no verdict, the reason kept. */
    async stopWatch(input: { actionId: number; reason: string }): Promise<void> {
      const action = await loadAction(input.actionId);
      const details = { ...((action.verdict_details as object | null) ?? {}), stopped: input.reason };
      await db('healing_actions').where({ id: action.id, watch_status: 'watching' }).update({ watch_status: 'done', verdict_details: JSON.stringify(details), verdict_at: new Date() });
    },

    async markAutoReverted(input: { actionId: number }): Promise<void> {
      await db('healing_actions').where({ id: input.actionId }).update({ auto_reverted: true });
    },

    /**
     * Tells the job's notify channel what the watch did about a regression, with the figures. No
     * target configured: not sent, and said so (the dashboard shows the verdict either way).
     */
    async notifyWatch(input: { actionId: number; outcome: WatchOutcome; reason?: string | null }): Promise<{ sent: boolean; detail: string }> {
      const action = await loadAction(input.actionId);
      const job = await findJob(deps.jobsSource, action.job_id);
      if (!job) return { sent: false, detail: `job "${action.job_id}" is no longer in the catalog` };
      const policy = job.config.self_healing.suggestions;
      const channel = policy.notify_channel;
      const target = policy.notify_target?.trim() || null;
      if (!target) return { sent: false, detail: `no notify_target is configured for channel ${channel}` };
      const judged = (action.verdict_details ?? {}) as Partial<Judgement>;
      const notice: WatchNotice = {
        event: 'regression_watch',
        outcome: input.outcome,
        job_id: action.job_id,
        job_name: job.config.name,
        action_id: action.id,
        suggestion_id: action.suggestion_id,
        verdict: action.verdict,
        summary: judged.summary ?? '',
        measures: judged.measures ?? [],
        reason: input.reason ?? null,
        action_url: dashboardLink(deps.dashboardUrl, 'actions', action.id),
      };
      try {
        await sendNotification({ channel, target, text: watchNoticeText(notice), payload: notice }, { bin: deps.analyzer.openclawBin, node: deps.analyzer.openclawNode ?? null });
      } catch (error) {
        const message = (error as Error).message;
        deps.log.warn({ actionId: action.id, channel, error: message }, 'regression watch notification failed');
        throw ApplicationFailure.create({ message: `notification to ${channel} failed: ${message}`, type: NOTIFICATION_FAILED, nonRetryable: error instanceof ConfigurationProblem });
      }
      return { sent: true, detail: `sent to ${channel} ${target}` };
    },
  };
}
