// `healing run <job> [--api <url>] [--log <file>] -- <command...>`: runs a command (cron's, or
// anything's), streams its output to the terminal and a log file, and reports the run to the API.
// The command's exit code is this command's exit code. A report the API cannot take now is kept
// in the outbox (HEALING_DATA_DIR/outbox) and sent by the next `healing run`, or `--flush`.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { ServiceConfig } from '../core/config.js';
import { JOB_ID_PATTERN, SlaSchema } from '../core/job.js';
import { slaVerdict, type Sla } from '../core/sla.js';
import { findJob } from '../db/catalog.js';

const TAIL_LINES = 200;
const TAIL_LINE_CHARS = 2_000;
/** the API's own bound on a run's log_tail (api/schemas.ts) */
const TAIL_MAX_CHARS = 256 * 1024;
const STALE_CLAIM_MS = 10 * 60_000;

interface RunFlags {
  api?: string;
  log?: string;
  flush?: boolean;
  trigger?: string;
}

export function registerRunCommand(program: Command, config: () => ServiceConfig): void {
  program
    .command('run')
    .description('run a command, stream its output to a log file and the terminal, and report the run to the API')
    .argument('[job]', 'the job id the run belongs to')
    .argument('[command...]', 'the command and its arguments, after "--" (no shell: pass one, e.g. -- sh -c "...", if you need it)')
    .option('--api <url>', 'the API to report to (default HEALING_API_URL, else http://127.0.0.1:$PORT)')
    .option('--log <file>', 'the log file (default HEALING_DATA_DIR/runs/<job>/<time>.log)')
    .option('--trigger <name>', 'how the run was started (default: scheduled without a terminal, else manual)')
    .option('--flush', 'only send the run reports kept while the API was unreachable')
    .action(async (job: string | undefined, command: string[], flags: RunFlags) => {
      const code = await runAndReport(job, command, flags, config());
      process.exit(code);
    });
}

export async function runAndReport(job: string | undefined, command: string[], flags: RunFlags, cfg: ServiceConfig): Promise<number> {
  const api = { url: (flags.api ?? process.env.HEALING_API_URL ?? `http://127.0.0.1:${cfg.port}`).replace(/\/+$/, ''), token: cfg.apiToken };
  const outbox = new Outbox(path.join(cfg.dataDir, 'outbox'));
  if (flags.flush && !job) {
    const flushed = await outbox.flush(api);
    note(flushed.line ?? 'no run reports waiting to be sent');
    return flushed.stopped ? 1 : 0;
  }
  if (!job || !JOB_ID_PATTERN.test(job)) {
    note(`give the job id first (letters, digits, ".", "_" or "-"), then "--" and the command: healing run nightly-backup -- ./backup.sh`);
    return 2;
  }
  if (command.length === 0) {
    note(`give the command to run after "--": healing run ${job} -- ./backup.sh`);
    return 2;
  }

  const startedAt = new Date();
  const logPath = path.resolve(flags.log ?? path.join(cfg.dataDir, 'runs', job, `${startedAt.toISOString().replace(/[:.]/g, '-')}.log`));
  const result = await runCommand(command, logPath, !!flags.log);
  const finishedAt = new Date();
  const durationMs = finishedAt.getTime() - startedAt.getTime();
  const sla = slaVerdict(await jobSla(api, job, cfg), durationMs);
  const body = {
    external_id: `run-${startedAt.toISOString()}-${randomBytes(4).toString('hex')}`,
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    exit_code: result.exitCode,
    duration_ms: durationMs,
    trigger: (flags.trigger ?? (process.stdin.isTTY ? 'manual' : 'scheduled')).slice(0, 64),
    error: result.error,
    sla_status: sla?.status ?? null,
    sla_details: sla?.details ?? null,
    log_path: logPath,
    log_tail: result.tail || null,
  };

  // Older reports first, so the API sees runs in the order they happened.
  const flushed = await outbox.flush(api);
  if (flushed.line) note(flushed.line);
  const what = `run of ${job} (exit ${result.exitCode}, ${(durationMs / 1000).toFixed(1)} s${sla ? `, SLA ${sla.status}` : ''})`;
  if (flushed.stopped) {
    const file = await outbox.save(job, body, flushed.reason);
    note(`${what} kept in ${file}: ${flushed.reason}; it is sent by the next \`healing run\` or \`healing run --flush\``);
    return result.exitCode;
  }
  const sent = await sendReport(api, job, body);
  if (sent.outcome === 'sent') {
    const review = sent.review ? `; review ${sent.review} started` : '';
    note(`${what} reported to ${api.url}${review}`);
  } else {
    const file = await outbox.save(job, body, sent.reason, sent.outcome === 'rejected');
    note(
      sent.outcome === 'rejected'
        ? `${what} was rejected by the API (${sent.reason}); kept in ${file}`
        : `${what} kept in ${file}: ${sent.reason}; it is sent by the next \`healing run\` or \`healing run --flush\``,
    );
  }
  return result.exitCode;
}

