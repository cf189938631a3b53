// Small builders for review contexts: a healthy job by default, overridden per test.
import { sha256 } from '../../core/hash.js';
import { JobSchema, type JobConfig } from '../../core/job.js';
import type { JobFile, ReviewContext, RunLog, RunSummary } from '../../core/review.js';

export const JOB_DIR = '/srv/jobs/backup';
export const CONFIG_PATH = `${JOB_DIR}/job.yaml`;
export const SCRIPT_PATH = `${JOB_DIR}/backup.sh`;
export const PROMPT_PATH = `${JOB_DIR}/prompt.md`;

export const CONFIG_YAML = `# Nightly backup of the orders database.
# Owned by the data team; ask #data before changing the schedule.
name: Nightly backup   # shown in the dashboard
cmd: ./backup.sh
cwd: ${JOB_DIR}
type: scheduled
schedule: "0 * * * *"
owner_team: data        # a field this service does not model
sla:
  max_duration: 600     # ten minutes
self_healing:
  enabled: true
  mode: proactive
`;

export const SCRIPT_SH = `#!/usr/bin/env bash
# Dumps the orders database and uploads it.
set -euo pipefail
pg_dump orders > /tmp/orders.sql
aws s3 cp /tmp/orders.sql s3://backups/orders.sql
echo "backup complete"
`;

export function makeJob(over: Record<string, unknown> = {}): JobConfig {
  return JobSchema.parse({
    name: 'Nightly backup',
    cmd: './backup.sh',
    cwd: JOB_DIR,
    type: 'scheduled',
    schedule: '0 * * * *',
    sla: { max_duration: 600 },
    self_healing: { enabled: true, mode: 'proactive' },
    ...over,
  });
}

export function makeFile(role: JobFile['role'], path: string, content: string, over: Partial<JobFile> = {}): JobFile {
  return { role, path, content, sha256: sha256(content), truncated: false, ...over };
}

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** Run `id` starts `id` hours after T0 and succeeds in 30 s unless told otherwise. */
export function makeRun(id: number, over: Partial<RunSummary> = {}): RunSummary {
  const started = T0 + id * 3_600_000;
  const duration = over.duration_ms === undefined ? 30_000 : over.duration_ms;
  return {
    id,
    external_id: `ext-${id}`,
    started_at: new Date(started).toISOString(),
    finished_at: new Date(started + (duration ?? 0)).toISOString(),
    exit_code: 0,
    duration_ms: duration,
    trigger: 'scheduled',
    error: null,
    sla_status: 'pass',
    ...over,
  };
}

export function startOf(id: number): string {
  return new Date(T0 + id * 3_600_000).toISOString();
}

export function makeLog(run: RunSummary, lines: string[]): RunLog {
  return { run_id: run.id, exit_code: run.exit_code, lines };
}

/** `n` successful runs with a normal log each. */
export function healthyRuns(n: number, from = 1): { runs: RunSummary[]; logs: RunLog[] } {
  const runs = Array.from({ length: n }, (_, i) => makeRun(from + i, { duration_ms: 25_000 + ((i * 7) % 10) * 1000 }));
  const logs = runs.map((r) => makeLog(r, ['starting backup', `dumped ${1000 + r.id} rows`, 'backup complete']));
  return { runs, logs };
}

export function makeContext(over: Partial<ReviewContext> = {}): ReviewContext {
  const { runs, logs } = healthyRuns(10);
  return {
    job_id: 'backup',
    job: makeJob(),
    mode: 'proactive',
    trigger: 'scheduled',
    schedule_interval_s: 3600,
    runs,
    logs,
    files: [makeFile('config', CONFIG_PATH, CONFIG_YAML), makeFile('script', SCRIPT_PATH, SCRIPT_SH)],
    sla_violations: [],
    ai_sessions: [],
    business_log: null,
    config_changed_at: null,
    ...over,
  };
}

/** A context whose script is `content` (language from `path`). */
export function withScript(ctx: ReviewContext, content: string, path = SCRIPT_PATH): ReviewContext {
  return { ...ctx, files: [...ctx.files.filter((f) => f.role !== 'script'), makeFile('script', path, content)] };
}
