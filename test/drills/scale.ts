// Scale-out drill: several `healing worker` and `healing api` processes against one Temporal dev
// server and one Postgres, given to them as TEMPORAL_ADDRESS and DATABASE_URL, as in production.
// A first phase runs one worker and one API, the reference; the second runs 3 workers and 2 APIs.
// Each phase: its jobs' files are written while its workers run (so every worker's schedule
// reconciler creates the new schedules at once), every job's review is triggered through the APIs
// in turn, then every suggestion is approved (and applied) through them; in the second phase one
// worker is SIGKILLed when half the approvals have answered, and another is started.
//
// Checked afterwards: every review closed (in Postgres and in Temporal); exactly one action per
// applied suggestion; no schedule written twice (each schedule's conflict token, which Temporal
// raises at every update or pause, is still the one it was created with; the Temporal server's own
// request counters show no update, patch or delete; the workers' logs count one creation per
// schedule across all of them); no file written twice (each applied file holds the
// proposed content, has one backup, and was renamed onto once, as inotify saw it); and the rates
// (reviews/s, approvals/s, applies/s) of both phases.
//
//   npm run drill:scale                      (1,000 jobs a phase)
//   npm run drill:scale -- --jobs 100        (or DRILL_JOBS=100; --workers 3 --apis 2 --in-flight 64)
//   npm run drill:scale -- --workers 1 --apis 1   (one phase only: the reference alone)
//   DRILL_KEEP=1 keeps the folder with every process's log
import { readFileSync, watch } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { findPid, processTree } from '../../bench/lib/cpu.js';
import { seedRuns, writeJobs } from '../../bench/lib/jobs.js';
import { freePort } from '../../db/embedded.js';
import { createDb, migrateLatest, type Db } from '../../db/knex.js';
import {
  ApiRecorder,
  checkDecisions,
  checkNoDuplicates,
  checkWrites,
  decide,
  Drill,
  eventually,
  healingEnv,
  HealingProcess,
  PostgresPart,
  settle,
  sleep,
  temporalClient,
  temporalCliPath,
  TemporalPart,
  workspaceSnapshot,
  type Decision,
} from './lib.js';

// ---------------------------------------------------------------------------------------------
// Options: flags, else environment variables, else the defaults.

function options() {
  const usage = 'usage: tsx test/drills/scale.ts [--jobs N] [--workers N] [--apis N] [--in-flight N] [--no-baseline]';
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        jobs: { type: 'string' },
        workers: { type: 'string' },
        apis: { type: 'string' },
        'in-flight': { type: 'string' },
        'no-baseline': { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  const count = (name: string, flag: string | undefined, env: string | undefined, fallback: number, max: number): number => {
    const text = flag ?? env;
    if (text === undefined || text === '') return fallback;
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
      console.error(`--${name} (or its variable) must be a whole number from 1 to ${max}, not "${text}"\n${usage}`);
      process.exit(2);
    }
    return Number(text);
  };
  const workers = count('workers', parsed.workers, process.env.DRILL_WORKERS, 3, 16);
  const apis = count('apis', parsed.apis, process.env.DRILL_APIS, 2, 16);
  return {
    jobs: count('jobs', parsed.jobs, process.env.DRILL_JOBS, 1_000, 100_000),
    workers,
    apis,
    inFlight: count('in-flight', parsed['in-flight'], process.env.DRILL_IN_FLIGHT, 64, 1_000),
    // The reference phase (one worker, one API) is this run itself when that is what was asked for.
    baseline: !parsed['no-baseline'] && !(workers === 1 && apis === 1),
  };
}

const OPTIONS = options();
/** Approver tokens: the API limits commands per caller to 120 a minute, so the load comes from many operators. */
const OPERATORS = 64;

const drill = new Drill(
  'scale',
  `${OPTIONS.workers} workers and ${OPTIONS.apis} APIs on one Temporal and one Postgres, ${OPTIONS.jobs.toLocaleString('en-US')} jobs reviewed and approved; a worker SIGKILLed mid-approvals`,
  'npm run drill:scale',
);

// ---------------------------------------------------------------------------------------------
// The fleet: worker and API processes, each worker serving the SDK's metrics on its own port.

interface WorkerProcess {
  label: string;
  proc: HealingProcess;
  metricsPort: number;
}

interface ApiProcess {
  label: string;
  proc: HealingProcess;
  recorder: ApiRecorder;
}

interface Phase {
  label: string;
  prefix: string;
  workers: number;
  apis: number;
  kill: boolean;
}

interface PhaseResult {
  phase: Phase;
  jobIds: string[];
  /** reviews closed (a trigger refused starts none) */
  reviews: number;
  reviewSeconds: number;
  approvals: number;
  approvalSeconds: number;
  /** until the first half of the approvals had answered: before the kill, in either phase */
  halfSeconds: number;
  applied: number;
  acknowledged: number;
  failed: number;
  peak: { workflow: number; activity: number; analysis: number; inFlight: number };
  /** CPU seconds by process group, and how busy the whole machine was, in each step */
  cpu: { reviews: CpuUse; approvals: CpuUse };
  /** p50 of the phase's reviews' analysis and of their wait outside it (/metrics' healing_analysis_wait_seconds), ms */
  analysis: { p50: number; waitP50: number; waitP90: number };
  /** requests the Temporal server counted during the phase, by operation (its own /metrics) */
  server: Record<string, number>;
  killed: string | null;
  workerLogs: string[];
  apiLabels: string[];
}

