// A ProcClaw install as it really is: a jobs folder of ProcClaw-shaped YAML files, prompts under
// ~/.procclaw/prompts, and ProcClaw's SQLite database (built here from its schema) with
// connection resets, 503s and SLA breaches. Imported into the real stack, reviewed by the rules
// analyzer, imported again, and followed while new runs arrive.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReview } from '../api/temporal.js';
import { followProcclaw, importProcclawOnce, SETTLE_MS, type ImportDeps, type ImportSummary } from '../cli/procclaw/import.js';
import { ProcclawSourceError } from '../cli/procclaw/source.js';
import { jobFilePaths } from '../core/job-files.js';
import { JobSchema } from '../core/job.js';
import { slaVerdict } from '../core/sla.js';
import { loadCatalog } from '../db/catalog.js';
import type { Db } from '../db/knex.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOUR = 3_600_000;

// ---------------------------------------------------------------------------------------------
// ProcClaw's files

/** A job file as ProcClaw writes it (model_dump of every field, defaults included). */
function procclawJob(fields: { name: string; cmd: string; type: string; extra?: string; selfHealing?: string; sla?: string; retry?: string }): string {
  return `# written by ProcClaw
name: ${fields.name}
cmd: ${fields.cmd}
description: ''
cwd: null
env:
  PARTNER_URL: https://partner.example/api
  BATCH_SIZE: '500'
type: ${fields.type}
enabled: true
${fields.extra ?? 'schedule: 0 * * * *'}
timezone: America/Sao_Paulo
on_overlap: skip
retry:
${fields.retry ?? `  enabled: true
  max_attempts: 5
  preset: webhook`}
  rate_limit_delays:
  - 60
  - 120
  - 300
  rate_limit_max_attempts: 5
shutdown:
  grace_period: 60
  signal: SIGTERM
health_check:
  type: process
  interval: 60
  timeout: 10
  method: GET
  expected_status: 200
  max_age: 120
log:
  stdout: ~/.procclaw/logs/job.log
  stderr: ~/.procclaw/logs/job.error.log
  max_size: 10MB
  rotate: 5
alerts:
  on_failure: true
  on_restart: false
  on_max_retries: true
  on_health_fail: false
  on_recovered: false
  channels:
  - whatsapp
depends_on: []
operating_hours:
  enabled: false
  days:
  - 1
  - 2
  - 3
  - 4
  - 5
  start: 08:00
  end: '18:00'
  timezone: America/Sao_Paulo
  action: skip
resources:
  enabled: false
  max_memory_mb: 512
  timeout_seconds: 3600
  action: warn
  check_interval: 30
priority: 1
dedup:
  enabled: true
  window_seconds: 60
  use_params: true
concurrency:
  max_instances: 1
  queue_excess: true
  queue_timeout: 300
lock:
  enabled: false
  timeout_seconds: 300
  retry_interval: 0.5
  max_attempts: 10
trigger:
  enabled: false
  type: webhook
  pattern: '*'
  delete_after: false
session_triggers: []
self_healing:
${fields.selfHealing ?? `  enabled: true
  mode: proactive
  review_schedule:
    frequency: daily
    time: '03:00'
    day: 1
    min_runs: 3`}
  preset: conservative
  analysis:
    include_logs: true
    log_lines: 200
  remediation:
    enabled: true
    max_attempts: 3
    allowed_actions:
    - restart_job
    forbidden_paths: []
    require_approval: false
  notify:
    on_analysis: false
    session: main
sla:
${fields.sla ?? `  enabled: false
  success_rate: 95.0
  schedule_tolerance: 300
  max_duration: null`}
  evaluation_period: 7d
  alert_on_breach: true
  alert_threshold: 90.0
tags:
- partner
queue: null
steps: []
jobs: []
`;
}

/** ProcClaw's database, with the columns of its job_runs and job_logs tables (schema v14). */
function createProcclawDb(file: string): Database.Database {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
    INSERT INTO schema_version VALUES (14);
    CREATE TABLE job_runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
      exit_code INTEGER, duration_seconds REAL, trigger TEXT DEFAULT 'manual', error TEXT, fingerprint TEXT,
      idempotency_key TEXT, composite_id TEXT, session_key TEXT, session_transcript TEXT, session_messages TEXT,
      sla_snapshot_id INTEGER, sla_status TEXT, sla_details TEXT, healing_status TEXT, healing_attempts INTEGER DEFAULT 0,
      healing_session_key TEXT, healing_result TEXT, original_exit_code INTEGER
    );
    CREATE TABLE job_logs (
      id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, job_id TEXT NOT NULL, timestamp TEXT NOT NULL,
      level TEXT DEFAULT 'stdout', line TEXT NOT NULL, line_num INTEGER, FOREIGN KEY (run_id) REFERENCES job_runs(id)
    );
    CREATE INDEX idx_job_logs_run_id ON job_logs(run_id);
  `);
  return db;
}

/** Python's naive isoformat(), as ProcClaw writes its times: "2026-01-15T03:00:00.123456". */
const pyIso = (d: Date) => `${d.toISOString().slice(0, 23)}456`;
/** SQLite's own "YYYY-MM-DD HH:MM:SS". */
const sqliteTime = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

interface RunSpec {
  job: string;
  startedAgoMs: number;
  seconds: number | null;
  exit: number | null;
  error?: string;
  stdout?: string[];
  stderr?: string[];
  sla?: { status: string; details?: object };
  session?: object[];
  trigger?: string;
  naive?: 'iso' | 'sqlite';
}

function addRun(db: Database.Database, r: RunSpec): number {
  const started = new Date(Date.now() - r.startedAgoMs);
  const fmt = r.naive === 'sqlite' ? sqliteTime : pyIso;
  const finished = r.seconds === null ? null : fmt(new Date(started.getTime() + r.seconds * 1000));
  const info = db
    .prepare(
      `INSERT INTO job_runs (job_id, started_at, finished_at, exit_code, duration_seconds, trigger, error, session_messages, sla_status, sla_details, fingerprint)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      r.job,
      fmt(started),
      finished,
      r.exit,
      r.seconds,
      r.trigger ?? 'scheduled',
      r.error ?? null,
      r.session ? JSON.stringify(r.session) : null,
      r.sla?.status ?? null,
      r.sla?.details ? JSON.stringify(r.sla.details) : null,
      'fp',
    );
  const id = Number(info.lastInsertRowid);
  addLogs(db, id, r.job, [...(r.stdout ?? []).map((l) => ['stdout', l] as const), ...(r.stderr ?? []).map((l) => ['stderr', l] as const)]);
  return id;
}

