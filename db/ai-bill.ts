// The AI bill in Postgres: month-to-date spend (service-wide or one job's) from healing_reviews,
// the budget notices already handled (healing_budget_notices, migration 015), and the spend
// figures of GET /healing/stats/ai per job, per day and per analyzer.
import type { Spend } from '../core/ai-bill.js';
import type { Db } from './knex.js';

const SPEND_COLUMNS = `coalesce(sum(ai_tokens_used), 0)::int as tokens,
       coalesce(sum(ai_cost), 0)::float8 as cost,
       (count(*) filter (where ai_cost is null and ai_tokens_used > 0))::int as unknown_cost_reviews`;

/** What reviews started since `since` spent, all jobs' (jobId null) or one job's. */
export async function spendSince(db: Db, since: Date, jobId: string | null): Promise<Spend> {
  const result = await db.raw<{ rows: Spend[] }>(
    `select ${SPEND_COLUMNS} from healing_reviews where started_at >= :since ${jobId === null ? '' : 'and job_id = :jobId'}`,
    jobId === null ? { since } : { since, jobId },
  );
  return result.rows[0]!;
}

/** Each job's spend since `since`, for the jobs that spent any. */
export async function spendByJobSince(db: Db, since: Date): Promise<Map<string, Spend>> {
  const result = await db.raw<{ rows: (Spend & { job_id: string })[] }>(
    `select job_id, ${SPEND_COLUMNS} from healing_reviews where started_at >= :since and ai_tokens_used > 0 group by job_id`,
    { since },
  );
  return new Map(result.rows.map(({ job_id, ...spend }) => [job_id, spend]));
}

export interface BudgetNotice {
  scope: string;
  month: string;
  threshold: number;
  measure: 'tokens' | 'cost';
  spent: number;
  limit: number;
  review_id: number | null;
  channel: string | null;
  target: string | null;
  status: 'sending' | 'sent' | 'failed' | 'skipped' | 'superseded';
  error: string | null;
  attempts: number;
  sent_at: Date | null;
}

/**
 * Claims the notice of scope, month and threshold: true when this caller is the one to send it
 * (no row yet, or an earlier attempt failed and may be retried). Concurrent reviews crossing the
 * same threshold claim it once between them.
 */
export async function claimBudgetNotice(db: Db, notice: Pick<BudgetNotice, 'scope' | 'month' | 'threshold' | 'measure' | 'spent' | 'limit' | 'review_id' | 'channel' | 'target'>): Promise<boolean> {
  const inserted = await db('healing_budget_notices')
    .insert({ ...notice, status: 'sending' })
    .onConflict(['scope', 'month', 'threshold'])
    .merge({ status: 'sending', spent: notice.spent, limit: notice.limit, review_id: notice.review_id, channel: notice.channel, target: notice.target, updated_at: db.fn.now() })
    .where('healing_budget_notices.status', 'failed')
    .returning('id');
  return inserted.length > 0;
}

/** Records how the claimed notice went. */
export async function finishBudgetNotice(db: Db, key: { scope: string; month: string; threshold: number }, outcome: { status: BudgetNotice['status']; error: string | null; attempted: boolean }): Promise<void> {
  await db('healing_budget_notices')
    .where(key)
    .update({
      status: outcome.status,
      error: outcome.error,
      attempts: db.raw('attempts + ?', [outcome.attempted ? 1 : 0]),
      sent_at: outcome.status === 'sent' ? db.fn.now() : null,
      updated_at: db.fn.now(),
    });
}

export async function budgetNotices(db: Db, month: string): Promise<BudgetNotice[]> {
  return db('healing_budget_notices').where({ month }).orderBy([{ column: 'scope' }, { column: 'threshold' }]);
}

export interface SpendRow {
  reviews: number;
  tokens_in: number;
  tokens_out: number;
  tokens: number;
  /** the known part of the cost */
  cost: number;
  /** reviews that spent tokens at an unknown price */
  unknown_cost_reviews: number;
}

export interface AiSpendStats {
  since: Date;
  totals: SpendRow;
  by_job: (SpendRow & { job_id: string })[];
  by_day: (SpendRow & { day: string })[];
  by_analyzer: (SpendRow & { analyzer: string | null })[];
}

/** Reviews started since `since`: their tokens and cost in total, per job, per UTC day and per analyzer, in one query. */
export async function aiSpendStats(db: Db, since: Date): Promise<AiSpendStats> {
  const result = await db.raw<{ rows: (SpendRow & { job_id: string | null; day: string | null; analyzer: string | null; g: number })[] }>(
    `select job_id, to_char(started_at at time zone 'UTC', 'YYYY-MM-DD') as day, analyzer,
            grouping(job_id, to_char(started_at at time zone 'UTC', 'YYYY-MM-DD'), analyzer)::int as g,
            count(*)::int as reviews,
            coalesce(sum(ai_tokens_in), 0)::int as tokens_in,
            coalesce(sum(ai_tokens_out), 0)::int as tokens_out,
            coalesce(sum(ai_tokens_used), 0)::int as tokens,
            coalesce(sum(ai_cost), 0)::float8 as cost,
            (count(*) filter (where ai_cost is null and ai_tokens_used > 0))::int as unknown_cost_reviews
       from healing_reviews
      where started_at >= :since
      group by grouping sets ((), (job_id), (to_char(started_at at time zone 'UTC', 'YYYY-MM-DD')), (analyzer))
      order by 1, 2, 3`,
    { since },
  );
  const row = ({ reviews, tokens_in, tokens_out, tokens, cost, unknown_cost_reviews }: SpendRow): SpendRow => ({ reviews, tokens_in, tokens_out, tokens, cost: round6(cost), unknown_cost_reviews });
  // grouping() bits, left to right: job_id 4, day 2, analyzer 1 (a bit set: not grouped by it)
  const empty: SpendRow = { reviews: 0, tokens_in: 0, tokens_out: 0, tokens: 0, cost: 0, unknown_cost_reviews: 0 };
  const totals = result.rows.find((r) => r.g === 7);
  return {
    since,
    totals: totals ? row(totals) : empty,
    by_job: result.rows.filter((r) => r.g === 3).map((r) => ({ job_id: r.job_id!, ...row(r) })),
    by_day: result.rows.filter((r) => r.g === 5).map((r) => ({ day: r.day!, ...row(r) })),
    by_analyzer: result.rows.filter((r) => r.g === 6).map((r) => ({ analyzer: r.analyzer, ...row(r) })),
  };
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
