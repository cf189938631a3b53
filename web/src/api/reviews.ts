// /healing/reviews: list, show with its suggestions, and run one now.
import { http, type Query } from './http';
import type { PageInfo, Review, ReviewDetail, TriggerResult } from './types';

export interface ReviewQuery extends Query {
  job_id?: string;
  status?: string;
  trigger?: string;
  limit?: number;
  offset?: number;
}

export type ReviewPage = PageInfo & { reviews: Review[] };

export const reviewsApi = {
  list: (query: ReviewQuery, signal?: AbortSignal) => http.get<ReviewPage>('/healing/reviews', { query, signal }),
  get: (id: number) => http.get<ReviewDetail>(`/healing/reviews/${id}`),
  trigger: (jobId: string, force = false) =>
    http.post<TriggerResult>(`/healing/reviews/${encodeURIComponent(jobId)}/trigger`, { force }, { timeoutMs: 30_000 }),
};