function addLogs(db: Database.Database, runId: number, job: string, lines: (readonly [string, string])[]): void {
  const insert = db.prepare('INSERT INTO job_logs (run_id, job_id, timestamp, level, line, line_num) VALUES (?, ?, ?, ?, ?, ?)');
  const base = (db.prepare('SELECT coalesce(max(line_num), 0) AS n FROM job_logs WHERE run_id = ?').get(runId) as { n: number }).n;
  lines.forEach(([level, line], i) => insert.run(runId, job, pyIso(new Date()), level, line, base + i + 1));
}

const RESET = 'ConnectionResetError: [Errno 104] Connection reset by peer';
const HTTP_503 = 'requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://partner.example/api/orders';

function slaDetails(seconds: number, max: number) {
  const ok = seconds <= max;
  return { status: ok ? 'pass' : 'partial', success_check: true, on_time_check: true, duration_check: ok, duration_seconds: seconds, max_duration: max, exit_code: 0 };
}

async function sha(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

function databaseUrlOf(db: Db): string {
  return (db.client.config.connection as { connectionString: string }).connectionString;
}

function healing(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined, HEALING_API_TOKEN: undefined, LOG_LEVEL: 'silent', ...env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'healing.ts'), ...args], {
      cwd: ROOT,
      env: Object.fromEntries(Object.entries(childEnv).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------

let stack: Stack;
let procclawHome: string;
let dbFile: string;
let sqlite: Database.Database;
let deps: ImportDeps;
let runningId: number;
const ids: Record<string, number[]> = {};

async function writeProcclawInstall() {
  procclawHome = path.join(stack.workDir, '.procclaw'); // the stack's home is workDir: this is ~/.procclaw
  await mkdir(path.join(procclawHome, 'prompts'), { recursive: true });
  await writeFile(
    path.join(stack.jobsDir, 'api-sync.yaml'),
    procclawJob({ name: 'API sync', cmd: 'python3 sync.py --source partner-api', type: 'scheduled', retry: '  enabled: false\n  max_attempts: 1\n  preset: webhook' }),
  );
  await writeFile(
    path.join(stack.jobsDir, 'nightly-report.yaml'),
    procclawJob({
      name: 'Nightly report',
      cmd: 'python3 report.py',
      type: 'scheduled',
      extra: 'schedule: 0 2 * * *',
      sla: '  enabled: true\n  success_rate: 95.0\n  schedule_tolerance: 300\n  max_duration: 600',
    }),
  );
  await writeFile(
    path.join(stack.jobsDir, 'oc-idea-hunter.yaml'),
    procclawJob({
      name: "'[OC] Idea Hunter'",
      cmd: '|\n  python3 ~/.procclaw/scripts/oc-runner-v3.py \\\n    ~/.procclaw/prompts/idea-hunter.md \\\n    --job-id idea-hunter \\\n    --timeout 600',
      type: 'openclaw',
      extra: 'schedule: 0 17 * * *\nmodel: sonnet\nthinking: low',
    }),
  );
  await writeFile(
    path.join(stack.jobsDir, 'flaky-webhook.yaml'),
    procclawJob({
      name: 'Flaky webhook',
      cmd: './webhook.sh',
      type: 'manual',
      extra: 'schedule: null',
      selfHealing: '  enabled: true\n  mode: reactive\n  review_schedule:\n    frequency: on_failure\n    min_runs: 1',
    }),
  );
  // The same eight rules pasted twice: the rules analyzer proposes the prompt without the copies.
  const rules = Array.from({ length: 8 }, (_, i) => `- Always check source ${i + 1} for new product ideas and summarise them in two lines.`);
  const feeds = ['Hacker News front page', 'Product Hunt daily', 'r/SideProject top of the week', 'Indie Hackers milestones', 'GitHub trending (all languages)', 'Y Combinator launches'];
  const prompt = ['# Idea hunter', '', 'Find new product ideas in these feeds:', ...feeds.map((f) => `* ${f}, read in full every day`), '', ...rules, '', ...rules, ''].join('\n');
  await writeFile(path.join(procclawHome, 'prompts', 'idea-hunter.md'), prompt);

  dbFile = path.join(procclawHome, 'procclaw.db');
  sqlite = createProcclawDb(dbFile);
  // api-sync: hourly, retries disabled, failing on connection resets and a 503.
  ids['api-sync'] = [];
  for (let i = 0; i < 8; i++) {
    const failure = i === 1 || i === 3 || i === 5 || i === 6;
    const line = i === 5 ? HTTP_503 : RESET;
    ids['api-sync'].push(
      addRun(sqlite, {
        job: 'api-sync',
        startedAgoMs: (30 - i * 3) * HOUR,
        seconds: failure ? 4.2 : 38.5,
        exit: failure ? 1 : 0,
        error: failure ? 'Process exited with code 1' : undefined,
        stdout: failure ? ['fetching orders page 1'] : ['fetching orders page 1', 'synced 120 orders'],
        stderr: failure ? ['Traceback (most recent call last):', '  File "sync.py", line 42, in fetch', line] : [],
        naive: i % 2 === 0 ? 'iso' : 'sqlite',
      }),
    );
  }
  // nightly-report: three of six runs over its 600 s SLA (ProcClaw records them as "partial").
  ids['nightly-report'] = [420, 480, 900, 950, 1020, 450].map((seconds, i) =>
    addRun(sqlite, {
      job: 'nightly-report',
      startedAgoMs: (6 - i) * 24 * HOUR,
      seconds,
      exit: 0,
      stdout: ['building report', `report written (${seconds} s)`],
      sla: { status: seconds > 600 ? 'partial' : 'pass', details: slaDetails(seconds, 600) },
    }),
  );
  // oc-idea-hunter: an OpenClaw job with its session transcript.
  ids['oc-idea-hunter'] = [0, 1, 2].map((i) =>
    addRun(sqlite, {
      job: 'oc-idea-hunter',
      startedAgoMs: (3 - i) * 24 * HOUR,
      seconds: 120,
      exit: 0,
      stdout: ['[oc-runner] session started', '[oc-runner] done'],
      session: [
        { type: 'message', message: { role: 'user', content: [{ type: 'text', text: 'Find product ideas' }] }, timestamp: '2026-01-01T17:00:00Z' },
        { type: 'message', message: { role: 'assistant', content: [{ type: 'text', text: 'Here are three ideas.' }] } },
      ],
    }),
  );
  ids['flaky-webhook'] = [addRun(sqlite, { job: 'flaky-webhook', startedAgoMs: 10 * HOUR, seconds: 2, exit: 0, stdout: ['delivered'] })];
  // A job ProcClaw no longer has: its history is kept.
  ids['retired-job'] = [addRun(sqlite, { job: 'retired-job', startedAgoMs: 40 * HOUR, seconds: 1, exit: 0 })];
  // Still running as the first import happens.
  runningId = addRun(sqlite, { job: 'api-sync', startedAgoMs: 60_000, seconds: null, exit: null, stdout: ['fetching orders page 1'] });
}

async function runsOf(jobId: string): Promise<any[]> {
  return stack.db('job_runs').where({ job_id: jobId }).orderBy('started_at');
}

async function triggerAndWait(jobId: string) {
  const started = await http(stack.api, 'POST', `/api/v1/healing/reviews/${jobId}/trigger`, { force: true });
  expect([200, 202], JSON.stringify(started.body)).toContain(started.status);
  return eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `the review of ${jobId}`);
}

beforeAll(async () => {
  stack = await startStack();
  await mkdir(stack.jobsDir, { recursive: true });
  await writeProcclawInstall();
  deps = { db: stack.db, jobsSource: stack.jobsDir, startReview: (input) => startReview(stack.env.client, stack.db, input), api: null };
});
afterAll(async () => {
  sqlite?.close();
  await stack?.stop();
});

describe('importing a ProcClaw database', () => {
  let first: ImportSummary;
  let fileBefore: { sha: string; mtimeMs: number };

  it('when imported, every run becomes a job run with its times, exit code, error, SLA verdict, session and last log lines', async () => {
    fileBefore = { sha: await sha(dbFile), mtimeMs: (await stat(dbFile)).mtimeMs };
    first = await importProcclawOnce(deps, { dbFile });
    expect(first.created).toBe(8 + 6 + 3 + 1 + 1 + 1);
    expect(first.skipped).toEqual([]);
    expect(first.running).toBe(1);
    expect(first.reviews).toEqual([]); // history starts no review

    const apiSync = await runsOf('api-sync');
    expect(apiSync).toHaveLength(9);
    const failed = apiSync.find((r) => r.external_id === `procclaw-${ids['api-sync']![1]}`);
    expect(failed).toMatchObject({ exit_code: 1, duration_ms: 4200, trigger: 'scheduled', error: 'Process exited with code 1' });
    expect(failed.log_tail.split('\n')).toEqual(['fetching orders page 1', 'Traceback (most recent call last):', '  File "sync.py", line 42, in fetch', RESET]);
    // Naive times are UTC, in both of ProcClaw's formats.
    const startedRow = sqlite.prepare('SELECT started_at FROM job_runs WHERE id = ?').get(ids['api-sync']![1]) as { started_at: string };
    expect(failed.started_at.toISOString().slice(0, 19)).toBe(startedRow.started_at.replace(' ', 'T').slice(0, 19));

    const slow = (await runsOf('nightly-report')).find((r) => r.external_id === `procclaw-${ids['nightly-report']![4]}`);
    expect(slow.sla_status).toBe('fail');
    expect(slow.sla_details).toMatchObject({ procclaw_status: 'partial', duration_check: false, max_duration: 600 });
    expect(slow.sla_details.reason).toMatch(/took 1020 s, longer than the SLA max_duration of 600 s/);

    const session = (await runsOf('oc-idea-hunter'))[0];
    expect(session.session_messages).toEqual([
      { role: 'user', content: 'Find product ideas', timestamp: '2026-01-01T17:00:00Z' },
      { role: 'assistant', content: 'Here are three ideas.' },
    ]);
    expect(await runsOf('retired-job')).toHaveLength(1);
    const running = apiSync.find((r) => r.external_id === `procclaw-${runningId}`);
    expect(running).toMatchObject({ finished_at: null, exit_code: null });
  });

  it('when imported, ProcClaw\'s database is left exactly as it was', async () => {
    expect(await sha(dbFile)).toBe(fileBefore.sha);
    expect((await stat(dbFile)).mtimeMs).toBe(fileBefore.mtimeMs);
    await expect(stat(`${dbFile}-journal`)).rejects.toThrow();
    await expect(stat(`${dbFile}-wal`)).rejects.toThrow();
  });

  it('when imported twice, the second import adds nothing', async () => {
    const before = await stack.db('job_runs').count<{ count: number }[]>({ count: '*' });
    const second = await importProcclawOnce(deps, { dbFile });
    expect(second).toMatchObject({ created: 0, updated: 0, running: 1, reviews: [] });
    const after = await stack.db('job_runs').count<{ count: number }[]>({ count: '*' });
    expect(after[0]!.count).toBe(before[0]!.count);
    const cursor = await stack.db('import_cursors').where({ source: dbFile }).first();
    expect(cursor).toMatchObject({ kind: 'procclaw', last_run_id: runningId, pending_run_ids: [runningId], runs_imported: first.created });
  });

  it('when a run that was running has finished since, the next import brings it up to date, once', async () => {
    sqlite
      .prepare('UPDATE job_runs SET finished_at = ?, exit_code = 1, duration_seconds = 61.5, error = ? WHERE id = ?')
      .run(pyIso(new Date()), 'Process exited with code 1', runningId);
    addLogs(sqlite, runningId, 'api-sync', [['stderr', RESET]]);
    const third = await importProcclawOnce(deps, { dbFile });
    expect(third).toMatchObject({ created: 0, updated: 1, running: 0 });
    const row = await stack.db('job_runs').where({ job_id: 'api-sync', external_id: `procclaw-${runningId}` }).first();
    expect(row).toMatchObject({ exit_code: 1, duration_ms: 61_500, error: 'Process exited with code 1' });
    expect(row.finished_at).not.toBeNull();
    expect(row.log_tail).toBe(`fetching orders page 1\n${RESET}`);
    // api-sync reviews daily, not on failure: nothing starts.
    expect(third.reviews).toEqual([]);
    // Read again for late log lines until its window has passed, then no more.
    expect((await stack.db('import_cursors').where({ source: dbFile }).first()).pending_run_ids).toEqual([runningId]);
    const fourth = await importProcclawOnce(deps, { dbFile, now: () => new Date(Date.now() + SETTLE_MS + 60_000) });
    expect(fourth).toMatchObject({ created: 0, updated: 0, running: 0 });
    expect((await stack.db('import_cursors').where({ source: dbFile }).first()).pending_run_ids).toEqual([]);
  });
});

describe('reviews of the imported jobs', () => {
  it('when a job fails on connection resets and 503s with retries disabled, the review suggests retrying, as an edit ProcClaw still loads', async () => {
    const review = await triggerAndWait('api-sync');
    expect(review.status).toBe('completed');
    expect(review.runs_analyzed).toBe(9);
    const retry = review.suggestions.find((s: any) => s.title === 'Retry transient failures');
    expect(retry, JSON.stringify(review.suggestions.map((s: any) => s.title))).toBeDefined();
    expect(retry.category).toBe('reliability');
    // As stored (raw: the open API's one person is its admin): shown, the job's env values are masked.
    const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${retry.id}?raw=true`);
    // The review reads the logs of the five newest runs: three of them failed on these.
    expect(detail.body.description).toMatch(/connection reset ×2, HTTP 502\/503\/504 ×1/);
    expect(detail.body.description).toContain('Connection reset by peer');
    expect(detail.body.target_file).toBe(path.join(stack.jobsDir, 'api-sync.yaml'));
    // The edit changes retry only; every ProcClaw field is still there and still valid.
    const edited = parse(detail.body.proposed_content);
    expect(edited.retry).toMatchObject({ enabled: true, max_attempts: 3, preset: 'webhook', rate_limit_max_attempts: 5 });
    const original = parse(await readFile(path.join(stack.jobsDir, 'api-sync.yaml'), 'utf8'));
    expect({ ...edited, retry: original.retry }).toEqual(original);
    expect(detail.body.proposed_content).toContain('# written by ProcClaw');
    expect(JobSchema.safeParse(edited).success).toBe(true);
  });

  it('when a job breaks its SLA in half its runs, the review names the SLA problem with the slow runs', async () => {
    const review = await triggerAndWait('nightly-report');
    expect(review.status).toBe('completed');
    expect(review.sla_violations_count).toBe(3);
    const sla = review.suggestions.find((s: any) => s.title === 'Run duration near or over the SLA limit');
    expect(sla, JSON.stringify(review.suggestions.map((s: any) => s.title))).toBeDefined();
    expect(sla.category).toBe('performance');
    const detail = await http(stack.api, 'GET', `/api/v1/healing/suggestions/${sla.id}`);
    expect(detail.body.description).toMatch(/3 run\(s\) went over the limit/);
    expect(detail.body.description).toMatch(/SLA limit of 10m 00s/);
  });

  it('when an openclaw job names its prompt in its command, the review reads that prompt and proposes the prompt edit', async () => {
    const review = await triggerAndWait('oc-idea-hunter');
    expect(review.status).toBe('completed');
    expect(review.ai_sessions_count).toBe(3);
    const prompt = review.suggestions.find((s: any) => s.category === 'cost' && s.target_file);
    expect(prompt, JSON.stringify(review.suggestions.map((s: any) => s.title))).toBeDefined();
    expect(prompt.target_file).toBe(path.join(procclawHome, 'prompts', 'idea-hunter.md'));
  });
});

describe('following a ProcClaw database', () => {
  it('when a new failed run of an on_failure job appears, --follow starts one reactive review for it within seconds', async () => {
    const stop = new AbortController();
    const passes: ImportSummary[] = [];
    const errors: Error[] = [];
    const following = followProcclaw(deps, { dbFile, intervalMs: 200, signal: stop.signal, onPass: (s) => passes.push(s), onError: (e) => errors.push(e) });
    try {
      await eventually(async () => passes.length >= 1, 10_000, 'the first pass');
      const newRun = addRun(sqlite, {
        job: 'flaky-webhook',
        startedAgoMs: 5_000,
        seconds: 3,
        exit: 1,
        error: 'Process exited with code 1',
        stderr: ['curl: (56) Recv failure: Connection reset by peer'],
      });
      const review = await eventually(async () => {
        const list = await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=flaky-webhook');
        const r = list.body.reviews[0];
        return r && r.status !== 'running' ? r : undefined;
      }, 30_000, 'the reactive review');
      expect(review).toMatchObject({ trigger: 'on_failure', status: 'completed', runs_analyzed: 1 });
      const run = await stack.db('job_runs').where({ job_id: 'flaky-webhook', external_id: `procclaw-${newRun}` }).first();
      expect(review.run_id).toBe(run.id);
      // More passes find nothing new and start nothing more.
      const seen = passes.length;
      await eventually(async () => passes.length >= seen + 3, 10_000, 'three more passes');
      const all = await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=flaky-webhook');
      expect(all.body.total).toBe(1);
      expect(passes.flatMap((p) => p.reviews)).toHaveLength(1);
      expect(errors).toEqual([]);
    } finally {
      stop.abort();
      await following;
    }
  });

  it('when following through the API, a new failed run is reported there and the API starts its reactive review', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'cli', 'healing.ts'), 'import', 'procclaw', '--db', dbFile, '--follow', '--interval', '0.3', '--api', stack.api],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: databaseUrlOf(stack.db), TEMPORAL_ADDRESS: '', HEALING_JOBS_DIR: '', LOG_LEVEL: 'silent' },
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await eventually(async () => output.includes('following'), 30_000, 'the import to start following');
      const newRun = addRun(sqlite, { job: 'flaky-webhook', startedAgoMs: 4_000, seconds: 2, exit: 7, error: 'HTTP 503 from the webhook', stderr: [HTTP_503] });
      const latest = await eventually(async () => {
        const list = await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=flaky-webhook');
        return list.body.total === 2 && list.body.reviews[0].status !== 'running' ? list.body.reviews[0] : undefined;
      }, 30_000, 'the second reactive review');
      const run = await stack.db('job_runs').where({ job_id: 'flaky-webhook', external_id: `procclaw-${newRun}` }).first();
      expect(run).toMatchObject({ exit_code: 7, error: 'HTTP 503 from the webhook' });
      expect(latest).toMatchObject({ trigger: 'on_failure', run_id: run.id, status: 'completed' });
      await eventually(async () => output.includes('healing-review/flaky-webhook'), 10_000, 'the import to name the review');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

describe('what ProcClaw writes after a run has finished', () => {
  const runOf = (job: string, procclawId: number) => stack.db('job_runs').where({ job_id: job, external_id: `procclaw-${procclawId}` }).first();

  /** Follows the database while `body` runs; every pass's summary is kept. */
  async function following(body: (passes: ImportSummary[]) => Promise<void>) {
    const stop = new AbortController();
    const passes: ImportSummary[] = [];
    const errors: Error[] = [];
    // holdMs 0: the late writes below come after ProcClaw's usual moment, past the hold (HOLD_MS).
    const done = followProcclaw(deps, { dbFile, intervalMs: 200, holdMs: 0, signal: stop.signal, onPass: (s) => passes.push(s), onError: (e) => errors.push(e) });
    try {
      await eventually(async () => passes.length >= 1, 10_000, 'the first pass');
      await body(passes);
    } finally {
      stop.abort();
      await done;
    }
    expect(errors).toEqual([]);
  }

  /** Waits out the pass in flight, then three more: none of them may change anything. */
  async function expectQuietPasses(passes: ImportSummary[]) {
    const inFlight = passes.length + 1;
    await eventually(async () => passes.length >= inFlight, 10_000, 'the pass in flight');
    const from = passes.length;
    await eventually(async () => passes.length >= from + 3, 10_000, 'three more passes');
    expect(passes.slice(from).map((p) => [p.created, p.updated])).toEqual([[0, 0], [0, 0], [0, 0]]);
  }

  it("when a run's log lines are written after its finish, --follow adds them to the run it imported finished, once", async () => {
    await following(async (passes) => {
      // ProcClaw's order: update_run commits the finish, then _save_run_logs adds stdout, then stderr.
      const id = addRun(sqlite, { job: 'api-sync', startedAgoMs: 6_000, seconds: 5, exit: 0 });
      const imported = await eventually(async () => runOf('api-sync', id), 10_000, 'the finished run');
      expect(imported).toMatchObject({ exit_code: 0, duration_ms: 5000, log_tail: null });
      addLogs(sqlite, id, 'api-sync', [['stdout', 'fetching orders page 1'], ['stdout', 'synced 80 orders']]);
      addLogs(sqlite, id, 'api-sync', [['stderr', 'DeprecationWarning: TLS 1.0']]);
      const row = await eventually(async () => {
        const r = await runOf('api-sync', id);
        return r?.log_tail?.includes('DeprecationWarning') ? r : undefined;
      }, 10_000, 'the late log lines');
      expect(row.log_tail).toBe('fetching orders page 1\nsynced 80 orders\nDeprecationWarning: TLS 1.0');
      expect(row).toMatchObject({ id: imported.id, exit_code: 0, duration_ms: 5000 });
      expect(row.finished_at).toEqual(imported.finished_at);
      await expectQuietPasses(passes);
      expect(await stack.db('job_runs').where({ job_id: 'api-sync', external_id: `procclaw-${id}` }).count<{ count: number }[]>({ count: '*' })).toEqual([{ count: 1 }]);
    });
  });

  it("when a run's log lines arrive after an import that stored its finish, the next import adds them, even an hour later, then stops looking", async () => {
    const id = addRun(sqlite, { job: 'api-sync', startedAgoMs: 20_000, seconds: 2, exit: 0 });
    const first = await importProcclawOnce(deps, { dbFile }); // finished 18 s ago: past the hold, stored without lines
    expect(first).toMatchObject({ created: 1, updated: 0 });
    expect(await runOf('api-sync', id)).toMatchObject({ log_tail: null });
    expect((await stack.db('import_cursors').where({ source: dbFile }).first()).pending_run_ids).toContain(id);
    addLogs(sqlite, id, 'api-sync', [['stdout', 'fetching orders page 1'], ['stdout', 'synced 12 orders']]);
    const anHourLater = () => new Date(Date.now() + HOUR);
    const second = await importProcclawOnce(deps, { dbFile, now: anHourLater });
    expect(second).toMatchObject({ created: 0, updated: 1, reviews: [] });
    expect(await runOf('api-sync', id)).toMatchObject({ log_tail: 'fetching orders page 1\nsynced 12 orders' });
    // Its window has passed: the run is not read again, whatever ProcClaw does with it later.
    expect((await stack.db('import_cursors').where({ source: dbFile }).first()).pending_run_ids).not.toContain(id);
    addLogs(sqlite, id, 'api-sync', [['stdout', 'a line written a day later']]);
    const third = await importProcclawOnce(deps, { dbFile, now: anHourLater });
    expect(third).toMatchObject({ created: 0, updated: 0 });
    expect(await runOf('api-sync', id)).toMatchObject({ log_tail: 'fetching orders page 1\nsynced 12 orders' });
  });

  it("when an OpenClaw run's session messages are saved after its finish (after `openclaw sessions`), --follow adds them to the run it imported", async () => {
    await following(async (passes) => {
      const id = addRun(sqlite, { job: 'oc-idea-hunter', startedAgoMs: 130_000, seconds: 120, exit: 0, stdout: ['[oc-runner] done'] });
      const imported = await eventually(async () => runOf('oc-idea-hunter', id), 10_000, 'the finished run');
      expect(imported).toMatchObject({ log_tail: '[oc-runner] done', session_messages: null });
      // _extract_session_info: update_run again, with the session key, transcript and messages.
      const messages = [
        { type: 'message', message: { role: 'user', content: [{ type: 'text', text: 'Find product ideas' }] } },
        { type: 'message', message: { role: 'assistant', content: [{ type: 'text', text: 'Two ideas today.' }] } },
      ];
      sqlite
        .prepare('UPDATE job_runs SET session_key = ?, session_transcript = ?, session_messages = ? WHERE id = ?')
        .run('agent:main:cron:1', '/tmp/transcript.jsonl', JSON.stringify(messages), id);
      const row = await eventually(async () => {
        const r = await runOf('oc-idea-hunter', id);
        return r?.session_messages ? r : undefined;
      }, 10_000, 'the late session messages');
      expect(row.session_messages).toEqual([
        { role: 'user', content: 'Find product ideas' },
        { role: 'assistant', content: 'Two ideas today.' },
      ]);
      expect(row).toMatchObject({ id: imported.id, log_tail: '[oc-runner] done', exit_code: 0 });
      await expectQuietPasses(passes);
    });
  });
});

describe('a run a person stopped', () => {
  const reviewsOf = async (job: string) => (await http(stack.api, 'GET', `/api/v1/healing/reviews?job_id=${job}`)).body.total as number;

  it('when a person stops an on_failure job\'s run (ProcClaw records exit -15, "Manually stopped"), the import starts no review, directly or through the API', async () => {
    const before = await reviewsOf('flaky-webhook');
    const direct = addRun(sqlite, { job: 'flaky-webhook', startedAgoMs: 8_000, seconds: 6, exit: -15, error: 'Manually stopped', stdout: ['delivering'] });
    const one = await importProcclawOnce(deps, { dbFile });
    expect(one).toMatchObject({ created: 1, reviews: [], reviews_not_started: 0 });
    const viaApi = addRun(sqlite, { job: 'flaky-webhook', startedAgoMs: 5_000, seconds: 3, exit: -15, error: 'Manually stopped' });
    const two = await importProcclawOnce({ ...deps, startReview: null, api: { url: stack.api, token: null } }, { dbFile });
    expect(two).toMatchObject({ created: 1, reviews: [], reviews_not_started: 0 });
    for (const id of [direct, viaApi]) {
      expect(await stack.db('job_runs').where({ job_id: 'flaky-webhook', external_id: `procclaw-${id}` }).first()).toMatchObject({ exit_code: -15, error: 'Manually stopped' });
    }
    expect(await reviewsOf('flaky-webhook')).toBe(before);
  });
});

describe('where ProcClaw keeps its database', () => {
  it('when --db is not given, the import reads $PROCCLAW_HOME/procclaw.db, says so when it is not there, and doctor names that file', async () => {
    const env = { PROCCLAW_HOME: procclawHome, DATABASE_URL: databaseUrlOf(stack.db) };
    const imported = await healing(['import', 'procclaw'], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`imported from ${dbFile}`);
    const nowhere = path.join(stack.workDir, 'no-procclaw');
    const missing = await healing(['import', 'procclaw'], { PROCCLAW_HOME: nowhere });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `${path.join(nowhere, 'procclaw.db')}: no such file (the default, $PROCCLAW_HOME/procclaw.db with PROCCLAW_HOME=${nowhere}). Set PROCCLAW_HOME to ProcClaw's folder, or point --db at its database.`,
    );
    const doctor = await healing(['doctor'], env);
    expect(doctor.stdout).toMatch(new RegExp(`info\\s+ProcClaw\\s+\`healing import procclaw\` reads ${dbFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(PROCCLAW_HOME=`));
  });
});

