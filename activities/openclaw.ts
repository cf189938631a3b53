// Runs the OpenClaw CLI: never through a shell, killed on time-out or cancellation, heartbeating
// while it waits so Temporal knows the worker is alive. Holds the one `openclaw agent` turn the
// analysis and the AI rewrite both run, and the one reading of why the CLI failed.
import { spawn } from 'node:child_process';
import { ApplicationFailure, type Context } from '@temporalio/activity';
import { AnalyzerOutputError } from '../core/parse-ai/index.js';
import { ERROR_TYPES } from '../core/temporal.js';
import { currentActivity } from './activity-context.js';
import type { AnalyzerSettings } from './deps.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MAX_OUTPUT = 8 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

/**
 * Runs `bin args`, killed after `timeoutMs`. Given the activity it runs for, it stops when that
 * activity is cancelled and heartbeats meanwhile.
 */
export function runCli(bin: string, args: string[], opts: { timeoutMs: number; activity?: Context | null }): Promise<CliResult> {
  const activity = opts.activity ?? null;
  const signal = activity?.cancellationSignal;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', OPENCLAW_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8');
    });
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const ticker = setInterval(() => activity?.heartbeat(), 2_000);
    signal?.addEventListener('abort', kill, { once: true });
    const done = () => {
      clearTimeout(timer);
      clearInterval(ticker);
      signal?.removeEventListener('abort', kill);
    };
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.on('close', (code) => {
      done();
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * Why a CLI run that exited non-zero failed, in the CLI's own words: the message of the
 * `{ "ok": false, "error": { "message" } }` envelope it printed, else, when it printed nothing on
 * stdout, the last line of its stderr (where it explains failures it has no envelope for, such as
 * a Gateway holding the state folder). Null when stdout holds something else: an agent turn's
 * time-out envelope, which core/parse-ai reads along with the answer.
 */
export function cliError(result: Pick<CliResult, 'stdout' | 'stderr'>): string | null {
  const stdout = result.stdout.trim();
  if (!stdout) return (result.stderr.trim().split('\n').filter(Boolean).at(-1) ?? 'it printed nothing').slice(0, 500);
  let envelope: { ok?: unknown; error?: { message?: unknown } | null } | null;
  try {
    envelope = JSON.parse(stdout) as typeof envelope;
  } catch {
    return null;
  }
  const message = envelope?.ok === false ? envelope.error?.message : null;
  return typeof message === 'string' && message.trim() ? message.trim().slice(0, 1000) : null;
}

/** How long past its own --timeout the CLI may run before it is killed: it starts slowly (8–45 s a turn, mostly start-up). */
const KILL_GRACE_SECONDS = 30;
/** Bound of the raw answer kept for debugging (the review's raw_response, a failure's details). */
const RAW_ANSWER_LIMIT = 256 * 1024;

export interface AgentTurn<T> {
  sessionId: string;
  message: string;
  /** reads the answer; throws AnalyzerOutputError when it holds nothing usable */
  parse: (stdout: string) => T;
  /** masks secrets in what is kept or shown of the answer (the raw answer, failure messages) */
  redact: (text: string) => string;
}

/**
 * One `openclaw agent` turn with the analyzer's settings (agent, thinking level, time-out), as
 * the analysis and the AI rewrite both ask it. Answers the parsed answer and the raw one,
 * redacted. A turn that times out, fails or answers nothing usable throws AnalyzerFailed, with
 * the reason and the raw answer in its details, and is not retried: another turn costs as many
 * tokens and mostly answers the same.
 */
export async function runAgentTurn<T>(settings: AnalyzerSettings, turn: AgentTurn<T>): Promise<{ answer: T; raw: string }> {
  const args = ['agent', '--local', '--session-id', turn.sessionId, '--message', turn.message, '--json', '--timeout', String(settings.timeoutSeconds)];
  if (settings.agent) args.push('--agent', settings.agent);
  if (settings.thinking && settings.thinking !== 'off') args.push('--thinking', settings.thinking);
  const result = await runCli(settings.openclawBin, args, { timeoutMs: (settings.timeoutSeconds + KILL_GRACE_SECONDS) * 1000, activity: currentActivity() });
  const raw = cutBytes(turn.redact(result.stdout.slice(0, RAW_ANSWER_LIMIT)), RAW_ANSWER_LIMIT);
  const failure = (reason: string) =>
    ApplicationFailure.create({ message: turn.redact(reason), type: ERROR_TYPES.analyzerFailed, details: [raw] });
  if (result.timedOut) throw failure(`openclaw did not answer within ${settings.timeoutSeconds} s`);
  const said = result.code === 0 ? null : cliError(result);
  if (said !== null) throw failure(`openclaw agent exited ${result.code}: ${said}`);
  try {
    return { answer: turn.parse(result.stdout), raw };
  } catch (error) {
    if (!(error instanceof AnalyzerOutputError)) throw error;
    throw failure(result.code === 0 ? error.message : `${error.message} (exit ${result.code})`);
  }
}

/** The longest prefix of `text` within `max` UTF-8 bytes. */
function cutBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const buf = Buffer.from(text, 'utf8').subarray(0, max);
  return buf.toString('utf8').replace(/\uFFFD$/, '');
}

export interface OpenClawStatus {
  available: boolean;
  version: string | null;
  problem: string | null;
}

let cachedStatus: { bin: string; at: number; status: OpenClawStatus } | null = null;

/** Whether the CLI really works: the npm placeholder and a too-old Node both answer --version badly. */
export async function openclawStatus(bin: string): Promise<OpenClawStatus> {
  if (cachedStatus && cachedStatus.bin === bin && Date.now() - cachedStatus.at < 60_000) return cachedStatus.status;
  let status: OpenClawStatus;
  try {
    const result = await runCli(bin, ['--version'], { timeoutMs: 15_000 });
    const match = /OpenClaw\s+(\S+)/.exec(result.stdout);
    if (result.code === 0 && match) status = { available: true, version: match[1]!, problem: null };
    else if (/node:sqlite/.test(result.stderr + result.stdout))
      status = { available: false, version: null, problem: 'openclaw needs Node >= 24.16 (node:sqlite is unavailable)' };
    else status = { available: false, version: null, problem: `"${bin} --version" did not print an OpenClaw version (a placeholder install?)` };
  } catch (error) {
    status = { available: false, version: null, problem: `${bin} not found (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  cachedStatus = { bin, at: Date.now(), status };
  return status;
}
