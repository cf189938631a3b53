// Shared parts of the fault drills: real Postgres and Temporal processes that can be stopped and
// started again with their data, `healing` child processes, an HTTP recorder that classifies
// every answer, and the checks every drill ends with (nothing lost, nothing doubled, nothing
// written outside the job files). Drills are scripts, not vitest files: `npm run drill`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { seedDemoRuns, writeDemoWorkspace } from '../../cli/demo.js';
import { sha256 } from '../../core/hash.js';
import { severityRank } from '../../core/policy.js';
import { QUERY_NAMES, suggestionWorkflowId, TASK_QUEUE, type SuggestionInput } from '../../core/temporal.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.js';
import { createDb, migrateLatest, type Db } from '../../db/knex.js';
import { startDevServer, type DevServer } from '../../worker/temporal-dev-server.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FAKE_OPENCLAW = path.join(ROOT, 'test', 'fixtures', 'openclaw');
/** tsx's loader by absolute URL, so a child started in another folder finds it. */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const NAMESPACE = 'default';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The drill: log lines, expectations, clean-up, and the result line `npm run drill` tabulates.

export interface DrillResult {
  drill: string;
  fault: string;
  command: string;
  answers503: number;
  answers5xxOther: number;
  lostDecisions: number;
  duplicateRows: number;
  writesOutside: number;
  ok: boolean;
  failures: string[];
  notes: string[];
  seconds: number;
}

export class Drill {
  private readonly started = Date.now();
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  readonly figures = { answers503: 0, answers5xxOther: 0, lostDecisions: 0, duplicateRows: 0, writesOutside: 0 };
  dir = '';

  constructor(
    readonly name: string,
    readonly fault: string,
    readonly command: string,
  ) {}

  log(message: string): void {
    const t = ((Date.now() - this.started) / 1000).toFixed(1).padStart(6);
    console.log(`[${this.name} +${t}s] ${message}`);
  }

  note(message: string): void {
    this.notes.push(message);
    this.log(`note: ${message}`);
  }

  /** Records a failed expectation (the drill goes on, so one run shows every problem). */
  expect(ok: boolean, what: string, detail?: unknown): boolean {
    if (ok) {
      this.log(`ok    ${what}`);
    } else {
      const text = detail === undefined ? what : `${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`;
      this.failures.push(text);
      this.log(`FAIL  ${text}`);
    }
    return ok;
  }

  onCleanup(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  /** Runs the drill body, cleans up, prints the findings and exits 0 only when every expectation held. */
  async run(body: (drill: Drill) => Promise<void>): Promise<never> {
    this.dir = await mkdtemp(path.join(os.tmpdir(), `healing-drill-${this.name}-`));
    // As root, the embedded Postgres runs as its own user and must reach its folder.
    await chmod(this.dir, 0o755);
    this.log(`${this.fault}; working in ${this.dir}`);
    let crashed: unknown = null;
    const stopSignal = () => {
      this.failures.push('interrupted');
      void this.finish(new Error('interrupted'));
    };
    process.once('SIGINT', stopSignal);
    try {
      await body(this);
    } catch (error) {
      crashed = error;
    }
    return this.finish(crashed);
  }

  private finishing: Promise<never> | null = null;

  private finish(crashed: unknown): Promise<never> {
    this.finishing ??= (async () => {
      if (crashed) {
        this.failures.push(`the drill stopped early: ${(crashed as Error).stack ?? String(crashed)}`);
        this.log(`FAIL  the drill stopped early: ${(crashed as Error).stack ?? String(crashed)}`);
      }
      for (const fn of this.cleanups.reverse()) {
        try {
          await fn();
        } catch (error) {
          this.log(`clean-up step failed: ${(error as Error).message}`);
        }
      }
      const ok = this.failures.length === 0;
      const result: DrillResult = {
        drill: this.name,
        fault: this.fault,
        command: this.command,
        ...this.figures,
        ok,
        failures: this.failures,
        notes: this.notes,
        seconds: Math.round((Date.now() - this.started) / 1000),
      };
      console.log('');
      console.log(`== ${this.name}: ${ok ? 'PASS' : 'FAIL'} in ${result.seconds} s`);
      console.log(`   fault:            ${this.fault}`);
      console.log(`   503 answers:      ${result.answers503} (other 5xx: ${result.answers5xxOther})`);
      console.log(`   lost decisions:   ${result.lostDecisions}`);
      console.log(`   duplicate rows:   ${result.duplicateRows}`);
      console.log(`   writes outside job files: ${result.writesOutside}`);
      for (const n of this.notes) console.log(`   note: ${n}`);
      for (const f of this.failures) console.log(`   FAILED: ${f}`);
      if (ok && !process.env.DRILL_KEEP) {
        await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      } else {
        console.log(`   logs and data kept in ${this.dir}`);
      }
      if (process.env.DRILL_RESULT_FILE) await appendFile(process.env.DRILL_RESULT_FILE, `${JSON.stringify(result)}\n`);
      process.exit(ok ? 0 : 1);
    })();
    return this.finishing;
  }
}

// ---------------------------------------------------------------------------------------------
// Postgres and Temporal as processes the drill can stop and start again with their data.

export class PostgresPart {
  private server: EmbeddedDatabase | null = null;
  url = '';