describe('a database that is not ProcClaw\'s', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'procclaw-bad-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('when the file is missing, foreign, lacks columns or is no SQLite at all, the import exits 2 naming the file and the problem', async () => {
    const foreign = path.join(dir, 'foreign.db');
    const other = new Database(foreign);
    other.exec('CREATE TABLE notes (id INTEGER, body TEXT)');
    other.close();
    const columns = path.join(dir, 'columns.db');
    const old = new Database(columns);
    old.exec('CREATE TABLE job_runs (id INTEGER PRIMARY KEY, job_id TEXT, started_at TEXT)');
    old.close();
    const text = path.join(dir, 'text.db');
    await writeFile(text, 'this is a text file and not a database at all, long enough to have a header\n'.repeat(4));
    const cases: [string, RegExp][] = [
      [path.join(dir, 'missing.db'), /missing\.db: no such file/],
      [foreign, /foreign\.db is not a ProcClaw database: it has no job_runs table \(its tables: notes\)/],
      [columns, /columns\.db is not a ProcClaw database: its job_runs table lacks the column\(s\) finished_at, exit_code/],
      [text, /text\.db is not a ProcClaw database: it is not a SQLite file at all/],
    ];
    const results = await Promise.all(cases.map(([file]) => healing(['import', 'procclaw', '--db', file], {})));
    results.forEach((result, i) => {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(cases[i]![1]);
    });
  });

  it('when ProcClaw holds a write lock, the import exits 2 saying the file is locked', async () => {
    const locked = path.join(dir, 'locked.db');
    const holder = createProcclawDb(locked);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const result = await healing(['import', 'procclaw', '--db', locked, '--lock-timeout', '0.3'], {});
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`${locked} is locked by another process`);
      // In process too: the error says what it is, so --follow can wait for the next pass.
      await expect(importProcclawOnce(deps, { dbFile: locked, lockTimeoutMs: 100 })).rejects.toSatisfy(
        (e: unknown) => e instanceof ProcclawSourceError && e.kind === 'locked' && e.exitCode === 2,
      );
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });
});

