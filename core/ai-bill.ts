// The AI bill (issue 19): model prices (HEALING_AI_PRICES), the cost of a turn, the UTC month
// budgets are counted in, and whether a budget is reached. Pure: the sums come from db/ai-bill.ts.
import { z } from 'zod';

/** Prices in currency units per million tokens; cache tokens at the input price unless given. */
export const ModelPriceSchema = z.strictObject({
  input_per_mtok: z.number().min(0),
  output_per_mtok: z.number().min(0),
  cache_read_per_mtok: z.number().min(0).optional(),
  cache_write_per_mtok: z.number().min(0).optional(),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** HEALING_AI_PRICES: `{ "<model>" or "<provider>/<model>": ModelPrice }`. */
export const PricesSchema = z.record(z.string().min(1), ModelPriceSchema);
export type Prices = z.infer<typeof PricesSchema>;

export const ON_EXCEED = ['rules', 'skip'] as const;
export type OnExceed = (typeof ON_EXCEED)[number];

/** The service's AI bill settings (HEALING_AI_PRICES, HEALING_AI_BUDGET_*). */
export interface AiBillSettings {
  prices: Prices;
  /** service-wide monthly budgets; null: none */
  budgetTokens: number | null;
  budgetCost: number | null;
  /** what a review does once a budget is reached, for jobs that do not say */
  onExceed: OnExceed;
  /** where service-wide notices go; null: to the notify channel of the job whose review crossed it */
  notifyChannel: string | null;
  notifyTarget: string | null;
}

export const DEFAULT_AI_BILL: AiBillSettings = { prices: {}, budgetTokens: null, budgetCost: null, onExceed: 'rules', notifyChannel: null, notifyTarget: null };

/** What a turn's meta reported, in tokens. */
export interface TurnUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface TurnCost {
  cost: number | null;
  source: 'openclaw' | 'configured' | null;
}

/**
 * The turn's cost: what OpenClaw reported (usage.cost.total), else the configured price of
 * `provider/model` or `model`, else unknown (null). A reported 0 yields to a configured price:
 * OpenClaw reports 0 for any model its config gives no cost, which says nothing of the bill.
 */
export function turnCost(reported: number | null, usage: TurnUsage, model: string | null, provider: string | null, prices: Prices): TurnCost {
  const price = (provider && model ? prices[`${provider}/${model}`] : undefined) ?? (model ? prices[model] : undefined);
  if (reported !== null && (reported > 0 || !price)) return { cost: roundCost(reported), source: 'openclaw' };
  if (!price) return { cost: null, source: null };
  const perToken = (perMtok: number) => perMtok / 1_000_000;
  const cost =
    usage.input * perToken(price.input_per_mtok) +
    usage.output * perToken(price.output_per_mtok) +
    usage.cacheRead * perToken(price.cache_read_per_mtok ?? price.input_per_mtok) +
    usage.cacheWrite * perToken(price.cache_write_per_mtok ?? price.input_per_mtok);
  return { cost: roundCost(cost), source: 'configured' };
}

/** The column keeps six decimals. */
function roundCost(cost: number): number {
  return Math.round(cost * 1_000_000) / 1_000_000;
}

/** The UTC calendar month `at` falls in: its first instant and its 'YYYY-MM' name. */
export function utcMonth(at: Date): { start: Date; name: string } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  return { start, name: start.toISOString().slice(0, 7) };
}

export interface Spend {
  tokens: number;
  /** the known part of the cost: reviews of unknown cost add nothing */
  cost: number;
  /** reviews that spent tokens at an unknown price this month */
  unknown_cost_reviews: number;
}

export interface Budget {
  tokens: number | null;
  cost: number | null;
}

export type BudgetScope = 'service' | 'job';

/** One budget's measure at or past a share of its limit. */
export interface BudgetReach {
  scope: BudgetScope;
  measure: 'tokens' | 'cost';
  spent: number;
  limit: number;
}

/** The first budget (job before service, tokens before cost) whose spend is at `share` of its limit or more. */
export function budgetReached(checks: { scope: BudgetScope; spend: Spend; budget: Budget }[], share = 1): BudgetReach | null {
  for (const { scope, spend, budget } of checks) {
    if (budget.tokens !== null && spend.tokens >= budget.tokens * share) return { scope, measure: 'tokens', spent: spend.tokens, limit: budget.tokens };
    if (budget.cost !== null && spend.cost >= budget.cost * share) return { scope, measure: 'cost', spent: spend.cost, limit: budget.cost };
  }
  return null;
}

/** "the job's monthly token budget is reached: 1,234 of 1,000 tokens spent in 2026-12 (UTC)". */
export function describeReach(reach: BudgetReach, month: string, jobId: string | null): string {
  const whose = reach.scope === 'service' ? 'the service-wide' : `job ${jobId ?? ''}'s`.trim();
  const amount = (n: number) => (reach.measure === 'tokens' ? Math.round(n).toLocaleString('en-US') : n.toFixed(4));
  const of = reach.measure === 'tokens' ? `${amount(reach.spent)} of ${amount(reach.limit)} token${Math.round(reach.limit) === 1 ? '' : 's'}` : `cost ${amount(reach.spent)} of ${amount(reach.limit)}`;
  return `${whose} monthly ${reach.measure === 'tokens' ? 'token' : 'cost'} budget: ${of} spent in ${month} (UTC month)`;
}