let tokenTurn = 0;
const tokens = Array.from({ length: OPERATORS }, (_, i) => ({ name: `operator-${String(i + 1).padStart(2, '0')}`, token: `scale-drill-operator-${String(i + 1).padStart(2, '0')}-token` }));
const VIEWER_TOKEN = 'scale-drill-viewer-token-0001';
const nextToken = () => ({ authorization: `Bearer ${tokens[tokenTurn++ % tokens.length]!.token}` });

async function inPool<T>(items: T[], size: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await run(items[i]!, i);
      }
    }),
  );
}

/** A scrape of the API's /metrics (or a worker's), as series to values. */
async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** The sum of a metric's series whose labels include every one given. */
function sumOf(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, v] of series) {
    if (!(key === name || key.startsWith(`${name}{`))) continue;
    if (Object.entries(labels).every(([k, want]) => key.includes(`${k}="${want}"`))) total += v;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// CPU: seconds by process group (read from /proc each second, so a killed worker's time is kept),
// and the machine's busy share, which includes whatever else runs on it.

type CpuUse = Record<string, number> & { machineBusy: number };

function ticksOf(pid: number, withReapedChildren: boolean): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime + stime (+ cutime + cstime: a Postgres tree keeps its exited backends' time in the postmaster's)
    return Number(f[11]) + Number(f[12]) + (withReapedChildren ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return null;
  }
}

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - cpu[4]!, total };
}

class CpuMeter {
  /** per group: seconds counted so far */
  private readonly totals = new Map<string, number>();
  /** a tree's ticks last read (its exited children's time moves into their parent's, so the sum only grows) */
  private readonly treeTicks = new Map<string, number>();
  /** a lone process's ticks last read: a killed worker's time up to its last reading stays counted */
  private readonly processTicks = new Map<number, number>();
  private machine = machineTicks();
  private machineBusy = 0;
  private machineTotal = 0;

  constructor(private readonly groups: Record<string, { pids: () => number[]; tree: boolean }>) {
    for (const [name, g] of Object.entries(groups)) {
      if (g.tree) this.treeTicks.set(name, this.treeSum(g.pids()));
      else for (const pid of g.pids()) this.processTicks.set(pid, ticksOf(pid, false) ?? 0);
    }
  }

  private treeSum(pids: number[]): number {
    return pids.reduce((n, pid) => n + (ticksOf(pid, true) ?? 0), 0);
  }

  private add(name: string, ticks: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + ticks / 100);
  }

  sample(): void {
    for (const [name, g] of Object.entries(this.groups)) {
      if (g.tree) {
        const now = this.treeSum(g.pids());
        this.add(name, Math.max(0, now - (this.treeTicks.get(name) ?? 0)));
        this.treeTicks.set(name, now);
        continue;
      }
      for (const pid of g.pids()) {
        const now = ticksOf(pid, false);
        if (now === null) continue;
        this.add(name, now - (this.processTicks.get(pid) ?? 0)); // a process started since counts from its start
        this.processTicks.set(pid, now);
      }
    }
    const m = machineTicks();
    this.machineBusy += m.busy - this.machine.busy;
    this.machineTotal += m.total - this.machine.total;
    this.machine = m;
  }

  /** What was used since the last mark. */
  mark(): () => CpuUse {
    this.sample();
    const before = new Map(this.totals);
    const busy = this.machineBusy;
    const total = this.machineTotal;
    return () => {
      this.sample();
      const use = Object.fromEntries(Object.keys(this.groups).map((k) => [k, Math.round(((this.totals.get(k) ?? 0) - (before.get(k) ?? 0)) * 10) / 10]));
      return { ...use, machineBusy: Math.round(((this.machineBusy - busy) / Math.max(1, this.machineTotal - total)) * 100) } as CpuUse;
    };
  }
}

const SERVER_OPERATIONS = ['CreateSchedule', 'UpdateSchedule', 'PatchSchedule', 'DeleteSchedule', 'ListSchedules', 'DescribeSchedule', 'StartWorkflowExecution', 'UpdateWorkflowExecution'];

/** The Temporal server's own request counts (its /metrics; the dev server prints where, in its log). */
async function serverCounts(metricsUrl: string): Promise<Record<string, number>> {
  const s = await scrape(metricsUrl);
  return Object.fromEntries(SERVER_OPERATIONS.map((op) => [op, sumOf(s, 'service_requests', { operation: op })]));
}

