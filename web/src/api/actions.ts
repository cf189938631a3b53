// /healing/actions: applied changes and their rollback.
import { http, type Query } from './http';
import type { Action, ActionDetail, CommandResult, PageInfo } from './types';

export interface ActionQuery extends Query {
  job_id?: string;
  status?: string;
  suggestion_id?: number;
  /** only the changes that can (true) or cannot (false) still be rolled back */
  can_rollback?: boolean;
  limit?: number;
  offset?: number;
}

export type ActionPage = PageInfo & { actions: Action[] };

export const actionsApi = {
  list: (query: ActionQuery, signal?: AbortSignal) => http.get<ActionPage>('/healing/actions', { query, signal }),
  get: (id: number) => http.get<ActionDetail>(`/healing/actions/${id}`),
  rollback: (id: number, force = false) =>
    http.post<CommandResult & { action_id: number }>(`/healing/actions/${id}/rollback`, { force }, { timeoutMs: 60_000 }),
};
