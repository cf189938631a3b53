// The AI bill's pure parts (core/ai-bill.ts): HEALING_AI_PRICES and the budget settings read at
// start-up with a message naming the variable, a turn's cost, the UTC month, budgets reached.
import { describe, expect, it } from 'vitest';
import { budgetReached, describeReach, turnCost, utcMonth } from '../../core/ai-bill.js';
import { ConfigError, loadConfig } from '../../core/config.js';
import { describeIssues, JobSchema } from '../../core/job.js';
import { humanError } from '../../core/messages.js';

const config = (env: Record<string, string>) => loadConfig(env, '/srv', '/home/u');
const problem = (env: Record<string, string>) => {
  try {
    config(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
};

describe('AI bill settings', () => {
  it('reads prices and budgets; defaults to no budget and the rules analyzer once one is reached', () => {
    expect(config({}).analyzer.bill).toEqual({ prices: {}, budgetTokens: null, budgetCost: null, onExceed: 'rules', notifyChannel: null, notifyTarget: null });
    const bill = config({
      HEALING_AI_PRICES: '{"anthropic/claude-sonnet-4": {"input_per_mtok": 3, "output_per_mtok": 15}, "gpt-5": {"input_per_mtok": 1.25, "output_per_mtok": 10, "cache_read_per_mtok": 0.125}}',
      HEALING_AI_BUDGET_TOKENS: '5000000',
      HEALING_AI_BUDGET_COST: '25.5',
      HEALING_AI_BUDGET_ON_EXCEED: 'skip',
    }).analyzer.bill;
    expect(bill).toMatchObject({ budgetTokens: 5_000_000, budgetCost: 25.5, onExceed: 'skip' });
    expect(bill.prices['gpt-5']).toEqual({ input_per_mtok: 1.25, output_per_mtok: 10, cache_read_per_mtok: 0.125 });
  });

  it('refuses bad values with a message naming the variable and the field', () => {
    expect(problem({ HEALING_AI_PRICES: '{gpt-5: 3}' })).toContain('HEALING_AI_PRICES: must be JSON');
    expect(problem({ HEALING_AI_PRICES: '{"gpt-5": {"input_per_mtok": -1, "output_per_mtok": 10}}' })).toMatch(/HEALING_AI_PRICES: gpt-5\.input_per_mtok: .*0/);
    expect(problem({ HEALING_AI_PRICES: '{"gpt-5": {"input": 1, "output_per_mtok": 10}}' })).toMatch(/HEALING_AI_PRICES: .*gpt-5.*"input"/);
    expect(problem({ HEALING_AI_PRICES: '[1]' })).toContain('HEALING_AI_PRICES: ');
    expect(problem({ HEALING_AI_BUDGET_TOKENS: '0' })).toContain('HEALING_AI_BUDGET_TOKENS');
    expect(problem({ HEALING_AI_BUDGET_COST: 'lots' })).toContain('HEALING_AI_BUDGET_COST');
    expect(problem({ HEALING_AI_BUDGET_ON_EXCEED: 'stop' })).toContain('HEALING_AI_BUDGET_ON_EXCEED');
    expect(problem({ HEALING_AI_BUDGET_NOTIFY_CHANNEL: 'webhook' })).toContain('set both, or neither');
  });

  it("a job's budget: tokens, cost and on_exceed, each optional; bad values refused", () => {
    const job = (budget: unknown) => JobSchema.safeParse({ name: 'x', cmd: 'x', self_healing: { budget } });
    expect(job({ monthly_tokens: 100_000, on_exceed: 'skip' }).data?.self_healing.budget).toEqual({ monthly_tokens: 100_000, on_exceed: 'skip' });
    expect(job(null).success).toBe(true);
    expect(job({ monthly_tokens: 0 }).success).toBe(false);
    expect(job({ monthly_cost: -1 }).success).toBe(false);
    expect(job({ on_exceed: 'stop' }).success).toBe(false);
  });
});

describe('turnCost', () => {
  const usage = { input: 1_000_000, output: 100_000, cacheRead: 2_000_000, cacheWrite: 0 };
  const prices = { 'anthropic/claude': { input_per_mtok: 3, output_per_mtok: 15, cache_read_per_mtok: 0.3 }, claude: { input_per_mtok: 99, output_per_mtok: 99 } };

  it("takes OpenClaw's cost, else the price of provider/model, else of the model, else unknown", () => {
    expect(turnCost(1.23, usage, 'claude', 'anthropic', prices)).toEqual({ cost: 1.23, source: 'openclaw' });
    expect(turnCost(null, usage, 'claude', 'anthropic', prices)).toEqual({ cost: 3 + 1.5 + 0.6, source: 'configured' });
    expect(turnCost(null, { ...usage, cacheRead: 0 }, 'claude', 'other', prices)).toEqual({ cost: 99 + 9.9, source: 'configured' });
    expect(turnCost(null, usage, 'gpt', 'openai', prices)).toEqual({ cost: null, source: null });
  });

  it('a reported 0 (a model OpenClaw knows no price of) yields to a configured price, and stands without one', () => {
    expect(turnCost(0, usage, 'claude', 'anthropic', prices)).toMatchObject({ source: 'configured' });
    expect(turnCost(0, usage, 'gpt', 'openai', prices)).toEqual({ cost: 0, source: 'openclaw' });
  });
});

describe('budgets', () => {
  it('count per UTC calendar month', () => {
    expect(utcMonth(new Date('2026-12-31T23:59:59.999Z'))).toEqual({ start: new Date('2026-12-01T00:00:00Z'), name: '2026-12' });
    expect(utcMonth(new Date('2027-01-01T00:00:00Z')).name).toBe('2027-01');
  });

  it('the job is checked before the service, tokens before cost; 80 % is a share of the limit', () => {
    const spend = { tokens: 800, cost: 5, unknown_cost_reviews: 0 };
    const job = { scope: 'job' as const, spend, budget: { tokens: 1000, cost: null } };
    const service = { scope: 'service' as const, spend, budget: { tokens: null, cost: 5 } };
    expect(budgetReached([job, service])).toEqual({ scope: 'service', measure: 'cost', spent: 5, limit: 5 });
    expect(budgetReached([job, service], 0.8)).toEqual({ scope: 'job', measure: 'tokens', spent: 800, limit: 1000 });
    expect(budgetReached([job])).toBeNull();
  });
});

describe('what a person is told', () => {
  /** The job load errors (field, reason) the catalog would list for a job with this budget. */
  const loadErrors = (budget: unknown) => {
    const parsed = JobSchema.safeParse({ name: 'x', cmd: 'x', self_healing: { budget } }, { error: humanError });
    return parsed.success ? [] : describeIssues(parsed.error);
  };

  it('a misspelt budget key refuses the job, naming the key and the keys it takes, rather than leave no limit', () => {
    expect(loadErrors({ monthly_tokenz: 5 })).toEqual([
      { field: 'self_healing.budget', reason: 'unknown key "monthly_tokenz": it takes monthly_tokens, monthly_cost or on_exceed' },
    ]);
    expect(loadErrors({ monthly_tokens: 5, on_exceeds: 'skip', cost: 1 })[0]?.reason).toMatch(/^unknown keys "on_exceeds", "cost": /);
  });

  it('a bad number is said once and plainly: NaN, and one too large for a whole number', () => {
    expect(loadErrors({ monthly_tokens: Number.NaN })).toEqual([{ field: 'self_healing.budget.monthly_tokens', reason: 'must be a number, not NaN (not a number)' }]);
    expect(loadErrors({ monthly_tokens: 1e300 })).toEqual([{ field: 'self_healing.budget.monthly_tokens', reason: 'must be 9007199254740991 or less' }]);
  });

  it('HEALING_AI_PRICES refuses "__proto__" (JSON keeps it; a record would drop it unsaid)', () => {
    expect(problem({ HEALING_AI_PRICES: '{"__proto__": {"input_per_mtok": 1, "output_per_mtok": 2}}' })).toContain('HEALING_AI_PRICES: "__proto__" is not a model name');
  });

  it('HEALING_AI_BUDGET_TOKENS and _COST take plain decimal numbers only', () => {
    for (const text of ['0x10', '1e6', ' 16', '16.0', '-5', '0']) expect(problem({ HEALING_AI_BUDGET_TOKENS: text })).toContain('HEALING_AI_BUDGET_TOKENS: must be a whole number of tokens, 1 or more, written in decimal digits');
    expect(problem({ HEALING_AI_BUDGET_TOKENS: '99999999999999999' })).toContain('HEALING_AI_BUDGET_TOKENS: must be a whole number');
    for (const text of ['0x10', 'lots', 'Infinity', '1e3']) expect(problem({ HEALING_AI_BUDGET_COST: text })).toContain('HEALING_AI_BUDGET_COST: must be a cost above 0 written in decimal digits');
    expect(problem({ HEALING_AI_BUDGET_COST: '0' })).toContain('HEALING_AI_BUDGET_COST: must be a cost above 0');
    expect(config({ HEALING_AI_BUDGET_TOKENS: '16', HEALING_AI_BUDGET_COST: '0.5' }).analyzer.bill).toMatchObject({ budgetTokens: 16, budgetCost: 0.5 });
  });

  it('a reached budget reads "N of M tokens", one token singular', () => {
    expect(describeReach({ scope: 'job', measure: 'tokens', spent: 1204, limit: 1000 }, '2026-12', 'etl')).toBe("job etl's monthly token budget: 1,204 of 1,000 tokens spent in 2026-12 (UTC month)");
    expect(describeReach({ scope: 'service', measure: 'tokens', spent: 1, limit: 1 }, '2026-12', null)).toBe('the service-wide monthly token budget: 1 of 1 token spent in 2026-12 (UTC month)');
    expect(describeReach({ scope: 'service', measure: 'cost', spent: 5, limit: 5 }, '2026-12', null)).toBe('the service-wide monthly cost budget: cost 5.0000 of 5.0000 spent in 2026-12 (UTC month)');
  });
});
