// /healing/batches: one decision for many suggestions (a list of ids or the list's filter), and
// its progress. Types as the API answers them (api/routes/batches.ts).
import { http } from './http';
import type { SuggestionQuery } from './suggestions';

export type BatchDecision = 'approve' | 'reject' | 'apply';
export type BatchOutcome = 'decided' | 'waiting_approver' | 'refused' | 'failed';

/** The list's own filters (a batch selects as the list does). */
export type BatchFilter = Pick<SuggestionQuery, 'job_id' | 'status' | 'category' | 'severity' | 'trigger' | 'review_id' | 'q'>;

export interface BatchRequest {
  decision: BatchDecision;
  ids?: number[];
  filter?: BatchFilter;
  reason?: string;
  comment?: string;
}

export interface DryRun {
  /** how many will be decided: those whose state takes the decision now */
  count: number;
  ids: number[];
  /** selected but not decided: ids with no suggestion, suggestions whose state does not take the decision */
  skipped: { not_found: number; wrong_state: number };
  missing: number[];
  max: number;
}

export interface BatchItem {
  position: number;
  suggestion_id: number;
  outcome: BatchOutcome | null;
  status_after: string | null;
  code: string | null;
  message: string | null;
  approvals_needed: number | null;
  /** a decided approval waiting for the job's apply window: when it applies */
  apply_at: string | null;
}

export interface Batch {
  id: number;
  decision: BatchDecision;
  status: 'running' | 'finished' | 'failed';
  created_by: string;
  total: number;
  done: number;
  counts: Record<BatchOutcome, number>;
  error: string | null;
  items: BatchItem[];
  items_total: number;
}

export const batchesApi = {
  dryRun: (body: BatchRequest) => http.post<DryRun>('/healing/batches', { ...body, dry_run: true }),
  start: (body: BatchRequest) => http.post<{ batch_id: number; total: number }>('/healing/batches', body),
  get: (id: number, query: { limit?: number; offset?: number } = {}) => http.get<Batch>(`/healing/batches/${id}`, { query }),
};