  private constructor(
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(drill: Drill): Promise<PostgresPart> {
    const part = new PostgresPart(path.join(drill.dir, 'postgres'), await freePort());
    await part.start();
    drill.onCleanup(() => part.stop());
    return part;
  }

  async start(): Promise<void> {
    this.server = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, persistent: true });
    this.url = this.server.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.stop();
  }
}

/** The Temporal CLI as `npm start` and `npm test` find it: TEMPORAL_CLI_PATH, PATH, the cache, or a build. */
export async function temporalCliPath(): Promise<string> {
  if (!process.env.TEMPORAL_CLI_PATH) process.env.TEMPORAL_CLI_PATH = await resolveTemporalCli({ log: (m: string) => console.log(`[drill] ${m}`) });
  return process.env.TEMPORAL_CLI_PATH!;
}

export class TemporalPart {
  private server: DevServer | null = null;

  private constructor(
    private readonly dataDir: string,
    readonly port: number,
    readonly uiPort: number,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(drill: Drill): Promise<TemporalPart> {
    const part = new TemporalPart(path.join(drill.dir, 'temporal'), await freePort(), await freePort());
    await part.start();
    drill.onCleanup(() => part.stop());
    return part;
  }

  async start(): Promise<void> {
    this.server = await startDevServer({ cliPath: await temporalCliPath(), dataDir: this.dataDir, port: this.port, uiPort: this.uiPort, namespace: NAMESPACE });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.stop();
  }
}

/** A Temporal client of the drill's own, to read workflow states. */
export async function temporalClient(drill: Drill, temporal: TemporalPart): Promise<Client> {
  const connection = await Connection.connect({ address: temporal.address });
  drill.onCleanup(() => connection.close());
  return new Client({ connection, namespace: NAMESPACE });
}

/** The demo workspace (cli/demo.ts) with its week of runs, in a migrated database. */
export async function demoWorkspace(drill: Drill, postgres: PostgresPart): Promise<{ db: Db; root: string; jobsDir: string; dataDir: string }> {
  const db = createDb(postgres.url);
  drill.onCleanup(() => db.destroy());
  await migrateLatest(db);
  const root = path.join(drill.dir, 'demo');
  const { jobsDir } = await writeDemoWorkspace(root);
  const runs = await seedDemoRuns(db, root);
  const dataDir = path.join(drill.dir, 'data');
  await mkdir(dataDir, { recursive: true });
  drill.log(`demo workspace in ${root}: ${runs} runs seeded`);
  return { db, root, jobsDir, dataDir };
}

// ---------------------------------------------------------------------------------------------
// `healing` as a child process, the way people run it.

export class HealingProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private output = '';

