// Runs the OpenClaw CLI: never through a shell, killed on time-out or cancellation, heartbeating
// while it waits so Temporal knows the worker is alive. Holds the one `openclaw agent` turn the
// analysis and the AI rewrite both run, the one reading of why the CLI failed, and the record a
// turn leaves (model, tokens, session, tool calls) whether it answered or not.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ApplicationFailure, type Context } from '@temporalio/activity';
import { AnalyzerOutputError } from '../core/parse-ai/index.js';
import type { TurnUsage } from '../core/ai-bill.js';
import { ERROR_TYPES } from '../core/temporal.js';
import type { ToolAttempt } from '../db/reviews.js';
import { currentActivity } from './activity-context.js';
import type { AnalyzerSettings } from './deps.js';
import { OpenClawSetupError, openTurn, withNodeOnPath, type TurnFolder } from './openclaw-state.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  /** the last STDERR_TAIL characters of what the CLI wrote to stderr */
  stderr: string;
  timedOut: boolean;
}

export interface CliOptions {
  timeoutMs: number;
  activity?: Context | null;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** the Node to run a JavaScript entry (`openclaw.mjs`) with; otherwise the binary runs as it is */
  node?: string | null;
}

const MAX_OUTPUT = 8 * 1024 * 1024;
/** How much of stderr is kept: the CLI logs there as it goes, and the end says why it failed. */
const STDERR_TAIL = 8 * 1024;

/**
 * Runs `bin args`, killed after `timeoutMs`. Given the activity it runs for, it stops when that
 * activity is cancelled and heartbeats meanwhile.
 */