function note(line: string): void {
  process.stderr.write(`healing: ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Running the command

interface CommandResult {
  exitCode: number;
  error: string | null;
  tail: string;
}

/** Runs without a shell; stdout and stderr go to the terminal and the log file as they come. */
async function runCommand(command: string[], logPath: string, append: boolean): Promise<CommandResult> {
  await mkdir(path.dirname(logPath), { recursive: true });
  const log = createWriteStream(logPath, { flags: append ? 'a' : 'w' });
  const logClosed = new Promise<void>((resolve) => log.on('close', () => resolve()));
  const tail = new TailLines(TAIL_LINES);
  const [bin, ...args] = command as [string, ...string[]];
  const child = spawn(bin, args, { stdio: ['inherit', 'pipe', 'pipe'] });
  child.stdout.pipe(process.stdout, { end: false });
  child.stderr.pipe(process.stderr, { end: false });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));

  // Ctrl-C in a terminal reaches the child by itself; a signal sent to us alone is passed on.
  const forward = (signal: NodeJS.Signals) => () => {
    if (signal !== 'SIGINT' || !process.stdin.isTTY) child.kill(signal);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError: NodeJS.ErrnoException | null }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, spawnError: error }));
    child.once('close', (code, signal) => resolve({ code, signal, spawnError: null }));
  });
  for (const [s, h] of handlers) process.off(s, h);
  log.end();
  await logClosed;

  if (outcome.spawnError) {
    const notFound = outcome.spawnError.code === 'ENOENT';
    const message = notFound ? `command not found: ${bin}` : `cannot run ${bin}: ${outcome.spawnError.message}`;
    note(message);
    return { exitCode: notFound ? 127 : 126, error: message, tail: tail.text() };
  }
  if (outcome.signal) {
    const number = os.constants.signals[outcome.signal] ?? 0;
    return { exitCode: 128 + number, error: `killed by ${outcome.signal}`, tail: tail.text() };
  }
  const exitCode = outcome.code ?? 1;
  return { exitCode, error: exitCode === 0 ? null : lastLine(tail.text()) ?? `exited with ${exitCode}`, tail: tail.text() };
}

/** The last lines of the output, bounded, for the report's log_tail. */
class TailLines {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > TAIL_LINE_CHARS * 4) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const line of parts) this.lines.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS - 1)}…` : line.replace(/\r$/, ''));
    if (this.lines.length > this.max * 2) this.lines = this.lines.slice(-this.max);
  }

  /** The tail as the API takes it: no NUL (Postgres text holds none), within TAIL_MAX_CHARS. */
  text(): string {
    const all = this.partial ? [...this.lines, this.partial.slice(0, TAIL_LINE_CHARS)] : this.lines;
    const text = all.slice(-this.max).join('\n').replaceAll('\0', '');
    return text.length > TAIL_MAX_CHARS ? text.slice(-TAIL_MAX_CHARS) : text;
  }
}

function lastLine(text: string): string | null {
  const line = text.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  return line ? line.slice(0, 2_000) : null;
}

// ---------------------------------------------------------------------------------------------
// The SLA verdict


/** The job's `sla` from the API, else from the local catalog (HEALING_JOBS_DIR); null when unknown. */
async function jobSla(api: { url: string; token: string | null }, job: string, cfg: ServiceConfig): Promise<Sla | null> {
  try {
    const response = await fetch(`${api.url}/api/v1/jobs/${encodeURIComponent(job)}`, { headers: authHeaders(api.token), signal: AbortSignal.timeout(3_000) });
    if (response.ok) {
      const body = (await response.json()) as { config?: { sla?: unknown } };
      const parsed = SlaSchema.safeParse(body.config?.sla ?? null);
      return parsed.success ? parsed.data : null;
    }
  } catch {
    // unreachable: try the catalog on this machine
  }
  if (!cfg.jobsSource) return null;
  return (await findJob(cfg.jobsSource, job).catch(() => undefined))?.config.sla ?? null;
}


// ---------------------------------------------------------------------------------------------
// Reporting, and the outbox

type Sent = { outcome: 'sent'; review: string | null } | { outcome: 'unreachable' | 'rejected'; reason: string };

