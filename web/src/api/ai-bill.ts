// GET /healing/stats/ai: the AI bill (tokens and cost per job, day and analyzer; the UTC month's
// spend beside the budgets). Null from an API without it (404).
import { http, optional } from './http';

export interface Spend {
  tokens: number;
  cost: number;
  unknown_cost_reviews: number;
}

export interface Budget {
  tokens: number | null;
  cost: number | null;
}

export interface BudgetNotice {
  threshold: number;
  measure: 'tokens' | 'cost';
  status: string;
  sent_at: string | null;
  error: string | null;
}

export interface MonthSpend {
  spent: Spend;
  budget: Budget;
  share: number | null;
  on_exceed: 'rules' | 'skip';
  notices: BudgetNotice[];
}

export interface SpendRow {
  reviews: number;
  tokens_in: number;
  tokens_out: number;
  tokens: number;
  cost: number;
  unknown_cost_reviews: number;
}

export interface AiBill {
  days: number;
  since: string;
  totals: SpendRow;
  by_job: (SpendRow & { job_id: string })[];
  by_day: (SpendRow & { day: string })[];
  by_analyzer: (SpendRow & { analyzer: string | null })[];
  month: { month: string; service: MonthSpend; jobs: (MonthSpend & { job_id: string })[] };
}

export const aiBillApi = {
  get: (days = 30): Promise<AiBill | null> => optional(http.get<AiBill>('/healing/stats/ai', { query: { days } })),
};
