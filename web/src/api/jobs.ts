// /jobs: the catalog, one job, and its self_healing block.
import { http } from './http';
import type { Job, JobList, SelfHealing } from './types';

/** GET /jobs/{id}/business-logs (api/schemas.ts BusinessLogAnswer). */
export interface BusinessLogView {
  job_id: string;
  /** false: the job has no self_healing.business_log.path */
  configured: boolean;
  path: string | null;
  /** the last lines, oldest first, secrets replaced by [REDACTED:<kind>#<n>] */
  lines: string[];
  max_lines: number;
  redacted: number;
  /** true: the path lies outside the job's folders and is never read */
  refused: boolean;
  /** why no lines are shown */
  reason: string | null;
}

/** POST /jobs/{id}/notify-test (api/schemas.ts NotifyTestAnswer). */
export interface NotifyTestResult {
  success: true;
  job_id: string;
  channel: string;
  target: string;
  /** false: the channel refused it or could not be reached (`error` says why) */
  sent: boolean;
  error: string | null;
}

export const jobsApi = {
  list: () => http.get<JobList>('/jobs'),
  get: (id: string) => http.get<Job>(`/jobs/${encodeURIComponent(id)}`),
  /** Merges the given fields into the job's self_healing block (null removes one); 400 with `detail: [{field, reason}]`. */
  /** The last lines of the job's business log, redacted. */
  businessLog: (id: string) => http.get<BusinessLogView>(`/jobs/${encodeURIComponent(id)}/business-logs`),
  saveSelfHealing: (id: string, block: Partial<SelfHealing> | Record<string, unknown>) => http.put<unknown>(`/jobs/${encodeURIComponent(id)}/self-healing`, block, { timeoutMs: 30_000 }),
  /** Sends a test notification through the given channel and target (openclaw message send may take 45 s). */
  notifyTest: (id: string, body: { channel?: string; target?: string }) =>
    http.post<NotifyTestResult>(`/jobs/${encodeURIComponent(id)}/notify-test`, body, { timeoutMs: 60_000 }),
};