describe('the ProcClaw catalog', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'procclaw-catalog-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('when ProcClaw writes every field of its jobs, they all load and are kept as they are', async () => {
    const catalog = await loadCatalog(stack.jobsDir);
    expect(catalog.errors).toEqual([]);
    expect(catalog.jobs.map((j) => j.id).sort()).toEqual(['api-sync', 'flaky-webhook', 'nightly-report', 'oc-idea-hunter']);
    const job = catalog.jobs.find((j) => j.id === 'oc-idea-hunter')!;
    expect(job.config).toMatchObject({
      type: 'openclaw',
      priority: 1,
      model: 'sonnet',
      thinking: 'low',
      on_overlap: 'skip',
      tags: ['partner'],
      depends_on: [],
      steps: [],
      jobs: [],
      log: { stdout: '~/.procclaw/logs/job.log', stderr: '~/.procclaw/logs/job.error.log' },
      health_check: { type: 'process', interval: 60 },
      resources: { max_memory_mb: 512 },
      operating_hours: { start: '08:00', days: [1, 2, 3, 4, 5] },
      retry: { enabled: true, max_attempts: 5, rate_limit_delays: [60, 120, 300] },
      self_healing: { preset: 'conservative', remediation: { allowed_actions: ['restart_job'] } },
    });
    expect(job.config.cwd).toBeUndefined(); // `cwd: null` reads as absent
    expect(catalog.jobs.find((j) => j.id === 'flaky-webhook')!.config.schedule).toBeUndefined();
  });

  it('when ProcClaw\'s home folder is given, its jobs/ folder is read, else its older jobs.yaml with a jobs: map', async () => {
    const home = path.join(dir, 'home');
    await mkdir(home, { recursive: true });
    await writeFile(path.join(home, 'procclaw.yaml'), 'daemon:\n  port: 9876\n');
    await writeFile(
      path.join(home, 'jobs.yaml'),
      'jobs:\n  _version: 2\n  backup:\n    name: Backup\n    cmd: ./backup.sh\n    type: oneshot\n    run_at: 2026-03-01T03:00:00\n  chain-a:\n    name: Chain\n    cmd: "true"\n    type: chain\n    steps: [backup]\n',
    );
    const legacy = await loadCatalog(home);
    expect(legacy.errors).toEqual([]);
    expect(legacy.jobs.map((j) => [j.id, j.config.type, j.file])).toEqual([
      ['backup', 'oneshot', path.join(home, 'jobs.yaml')],
      ['chain-a', 'chain', path.join(home, 'jobs.yaml')],
    ]);
    await mkdir(path.join(home, 'jobs'));
    await writeFile(path.join(home, 'jobs', 'report.yaml'), 'name: Report\ncmd: ./report.sh\nsla:\n  max_duration: null\n');
    const current = await loadCatalog(home);
    expect(current.errors).toEqual([]);
    expect(current.jobs.map((j) => j.id)).toEqual(['report']);
  });

  it('when a job in ProcClaw\'s jobs folder sets sla.max_duration without sla.enabled, it has no SLA, as in ProcClaw; in the service\'s own catalog it has one', async () => {
    const yaml = 'name: Report\ncmd: ./report.sh\nsla:\n  max_duration: 600\n';
    const home = path.join(dir, 'sla-home');
    await mkdir(path.join(home, 'jobs'), { recursive: true });
    await writeFile(path.join(home, 'procclaw.db'), '');
    await writeFile(path.join(home, 'jobs', 'report.yaml'), yaml);
    await writeFile(path.join(home, 'jobs', 'checked.yaml'), yaml.replace('sla:\n', 'sla:\n  enabled: true\n'));
    const own = path.join(dir, 'own-jobs');
    await mkdir(own, { recursive: true });
    await writeFile(path.join(own, 'report.yaml'), yaml);
    const procclaw = await loadCatalog(home);
    expect(procclaw.errors).toEqual([]);
    const job = (id: string) => procclaw.jobs.find((j) => j.id === id)!.config;
    // A 15-minute run against a 10-minute limit.
    expect(slaVerdict(job('report').sla ?? null, 900_000)).toBeNull();
    expect(slaVerdict(job('checked').sla ?? null, 900_000)).toMatchObject({ status: 'fail' });
    const mine = (await loadCatalog(own)).jobs[0]!.config;
    expect(slaVerdict(mine.sla ?? null, 900_000)).toMatchObject({ status: 'fail', details: { max_duration: 600 } });
  });

  it('when an openclaw job names its prompt, that file is its prompt; else prompts/<id>.md; and only openclaw jobs have one', () => {
    const env = { home: '/home/me', procclawHome: '/home/me/.procclaw' };
    const job = (id: string, config: Record<string, unknown>) => ({ id, file: `/home/me/.procclaw/jobs/${id}.yaml`, config: JobSchema.parse({ name: id, cmd: './run.sh', ...config }) });
    const prompt = (id: string, config: Record<string, unknown>) => jobFilePaths(job(id, config), env).prompt;
    expect(prompt('a', { type: 'openclaw', prompt_file: '~/prompts/a.md' })).toBe('/home/me/prompts/a.md');
    expect(prompt('b', { type: 'openclaw', prompt: '~/.procclaw/prompts/bee.txt' })).toBe('/home/me/.procclaw/prompts/bee.txt');
    expect(prompt('c', { type: 'openclaw', prompt: 'Summarise the news in five lines.' })).toBe('/home/me/.procclaw/prompts/c.md');
    expect(prompt('d', { type: 'openclaw', openclaw: { prompt_file: '/srv/prompts/d.md' } })).toBe('/srv/prompts/d.md');
    expect(prompt('oc-e', { type: 'openclaw', cmd: 'python3 ~/.procclaw/scripts/oc-runner-v3.py \\\n  ~/.procclaw/prompts/e.md --job-id e' })).toBe('/home/me/.procclaw/prompts/e.md');
    expect(prompt('f', { type: 'openclaw', cmd: 'python3 ~/.procclaw/scripts/oc-runner-v3.py --job-id f' })).toBe('/home/me/.procclaw/prompts/f.md');
    expect(prompt('g', { type: 'scheduled', prompt_file: 'prompts/g.md' })).toBeNull();
    const notPrompt = jobFilePaths(job('h', { type: 'scheduled', cmd: './notes/h.md' }), env);
    expect(notPrompt).toEqual({ config: '/home/me/.procclaw/jobs/h.yaml', script: null, prompt: null, promptCandidates: [] });
    // ProcClaw also gives a job `oc-<stem>` the prompt prompts/<stem>.md: the caller takes the first that exists.
    expect(jobFilePaths(job('oc-s', { type: 'openclaw', cmd: 'python3 ~/.procclaw/scripts/oc-runner.py' }), env).promptCandidates).toEqual([
      '/home/me/.procclaw/prompts/oc-s.md',
      '/home/me/.procclaw/prompts/s.md',
    ]);
    expect(jobFilePaths(job('oc-e', { type: 'openclaw', cmd: 'python3 ~/.procclaw/scripts/oc-runner-v3.py \\\n  ~/.procclaw/prompts/e.md' }), env).script).toBe(
      '/home/me/.procclaw/scripts/oc-runner-v3.py',
    );
  });
});