await drill.run(async (d) => {
  const postgres = await PostgresPart.start(d);
  const temporal = await TemporalPart.start(d);
  const client = await temporalClient(d, temporal);
  // The dev server prints where its own metrics are as it starts (its log is written a moment later).
  const serverMetrics = await eventually('the Temporal dev server to print where its metrics are', async () => {
    const text = await readFile(path.join(d.dir, 'temporal', 'temporal.log'), 'utf8');
    return /Metrics:\s+(http\S+)/.exec(text)?.[1];
  }, 15_000);
  const temporalPid = findPid(await temporalCliPath(), `--port ${temporal.port}`);
  const postmaster = findPid(path.join(d.dir, 'postgres'));
  const fleetPids = { workers: new Set<number>(), apis: new Set<number>() };
  const cpu = new CpuMeter({
    temporal: { pids: () => (temporalPid ? processTree(temporalPid) : []), tree: true },
    postgres: { pids: () => (postmaster ? processTree(postmaster) : []), tree: true },
    workers: { pids: () => [...fleetPids.workers], tree: false },
    apis: { pids: () => [...fleetPids.apis], tree: false },
    drill: { pids: () => [process.pid], tree: false },
  });
  const db = createDb(postgres.url);
  d.onCleanup(() => db.destroy());
  await migrateLatest(db);
  const root = path.join(d.dir, 'work');
  const jobsDir = path.join(root, 'jobs');
  const dataDir = path.join(d.dir, 'data');
  const tokensFile = path.join(d.dir, 'tokens.yaml');
  await writeFile(
    tokensFile,
    `tokens:\n${[...tokens.map((t) => ({ ...t, role: 'approver' })), { name: 'prometheus', token: VIEWER_TOKEN, role: 'viewer' }]
      .map((t) => `  - { name: ${t.name}, token: ${t.token}, role: ${t.role} }`)
      .join('\n')}\n`,
  );
  // Reviews are scheduled daily twelve hours from now (UTC), so none falls due during the drill.
  const due = new Date(Date.now() + 12 * 3_600_000);
  const reviewTime = `${String(due.getUTCHours()).padStart(2, '0')}:${String(due.getUTCMinutes()).padStart(2, '0')}`;
  await writeJobs(jobsDir, 'seed', 0); // the shared scripts, before any worker watches the folder
  const decisions: Decision[] = [];

  const spawnWorker = async (label: string): Promise<WorkerProcess> => {
    const port = await freePort();
    const metricsPort = await freePort();
    const env = healingEnv({ postgres, temporal, jobsDir, dataDir, port, extra: { HEALING_ANALYZER: 'rules', HEALING_WORKER_METRICS_PORT: String(metricsPort) } });
    const proc = HealingProcess.spawn(d, 'worker', env, label);
    fleetPids.workers.add(proc.pid);
    return { label, proc, metricsPort };
  };
  const spawnApi = async (label: string): Promise<ApiProcess> => {
    const port = await freePort();
    const env = healingEnv({ postgres, temporal, jobsDir, dataDir, port, extra: { HEALING_ANALYZER: 'rules', HEALING_TOKENS_FILE: tokensFile } });
    const proc = HealingProcess.spawn(d, 'api', env, label);
    fleetPids.apis.add(proc.pid);
    return { label, proc, recorder: new ApiRecorder(d, `http://127.0.0.1:${port}`, nextToken) };
  };

  const runPhase = async (phase: Phase): Promise<PhaseResult> => {
    d.log(`== phase ${phase.label}: ${phase.workers} worker(s), ${phase.apis} API(s), ${OPTIONS.jobs} jobs; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const workers = await Promise.all(Array.from({ length: phase.workers }, (_, i) => spawnWorker(`${phase.prefix}-worker-${i + 1}`)));
    const apis = await Promise.all(Array.from({ length: phase.apis }, (_, i) => spawnApi(`${phase.prefix}-api-${i + 1}`)));
    await Promise.all([...workers, ...apis].map((p) => p.proc.ready(180_000)));
    await Promise.all(apis.map((a) => a.recorder.waitHealthy()));
    const workerLogs = workers.map((w) => w.label);

    // The jobs appear while every worker watches the folder: each worker's reconciler creates
    // their schedules at the same moment as the others'.
    await sleep(2_000); // the server's counters are published every second or so
    const serverBefore = await serverCounts(serverMetrics);
    const jobIds = await writeJobs(jobsDir, phase.prefix, OPTIONS.jobs, { time: () => reviewTime });
    await seedRuns(db, jobIds);
    const listed = async () => {
      let n = 0;
      for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(`healing-schedule/${phase.prefix}-`)) n += 1;
      return n;
    };
    // Every 2 s: listing thousands of schedules is work for the server, which the phase shares.
    for (const deadline = Date.now() + 120_000 + OPTIONS.jobs * 200; (await listed()) !== OPTIONS.jobs; await sleep(2_000)) {
      if (Date.now() > deadline) throw new Error(`the ${OPTIONS.jobs} schedules of phase ${phase.label} were not all listed in time (${await listed()})`);
    }
    d.log(`${OPTIONS.jobs} job files written and their schedules created by the workers' reconcilers`);

    // /metrics sampled through the phase: the peaks of the backlogs and of the reviews in flight.
    const peak = { workflow: 0, activity: 0, analysis: 0, inFlight: 0 };
    let sampling = true;
    let progress = '';
    const sampler = (async () => {
      let lastLog = 0;
      while (sampling) {
        cpu.sample();
        try {
          const s = await scrape(`${apis[0]!.recorder.base}/metrics`, { authorization: `Bearer ${VIEWER_TOKEN}` });
          const backlog = (queue: string, type: string) => s.get(`healing_task_queue_backlog{task_queue="${queue}",type="${type}"}`) ?? 0;
          peak.workflow = Math.max(peak.workflow, backlog('healing', 'workflow'));
          peak.activity = Math.max(peak.activity, backlog('healing', 'activity'));
          peak.analysis = Math.max(peak.analysis, backlog('healing-analysis', 'activity'));
          const inFlight = (s.get('healing_reviews_in_flight{state="running"}') ?? 0) + (s.get('healing_reviews_in_flight{state="waiting"}') ?? 0);
          peak.inFlight = Math.max(peak.inFlight, inFlight);
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            d.log(`  ${progress}; backlog: healing workflow ${backlog('healing', 'workflow')}, activity ${backlog('healing', 'activity')}, healing-analysis ${backlog('healing-analysis', 'activity')}; reviews in flight ${inFlight}`);
          }
        } catch (error) {
          d.log(`  /metrics: ${(error as Error).message}`);
        }
        await sleep(1_000);
      }
    })();

    try {
      // Reviews: every job's, through the APIs in turn, as many in flight as operators would send.
      for (const a of apis) a.recorder.phase = `${phase.label}: reviews`;
      const triggerAnswers = new Map<string, number>();
      let closed = 0;
      progress = `reviews: 0/${OPTIONS.jobs} closed`;
      const reviewCpu = cpu.mark();
      const t0 = Date.now();
      await inPool(jobIds, OPTIONS.inFlight, async (jobId, i) => {
        const a = await apis[i % apis.length]!.recorder.call('POST', `/api/v1/healing/reviews/${jobId}/trigger`, {});
        const key = String(a.status || a.error);
        triggerAnswers.set(key, (triggerAnswers.get(key) ?? 0) + 1);
        progress = `reviews: ${[...triggerAnswers.values()].reduce((x, y) => x + y, 0)}/${OPTIONS.jobs} triggers answered`;
      });
      d.expect(triggerAnswers.get('202') === OPTIONS.jobs, `all ${OPTIONS.jobs} triggers answered 202`, Object.fromEntries(triggerAnswers));
      // A trigger refused started nothing: wait for the reviews that were started (the check below counts the rest).
      const started = (triggerAnswers.get('202') ?? 0) + (triggerAnswers.get('200') ?? 0);
      await eventually(
        `every review of phase ${phase.label} to close`,
        async () => {
          const [row] = (await db.raw(`select count(*) filter (where status <> 'running')::int as closed from healing_reviews where job_id like ?`, [`${phase.prefix}-%`])).rows as { closed: number }[];
          closed = row!.closed;
          progress = `reviews: ${closed}/${started} closed`;
          return closed >= started;
        },
        300_000 + OPTIONS.jobs * 1_000,
      );
      const reviewSeconds = (Date.now() - t0) / 1000;
      const reviewsUsed = reviewCpu();
      // The figures /metrics serves (healing_analysis_duration_seconds, healing_analysis_wait_seconds), for this phase's reviews only.
      const timing = (await db.raw(
        `select percentile_cont(0.5) within group (order by analysis_duration_ms) as p50,
                percentile_cont(array[0.5, 0.9]) within group (order by greatest(0, extract(epoch from finished_at - started_at) * 1000 - analysis_duration_ms)) as wait
           from healing_reviews where job_id like ? and analysis_duration_ms is not null`,
        [`${phase.prefix}-%`],
      )).rows[0] as { p50: number; wait: number[] };
      const analysis = { p50: Math.round(timing.p50), waitP50: Math.round(timing.wait[0]!), waitP90: Math.round(timing.wait[1]!) };
      d.log(
        `${closed} reviews closed in ${reviewSeconds.toFixed(1)} s (${(closed / reviewSeconds).toFixed(1)}/s); analysis p50 ${analysis.p50} ms, ` +
          `wait outside it p50 ${analysis.waitP50} ms, p90 ${analysis.waitP90} ms; CPU s ${JSON.stringify(reviewsUsed)}`,
      );

      // Approvals: every suggestion the reviews made, through the APIs in turn.
      const pending = (await db('healing_suggestions').where('job_id', 'like', `${phase.prefix}-%`).where({ status: 'pending' }).orderBy('id').select('id')) as { id: number }[];
      const before = await workspaceSnapshot(root, dataDir);
      const renames = new Map<string, number>();
      // inotify: an atomic write is one rename onto the file; a second write would be a second.
      const watcher = watch(jobsDir, (event, name) => {
        if (event === 'rename' && name && name.toString().endsWith('.yaml')) renames.set(name.toString(), (renames.get(name.toString()) ?? 0) + 1);
      });
      for (const a of apis) a.recorder.phase = `${phase.label}: approvals`;
      let answered = 0;
      let sent = 0;
      let resent = 0;
      let killing: Promise<void> | null = null;
      let killed: string | null = null;
      let halfSeconds = 0;
      progress = `approvals: 0/${pending.length} answered`;
      const approvalCpu = cpu.mark();
      const t2 = Date.now();
      await inPool(pending, OPTIONS.inFlight, async (s, i) => {
        sent += 1;
        // As the 503's message tells a client: read it again later and send it again (a repeat is
        // refused with the state). An update whose RPC ran out of time on the starved server may
        // have been lost with the workflow task that timed out carrying it.
        let answer = await decide(apis[i % apis.length]!.recorder, decisions, s.id, 'approve');
        for (let attempt = 1; (answer.status === 503 || answer.status === 0) && attempt <= 5; attempt++) {
          resent += 1;
          await sleep(2_000 * attempt);
          answer = await decide(apis[(i + attempt) % apis.length]!.recorder, decisions, s.id, 'approve');
        }
        answered += 1;
        progress = `approvals: ${answered}/${pending.length} answered`;
        if (answered === Math.ceil(pending.length / 2)) halfSeconds = (Date.now() - t2) / 1000;
        if (phase.kill && !killing && answered >= pending.length / 2) {
          killing = (async () => {
            const victim = workers[0]!;
            try {
              const open = ((await db('healing_actions').where({ status: 'running' }).count({ n: '*' })) as { n: string }[])[0]!.n;
              const unanswered = sent - answered;
              d.log(`SIGKILL ${victim.label} (pid ${victim.proc.pid}) with ${answered} of ${pending.length} approvals answered, ${unanswered} in flight, ${open} apply(ies) open`);
              victim.proc.kill('SIGKILL');
              const exit = await victim.proc.exited;
              d.expect(exit.signal === 'SIGKILL', `${victim.label} died of SIGKILL`, exit);
              killed = `${victim.label} at ${answered}/${pending.length} approvals answered, ${unanswered} in flight, ${open} apply(ies) open`;
              const replacement = await spawnWorker(`${phase.prefix}-worker-${workers.length + 1}`);
              workers.splice(0, 1, replacement);
              workerLogs.push(replacement.label);
              // Polling is what counts: its start-up banner waits for its first schedule reconcile,
              // which on a server this busy can take minutes while the worker already works.
              for (const deadline = Date.now() + 300_000; ; await sleep(1_000)) {
                if (replacement.proc.exitInfo) throw new Error(`${replacement.label} exited: ${JSON.stringify(replacement.proc.exitInfo)}\n${replacement.proc.log.slice(-2000)}`);
                if (Date.now() > deadline) throw new Error(`${replacement.label} did not poll within 300 s`);
                const s = await scrape(`http://127.0.0.1:${replacement.metricsPort}/metrics`).catch(() => new Map<string, number>());
                if (sumOf(s, 'temporal_num_pollers') > 0) break;
              }
              d.log(`${replacement.label} polls (pid ${replacement.proc.pid})`);
            } catch (error) {
              d.expect(false, 'the killed worker was replaced by a new one that polls', (error as Error).message);
            }
          })();
        }
      });
      await killing;
      await eventually(
        `every approval of phase ${phase.label} to end`,
        async () => {
          const [row] = (await db.raw(
            `select count(*) filter (where status in ('pending', 'approved') or applying_step is not null)::int as open,
                    (select count(*)::int from healing_actions where status = 'running') as running
               from healing_suggestions where job_id like ?`,
            [`${phase.prefix}-%`],
          )).rows as { open: number; running: number }[];
          return row!.open === 0 && row!.running === 0;
        },
        300_000 + pending.length * 500,
      );
      const approvalSeconds = (Date.now() - t2) / 1000;
      const approvalsUsed = approvalCpu();
      watcher.close();
      const outcome = (await db.raw(
        `select count(*) filter (where status = 'applied')::int as applied, count(*) filter (where status = 'acknowledged')::int as acknowledged,
                count(*) filter (where status = 'failed')::int as failed
           from healing_suggestions where job_id like ?`,
        [`${phase.prefix}-%`],
      )).rows[0] as { applied: number; acknowledged: number; failed: number };
      d.log(`${pending.length} approvals ended in ${approvalSeconds.toFixed(1)} s: ${outcome.applied} applied, ${outcome.acknowledged} acknowledged (advice), ${outcome.failed} failed; ${resent} sent again after a 503 or no answer; CPU s ${JSON.stringify(approvalsUsed)}`);

      await settle(d, db, client, 300_000);
      await Promise.all(apis.map((a) => a.recorder.settled()));
      await checkPhaseFiles(d, db, phase, renames, dataDir);
      const after = await workspaceSnapshot(root, dataDir);
      d.figures.writesOutside += await checkWrites(d, db, before, after);
      const leftovers = [...after.keys()].filter((p) => p.endsWith('.tmp'));
      d.expect(leftovers.length === 0, `phase ${phase.label}: no temporary files left beside job files`, leftovers);

      // What each worker ran, from its own SDK metrics (a killed worker's went with it).
      for (const w of workers) {
        try {
          const s = await scrape(`http://127.0.0.1:${w.metricsPort}/metrics`);
          const temporalSeries = [...s.keys()].filter((k) => k.startsWith('temporal_')).length;
          d.log(
            `${w.label} /metrics: ${temporalSeries} temporal_ series; analyses ${sumOf(s, 'temporal_activity_execution_latency_count', { activity_type: 'analyze' })}, ` +
              `file writes ${sumOf(s, 'temporal_activity_execution_latency_count', { activity_type: 'writeApplied' }) + sumOf(s, 'temporal_local_activity_execution_latency_count', { activity_type: 'writeApplied' })}, ` +
              `workflow tasks ${sumOf(s, 'temporal_workflow_task_execution_latency_count')}`,
          );
          d.expect(temporalSeries > 0, `${w.label} serves the Temporal SDK's metrics on HEALING_WORKER_METRICS_PORT`, temporalSeries);
        } catch (error) {
          d.expect(false, `${w.label} serves the Temporal SDK's metrics on HEALING_WORKER_METRICS_PORT`, (error as Error).message);
        }
      }
      for (const p of [...workers, ...apis]) d.expect(!p.proc.exitInfo, `${p.label} kept running`, p.proc.exitInfo);
      await sleep(2_000);
      const serverAfter = await serverCounts(serverMetrics);
      const server = Object.fromEntries(SERVER_OPERATIONS.map((op) => [op, serverAfter[op]! - serverBefore[op]!]));
      d.log(`the Temporal server's requests during the phase: ${JSON.stringify(server)}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

      return {
        phase,
        jobIds,
        reviews: closed,
        reviewSeconds,
        approvals: pending.length,
        approvalSeconds,
        halfSeconds,
        ...outcome,
        peak,
        cpu: { reviews: reviewsUsed, approvals: approvalsUsed },
        analysis,
        server,
        killed,
        workerLogs,
        apiLabels: apis.map((a) => a.label),
      };
    } finally {
      sampling = false;
      await sampler;
      if (!phase.kill) {
        // The reference phase ends before the next one starts: its processes stop as an operator stops them.
        for (const p of [...workers, ...apis]) p.proc.kill('SIGTERM');
        await Promise.all([...workers, ...apis].map((p) => p.proc.exited));
      }
    }
  };

  const phases: Phase[] = [];
  if (OPTIONS.baseline) phases.push({ label: '1 worker, 1 API', prefix: 'one', workers: 1, apis: 1, kill: false });
  phases.push({ label: `${OPTIONS.workers} worker(s), ${OPTIONS.apis} API(s)`, prefix: 'many', workers: OPTIONS.workers, apis: OPTIONS.apis, kill: true });
  const results: PhaseResult[] = [];
  for (const phase of phases) results.push(await runPhase(phase));

  // ---------------------------------------------------------------------------------------------
  // The checks, over everything both phases did.
  d.figures.lostDecisions += await checkDecisions(d, db, decisions);
  d.figures.duplicateRows = await checkNoDuplicates(d, db);
  await checkReviews(d, db, client, results);
  await checkActions(d, db);
  await checkSchedules(d, client, results);

  // ---------------------------------------------------------------------------------------------
  // The figures.
  const rows = results.map((r) => {
    const reviewsPerS = r.reviews / r.reviewSeconds;
    const approvalsPerS = r.approvals / r.approvalSeconds;
    const appliesPerS = r.applied / r.approvalSeconds;
    const firstHalfPerS = Math.ceil(r.approvals / 2) / r.halfSeconds;
    return { r, reviewsPerS, approvalsPerS, appliesPerS, firstHalfPerS };
  });
  const reference = rows.length > 1 ? rows[0]! : null;
  const ratio = (v: number, ref: number | undefined) => (ref ? `${(v / ref).toFixed(2)}×` : '-');
  const header = ['phase', 'jobs', 'reviews/s', 'approvals/s', 'first half, answered/s', 'applies/s', 'applied / advice / failed', 'analysis p50; wait p50, p90', 'peak backlog (workflow, activity, analysis)', 'worker killed'];
  const table = rows.map(({ r, reviewsPerS, approvalsPerS, appliesPerS, firstHalfPerS }) => [
    r.phase.label,
    String(r.jobIds.length),
    `${reviewsPerS.toFixed(1)} (${r.reviewSeconds.toFixed(0)} s)${reference && r !== reference.r ? ` ${ratio(reviewsPerS, reference.reviewsPerS)}` : ''}`,
    `${approvalsPerS.toFixed(1)} (${r.approvalSeconds.toFixed(0)} s)${reference && r !== reference.r ? ` ${ratio(approvalsPerS, reference.approvalsPerS)}` : ''}`,
    `${firstHalfPerS.toFixed(1)}${reference && r !== reference.r ? ` ${ratio(firstHalfPerS, reference.firstHalfPerS)}` : ''}`,
    `${appliesPerS.toFixed(1)}${reference && r !== reference.r ? ` ${ratio(appliesPerS, reference.appliesPerS)}` : ''}`,
    `${r.applied} / ${r.acknowledged} / ${r.failed}`,
    `${r.analysis.p50} ms; ${r.analysis.waitP50}, ${r.analysis.waitP90} ms`,
    `${r.peak.workflow}, ${r.peak.activity}, ${r.peak.analysis}`,
    r.killed ?? '-',
  ]);
  printTable(header, table);
  const cpuGroups = ['temporal', 'postgres', 'workers', 'apis', 'drill'] as const;
  printTable(
    ['phase, step', 'wall s', ...cpuGroups.map((g) => `${g} CPU s`), 'machine busy'],
    results.flatMap((r) =>
      (['reviews', 'approvals'] as const).map((step) => [
        `${r.phase.label}, ${step}`,
        (step === 'reviews' ? r.reviewSeconds : r.approvalSeconds).toFixed(0),
        ...cpuGroups.map((g) => String(r.cpu[step][g] ?? 0)),
        `${r.cpu[step].machineBusy} %`,
      ]),
    ),
  );
  printTable(
    ['phase', 'schedules', 'CreateSchedule requests', 'Update / Patch / Delete', 'ListSchedules', 'DescribeSchedule'],
    results.map((r) => [
      r.phase.label,
      String(r.jobIds.length),
      String(r.server.CreateSchedule),
      `${r.server.UpdateSchedule} / ${r.server.PatchSchedule} / ${r.server.DeleteSchedule}`,
      String(r.server.ListSchedules),
      String(r.server.DescribeSchedule),
    ]),
  );
  for (const { r, reviewsPerS, approvalsPerS, appliesPerS } of rows) {
    d.note(`${r.phase.label}: ${reviewsPerS.toFixed(1)} reviews/s, ${approvalsPerS.toFixed(1)} approvals/s, ${appliesPerS.toFixed(1)} applies/s over ${r.jobIds.length} jobs`);
  }
  if (reference && rows[1]) {
    d.note(
      `scale-out against the reference: reviews ${ratio(rows[1].reviewsPerS, reference.reviewsPerS)}, approvals ${ratio(rows[1].approvalsPerS, reference.approvalsPerS)} ` +
        `(${ratio(rows[1].firstHalfPerS, reference.firstHalfPerS)} before the kill), applies ${ratio(rows[1].appliesPerS, reference.appliesPerS)} (${rows[1].r.phase.label}, a worker killed and replaced within it)`,
    );
  }
});

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log('');
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
}

// ---------------------------------------------------------------------------------------------
// The checks.

/** Every review closed: none running in Postgres, none running in Temporal; one completed review per job. */
async function checkReviews(d: Drill, db: Db, client: Client, results: PhaseResult[]): Promise<void> {
  const running = (await db('healing_reviews').where({ status: 'running' }).pluck('id')) as number[];
  d.expect(running.length === 0, 'no review row left running', running.slice(0, 20));
  // Visibility lags the workflows by a moment.
  const open = await eventually('Temporal to list no running review workflow', async () => {
    const n = (await client.workflow.count("WorkflowType = 'reviewWorkflow' AND ExecutionStatus = 'Running'")).count;
    return n === 0 ? { n } : null;
  }, 60_000).catch(async () => ({ n: (await client.workflow.count("WorkflowType = 'reviewWorkflow' AND ExecutionStatus = 'Running'")).count }));
  d.expect(open.n === 0, 'no review workflow left running in Temporal', open.n);
  for (const r of results) {
    const rows = (await db.raw(
      `select count(*)::int as reviews, count(distinct job_id)::int as jobs, count(*) filter (where status = 'completed')::int as completed
         from healing_reviews where job_id like ?`,
      [`${r.phase.prefix}-%`],
    )).rows[0] as { reviews: number; jobs: number; completed: number };
    d.expect(rows.reviews === r.jobIds.length && rows.jobs === r.jobIds.length && rows.completed === r.jobIds.length, `phase ${r.phase.label}: one completed review for each of the ${r.jobIds.length} jobs`, rows);
  }
}

/** Exactly one action per applied suggestion, successful and the suggestion's own; none for advice or failed applies that wrote nothing. */
async function checkActions(d: Drill, db: Db): Promise<void> {
  const bad = (await db.raw(
    `select s.id, s.status, s.action_id, count(a.id)::int as actions, count(a.id) filter (where a.status = 'success')::int as successes, max(a.id) as action
       from healing_suggestions s left join healing_actions a on a.suggestion_id = s.id
      where s.status in ('applied', 'acknowledged')
      group by s.id
     having (s.status = 'applied' and (count(a.id) <> 1 or count(a.id) filter (where a.status = 'success') <> 1 or max(a.id) <> s.action_id))
         or (s.status = 'acknowledged' and count(a.id) <> 0)`,
  )).rows as unknown[];
  const [counts] = (await db.raw(`select count(*) filter (where status = 'applied')::int as applied, (select count(*)::int from healing_actions) as actions from healing_suggestions`)).rows as { applied: number; actions: number }[];
  d.expect(bad.length === 0, `exactly one action per applied suggestion (${counts!.applied} applied, ${counts!.actions} action rows in all), none for acknowledged advice`, bad.slice(0, 20));
}

/**
 * No file written twice: each applied file holds its suggestion's proposed content, its job has one
 * backup (the apply's), and inotify saw one rename onto the file during the approvals.
 */
async function checkPhaseFiles(d: Drill, db: Db, phase: Phase, renames: Map<string, number>, dataDir: string): Promise<void> {
  const applied = (await db('healing_suggestions').where('job_id', 'like', `${phase.prefix}-%`).where({ status: 'applied' }).select('id', 'job_id', 'target_file', 'proposed_content')) as {
    id: number; job_id: string; target_file: string; proposed_content: string;
  }[];
  const wrongContent: unknown[] = [];
  const wrongBackups: unknown[] = [];
  const wrongRenames: unknown[] = [];
  const perJob = new Map<string, number>();
  for (const s of applied) perJob.set(s.job_id, (perJob.get(s.job_id) ?? 0) + 1);
  for (const s of applied) {
    const content = await readFile(s.target_file, 'utf8').catch(() => null);
    if (content !== s.proposed_content) wrongContent.push({ suggestion: s.id, file: s.target_file });
    const backups = await readdir(path.join(dataDir, 'backups', s.job_id)).catch(() => []);
    if (backups.length !== perJob.get(s.job_id)) wrongBackups.push({ job: s.job_id, backups });
    const seen = renames.get(path.basename(s.target_file)) ?? 0;
    if (seen !== 1) wrongRenames.push({ file: path.basename(s.target_file), renames: seen });
  }
  const multi = [...perJob].filter(([, n]) => n > 1);
  d.expect(multi.length === 0, `phase ${phase.label}: one applied file edit per job`, multi.slice(0, 10));
  d.expect(wrongContent.length === 0, `phase ${phase.label}: all ${applied.length} applied files hold exactly the proposed content`, wrongContent.slice(0, 20));
  d.expect(wrongBackups.length === 0, `phase ${phase.label}: each applied file has exactly one backup`, wrongBackups.slice(0, 20));
  d.expect(wrongRenames.length === 0, `phase ${phase.label}: each applied file was written once (one rename onto it, as inotify saw)`, wrongRenames.slice(0, 20));
}

/**
 * No schedule written twice. Temporal refuses a second create of a schedule id, so a duplicate
 * would be an update or a pause: each raises the schedule's conflict token, which starts at 1. So
 * every schedule's token must still be 1; and the creations the workers' reconcilers report in
 * their logs must add up to one per schedule, with no update, pause or delete.
 */
async function checkSchedules(d: Drill, client: Client, results: PhaseResult[]): Promise<void> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith('healing-schedule/')) ids.push(s.scheduleId);
  for (const r of results) {
    const mine = ids.filter((id) => id.startsWith(`healing-schedule/${r.phase.prefix}-`)).length;
    d.expect(mine === r.jobIds.length, `phase ${r.phase.label}: ${r.jobIds.length} schedules, one per job`, mine);
  }
  const written: { id: string; token: string }[] = [];
  let described = 0;
  await inPool(ids, 8, async (id) => {
    const info = await client.schedule.getHandle(id).describe();
    described += 1;
    const token = Buffer.from(info.raw.conflictToken ?? new Uint8Array()).toString('hex');
    if (BigInt(`0x${token || '0'}`) !== 1n) written.push({ id, token });
  });
  d.expect(written.length === 0, `all ${described} schedules still carry the conflict token they were created with (never updated or paused)`, written.slice(0, 20));

  for (const r of results) {
    const tally = { created: 0, updated: 0, paused: 0, deleted: 0, failed: 0 };
    const byWorker: string[] = [];
    for (const label of r.workerLogs) {
      const text = await readFile(path.join(d.dir, `healing-${label}.log`), 'utf8').catch(() => '');
      let created = 0;
      for (const line of text.split('\n')) {
        if (!line.includes('"schedules reconciled"')) continue;
        const entry = JSON.parse(line) as { created: number; updated: number; paused: number; deleted: number; failed: unknown[] };
        created += entry.created;
        tally.created += entry.created;
        tally.updated += entry.updated;
        tally.paused += entry.paused;
        tally.deleted += entry.deleted;
        tally.failed += entry.failed.length;
      }
      byWorker.push(`${label} ${created}`);
    }
    const server = r.server;
    d.note(
      `phase ${r.phase.label}: schedules created per worker (their logs): ${byWorker.join(', ')}; ${tally.failed} reconcile step(s) failed and were retried; ` +
        `the Temporal server counted ${server.CreateSchedule} CreateSchedule requests (every worker's attempts, the losers refused), ${server.UpdateSchedule} UpdateSchedule, ` +
        `${server.PatchSchedule} PatchSchedule, ${server.DeleteSchedule} DeleteSchedule, ${server.ListSchedules} ListSchedules, ${server.DescribeSchedule} DescribeSchedule`,
    );
    d.expect(server.CreateSchedule! >= r.jobIds.length, `phase ${r.phase.label}: the server saw at least one CreateSchedule per new job`, server);
    d.expect(server.UpdateSchedule! + server.PatchSchedule! + server.DeleteSchedule! === 0, `phase ${r.phase.label}: the server received no UpdateSchedule, PatchSchedule or DeleteSchedule`, server);
    // The retention schedule is counted apart; the reference phase's worker created every job schedule there was then.
    d.expect(tally.created === r.jobIds.length, `phase ${r.phase.label}: the workers' reconcilers created ${r.jobIds.length} schedules between them, each once`, tally);
    d.expect(tally.updated + tally.paused + tally.deleted === 0, `phase ${r.phase.label}: no reconciler updated, paused or deleted a schedule`, tally);
  }
}
