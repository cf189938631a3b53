// A demo workspace: a few jobs with realistic problems and a run history, so a first start
// shows real reviews. Written once; a second start keeps what is there.
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/knex.js';
import { upsertRun } from '../db/runs.js';

const HOUR = 3_600_000;

const JOBS: Record<string, string> = {
  'nightly-backup.yaml': `# Nightly backup of the app database to object storage.
name: Nightly backup
cmd: ./scripts/backup.sh
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
    time: "03:00"
    min_runs: 3
`,
  'report-sync.yaml': `# Syncs the sales report from the partner API every 15 minutes.
name: Report sync
cmd: python3 sync_report.py
cwd: ./scripts
type: scheduled
schedule: "*/15 * * * *"
sla:
  max_duration: 300
self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    frequency: hourly
    min_runs: 3
  suggestions:
    auto_apply: false
    min_severity_for_approval: medium
`,
  'idea-hunter.yaml': `# An OpenClaw job: reads feeds and writes a digest.
name: Idea hunter
cmd: openclaw agent --local --message-file prompts/idea-hunter.md
type: openclaw
prompt_file: prompts/idea-hunter.md
schedule: "0 8 * * *"
self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    frequency: weekly
    day: 1
    time: "09:00"
    min_runs: 2
`,
  'healthy-cleanup.yaml': `name: Temp cleanup
cmd: ./scripts/cleanup.sh
type: scheduled
schedule: "30 * * * *"
sla:
  max_duration: 120
self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    frequency: daily
    min_runs: 3
`,
  'deploy-hook.yaml': `name: Deploy hook
cmd: ./scripts/deploy.sh
type: manual
self_healing:
  enabled: true
  mode: reactive
  review_schedule:
    frequency: on_failure
`,
};

const FILES: Record<string, string> = {
  'scripts/backup.sh': `#!/bin/bash
# Dumps the database and uploads it.
pg_dump "$APP_DB" > /tmp/backup.sql
aws s3 cp /tmp/backup.sql s3://backups/nightly/
echo "backup done"
`,
  'scripts/sync_report.py': `import os
import urllib.request

API_TOKEN = "sk_live_51HxQdemoSecretToken1234567890"

def main():
    req = urllib.request.Request("https://partner.example.com/report", headers={"Authorization": "Bearer " + API_TOKEN})
    with urllib.request.urlopen(req, timeout=30) as resp:
        open("report.csv", "wb").write(resp.read())

if __name__ == "__main__":
    main()
`,
  'scripts/cleanup.sh': `#!/bin/bash
set -euo pipefail
find /tmp/app-cache -type f -mmin +120 -delete
`,
  'scripts/deploy.sh': `#!/bin/bash
set -euo pipefail
git pull --ff-only
npm ci
systemctl restart app
`,
  'prompts/idea-hunter.md': `You are an analyst. Read the feeds listed below and write a digest of new product ideas.
${'Always be concise and cite the source of each idea.\n'.repeat(40)}Feeds: https://news.example.com/rss, https://blog.example.com/feed
`,
};

export async function writeDemoWorkspace(root: string): Promise<{ jobsDir: string; created: boolean }> {
  const jobsDir = path.join(root, 'jobs');
  if (existsSync(jobsDir)) return { jobsDir, created: false };
  await mkdir(path.join(jobsDir, 'scripts'), { recursive: true });
  await mkdir(path.join(jobsDir, 'prompts'), { recursive: true });
  await mkdir(path.join(jobsDir, 'logs'), { recursive: true });
  for (const [name, text] of Object.entries(JOBS)) await writeFile(path.join(jobsDir, name), text);
  for (const [name, text] of Object.entries(FILES)) {
    await writeFile(path.join(jobsDir, name), text);
    if (name.endsWith('.sh') || name.endsWith('.py')) await chmod(path.join(jobsDir, name), 0o755);
  }
  return { jobsDir, created: true };
}

/** A week of runs for every demo job, with logs on disk; idempotent on run ids. */
export async function seedDemoRuns(db: Db, root: string, now = new Date()): Promise<number> {
  // Inside the jobs' folder: a review reads a run's log only from the job's own places (core/read-places.ts).
  const logsDir = path.join(root, 'jobs', 'logs');
  await mkdir(logsDir, { recursive: true });
  let count = 0;
  const add = async (jobId: string, i: number, run: { hoursAgo: number; durationS: number; exit: number; error?: string; log: string[]; sla?: 'pass' | 'fail' }) => {
    const started = new Date(now.getTime() - run.hoursAgo * HOUR);
    const logPath = path.join(logsDir, `${jobId}-${i}.log`);
    await writeFile(logPath, `${run.log.join('\n')}\n`);
    await upsertRun(db, {
      job_id: jobId,
      external_id: `demo-${i}`,
      started_at: started,
      finished_at: new Date(started.getTime() + run.durationS * 1000),
      exit_code: run.exit,
      duration_ms: run.durationS * 1000,
      trigger: 'scheduled',
      error: run.error ?? null,
      sla_status: run.sla ?? (run.exit === 0 ? 'pass' : 'fail'),
      sla_details: null,
      log_path: logPath,
      log_tail: null,
      session_messages: null,
    });
    count++;
  };
  for (let i = 0; i < 7; i++) {
    const fails = i % 2 === 0;
    await add('nightly-backup', i, {
      hoursAgo: 24 * (7 - i) - 2,
      durationS: fails ? 31 : 540 + i * 10,
      exit: fails ? 1 : 0,
      error: fails ? 'upload failed: connection reset by peer' : undefined,
      log: fails
        ? ['starting dump', 'dump complete (2.1 GB)', 'upload failed: Connection reset by peer', 'ERROR: could not connect to s3.amazonaws.com: connection reset by peer']
        : ['starting dump', 'dump complete (2.1 GB)', 'upload complete', 'backup done'],
      sla: fails ? 'fail' : 'pass',
    });
  }
  for (let i = 0; i < 12; i++) {
    await add('report-sync', i, {
      hoursAgo: 12 - i,
      durationS: 240 + (i % 3) * 30,
      exit: i % 4 === 3 ? 1 : 0,
      error: i % 4 === 3 ? 'HTTP Error 503: Service Unavailable' : undefined,
      log: i % 4 === 3 ? ['fetching report', 'urllib.error.HTTPError: HTTP Error 503: Service Unavailable'] : ['fetching report', 'wrote report.csv'],
    });
  }
  for (let i = 0; i < 4; i++) {
    await add('idea-hunter', i, { hoursAgo: 24 * (4 - i), durationS: 95, exit: 0, log: ['digest written: 6 ideas'] });
  }
  for (let i = 0; i < 6; i++) {
    await add('healthy-cleanup', i, { hoursAgo: 6 - i, durationS: 4, exit: 0, log: ['removed 12 files'] });
  }
  return count;
}