export function runCli(bin: string, args: string[], opts: CliOptions): Promise<CliResult> {
  const activity = opts.activity ?? null;
  const signal = activity?.cancellationSignal;
  const node = opts.node ?? null;
  const [file, argv] = node && /\.[cm]?js$/.test(bin) ? [node, [bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: withNodeOnPath(opts.env ?? { ...process.env, NO_COLOR: '1', OPENCLAW_LOG_LEVEL: 'warn' }, node),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
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

/** Log lines the CLI writes on every turn that never explain a failure. */
const STDERR_NOISE = /^\[(?:session-sqlite|sqlite\/[\w-]+|memory)\]|\[trace:/;

function stderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !STDERR_NOISE.test(l));
}

/**
 * What the CLI said on stderr about why it stopped: its `Reason:` line when it printed one, else
 * its last lines (a too-old Node, a Gateway holding the state folder explain themselves there).
 */
function stderrExplanation(stderr: string): string | null {
  const lines = stderrLines(stderr);
  const reason = lines.filter((l) => l.startsWith('[openclaw] Reason: ')).at(-1);
  if (reason) return reason.slice('[openclaw] Reason: '.length);
  let text = '';
  for (const line of lines.reverse()) {
    if (text && text.length + line.length > 1000) break;
    text = text ? `${line} / ${text}` : line;
  }
  return text ? text.slice(-1000) : null;
}

/**
 * The last problem with the model provider the CLI reported on stderr while retrying (a rate
 * limit, a provider error 500): what a turn killed at its time-out was waiting on. Null when it
 * reported none.
 */
function lastProviderReport(stderr: string): string | null {
  const lines = stderrLines(stderr);
  const failedCall = lines.map((l) => /\bisError=true\b.*?\berror=(.+?)(?:\s+rawError=|$)/.exec(l)?.[1]).filter(Boolean).at(-1);
  if (failedCall) return failedCall.slice(0, 500);
  return lines.filter((l) => /rate.?limit|HTTP [45]\d\d|provider (?:internal )?error|transient .*retry/i.test(l)).at(-1)?.slice(0, 500) ?? null;
}

/**
 * Why a CLI run that exited non-zero failed, in the CLI's own words: the message of the
 * `{ "ok": false, "error": { "message" } }` envelope it printed, else, when it printed nothing on
 * stdout, what it said on stderr. Null when stdout holds something else: an agent turn's
 * time-out envelope, which core/parse-ai reads along with the answer.
 */
export function cliError(result: Pick<CliResult, 'stdout' | 'stderr'>): string | null {
  const stdout = result.stdout.trim();
  if (!stdout) return stderrExplanation(result.stderr) ?? 'it printed nothing';
  let envelope: { ok?: unknown; error?: { message?: unknown } | null } | null;
  try {
    envelope = JSON.parse(stdout) as typeof envelope;
  } catch {
    return null;
  }
  const message = envelope?.ok === false ? envelope.error?.message : null;
  return typeof message === 'string' && message.trim() ? message.trim().slice(0, 1000) : null;
}

/** What a turn that reached the CLI leaves on the review, answered or not. */
export interface TurnRecord {
  session_id: string;
  model: string | null;
  provider: string | null;
  /** usage.total, else in + out */
  tokens: number;
  /** usage.input with the cache reads and writes (all of it is input the model was sent) */
  tokens_in: number;
  tokens_out: number;
  usage: TurnUsage;
  /** usage.cost.total; null when the meta has none */
  cost_reported: number | null;
  tool_calls: ToolAttempt | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function parseEnvelope(stdout: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(stdout);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The record of an `agent --json` answer's meta (success and time-out envelopes carry it); the
 * model the config asked for (`provider/model`) where the CLI said nothing (killed, failed early).
 */
export function turnRecord(stdout: string, sessionId: string, configured: string | null = null): TurnRecord {
  const meta = obj(parseEnvelope(stdout)?.meta);
  const agentMeta = obj(meta.agentMeta);
  const usage = obj(agentMeta.usage);
  const summary = obj(meta.toolSummary);
  const calls = num(summary.calls) ?? 0;
  const slash = configured?.indexOf('/') ?? -1;
  const model = str(agentMeta.model);
  const turnUsage: TurnUsage = {
    input: Math.round(num(usage.input) ?? 0),
    output: Math.round(num(usage.output) ?? 0),
    cacheRead: Math.round(num(usage.cacheRead) ?? 0),
    cacheWrite: Math.round(num(usage.cacheWrite) ?? 0),
  };
  const tokensIn = turnUsage.input + turnUsage.cacheRead + turnUsage.cacheWrite;
  return {
    session_id: str(agentMeta.sessionId) ?? sessionId,
    model: model ?? (configured && slash >= 0 ? configured.slice(slash + 1) : configured),
    provider: str(agentMeta.provider) ?? (model === null && configured && slash >= 0 ? configured.slice(0, slash) : null),
    tokens: Math.round(num(usage.total) ?? tokensIn + turnUsage.output),
    tokens_in: tokensIn,
    tokens_out: turnUsage.output,
    usage: turnUsage,
    cost_reported: num(obj(usage.cost).total),
    tool_calls:
      calls > 0
        ? { calls, tools: strings(summary.tools), refused: num(summary.failures) ?? 0, ran: strings(obj(agentMeta.terminalReceipt).successfulToolNames) }
        : null,
  };
}

/** The answer as kept on the review: without the prompt OpenClaw echoes back in its meta (tens of KB). */
function keptAnswer(stdout: string): string {
  const envelope = parseEnvelope(stdout);
  const meta = envelope?.meta;
  if (!envelope || typeof meta !== 'object' || meta === null) return stdout;
  const { finalPromptText: _prompt, systemPromptReport: _system, ...kept } = meta as Record<string, unknown>;
  return JSON.stringify({ ...envelope, meta: kept }, null, 2);
}

/** How long past its own --timeout the CLI may run before it is killed: it starts slowly (8–45 s a turn, mostly start-up). */
export const KILL_GRACE_SECONDS = 30;
/** Bound of the raw answer kept for debugging (the review's raw_response, a failure's details). */
const RAW_ANSWER_LIMIT = 256 * 1024;

export interface AgentTurn<T> {
  sessionId: string;
  message: string;
  /** reads the answer; throws AnalyzerOutputError when it holds nothing usable */
  parse: (stdout: string) => T;
  /** masks secrets in what is kept or shown of the answer (the raw answer, stderr, failure messages) */
  redact: (text: string) => string;
}

/** The details of a failed turn's AnalyzerFailed: the raw answer, the turn's record, the end of stderr. */
export type TurnFailureDetails = [raw: string, record: TurnRecord, stderr: string];

/**
 * One `openclaw agent` turn with the analyzer's settings (agent, thinking level, time-out), as
 * the analysis and the AI rewrite both ask it, in a state folder of its own (openclaw-state.ts)
 * deleted after. Answers the parsed answer, the raw one (redacted) and the turn's record. A turn
 * that times out, fails, answers nothing usable or ran a tool throws AnalyzerFailed, with the
 * reason and TurnFailureDetails, and is not retried: another turn costs as many tokens and mostly
 * answers the same.
 */
export async function runAgentTurn<T>(settings: AnalyzerSettings, turn: AgentTurn<T>): Promise<{ answer: T; raw: string; record: TurnRecord }> {
  let folder: TurnFolder;
  try {
    folder = await openTurn(settings, turn.sessionId, turn.message);
  } catch (error) {
    if (!(error instanceof OpenClawSetupError)) throw error;
    throw ApplicationFailure.create({ message: turn.redact(error.message), type: ERROR_TYPES.analyzerFailed, nonRetryable: true });
  }
  try {
    const args = ['agent', '--local', '--session-id', turn.sessionId, '--message-file', folder.messageFile, '--json', '--timeout', String(settings.timeoutSeconds)];
    if (settings.agent) args.push('--agent', settings.agent);
    if (settings.thinking && settings.thinking !== 'off') args.push('--thinking', settings.thinking);
    const result = await runCli(settings.openclawBin, args, {
      timeoutMs: (settings.timeoutSeconds + KILL_GRACE_SECONDS) * 1000,
      activity: currentActivity(),
      env: folder.env,
      cwd: folder.dir,
      node: settings.openclawNode ?? null,
    });
    const record = turnRecord(result.stdout, turn.sessionId, folder.model);
    const raw = cutBytes(turn.redact(keptAnswer(result.stdout.slice(0, RAW_ANSWER_LIMIT))), RAW_ANSWER_LIMIT);
    const details: TurnFailureDetails = [raw, record, turn.redact(result.stderr)];
    const failure = (reason: string) => ApplicationFailure.create({ message: turn.redact(reason), type: ERROR_TYPES.analyzerFailed, details });
    if (record.tool_calls && record.tool_calls.ran.length > 0) {
      throw failure(
        `openclaw ran ${record.tool_calls.ran.join(', ')} although this service denies every tool (tools: { deny: ["*"] }): the answer is not used; ` +
          'check that the openclaw version honours tools.deny (this service is tested with 2026.9.6)',
      );
    }
    const report = lastProviderReport(result.stderr);
    const lastSaid = report ? `; it last reported: ${report}` : '';
    if (result.timedOut) throw failure(`openclaw did not answer within ${settings.timeoutSeconds} s${lastSaid}`);
    const said = result.code === 0 ? null : cliError(result);
    if (said !== null) throw failure(`openclaw agent exited ${result.code}: ${said}`);
    try {
      return { answer: turn.parse(result.stdout), raw, record };
    } catch (error) {
      if (!(error instanceof AnalyzerOutputError)) throw error;
      throw failure(result.code === 0 ? error.message : `${error.message} (exit ${result.code})${lastSaid}`);
    }
  } finally {
    await folder.remove();
  }
}

/** The longest prefix of `text` within `max` UTF-8 bytes. */
function cutBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const buf = Buffer.from(text, 'utf8').subarray(0, max);
  return buf.toString('utf8').replace(/\uFFFD$/, '');
}

/** The oldest Node the OpenClaw CLI runs on (it needs node:sqlite). */
export const OPENCLAW_MIN_NODE = '24.16';

export interface OpenClawStatus {
  available: boolean;
  version: string | null;
  problem: string | null;
}

let cachedStatus: { key: string; at: number; status: OpenClawStatus } | null = null;

/**
 * Whether the CLI really works, run with `node` (OPENCLAW_NODE) when given: the npm placeholder
 * and a too-old Node both answer --version badly.
 */
export async function openclawStatus(bin: string, node: string | null = null): Promise<OpenClawStatus> {
  const key = `${node ?? ''}\0${bin}`;
  if (cachedStatus && cachedStatus.key === key && Date.now() - cachedStatus.at < 60_000) return cachedStatus.status;
  let status: OpenClawStatus;
  try {
    const result = await runCli(bin, ['--version'], { timeoutMs: 15_000, node });
    const match = /OpenClaw\s+(\S+)/.exec(result.stdout);
    if (result.code === 0 && match) status = { available: true, version: match[1]!, problem: null };
    else if (/node:sqlite/.test(result.stderr + result.stdout))
      status = { available: false, version: null, problem: `openclaw needs Node >= ${OPENCLAW_MIN_NODE} (node:sqlite is unavailable)` };
    else status = { available: false, version: null, problem: `"${bin} --version" did not print an OpenClaw version (a placeholder install?)` };
  } catch (error) {
    const missing = node && !existsSync(node) ? node : bin;
    status = { available: false, version: null, problem: `${missing} not found (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  cachedStatus = { key, at: Date.now(), status };
  return status;
}
