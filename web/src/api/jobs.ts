// /jobs: the catalog, one job, and its self_healing block.
import { http, request } from './http';
import type { Job, JobList, JobRun, JobSilence, SelfHealing, Verdict } from './types';

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

/** GET /jobs/{id}/trend (api/routes/trend.ts TrendAnswer): did healing help? */
export interface TrendPoint {
  /** YYYY-MM-DD in the trend's time zone */
  day: string;
  at: string;
  runs: number;
  succeeded: number;
  /** 0..1 */
  success_rate: number;
  /** of the successful runs */
  p95_duration_ms: number | null;
  /** per-run points only */
  run?: { id: number; external_id: string; exit_code: number; duration_ms: number | null };
}

interface TrendMarkerBase {
  at: string;
  action_id: number;
  suggestion_id: number;
  title: string;
  category: string;
  auto_reverted: boolean;
}

export type TrendMarker =
  | (TrendMarkerBase & { kind: 'applied'; verdict: Verdict | null; watch_status: string | null; verdict_at: string | null; summary: string | null })
  | (TrendMarkerBase & { kind: 'rollback'; rolled_back_by: string | null });

export interface JobTrend {
  job_id: string;
  days: number;
  time_zone: string;
  time_zone_note: string | null;
  /** run: the job ran less than twice a day, so each run is a point */
  granularity: 'day' | 'run';
  from: string;
  to: string;
  runs: number;
  succeeded: number;
  points: TrendPoint[];
  markers: TrendMarker[];
  markers_truncated: boolean;
}

export const jobsApi = {
  /** Success rate and p95 duration per day (or run) over the last `days`, with applied changes and rollbacks. */
  trend: (id: string, days = 90) => http.get<JobTrend>(`/jobs/${encodeURIComponent(id)}/trend?days=${days}`),
  list: () => http.get<JobList>('/jobs'),
  get: (id: string) => http.get<Job>(`/jobs/${encodeURIComponent(id)}`),
  /** A page of the job's runs, newest first. */
  runs: (id: string, limit = 100, offset = 0) => http.get<{ runs: JobRun[]; total: number }>(`/jobs/${encodeURIComponent(id)}/runs?limit=${limit}&offset=${offset}`),
  /** Merges the given fields into the job's self_healing block (null removes one); 400 with `detail: [{field, reason}]`. */
  /** The last lines of the job's business log, redacted. */
  businessLog: (id: string) => http.get<BusinessLogView>(`/jobs/${encodeURIComponent(id)}/business-logs`),
  saveSelfHealing: (id: string, block: Partial<SelfHealing> | Record<string, unknown>) => http.put<unknown>(`/jobs/${encodeURIComponent(id)}/self-healing`, block, { timeoutMs: 30_000 }),
  /** Sends a test notification through the given channel and target (openclaw message send may take 45 s). */
  notifyTest: (id: string, body: { channel?: string; target?: string }) =>
    http.post<NotifyTestResult>(`/jobs/${encodeURIComponent(id)}/notify-test`, body, { timeoutMs: 60_000 }),
  /** Silences on rejected findings of the job: those in force first, then recent lifted or expired ones. */
  silences: (id: string) => http.get<{ silences: JobSilence[]; total: number; can_lift: boolean }>(`/jobs/${encodeURIComponent(id)}/silences`),
  /** Lifts a silence (approver): the finding may be proposed again at the next review. */
  liftSilence: (id: string, silenceId: number) => request<{ success: true; silence: JobSilence }>('DELETE', `/jobs/${encodeURIComponent(id)}/silences/${silenceId}`),
};
