// Stats: global figures, per-job summary (the same handler serves both of its paths), and the AI
// bill: tokens and cost per job, per UTC day and per analyzer, with the month's spend beside the budgets.
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { DEFAULT_AI_BILL, ON_EXCEED, utcMonth, type Budget, type Spend } from '../../core/ai-bill.js';
import { aiSpendStats, budgetNotices, spendByJobSince, spendSince } from '../../db/ai-bill.js';
import { findJob, loadCatalog } from '../../db/catalog.js';
import { globalStats, jobHasHistory, jobStats } from '../../db/stats.js';
import { verdictTotals } from '../../db/trend.js';
import { shortCache } from '../../core/short-cache.js';
import type { ApiDeps } from '../context.js';
import { notFound, parseInput } from '../errors.js';
import { JobIdParam, NoQuery } from '../schemas.js';
import { jobSchedule } from '../schedules.js';

export const MAX_AI_STATS_DAYS = 366;

export const AiStatsQuery = z.strictObject({
  days: z.coerce
    .number('days must be a number')
    .int('days is a whole number of days')
    .min(1, 'days is at least 1')
    .max(MAX_AI_STATS_DAYS, `days is at most ${MAX_AI_STATS_DAYS}`)
    .default(30)
    .meta({ description: `UTC calendar days back, today included (1..${MAX_AI_STATS_DAYS}, default 30)` }),
});

const spendRow = {
  reviews: z.number().int(),
  tokens_in: z.number().int(),
  tokens_out: z.number().int(),
  tokens: z.number().int().meta({ description: 'tokens in total (ai_tokens_used)' }),
  cost: z.number().meta({ description: 'the known part of the cost: reviews of unknown price add nothing (see unknown_cost_reviews)' }),
  unknown_cost_reviews: z.number().int().meta({ description: 'reviews that spent tokens at a price neither OpenClaw nor HEALING_AI_PRICES gave' }),
};
const SpendAnswer = z.strictObject({ tokens: z.number().int(), cost: z.number(), unknown_cost_reviews: z.number().int() });
const BudgetAnswer = z.strictObject({ tokens: z.number().int().nullable(), cost: z.number().nullable() });
const NoticeAnswer = z.strictObject({
  threshold: z.number().int(),
  measure: z.enum(['tokens', 'cost']),
  status: z.enum(['sending', 'sent', 'failed', 'skipped', 'superseded']).meta({ description: 'superseded: 100 % was reached at once and only that notice went out; skipped: no notify target' }),
  sent_at: z.string().nullable(),
  error: z.string().nullable(),
});
const MonthSpend = {
  spent: SpendAnswer,
  budget: BudgetAnswer.meta({ description: 'null: no budget in that measure' }),
  share: z.number().nullable().meta({ description: 'the larger of spent/budget over tokens and cost (1 = reached); null without a budget' }),
  on_exceed: z.enum(ON_EXCEED),
  notices: z.array(NoticeAnswer).meta({ description: 'the 80 % and 100 % notices of this month' }),
};

export const AiStatsAnswer = z.strictObject({
  days: z.number().int(),
  since: z.string().meta({ description: 'the first instant counted (UTC midnight)' }),
  totals: z.strictObject(spendRow),
  by_job: z.array(z.strictObject({ job_id: z.string(), ...spendRow })).meta({ description: 'jobs with reviews in the window' }),
  by_day: z.array(z.strictObject({ day: z.string().meta({ description: 'YYYY-MM-DD, UTC' }), ...spendRow })).meta({ description: 'oldest first; days without reviews are left out' }),
  by_analyzer: z.array(z.strictObject({ analyzer: z.enum(['openclaw', 'rules']).nullable().meta({ description: 'null: no analyzer ran (skipped, failed early or for the budget)' }), ...spendRow })),
  month: z.strictObject({
    month: z.string().meta({ description: 'YYYY-MM: budgets count per UTC calendar month' }),
    service: z.strictObject(MonthSpend),
    jobs: z
      .array(z.strictObject({ job_id: z.string(), ...MonthSpend }))
      .meta({ description: 'jobs with a self_healing.budget or with spend this month, the most spent first' }),
  }),
});
type AiStatsAnswer = z.infer<typeof AiStatsAnswer>;

const ZERO_SPEND: Spend = { tokens: 0, cost: 0, unknown_cost_reviews: 0 };

function share(spent: Spend, budget: Budget): number | null {
  const shares = [budget.tokens === null ? null : spent.tokens / budget.tokens, budget.cost === null ? null : spent.cost / budget.cost].filter((x): x is number => x !== null);
  return shares.length ? Math.round(Math.max(...shares) * 10_000) / 10_000 : null;
}

