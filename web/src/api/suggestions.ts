// /healing/suggestions: list, show, count, and the three decisions.
import { http, type Query } from './http';
import type { CommandResult, PageInfo, SilenceSpec, Suggestion, SuggestionDetail } from './types';

export interface SuggestionQuery extends Query {
  job_id?: string;
  status?: string;
  category?: string;
  severity?: string;
  trigger?: string;
  review_id?: number;
  /** words in the title, description or job id of any suggestion */
  q?: string;
  sort?: string;
  limit?: number;
  offset?: number;
}

export type SuggestionPage = PageInfo & { suggestions: Suggestion[] };

/** Applying edits a file and verifies it: give it longer than a read. */
const COMMAND_TIMEOUT_MS = 60_000;

export const suggestionsApi = {
  list: (query: SuggestionQuery, signal?: AbortSignal) => http.get<SuggestionPage>('/healing/suggestions', { query, signal }),
  get: (id: number) => http.get<SuggestionDetail>(`/healing/suggestions/${id}`),
  pendingCount: (jobId?: string) =>
    http.get<{ count: number }>('/healing/suggestions/pending/count', { query: { job_id: jobId } }).then((r) => r.count),
  approve: (id: number, options: { apply?: boolean; comment?: string | null } = {}) =>
    http.post<CommandResult>(`/healing/suggestions/${id}/approve`, { apply: options.apply ?? true, ...(options.comment ? { comment: options.comment } : {}) }, { timeoutMs: COMMAND_TIMEOUT_MS }),
  /** silence: also keep the finding away from this job, for good (until lifted) or for some days */
  reject: (id: number, reason: string, silence: SilenceSpec | null = null) =>
    http.post<CommandResult>(`/healing/suggestions/${id}/reject`, silence ? { reason, silence } : { reason }, { timeoutMs: COMMAND_TIMEOUT_MS }),
  apply: (id: number) => http.post<CommandResult>(`/healing/suggestions/${id}/apply`, {}, { timeoutMs: COMMAND_TIMEOUT_MS }),
  /** admin only: ends an apply's wait for the job's apply window */
  applyNow: (id: number) => http.post<CommandResult>(`/healing/suggestions/${id}/apply-now`, {}, { timeoutMs: COMMAND_TIMEOUT_MS }),
};
