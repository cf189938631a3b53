// A demo workspace: a few jobs with realistic problems and a run history, so a first start
// shows real reviews. Written once; a second start keeps what is there. Its first reviews run at
// the first start with a worker (runFirstReviews), so the dashboard opens on real suggestions.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { sendCommand, startReview } from '../api/temporal.js';
import { reactiveTrigger } from '../core/review.js';
import { loadCatalog } from '../db/catalog.js';
import type { Db } from '../db/knex.js';
import { upsertRun } from '../db/runs.js';
import { getSuggestion } from '../db/suggestions.js';

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
  // A fresh workspace owes its first reviews; runFirstReviews marks them done (a workspace from
  // before this marker existed has none, and is left as it is).
  await writeFile(path.join(root, FIRST_REVIEWS_MARKER), `${JSON.stringify({ status: 'pending' })}\n`);
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
  // The reactive job: two deploys went through, the last failed (its on_failure review looks at it).
  for (let i = 0; i < 3; i++) {
    const fails = i === 2;
    await add('deploy-hook', i, {
      hoursAgo: 30 - i * 12,
      durationS: fails ? 48 : 95,
      exit: fails ? 1 : 0,
      error: fails ? 'npm ci failed: ETIMEDOUT fetching registry.npmjs.org' : undefined,
      log: fails ? ['Already up to date.', 'npm ERR! code ETIMEDOUT', 'npm ERR! network request to https://registry.npmjs.org failed'] : ['Fast-forward', 'added 812 packages in 41s', 'app restarted'],
    });
  }
  return count;
}

/** In the demo folder: `{"status":"pending"}` while a fresh workspace's first reviews are owed, `done` after. */
export const FIRST_REVIEWS_MARKER = '.first-reviews.json';

/** Who the demo's own decisions are recorded as, so nobody takes them for theirs. */
const DEMO_ACTOR = 'demo';

export interface FirstReviewsResult {
  reviews: { jobId: string; status: string }[];
  applied: number | null;
  rejected: number | null;
  rolledBack: number | null;
}

/**
 * The first reviews of a fresh demo workspace, once: every job with healing on is reviewed (the
 * reactive one on its failed run), a second review of a job reviewed a moment ago shows a skip
 * below min_runs, and three suggestions are decided as a person would (one applied, one applied
 * and rolled back, one rejected) so every state shows with the rest pending. Decisions are
 * recorded as made by "demo". Returns null when nothing is owed; throws (the marker stays
 * pending, so the next start tries again) when a step fails.
 */
export async function runFirstReviews(deps: { client: Client; db: Db; root: string; jobsSource: string; log: Logger; signal?: AbortSignal }): Promise<FirstReviewsResult | null> {
  const marker = path.join(deps.root, FIRST_REVIEWS_MARKER);
  const owed = await readFile(marker, 'utf8').then((t) => (JSON.parse(t) as { status?: string }).status === 'pending', () => false);
  if (!owed) return null;
  const { client, db, signal } = deps;
  const catalog = await loadCatalog(deps.jobsSource);
  const result: FirstReviewsResult = { reviews: [], applied: null, rejected: null, rolledBack: null };

  const review = async (jobId: string, input: Parameters<typeof startReview>[2]) => {
    signal?.throwIfAborted();
    const started = await startReview(client, db, input);
    const outcome = await untilAborted(client.workflow.getHandle(started.workflowId, started.runId).result() as Promise<{ status: string }>, signal);
    result.reviews.push({ jobId, status: outcome.status });
  };
  // One after another: the analysis queue takes one at a time anyway.
  for (const job of catalog.jobs.filter((j) => j.config.self_healing.enabled)) {
    if (job.config.self_healing.mode === 'reactive') {
      const failed = await db('job_runs').where({ job_id: job.id }).whereNot({ exit_code: 0 }).orderBy('started_at', 'desc').first();
      const trigger = failed ? reactiveTrigger(job.config, failed) : null;
      if (failed && trigger) await review(job.id, { jobId: job.id, trigger, runId: failed.id });
    } else {
      await review(job.id, { jobId: job.id, trigger: 'manual' });
    }
  }
  const again = result.reviews.find((r) => r.status === 'completed' && catalog.jobs.find((j) => j.id === r.jobId)?.config.self_healing.mode === 'proactive');
  if (again) await review(again.jobId, { jobId: again.jobId, trigger: 'manual' });

  // Pending ones a single person may decide (critical and security ones need two approvers); the
  // two applied are file edits, of different jobs where there are, the rejected one another job's.
  const pending = (await db('healing_suggestions')
    .where({ status: 'pending' })
    .whereNot({ category: 'security' })
    .whereNot({ severity: 'critical' })
    .orderBy('id')
    .select('id', 'job_id', 'target_file', 'proposed_content')) as { id: number; job_id: string; target_file: string | null; proposed_content: string | null }[];
  const edits = pending.filter((s) => s.target_file !== null && s.proposed_content !== null);
  const applyPick = edits[0];
  const rollbackPick = edits.find((s) => s.job_id !== applyPick?.job_id) ?? edits[1];
  const used = new Set([applyPick?.job_id, rollbackPick?.job_id]);
  const rest = pending.filter((s) => s !== applyPick && s !== rollbackPick);
  const rejectPick = rest.find((s) => !used.has(s.job_id)) ?? rest[0];
  const statusNow = (id: number) => async () => (await getSuggestion(db, id))?.status;
  const command = (id: number, name: 'approve' | 'reject' | 'rollback', args: object) => {
    signal?.throwIfAborted();
    return sendCommand(client, id, name, { by: DEMO_ACTOR, ...args }, statusNow(id));
  };
  const [applyId, rollbackId, rejectId] = [applyPick?.id, rollbackPick?.id, rejectPick?.id];
  if (applyId !== undefined) {
    const r = await command(applyId, 'approve', { comment: 'approved by the demo at its first start', apply: true });
    if ('status' in r && r.status === 'applied') result.applied = applyId;
  }
  if (rollbackId !== undefined) {
    const r = await command(rollbackId, 'approve', { comment: 'approved by the demo at its first start', apply: true });
    if (!('accepted' in r) && r.status === 'applied' && r.action_id !== null) {
      const back = await command(rollbackId, 'rollback', { actionId: r.action_id, force: false });
      if ('status' in back && back.status === 'rolled_back') result.rolledBack = rollbackId;
    }
  }
  if (rejectId !== undefined) {
    await command(rejectId, 'reject', { reason: 'Rejected by the demo at its first start, to show a rejection: the reason is kept.' });
    result.rejected = rejectId;
  }
  await writeFile(marker, `${JSON.stringify({ status: 'done', at: new Date().toISOString(), ...result })}\n`);
  return result;
}

/** The promise, or an AbortError as soon as the signal fires (the awaited work goes on in Temporal). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
