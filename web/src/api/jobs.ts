// /jobs: the catalog, one job, and its self_healing block.
import { http } from './http';
import type { Job, JobList, SelfHealing } from './types';

export const jobsApi = {
  list: () => http.get<JobList>('/jobs'),
  get: (id: string) => http.get<Job>(`/jobs/${encodeURIComponent(id)}`),
  /** Merges the given fields into the job's self_healing block (null removes one); 400 with `detail: [{field, reason}]`. */
  saveSelfHealing: (id: string, block: Partial<SelfHealing> | Record<string, unknown>) => http.put<unknown>(`/jobs/${encodeURIComponent(id)}/self-healing`, block, { timeoutMs: 30_000 }),
};
