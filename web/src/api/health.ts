// /health (outside /api/v1): Postgres, Temporal, the worker and the analyzer. 503 still has a body.
import { http } from './http';
import type { Health } from './types';

export const healthApi = {
  get: () => http.get<Health>('/health', { base: '', accept: [503], timeoutMs: 10_000 }),
};