function authHeaders(token: string | null): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function sendReport(api: { url: string; token: string | null }, job: string, body: object): Promise<Sent> {
  let response: Response;
  try {
    response = await fetch(`${api.url}/api/v1/jobs/${encodeURIComponent(job)}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(api.token) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
    return { outcome: 'unreachable', reason: `the API at ${api.url} is unreachable (${cause?.code ?? cause?.message ?? (error as Error).message})` };
  }
  const text = await response.text();
  let parsed: { error?: unknown; detail?: unknown; review?: { workflow_id?: string } | null } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON
  }
  if (response.ok) return { outcome: 'sent', review: parsed.review?.workflow_id ?? null };
  // A log outside the job's places (a --log elsewhere, or a data folder other than the service's)
  // is refused by the API: the run is still worth reporting, with the tail it carries.
  if (response.status === 400 && refusesLogPath(parsed) && (body as { log_path?: unknown }).log_path) {
    note(`the API does not read ${(body as { log_path: string }).log_path} (${String(parsed.error)}); reporting the run with its log tail only`);
    return sendReport(api, job, { ...body, log_path: null });
  }
  const reason = `${response.status} ${typeof parsed.error === 'string' ? parsed.error : text.slice(0, 200)}`;
  // A bad report will not get better; anything else (down, no token yet, job not yet in the
  // catalog) may, so it is kept for the next try.
  return { outcome: response.status === 400 || response.status === 413 || response.status === 422 ? 'rejected' : 'unreachable', reason: `the API at ${api.url} answered ${reason}` };
}

function refusesLogPath(answer: { detail?: unknown }): boolean {
  return Array.isArray(answer.detail) && answer.detail.some((d: { field?: unknown }) => d?.field === 'log_path');
}

interface Saved {
  job_id: string;
  body: object;
  saved_at: string;
  last_error: string;
}

class Outbox {
  constructor(private readonly dir: string) {}

  async save(job: string, body: { external_id: string }, reason: string, rejected = false): Promise<string> {
    const dir = rejected ? path.join(this.dir, 'rejected') : this.dir;
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${Date.now()}-${job}-${body.external_id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
    const saved: Saved = { job_id: job, body, saved_at: new Date().toISOString(), last_error: reason };
    await writeFile(`${file}.tmp`, JSON.stringify(saved, null, 2));
    await rename(`${file}.tmp`, file);
    return file;
  }

  /** Sends what is waiting, oldest first; stops at the first report the API cannot take now. */
  async flush(api: { url: string; token: string | null }): Promise<{ line: string | null; stopped: boolean; reason: string }> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await this.reclaimStale(names);
    const waiting = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    let sent = 0;
    let rejected = 0;
    for (const name of waiting) {
      const file = path.join(this.dir, name);
      const claimed = `${file}.sending-${process.pid}`;
      // Another `healing run` flushing at the same time has it: leave it to that one.
      if (!(await rename(file, claimed).then(() => true, () => false))) continue;
      let saved: Saved;
      try {
        saved = JSON.parse(await readFile(claimed, 'utf8')) as Saved;
      } catch {
        await this.moveToRejected(claimed, name);
        rejected++;
        continue;
      }
      const result = await sendReport(api, saved.job_id, saved.body);
      if (result.outcome === 'sent') {
        await rm(claimed, { force: true });
        sent++;
      } else if (result.outcome === 'rejected') {
        await this.moveToRejected(claimed, name);
        rejected++;
      } else {
        await writeFile(claimed, JSON.stringify({ ...saved, last_error: result.reason }, null, 2));
        await rename(claimed, file);
        const line = sent > 0 ? `sent ${sent} run report(s) kept earlier; ${waiting.length - sent - rejected} still waiting` : null;
        return { line, stopped: true, reason: result.reason };
      }
    }
    const parts = [sent > 0 ? `sent ${sent} run report(s) kept while the API was unreachable` : null, rejected > 0 ? `${rejected} rejected (kept in ${path.join(this.dir, 'rejected')})` : null];
    const line = parts.filter(Boolean).join('; ') || null;
    return { line, stopped: false, reason: '' };
  }

  private async moveToRejected(claimed: string, name: string): Promise<void> {
    await mkdir(path.join(this.dir, 'rejected'), { recursive: true });
    await rename(claimed, path.join(this.dir, 'rejected', name));
  }

  /** A claim left by a `healing run` that died while sending goes back in the queue. */
  private async reclaimStale(names: string[]): Promise<void> {
    for (const name of names) {
      const m = /^(.*\.json)\.sending-\d+$/.exec(name);
      if (!m) continue;
      const info = await stat(path.join(this.dir, name)).catch(() => null);
      if (info && Date.now() - info.mtimeMs > STALE_CLAIM_MS) await rename(path.join(this.dir, name), path.join(this.dir, m[1]!)).catch(() => undefined);
    }
  }
}