  private constructor(
    readonly command: string,
    readonly child: ChildProcess,
    private readonly logStream: WriteStream,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    const onData = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-64_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.stdout?.pipe(logStream, { end: false });
    child.stderr?.pipe(logStream, { end: false });
  }

  /** `node --import tsx cli/healing.ts <command>` with the drill's parts in its environment. */
  static spawn(drill: Drill, command: 'start' | 'worker' | 'api', env: Record<string, string>, label: string = command): HealingProcess {
    const logFile = path.join(drill.dir, `healing-${label}.log`);
    const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'cli', 'healing.ts'), command], {
      cwd: drill.dir,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new HealingProcess(command, child, createWriteStream(logFile, { flags: 'a' }));
    drill.onCleanup(async () => {
      if (!proc.exitInfo) {
        child.kill('SIGKILL');
        await proc.exited;
      }
    });
    drill.log(`started \`healing ${command}\` (pid ${child.pid}); its log: ${logFile}`);
    return proc;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get log(): string {
    return this.output;
  }

  /** Resolves once the process prints its start-up banner. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes('ProcClaw Healing is running')) {
      if (this.exitInfo) throw new Error(`healing ${this.command} exited during start-up (${JSON.stringify(this.exitInfo)}):\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`healing ${this.command} did not start within ${timeoutMs / 1000} s:\n${this.output.slice(-4000)}`);
      await sleep(100);
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** The environment a `healing` child needs to use the drill's parts. */
export function healingEnv(opts: {
  postgres: PostgresPart;
  temporal: TemporalPart;
  jobsDir: string;
  dataDir: string;
  port: number;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    DATABASE_URL: opts.postgres.url,
    TEMPORAL_ADDRESS: opts.temporal.address,
    HEALING_JOBS_DIR: opts.jobsDir,
    HEALING_DATA_DIR: opts.dataDir,
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    HEALING_ANALYZER: 'openclaw',
    OPENCLAW_BIN: FAKE_OPENCLAW,
    HEALING_ANALYSIS_TIMEOUT_S: '60',
    ...opts.extra,
  };
}

// ---------------------------------------------------------------------------------------------
// The API, every answer recorded and classified.

export interface Answer {
  phase: string;
  method: string;
  url: string;
  status: number; // 0: no HTTP answer (connection refused or reset)
  body: any;
  error: string | null;
  ms: number;
}

export class ApiRecorder {
  readonly answers: Answer[] = [];
  private readonly inFlight = new Set<Promise<Answer>>();
  phase = 'setup';

  constructor(
    private readonly drill: Drill,
    readonly base: string,
    /** extra headers for each request, e.g. a bearer token (chosen per request) */
    private readonly headers: () => Record<string, string> = () => ({}),
  ) {}

  call(method: string, url: string, body?: unknown): Promise<Answer> {
    const phase = this.phase;
    const started = Date.now();
    const promise = (async (): Promise<Answer> => {
      let answer: Answer;
      try {
        const response = await fetch(this.base + url, {
          method,
          headers: { ...this.headers(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(180_000),
        });
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        answer = { phase, method, url, status: response.status, body: parsed, error: null, ms: Date.now() - started };
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        answer = { phase, method, url, status: 0, body: null, error: cause?.code ?? cause?.message ?? (error as Error).message, ms: Date.now() - started };
      }
      this.answers.push(answer);
      this.classify(answer);
      return answer;
    })();
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
    return promise;
  }

  private classify(a: Answer): void {
    const line = `${a.method} ${a.url} -> ${a.status || a.error} in ${a.ms} ms`;
    if (a.status === 503) {
      this.drill.figures.answers503 += 1;
      const reason = typeof a.body === 'object' && a.body !== null ? (a.body as { error?: unknown; status?: unknown }).error ?? (a.body as { status?: unknown }).status : null;
      if (typeof reason !== 'string' || reason.length === 0) this.drill.expect(false, `a 503 without a reason: ${line}`, a.body);
    } else if (a.status >= 500) {
      this.drill.figures.answers5xxOther += 1;
      this.drill.expect(false, `a ${a.status} answer (only 503 is allowed for an outage): ${line}`, a.body);
    }
    if (process.env.DRILL_VERBOSE) this.drill.log(`  [${a.phase}] ${line}`);
  }

  /** Waits for every request still in flight. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async waitHealthy(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(5_000) });
        if (response.status === 200) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`the API at ${this.base} did not report healthy within ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }

  summary(phase?: string): string {
    const counts = new Map<string, number>();
    for (const a of this.answers) {
      if (phase && a.phase !== phase) continue;
      const key = String(a.status || a.error);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts.entries()].sort().map(([k, n]) => `${n}× ${k}`).join(', ') || 'none';
  }
}

// ---------------------------------------------------------------------------------------------
// Decisions: every approve/reject sent, and what became of it.

export interface Decision {
  suggestionId: number;
  kind: 'approve' | 'reject';
  answer: Answer;
}

export async function decide(api: ApiRecorder, decisions: Decision[], suggestionId: number, kind: 'approve' | 'reject'): Promise<Answer> {
  const answer = await api.call('POST', `/api/v1/healing/suggestions/${suggestionId}/${kind}`, kind === 'reject' ? { reason: 'fault drill' } : {});
  decisions.push({ suggestionId, kind, answer });
  return answer;
}

/**
 * The moment before a fault: reviews queued on the slow analyzer and, when there is a suggestion
 * for it, an approval in flight, still unanswered when this returns (wrapped: an async function
 * would otherwise wait for it).
 */
export async function workInFlight(drill: Drill, api: ApiRecorder, decisions: Decision[], approve: number | undefined): Promise<{ approval: Promise<Answer> | null }> {
  api.phase = 'edge';
  for (const job of ['nightly-backup', 'healthy-cleanup', 'report-sync']) {
    const a = await api.call('POST', `/api/v1/healing/reviews/${job}/trigger`, { force: true });
    drill.expect(a.status === 202 || a.status === 200, `trigger ${job} just before the fault answers 2xx`, a.body);
  }
  const approval = approve ? decide(api, decisions, approve, 'approve') : null;
  await sleep(40);
  return { approval };
}

/**
 * A decision that got a 2xx must show in the suggestion's row (applied, or rejected); a suggestion
 * whose every decision got a 503 (or no answer) must be untouched. Answers the lost decisions.
 */
export async function checkDecisions(drill: Drill, db: Db, decisions: Decision[]): Promise<number> {
  let lost = 0;
  const bySuggestion = new Map<number, Decision[]>();
  for (const d of decisions) bySuggestion.set(d.suggestionId, [...(bySuggestion.get(d.suggestionId) ?? []), d]);
  let accepted = 0;
  let unavailable = 0;
  for (const [id, list] of bySuggestion) {
    const row = await db('healing_suggestions').where({ id }).first();
    const ok = list.filter((d) => d.answer.status >= 200 && d.answer.status < 300);
    const refusedOrDown = list.filter((d) => d.answer.status === 503 || d.answer.status === 0);
    accepted += ok.length;
    unavailable += refusedOrDown.length;
    for (const d of list) {
      // 422: an apply tried and failed, the suggestion failed with the reason
      if (![200, 202, 409, 422, 503, 0].includes(d.answer.status)) drill.expect(false, `suggestion ${id}: ${d.kind} answered ${d.answer.status}`, d.answer.body);
    }
    if (ok.length > 0) {
      const last = ok[ok.length - 1]!;
      // Approved advice (nothing to write) is acknowledged.
      const want = last.kind === 'reject' ? ['rejected'] : ['applied', 'failed', 'acknowledged'];
      const body = last.answer.body as { status?: string; accepted?: boolean; applying?: string };
      // 202: accepted by the workflow, or its apply went on after the answer: outcome not known
      // then; the row must show the outcome now.
      const later = body.accepted || body.applying !== undefined;
      const answered = later ? `${body.accepted ? 'accepted' : 'applying'}, now ${row?.status}` : body.status;
      const held = row && want.includes(row.status) && (later || row.status === body.status) && row.reviewed_by;
      if (!drill.expect(Boolean(held), `suggestion ${id}: the ${last.kind} answered ${last.answer.status} (${answered}) is in its row`, { row_status: row?.status, reviewed_by: row?.reviewed_by })) lost += 1;
      if (last.kind === 'approve' && row?.status === 'applied' && row.action_id !== null) {
        const actions = await db('healing_actions').where({ suggestion_id: id, status: 'success' });
        if (!drill.expect(actions.length === 1, `suggestion ${id}: exactly one successful action`, actions.length)) lost += 1;
      }
    } else if (refusedOrDown.some((d) => (d.answer.body as { detail?: { maybe_recorded?: boolean } } | null)?.detail?.maybe_recorded || d.answer.status === 0)) {
      // Sent as Temporal went away, answered "may have been recorded" (or not at all): either
      // nothing happened, or the decision was carried out completely and once.
      const untouched = row && row.status === 'pending' && row.reviewed_by === null && (row.approvals ?? []).length === 0;
      const successes = await db('healing_actions').where({ suggestion_id: id, status: 'success' });
      const whole = row && ['applied', 'failed', 'rejected', 'approved'].includes(row.status) && row.reviewed_by !== null && successes.length <= 1 && (row.status !== 'applied' || row.action_id === null || successes.length === 1);
      if (!drill.expect(Boolean(untouched || whole), `suggestion ${id}: its decision sent as Temporal went away either changed nothing or was carried out once`, { status: row?.status, actions: successes.length })) lost += 1;
    } else if (refusedOrDown.length === list.length) {
      const untouched = row && row.status === 'pending' && row.reviewed_by === null && (row.approvals ?? []).length === 0;
      if (!drill.expect(Boolean(untouched), `suggestion ${id}: its ${list.length} decision(s) answered 503 and changed nothing`, { status: row?.status, reviewed_by: row?.reviewed_by, approvals: row?.approvals })) lost += 1;
    }
  }
  drill.log(`decisions: ${decisions.length} sent on ${bySuggestion.size} suggestions, ${accepted} accepted (2xx), ${unavailable} answered 503/no answer`);
  return lost;
}

// ---------------------------------------------------------------------------------------------
// The store: nothing doubled, nothing half-done, Temporal and Postgres agreeing.

/** Waits until no review is running, no action is open and every suggestion workflow is idle. */
export async function settle(drill: Drill, db: Db, client: Client, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const running = await db('healing_reviews').where({ status: 'running' }).pluck('id');
      const openActions = await db('healing_actions').where({ status: 'running' }).pluck('id');
      const busy: number[] = [];
      for (const id of (await db('healing_suggestions').whereIn('status', ['pending', 'approved']).pluck('id')) as number[]) {
        const state = await suggestionState(client, id);
        if (state === null || state.busy) busy.push(id);
      }
      last = `reviews running ${JSON.stringify(running)}, actions open ${JSON.stringify(openActions)}, suggestion workflows busy ${JSON.stringify(busy)}`;
      if (running.length === 0 && openActions.length === 0 && busy.length === 0) {
        drill.log('settled: no review running, no action open, no suggestion workflow busy');
        return;
      }
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`not settled within ${timeoutMs / 1000} s: ${last}`);
    await sleep(500);
  }
}

async function suggestionState(client: Client, id: number): Promise<{ status: string; busy: boolean } | null> {
  try {
    return await client.workflow.getHandle(suggestionWorkflowId(id)).query<{ status: string; busy: boolean }>(QUERY_NAMES.state);
  } catch {
    return null;
  }
}

/**
 * Duplicate rows of any kind: suggestions per (review_id, ordinal), open suggestions per
 * (job, fingerprint), reviews per workflow run, successful actions per suggestion, action rows
 * per (suggestion, attempt); and reviews whose stored count disagrees with their rows.
 */
export async function checkNoDuplicates(drill: Drill, db: Db): Promise<number> {
  const groups = async (sql: string) => ((await db.raw(sql)) as { rows: { n: number }[] }).rows;
  const checks: [string, string][] = [
    ['suggestions per (review_id, ordinal)', 'select review_id, ordinal, count(*)::int n from healing_suggestions group by 1, 2 having count(*) > 1'],
    ['open suggestions per (job, fingerprint)', "select job_id, fingerprint, count(*)::int n from healing_suggestions where status in ('pending', 'approved') group by 1, 2 having count(*) > 1"],
    ['reviews per workflow run', 'select workflow_run_id, count(*)::int n from healing_reviews group by 1 having count(*) > 1'],
    ['successful actions per suggestion', "select suggestion_id, count(*)::int n from healing_actions where status in ('success', 'rolled_back') group by 1 having count(*) > 1"],
    ['actions per (suggestion, attempt)', 'select suggestion_id, attempt, count(*)::int n from healing_actions group by 1, 2 having count(*) > 1'],
    ['runs per (job, external id)', 'select job_id, external_id, count(*)::int n from job_runs group by 1, 2 having count(*) > 1'],
  ];
  let duplicates = 0;
  for (const [what, sql] of checks) {
    const rows = await groups(sql);
    const extra = rows.reduce((sum, r) => sum + r.n - 1, 0);
    duplicates += extra;
    drill.expect(extra === 0, `no duplicate ${what}`, rows);
  }
  const mismatched = await groups(
    "select r.id, r.suggestions_count, count(s.id)::int n from healing_reviews r left join healing_suggestions s on s.review_id = r.id where r.status = 'completed' group by r.id having count(s.id) <> r.suggestions_count",
  );
  drill.expect(mismatched.length === 0, 'every completed review stored exactly the suggestions it counted', mismatched);
  return duplicates;
}

/** Reviews all ended completed or skipped; every suggestion row has its own workflow, in the same state. */
export async function checkReviewsAndWorkflows(drill: Drill, db: Db, client: Client, allowFailed = false): Promise<void> {
  const reviews = (await db('healing_reviews').select('id', 'job_id', 'status', 'error_message', 'skip_reason', 'workflow_id', 'workflow_run_id')) as {
    id: number; job_id: string; status: string; error_message: string | null; skip_reason: string | null; workflow_id: string; workflow_run_id: string;
  }[];
  const byStatus = new Map<string, number>();
  for (const r of reviews) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  drill.log(`reviews: ${reviews.length} (${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')})`);
  const bad = reviews.filter((r) => !(r.status === 'completed' || r.status === 'skipped' || (allowFailed && r.status === 'failed')));
  drill.expect(bad.length === 0, 'every review ended completed or skipped', bad.map((r) => ({ id: r.id, job: r.job_id, status: r.status, error: r.error_message })));
  const notClosed: unknown[] = [];
  for (const r of reviews) {
    if (r.workflow_id === 'drill') continue; // a row a drill made to hold its own suggestions
    try {
      const d = await client.workflow.getHandle(r.workflow_id, r.workflow_run_id).describe();
      if (d.status.name !== 'COMPLETED' && !(r.status === 'failed' && d.status.name === 'FAILED')) notClosed.push({ review: r.id, workflow: d.status.name });
    } catch (error) {
      notClosed.push({ review: r.id, error: (error as Error).message });
    }
  }
  drill.expect(notClosed.length === 0, 'every review workflow run closed as its row says', notClosed);

  const suggestions = (await db('healing_suggestions').select('id', 'status')) as { id: number; status: string }[];
  const disagree: unknown[] = [];
  for (const s of suggestions) {
    const state = await suggestionState(client, s.id);
    let status = state?.status;
    if (!state) {
      try {
        const handle = client.workflow.getHandle(suggestionWorkflowId(s.id));
        const d = await handle.describe();
        status = d.status.name === 'COMPLETED' ? await handle.result() : `workflow ${d.status.name}`;
      } catch (error) {
        status = `no workflow: ${(error as Error).message}`;
      }
    }
    if (status !== s.status) disagree.push({ suggestion: s.id, row: s.status, workflow: status });
  }
  drill.expect(disagree.length === 0, `all ${suggestions.length} suggestion rows have a workflow in the same state`, disagree);
}

// ---------------------------------------------------------------------------------------------
// Files: what changed on disk, and whether each change is a job file an action wrote.

/** Every file of the demo workspace and the data folder (backups aside), hashed: before and after a drill. */
export async function workspaceSnapshot(root: string, dataDir: string): Promise<Map<string, string>> {
  const skip = [`${dataDir}/backups`];
  return new Map([...(await snapshot(root, skip)), ...(await snapshot(dataDir, skip))]);
}

/**
 * What every drill checks at its end: no lost decision, no duplicate row, every review and
 * suggestion closed like its workflow, no write outside job files, no temporary file left.
 */
export async function checkOutcome(drill: Drill, db: Db, client: Client, decisions: Decision[], workspace: { root: string; dataDir: string; before: Map<string, string> }): Promise<void> {
  drill.figures.lostDecisions += await checkDecisions(drill, db, decisions);
  drill.figures.duplicateRows = await checkNoDuplicates(drill, db);
  await checkReviewsAndWorkflows(drill, db, client);
  const after = await workspaceSnapshot(workspace.root, workspace.dataDir);
  drill.figures.writesOutside = await checkWrites(drill, db, workspace.before, after);
  const leftovers = [...after.keys()].filter((p) => p.endsWith('.tmp'));
  drill.expect(leftovers.length === 0, 'no temporary files left beside job files', leftovers);
}

export async function snapshot(dir: string, skip: string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, entry.name);
      if (skip.some((s) => p === s || p.startsWith(`${s}${path.sep}`))) continue;
      if (entry.isDirectory()) await walk(p);
      else out.set(p, createHash('sha256').update(await readFile(p).catch(() => Buffer.alloc(0))).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

/**
 * Every file that changed, appeared or vanished under the watched folders must be a file a
 * successful action wrote (and now hold the last applied content); anything else is a write
 * outside the job files. Answers their count.
 */
export async function checkWrites(drill: Drill, db: Db, before: Map<string, string>, after: Map<string, string>): Promise<number> {
  const actions = (await db('healing_actions').orderBy('id').select('id', 'file_path', 'status', 'new_sha256', 'original_sha256')) as {
    id: number; file_path: string | null; status: string; new_sha256: string | null; original_sha256: string | null;
  }[];
  const written = new Set(actions.filter((a) => a.file_path).map((a) => a.file_path!));
  const changed: string[] = [];
  for (const [p, sha] of after) if (before.get(p) !== sha) changed.push(p);
  for (const p of before.keys()) if (!after.has(p)) changed.push(p);
  const outside = changed.filter((p) => !written.has(p));
  drill.expect(outside.length === 0, `${changed.length} file(s) changed on disk, all of them job files an action wrote`, outside);
  // The file holds what its last successful action wrote (or its original after a failed one).
  const last = new Map<string, (typeof actions)[number]>();
  for (const a of actions) if (a.file_path && a.status !== 'running') last.set(a.file_path, a);
  const wrong: unknown[] = [];
  for (const [file, a] of last) {
    const sha = after.get(file);
    const want = a.status === 'success' ? a.new_sha256 : a.original_sha256;
    if (sha !== want) wrong.push({ file, action: a.id, status: a.status });
  }
  drill.expect(wrong.length === 0, 'every written file holds exactly what its last action left', wrong);
  return outside.length;
}

/** Pending suggestions of the given jobs, newest first. */
export async function pendingSuggestions(db: Db, jobIds?: string[]): Promise<{ id: number; job_id: string; target_file: string | null }[]> {
  const q = db('healing_suggestions').where({ status: 'pending' }).orderBy('id', 'desc').select('id', 'job_id', 'target_file');
  if (jobIds) q.whereIn('job_id', jobIds);
  return q;
}

/** Polls until `check` answers a truthy value. */
export async function eventually<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// The opening every outage drill shares: a review of every demo job, and a few decisions.

export const DEMO_JOBS = ['nightly-backup', 'report-sync', 'idea-hunter', 'healthy-cleanup', 'deploy-hook'];

export async function openingReviews(
  drill: Drill,
  api: ApiRecorder,
  db: Db,
  client: Client,
  decisions: Decision[],
): Promise<{ pending: { id: number; job_id: string }[]; byJob: (job: string) => number | undefined }> {
  api.phase = 'before';
  for (const job of DEMO_JOBS) {
    const a = await api.call('POST', `/api/v1/healing/reviews/${job}/trigger`, {});
    drill.expect(a.status === 202 || a.status === 200, `trigger ${job} before the fault answers 2xx`, a.body);
  }
  await settle(drill, db, client);
  const first = await pendingSuggestions(db);
  drill.log(`first reviews: ${first.length} pending suggestions: ${first.map((s) => `${s.id} (${s.job_id})`).join(', ')}`);
  drill.expect(first.length >= 3, 'the first reviews made at least 3 suggestions', first.length);
  const byJob = (job: string) => first.find((s) => s.job_id === job)?.id;
  const applyFirst = byJob('nightly-backup');
  const rejectFirst = byJob('healthy-cleanup');
  if (applyFirst) drill.expect((await decide(api, decisions, applyFirst, 'approve')).status === 200, `approve ${applyFirst} before the fault`);
  if (rejectFirst) drill.expect((await decide(api, decisions, rejectFirst, 'reject')).status === 200, `reject ${rejectFirst} before the fault`);
  return { pending: first, byJob };
}

/** Answers of the given phase that are triggers, and how many reviews really started in a window. */
export async function reviewsStartedBetween(db: Db, client: Client, from: number, to: number): Promise<number> {
  const manual = (await db('healing_reviews').where({ trigger: 'manual' }).select('workflow_id', 'workflow_run_id')) as { workflow_id: string; workflow_run_id: string }[];
  let n = 0;
  for (const r of manual) {
    const started = (await client.workflow.getHandle(r.workflow_id, r.workflow_run_id).describe()).startTime.getTime();
    if (started >= from && started <= to) n += 1;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Suggestions made by a drill, and the fake OpenClaw's record of its calls.

/** A suggestion the way a review stores one (row + its workflow), on a job file of the demo. */
export async function createSuggestion(db: Db, client: Client, opts: { jobId: string; file: string; proposed: string | null; change?: string }): Promise<number> {
  const current = await readFile(opts.file, 'utf8');
  const [review] = await db('healing_reviews')
    .insert({ job_id: opts.jobId, trigger: 'manual', status: 'completed', workflow_id: 'drill', workflow_run_id: `drill-${Date.now()}-${Math.random()}`, finished_at: new Date() })
    .returning('id');
  const [row] = await db('healing_suggestions')
    .insert({
      review_id: review.id,
      ordinal: 0,
      job_id: opts.jobId,
      category: 'config',
      severity: 'low',
      severity_rank: severityRank('low'),
      title: `drill change ${review.id}`,
      description: 'made by a fault drill',
      suggested_change: opts.change ?? null,
      target_file: opts.file,
      proposed_content: opts.proposed,
      current_content: current,
      current_sha256: sha256(current),
      fingerprint: `drill-${review.id}`,
      affected_files: JSON.stringify([opts.file]),
    })
    .returning('id');
  const id = row.id as number;
  await db('healing_reviews').where({ id: review.id }).update({ suggestions_count: 1 });
  await db('healing_suggestions').where({ id }).update({ workflow_id: suggestionWorkflowId(id) });
  const input: SuggestionInput = { suggestionId: id, jobId: opts.jobId, autoApply: false, ttlMs: 3_600_000, rollbackWindowMs: 3_600_000, requiredApprovals: 1 };
  await client.workflow.start('suggestionWorkflow', { workflowId: suggestionWorkflowId(id), taskQueue: TASK_QUEUE, args: [input] });
  return id;
}

export async function openclawCalls(logFile: string): Promise<{ command: string; session_id: string | null }[]> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; session_id: string | null });
}
