// Service configuration from the environment, validated at start-up: a bad value stops the
// service with a message naming the variable.
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ApplyWindowSchema, type ApplyWindow } from './apply-window.js';
import { DEFAULT_BATCH_CONCURRENCY } from './batch.js';
import { DEFAULT_APPLY_WAIT_S, DEFAULT_OPENCLAW_WAIT_S, DEFAULT_RUN_CHECK_INTERVAL_S, OPENCLAW_WAIT_TIMEOUTS, type WaitSettings } from './running.js';
import { ON_EXCEED, PricesSchema, type AiBillSettings, type Prices } from './ai-bill.js';
import { isTimeZone, type DefaultTimeZone } from './job.js';
import { humanError } from './messages.js';
import { parseLogRoots } from './read-places.js';
import { readTemporalSecurity, type TemporalTls } from './temporal-connection.js';

/** Days reviews, suggestions, actions, runs and notifications are kept (HEALING_RETENTION_DAYS). */
export const DEFAULT_RETENTION_DAYS = 90;

/** A TCP port written as plain digits (not 0x50, 1e3 or 3000.0). */
const port = z.string().regex(/^\d{1,5}$/, 'must be a port number (digits)').transform(Number).pipe(z.number().int().min(1).max(65_535));

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** TLS to TEMPORAL_ADDRESS and the client certificate (mTLS), Temporal Cloud's API key: core/temporal-connection.ts */
  TEMPORAL_TLS: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a host name (no scheme, no port)').optional(),
  TEMPORAL_API_KEY: z.string().regex(/^\S+$/, 'must not contain spaces or line breaks').optional(),
  TEMPORAL_UI_URL: z.string().url().optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  HEALING_TEMPORAL_PORT: port.default(7233),
  HEALING_TEMPORAL_UI_PORT: port.default(8233),
  HEALING_POSTGRES_PORT: port.default(54329),
  /** the worker's Prometheus endpoint for the Temporal SDK's own metrics: a port (on 127.0.0.1) or host:port; unset: off */
  HEALING_WORKER_METRICS_PORT: z
    .string()
    .regex(/^(?:[A-Za-z0-9.-]+:)?\d{1,5}$/, 'must be a port (9464, served on 127.0.0.1) or host:port (0.0.0.0:9464)')
    .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) >= 1 && Number(v.slice(v.lastIndexOf(':') + 1)) <= 65_535, 'the port must be 1-65535')
    .optional(),
  HEALING_JOBS_DIR: z.string().optional(),
  HEALING_DATA_DIR: z.string().optional(),
  HEALING_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  HEALING_TOKENS_FILE: z.string().optional(),
  HEALING_ANALYZER: z.enum(['openclaw', 'rules', 'auto']).default('auto'),
  HEALING_ANALYSIS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  HEALING_ANALYSIS_TIMEOUT_S: z.coerce.number().int().min(5).max(3600).default(300),
  /** decisions a bulk decision sends to suggestions' workflows at once */
  HEALING_BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(DEFAULT_BATCH_CONCURRENCY),
  HEALING_PUBLIC_URL: z.string().url().optional(),
  HEALING_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(DEFAULT_RETENTION_DAYS),
  /** seconds an apply waits for its job's open run to end before it fails with the reason */
  HEALING_APPLY_WAIT_S: z.coerce.number().int().min(0).max(7 * 86_400).default(DEFAULT_APPLY_WAIT_S),
  /** seconds an OpenClaw analysis waits while OpenClaw jobs run (0: never waits) */
  HEALING_OPENCLAW_WAIT_S: z.coerce.number().int().min(0).max(86_400).default(DEFAULT_OPENCLAW_WAIT_S),
  /** what an analysis does when they still run after that: analyse anyway, or skip the review with the reason */
  HEALING_OPENCLAW_WAIT_TIMEOUT: z.enum(OPENCLAW_WAIT_TIMEOUTS).default('run'),
  /** folders (absolute, ":"-separated) beyond each job's own that reviews may read logs from */
  HEALING_LOG_ROOTS: z.string().optional(),
  /** the zone of jobs that set no `timezone` (ProcClaw runs them in its machine's local time) */
  HEALING_DEFAULT_TIMEZONE: z
    .string()
    .refine(isIanaZoneName, { error: (issue) => `"${String(issue.input)}" is not an IANA time zone; use a name such as America/New_York, Europe/Lisbon or UTC` })
    .optional(),
  /** model prices per million tokens, JSON (core/ai-bill.ts PricesSchema): the cost of turns OpenClaw reports none for */
  HEALING_AI_PRICES: z.string().optional(),
  /** service-wide monthly (UTC) AI budgets, in tokens and in cost */
  HEALING_AI_BUDGET_TOKENS: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be a whole number of tokens, 1 or more, written in decimal digits, e.g. 5000000')
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER, 'is too large a number of tokens'))
    .optional(),
  HEALING_AI_BUDGET_COST: z
    .string()
    .regex(/^\d{1,15}(\.\d+)?$/, 'must be a cost above 0 written in decimal digits, e.g. 25 or 25.50')
    .transform(Number)
    .pipe(z.number().positive('must be a cost above 0, e.g. 25 or 25.50'))
    .optional(),
  HEALING_AI_BUDGET_ON_EXCEED: z.enum(ON_EXCEED).default('rules'),
  /** where service-wide budget notices go; unset: the notify channel of the job whose review crossed it */
  HEALING_AI_BUDGET_NOTIFY_CHANNEL: z.string().min(1).max(64).optional(),
  HEALING_AI_BUDGET_NOTIFY_TARGET: z.string().min(1).max(2048).optional(),
  /** the apply window of jobs that set none, as YAML (core/apply-window.ts); read by readApplyWindow */
  HEALING_APPLY_WINDOW: z.string().optional(),
  OPENCLAW_BIN: z.string().min(1).default('openclaw'),
  OPENCLAW_NODE: z.string().min(1).optional(),
  OPENCLAW_AGENT: z.string().min(1).optional(),
  OPENCLAW_THINKING: z.string().min(1).optional(),
  PROCCLAW_HOME: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface ServiceConfig {
  port: number;
  host: string;
  databaseUrl: string | null;
  temporalAddress: string | null;
  temporalNamespace: string;
  /** TEMPORAL_TLS*: null for plaintext (the dev server); the files are read once, at start */
  temporalTls: TemporalTls | null;
  /** TEMPORAL_API_KEY: Temporal Cloud's bearer token, sent over TLS only */
  temporalApiKey: string | null;
  temporalUiUrl: string | null;
  temporalCliPath: string | null;
  /** The ports of what `healing start` runs itself: the Temporal dev server, its UI, the embedded Postgres. */
  localPorts: { temporal: number; temporalUi: number; postgres: number };
  /** HEALING_WORKER_METRICS_PORT as host:port (a bare port is 127.0.0.1's): where a worker serves the Temporal SDK's metrics; null: nowhere */
  workerMetricsAddress: string | null;
  jobsSource: string | null;
  dataDir: string;
  apiToken: string | null;
  tokensFile: string | null;
  analyzer: {
    mode: 'openclaw' | 'rules' | 'auto';
    openclawBin: string;
    /** the Node >= 24.16 that runs the CLI while the service stays on Node 20; null: the one on PATH */
    openclawNode: string | null;
    agent: string | null;
    thinking: string | null;
    timeoutSeconds: number;
    /** each OpenClaw turn's own state folder goes under here */
    stateRoot: string;
    /** HEALING_AI_PRICES and HEALING_AI_BUDGET_* */
    bill: AiBillSettings;
  };
  analysisConcurrency: number;
  /** HEALING_BATCH_CONCURRENCY: decisions of a bulk decision in flight at once */
  batchConcurrency: number;
  publicUrl: string | null;
  retentionDays: number;
  /** HEALING_APPLY_WAIT_S, HEALING_OPENCLAW_WAIT_S, HEALING_OPENCLAW_WAIT_TIMEOUT (core/running.ts) */
  waits: WaitSettings;
  /** HEALING_LOG_ROOTS: folders beyond each job's own (core/read-places.ts) where run logs may lie */
  logRoots: string[];
  /** HEALING_DEFAULT_TIMEZONE, else this machine's zone: where jobs that set no `timezone` run, and are reviewed */
  defaultTimeZone: DefaultTimeZone;
  home: string;
  procclawHome: string;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined>, cwd: string, home: string): ServiceConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const open = !e.HEALING_API_TOKEN && !e.HEALING_TOKENS_FILE;
  if (open && e.HOST && !['127.0.0.1', 'localhost', '::1'].includes(e.HOST)) {
    throw new ConfigError(`invalid configuration:\n  HOST: ${e.HOST} is reachable from other machines; set HEALING_API_TOKEN (or HEALING_TOKENS_FILE) first, or listen on 127.0.0.1`);
  }
  const logRoots = parseLogRoots(e.HEALING_LOG_ROOTS, home);
  if ('problem' in logRoots) throw new ConfigError(`invalid configuration:\n  HEALING_LOG_ROOTS: ${logRoots.problem}`);
  const applyWindow = readApplyWindow(e.HEALING_APPLY_WINDOW);
  if (typeof applyWindow === 'string') throw new ConfigError(`invalid configuration:\n  HEALING_APPLY_WINDOW: ${applyWindow}`);
  const temporalSecurity = readTemporalSecurity(e, cwd);
  if (temporalSecurity.problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${temporalSecurity.problems.join('\n  ')}`);
  const dataDir = path.resolve(cwd, e.HEALING_DATA_DIR ?? '.healing');
  const prices = parsePrices(e.HEALING_AI_PRICES);
  if ('problem' in prices) throw new ConfigError(`invalid configuration:\n  HEALING_AI_PRICES: ${prices.problem}`);
  if (!e.HEALING_AI_BUDGET_NOTIFY_CHANNEL !== !e.HEALING_AI_BUDGET_NOTIFY_TARGET) {
    throw new ConfigError('invalid configuration:\n  HEALING_AI_BUDGET_NOTIFY_CHANNEL, HEALING_AI_BUDGET_NOTIFY_TARGET: set both, or neither');
  }
  return {
    port: e.PORT,
    // Without a token the API is open, so it listens on loopback only.
    host: e.HOST ?? (e.HEALING_API_TOKEN || e.HEALING_TOKENS_FILE ? '0.0.0.0' : '127.0.0.1'),
    databaseUrl: e.DATABASE_URL ?? null,
    temporalAddress: e.TEMPORAL_ADDRESS ?? null,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalTls: temporalSecurity.tls,
    temporalApiKey: temporalSecurity.apiKey,
    temporalUiUrl: e.TEMPORAL_UI_URL ?? null,
    temporalCliPath: e.TEMPORAL_CLI_PATH ?? null,
    localPorts: { temporal: e.HEALING_TEMPORAL_PORT, temporalUi: e.HEALING_TEMPORAL_UI_PORT, postgres: e.HEALING_POSTGRES_PORT },
    workerMetricsAddress: e.HEALING_WORKER_METRICS_PORT === undefined ? null : e.HEALING_WORKER_METRICS_PORT.includes(':') ? e.HEALING_WORKER_METRICS_PORT : `127.0.0.1:${e.HEALING_WORKER_METRICS_PORT}`,
    jobsSource: e.HEALING_JOBS_DIR ? path.resolve(cwd, e.HEALING_JOBS_DIR) : null,
    dataDir,
    apiToken: e.HEALING_API_TOKEN ?? null,
    tokensFile: e.HEALING_TOKENS_FILE ? path.resolve(cwd, e.HEALING_TOKENS_FILE) : null,
    analyzer: {
      mode: e.HEALING_ANALYZER,
      openclawBin: e.OPENCLAW_BIN,
      openclawNode: e.OPENCLAW_NODE ? path.resolve(cwd, e.OPENCLAW_NODE) : null,
      agent: e.OPENCLAW_AGENT ?? null,
      thinking: e.OPENCLAW_THINKING ?? null,
      timeoutSeconds: e.HEALING_ANALYSIS_TIMEOUT_S,
      stateRoot: path.join(dataDir, 'openclaw'),
      bill: {
        prices: prices.prices,
        budgetTokens: e.HEALING_AI_BUDGET_TOKENS ?? null,
        budgetCost: e.HEALING_AI_BUDGET_COST ?? null,
        onExceed: e.HEALING_AI_BUDGET_ON_EXCEED,
        notifyChannel: e.HEALING_AI_BUDGET_NOTIFY_CHANNEL ?? null,
        notifyTarget: e.HEALING_AI_BUDGET_NOTIFY_TARGET ?? null,
      },
    },
    analysisConcurrency: e.HEALING_ANALYSIS_CONCURRENCY,
    batchConcurrency: e.HEALING_BATCH_CONCURRENCY,
    publicUrl: e.HEALING_PUBLIC_URL ?? null,
    retentionDays: e.HEALING_RETENTION_DAYS,
    waits: {
      applyWaitS: e.HEALING_APPLY_WAIT_S,
      openclawWaitS: e.HEALING_OPENCLAW_WAIT_S,
      openclawWaitTimeout: e.HEALING_OPENCLAW_WAIT_TIMEOUT,
      checkIntervalS: DEFAULT_RUN_CHECK_INTERVAL_S,
      applyWindow,
    },
    logRoots: logRoots.roots,
    defaultTimeZone: resolveDefaultTimeZone(e.HEALING_DEFAULT_TIMEZONE),
    home,
    procclawHome: e.PROCCLAW_HOME ?? path.join(home, '.procclaw'),
    logLevel: e.LOG_LEVEL,
  };
}

/** HEALING_AI_PRICES read: JSON of `{ "<model or provider/model>": { input_per_mtok, output_per_mtok } }`. */
export function parsePrices(text: string | undefined): { prices: Prices } | { problem: string } {
  if (text === undefined) return { prices: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'must be JSON, e.g. {"anthropic/claude-sonnet-4": {"input_per_mtok": 3, "output_per_mtok": 15}}' };
  }
  // JSON.parse keeps "__proto__" as a key, which a record then drops (it sets the prototype): say so.
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) return { problem: '"__proto__" is not a model name; name models as "<model>" or "<provider>/<model>"' };
  const parsed = PricesSchema.safeParse(value, { error: humanError });
  if (parsed.success) return { prices: parsed.data };
  return { problem: parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ') };
}

const APPLY_WINDOW_EXAMPLE = 'e.g. {days: [mon, tue, wed, thu, fri], hours: ["09:00-17:00"]} or {between_runs: true}';

/** HEALING_APPLY_WINDOW read as a YAML window: the window, null when unset, or what is wrong with it. */
export function readApplyWindow(text: string | undefined): ApplyWindow | null | string {
  if (text === undefined) return null;
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    return `is not YAML (${(error as Error).message.split('\n')[0]}); write the window as YAML, ${APPLY_WINDOW_EXAMPLE}`;
  }
  const parsed = ApplyWindowSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`);
  return `${problems.join('; ')} (${APPLY_WINDOW_EXAMPLE})`;
}

/**
 * The zone of jobs that set none: `configured` (HEALING_DEFAULT_TIMEZONE, already validated),
 * else this machine's, as ProcClaw and cron run them. A name is spelled as Temporal needs it:
 * `america/new_york` becomes `America/New_York` (Intl ignores case, Temporal's zone files do not).
 */
export function resolveDefaultTimeZone(configured: string | undefined): DefaultTimeZone {
  if (configured) return { zone: canonicalCase(configured), source: 'HEALING_DEFAULT_TIMEZONE' };
  // Follows TZ; undefined or "Etc/Unknown" when TZ names no zone, and the C library then uses UTC.
  const machine = Intl.DateTimeFormat().resolvedOptions().timeZone as string | undefined;
  return { zone: machine && machine !== 'Etc/Unknown' && isTimeZone(machine) ? machine : 'UTC', source: 'machine' };
}

/** A zone name both Intl and Temporal know: no UTC offsets ("+05:00"), which Temporal refuses. */
function isIanaZoneName(name: string): boolean {
  return /^[A-Za-z]/.test(name) && isTimeZone(name);
}

function canonicalCase(name: string): string {
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  // Only the case: an alias (US/Eastern, Asia/Kolkata) keeps its name, which Temporal knows too.
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}