export function statsRouter(deps: ApiDeps): Router {
  const router = Router();
  // Figures at most statsCacheMs old: a room of dashboards polling costs one computation a second.
  const ttl = deps.statsCacheMs ?? 1_000;

  const globalBody = shortCache(ttl, async () => {
    const [stats, catalog, verdicts] = await Promise.all([globalStats(deps.db), loadCatalog(deps.jobsSource), verdictTotals(deps.db)]);
    const healing = catalog.jobs.filter((j) => j.config.self_healing.enabled);
    return {
      ...stats,
      jobs: {
        total: catalog.jobs.length,
        with_healing: healing.length,
        proactive: healing.filter((j) => j.config.self_healing.mode === 'proactive').length,
        with_errors: new Set(catalog.errors.map((e) => e.job_id ?? e.file)).size,
      },
      // which kinds of suggestions helped: the regression watch's verdicts per category and analyzer
      verdicts,
    };
  });

  const summaryBody = shortCache(ttl, async (id) => {
    const job = await findJob(deps.jobsSource, id);
    if (!job && !(await jobHasHistory(deps.db, id))) throw notFound(`job "${id}"`);
    const [stats, schedule] = await Promise.all([jobStats(deps.db, id), jobSchedule(deps.temporal, id)]);
    const healing = job?.config.self_healing;
    return {
      ...stats,
      in_catalog: Boolean(job),
      healing: healing ? { enabled: healing.enabled, mode: healing.mode, frequency: healing.review_schedule.frequency } : null,
      next_review_at: schedule?.next_review_at ?? null,
      schedule,
    };
  });

  const aiBody = shortCache(ttl, async (key): Promise<AiStatsAnswer> => {
    const days = Number(key);
    const now = new Date();
    const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
    const month = utcMonth(now);
    const bill = deps.aiBill?.() ?? DEFAULT_AI_BILL;
    const [spend, catalog, serviceSpend, jobSpend, notices] = await Promise.all([
      aiSpendStats(deps.db, since),
      loadCatalog(deps.jobsSource),
      spendSince(deps.db, month.start, null),
      spendByJobSince(deps.db, month.start),
      budgetNotices(deps.db, month.name),
    ]);
    const noticesOf = (scope: string) =>
      notices.filter((n) => n.scope === scope).map((n) => ({ threshold: n.threshold, measure: n.measure, status: n.status, sent_at: n.sent_at?.toISOString() ?? null, error: n.error }));
    const serviceBudget: Budget = { tokens: bill.budgetTokens, cost: bill.budgetCost };
    const budgeted = new Map(catalog.jobs.filter((j) => j.config.self_healing.budget).map((j) => [j.id, j.config.self_healing.budget!]));
    const jobIds = [...new Set([...jobSpend.keys(), ...budgeted.keys()])];
    const jobs = jobIds
      .map((id) => {
        const own = budgeted.get(id);
        const budget: Budget = { tokens: own?.monthly_tokens ?? null, cost: own?.monthly_cost ?? null };
        const spent = jobSpend.get(id) ?? ZERO_SPEND;
        return { job_id: id, spent, budget, share: share(spent, budget), on_exceed: own?.on_exceed ?? bill.onExceed, notices: noticesOf(id) };
      })
      .sort((a, b) => b.spent.tokens - a.spent.tokens || a.job_id.localeCompare(b.job_id));
    return {
      days,
      since: since.toISOString(),
      totals: spend.totals,
      by_job: spend.by_job,
      by_day: spend.by_day,
      by_analyzer: spend.by_analyzer as AiStatsAnswer['by_analyzer'],
      month: {
        month: month.name,
        service: { spent: serviceSpend, budget: serviceBudget, share: share(serviceSpend, serviceBudget), on_exceed: bill.onExceed, notices: noticesOf('service') },
        jobs,
      },
    };
  });

  // Before /healing/stats/:id: a job whose id is "ai" has its figures at /jobs/ai/healing/summary.
  router.get('/healing/stats/ai', async (req, res) => {
    const { days } = parseInput(AiStatsQuery, req.query, 'query');
    res.json(await aiBody(String(days)));
  });

  router.get('/healing/stats', async (req, res) => {
    parseInput(NoQuery, req.query, 'query'); // `?job_id=` here would be global figures read as one job's
    res.json(await globalBody(''));
  });

  const summary = async (req: Request, res: Response) => {
    const { id } = parseInput(JobIdParam, req.params, 'job id');
    parseInput(NoQuery, req.query, 'query');
    res.json(await summaryBody(id));
  };
  router.get('/healing/stats/:id', summary);
  router.get('/jobs/:id/healing/summary', summary);

  return router;
}
