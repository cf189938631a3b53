// Monthly AI budgets, checked by the analysis activity before an AI turn (so the review workflow
// is unchanged): month-to-date spend of the job and of the service, from healing_reviews, against
// the job's self_healing.budget and HEALING_AI_BUDGET_*. And the notices at 80 % and 100 % of
// each budget, once per scope and UTC month (healing_budget_notices), through the same channels
// as a review's notification. A notice that could not go out is retried at the next analysis; it
// never fails one.
import { budgetReached, describeReach, DEFAULT_AI_BILL, utcMonth, type AiBillSettings, type Budget, type BudgetReach, type BudgetScope, type OnExceed, type Spend } from '../core/ai-bill.js';
import type { Job } from '../core/job.js';
import { dashboardLink } from '../core/links.js';
import { claimBudgetNotice, finishBudgetNotice, spendSince } from '../db/ai-bill.js';
import { currentActivity } from './activity-context.js';
import type { ActivityDeps } from './deps.js';
import { sendNotification } from './notify.js';

export const NOTICE_THRESHOLDS = [100, 80] as const;

export interface BudgetVerdict {
  /** stored on the review as budget_note */
  note: string;
  onExceed: OnExceed;
}

export interface BudgetNoticePayload {
  kind: 'ai_budget';
  scope: 'service' | 'job';
  job_id: string | null;
  month: string;
  threshold: number;
  measure: 'tokens' | 'cost';
  spent: number;
  limit: number;
  text: string;
  dashboard_url: string;
}

export interface BudgetGate {
  /** Before an AI turn: null when no budget is reached, else what to do and why. */
  check(): Promise<BudgetVerdict | null>;
  /** After the analysis (`extra`: what its turn spent, not stored yet): the notices crossed, sent once. */
  notify(extra: { tokens: number; cost: number | null }): Promise<void>;
}

export function budgetGate(deps: Pick<ActivityDeps, 'db' | 'log' | 'dashboardUrl' | 'analyzer'>, job: Job, reviewId: number, now = () => new Date()): BudgetGate {
  const bill: AiBillSettings = deps.analyzer.bill ?? DEFAULT_AI_BILL;
  const own = job.config.self_healing.budget ?? null;
  const budgets: Record<BudgetScope, Budget> = {
    job: { tokens: own?.monthly_tokens ?? null, cost: own?.monthly_cost ?? null },
    service: { tokens: bill.budgetTokens, cost: bill.budgetCost },
  };
  const hasBudget = (b: Budget) => b.tokens !== null || b.cost !== null;
  const scopes = (['job', 'service'] as const).filter((s) => hasBudget(budgets[s]));

  const spends = async (month: Date) =>
    Promise.all(scopes.map(async (scope) => ({ scope, budget: budgets[scope], spend: await spendSince(deps.db, month, scope === 'job' ? job.id : null) })));

  async function sendNotice(scope: BudgetScope, reach: BudgetReach, threshold: number, month: string): Promise<void> {
    const policy = job.config.self_healing.suggestions;
    const useService = scope === 'service' && bill.notifyChannel !== null;
    const channel = useService ? bill.notifyChannel! : policy.notify_channel;
    const target = (useService ? bill.notifyTarget : policy.notify_target)?.trim() || null;
    const key = { scope: scope === 'service' ? 'service' : job.id, month, threshold };
    const claimed = await claimBudgetNotice(deps.db, { ...key, measure: reach.measure, spent: reach.spent, limit: reach.limit, review_id: reviewId, channel, target });
    if (!claimed) return;
    // One notice when both are crossed at once: the 80 % one is not sent after the 100 % one.
    if (threshold === 100 && (await claimBudgetNotice(deps.db, { ...key, threshold: 80, measure: reach.measure, spent: reach.spent, limit: reach.limit, review_id: reviewId, channel, target }))) {
      await finishBudgetNotice(deps.db, { ...key, threshold: 80 }, { status: 'superseded', error: null, attempted: false });
    }
    if (!target) {
      const reason = `no notify target: set ${scope === 'service' ? 'HEALING_AI_BUDGET_NOTIFY_CHANNEL and HEALING_AI_BUDGET_NOTIFY_TARGET, or ' : ''}self_healing.suggestions.notify_target in job ${job.id}'s file`;
      await finishBudgetNotice(deps.db, key, { status: 'skipped', error: reason, attempted: false });
      return;
    }
    const what = describeReach(reach, month, job.id);
    const text = `ProcClaw Healing: ${threshold} % of ${what}.${threshold === 100 ? ` Reviews now ${onExceedOf(scope) === 'skip' ? 'skip the AI analysis' : 'use the rules analyzer'} until the month ends or the budget is raised.` : ''}`;
    const payload: BudgetNoticePayload = {
      kind: 'ai_budget',
      scope,
      job_id: scope === 'job' ? job.id : null,
      month,
      threshold,
      measure: reach.measure,
      spent: reach.spent,
      limit: reach.limit,
      text,
      dashboard_url: dashboardLink(deps.dashboardUrl, 'reviews', reviewId),
    };
    try {
      currentActivity()?.heartbeat(); // a webhook does not heartbeat while it waits (10 s at most)
      await sendNotification({ channel, target, text, payload }, { bin: deps.analyzer.openclawBin, node: deps.analyzer.openclawNode ?? null });
      await finishBudgetNotice(deps.db, key, { status: 'sent', error: null, attempted: true });
    } catch (error) {
      const message = (error as Error).message;
      deps.log.warn({ scope: key.scope, month, threshold, channel, error: message }, 'budget notice failed');
      await finishBudgetNotice(deps.db, key, { status: 'failed', error: message.slice(0, 2000), attempted: true });
    }
  }

  const onExceedOf = (scope: BudgetScope): OnExceed => (scope === 'job' ? own?.on_exceed ?? bill.onExceed : bill.onExceed);

  return {
    async check() {
      if (scopes.length === 0) return null;
      const month = utcMonth(now());
      const reach = budgetReached(await spends(month.start));
      if (!reach) return null;
      const onExceed = onExceedOf(reach.scope);
      const instead = onExceed === 'skip' ? 'the AI analysis was skipped (on_exceed: skip)' : 'the rules analyzer ran instead of the AI (on_exceed: rules)';
      return { note: `${describeReach(reach, month.name, job.id)} is reached; ${instead}`, onExceed };
    },

    async notify(extra) {
      if (scopes.length === 0) return;
      try {
        const month = utcMonth(now());
        const checks = (await spends(month.start)).map((c) => ({ ...c, spend: added(c.spend, extra) }));
        for (const check of checks) {
          for (const threshold of NOTICE_THRESHOLDS) {
            const reach = budgetReached([check], threshold / 100);
            if (!reach) continue;
            await sendNotice(check.scope, reach, threshold, month.name);
            break; // the highest threshold reached only
          }
        }
      } catch (error) {
        deps.log.warn({ err: error, jobId: job.id, reviewId }, 'could not check the AI budget notices');
      }
    },
  };
}

function added(spend: Spend, extra: { tokens: number; cost: number | null }): Spend {
  return { ...spend, tokens: spend.tokens + extra.tokens, cost: spend.cost + (extra.cost ?? 0) };
}
