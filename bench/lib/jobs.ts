// Job files and run history for benchmarks: many copies of the demo's nightly backup (a job that
// fails now and then with a transient error and has no retry), so the rules analyzer finds the
// same handful of suggestions for each, one of them an edit of the job's YAML.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../db/knex.js';

export const SCRIPT = `#!/bin/bash
# Dumps the database and uploads it.
pg_dump "$APP_DB" > /tmp/backup.sql
aws s3 cp /tmp/backup.sql s3://backups/nightly/
echo "backup done"
`;

/** A script the rules analyzer finds nothing to say about. */
export const HEALTHY_SCRIPT = `#!/bin/bash
set -euo pipefail
find /tmp/app-cache -type f -mmin +120 -delete
`;

export function jobYaml(id: string, opts: { time?: string; healthy?: boolean } = {}): string {
  return `# Nightly backup ${id}: dumps a database and uploads it to object storage.
name: Backup ${id}
cmd: ./scripts/${opts.healthy ? 'cleanup.sh' : 'backup.sh'}
type: scheduled
schedule: "0 2 * * *"
timezone: UTC
sla:
  max_duration: 600   # seconds
owner: ops-team       # not a field this service models: kept as it is
self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    frequency: daily
    time: "${opts.time ?? '03:00'}"
    min_runs: 3
`;
}

export const jobId = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(5, '0')}`;

/** Writes `count` job files (and their shared script); answers their ids. */
export async function writeJobs(jobsDir: string, prefix: string, count: number, opts: { time?: (i: number) => string; healthy?: boolean } = {}): Promise<string[]> {
  await mkdir(path.join(jobsDir, 'scripts'), { recursive: true });
  for (const [name, text] of [['backup.sh', SCRIPT], ['cleanup.sh', HEALTHY_SCRIPT]] as const) {
    const script = path.join(jobsDir, 'scripts', name);
    await writeFile(script, text);
    await chmod(script, 0o755);
  }
  const ids = Array.from({ length: count }, (_, i) => jobId(prefix, i));
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(ids.slice(i, i + 200).map((id, k) => writeFile(path.join(jobsDir, `${id}.yaml`), jobYaml(id, { time: opts.time?.(i + k), healthy: opts.healthy }))));
  }
  return ids;
}

/** Seven healthy runs a job over the last week: short, successful, within the SLA. */
export async function seedHealthyRuns(db: Db, jobIds: string[]): Promise<number> {
  const result = await db.raw(
    `insert into job_runs (job_id, external_id, started_at, finished_at, exit_code, duration_ms, trigger, sla_status, log_tail)
     select j.id, 'run-' || r,
            now() - ((7 - r) * interval '1 day') - interval '2 hours',
            now() - ((7 - r) * interval '1 day') - interval '2 hours' + interval '4 seconds',
            0, 4000, 'scheduled', 'pass', 'removed 12 files'
       from unnest(?::text[]) as j(id)
       cross join generate_series(0, 6) as r
     on conflict do nothing`,
    [jobIds],
  );
  return (result as { rowCount: number }).rowCount;
}

/** Seven runs a job over the last week, every other one failed on a reset connection, in one statement. */
export async function seedRuns(db: Db, jobIds: string[]): Promise<number> {
  const result = await db.raw(
    `insert into job_runs (job_id, external_id, started_at, finished_at, exit_code, duration_ms, trigger, error, sla_status, log_tail)
     select j.id, 'run-' || r,
            now() - ((7 - r) * interval '1 day') - interval '2 hours',
            now() - ((7 - r) * interval '1 day') - interval '2 hours' + (case when r % 2 = 0 then 31 else 540 + r * 10 end) * interval '1 second',
            case when r % 2 = 0 then 1 else 0 end,
            (case when r % 2 = 0 then 31 else 540 + r * 10 end) * 1000,
            'scheduled',
            case when r % 2 = 0 then 'upload failed: connection reset by peer' end,
            case when r % 2 = 0 then 'fail' else 'pass' end,
            case when r % 2 = 0
                 then E'starting dump\\ndump complete (2.1 GB)\\nupload failed: Connection reset by peer\\nERROR: could not connect to s3.amazonaws.com: connection reset by peer'
                 else E'starting dump\\ndump complete (2.1 GB)\\nupload complete\\nbackup done' end
       from unnest(?::text[]) as j(id)
       cross join generate_series(0, 6) as r
     on conflict do nothing`,
    [jobIds],
  );
  return (result as { rowCount: number }).rowCount;
}
