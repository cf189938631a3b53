// What activities need from the outside, passed in (real or test) rather than read from globals.
import type { Logger } from 'pino';
import type { AiBillSettings } from '../core/ai-bill.js';
import type { DefaultTimeZone } from '../core/job.js';
import type { WaitSettings } from '../core/running.js';
import type { Db } from '../db/knex.js';

export interface AnalyzerSettings {
  /** `openclaw`, `rules`, or `auto` (openclaw when its CLI works, else rules) */
  mode: 'openclaw' | 'rules' | 'auto';
  openclawBin: string;
  agent: string | null;
  thinking: string | null;
  timeoutSeconds: number;
  /** the Node >= 24.16 the CLI runs with (OPENCLAW_NODE); null: the one its shebang finds on PATH */
  openclawNode?: string | null;
  /** where each turn gets its own OpenClaw state folder (<data dir>/openclaw); unset: the system temp folder */
  stateRoot?: string;
  /** prices and monthly budgets (HEALING_AI_PRICES, HEALING_AI_BUDGET_*); unset: none */
  bill?: AiBillSettings;
}

export interface ActivityDeps {
  db: Db;
  /** the job catalog: a folder of job files or one jobs.yaml */
  jobsSource: string;
  /** backups live under here */
  dataDir: string;
  home: string;
  procclawHome: string;
  analyzer: AnalyzerSettings;
  /** where people open the dashboard, for links in notifications */
  dashboardUrl: string;
  /** days data is kept before retention deletes it (HEALING_RETENTION_DAYS); 90 when unset */
  retentionDays?: number;
  /** HEALING_LOG_ROOTS: folders beyond each job's own that reviews may read logs from */
  logRoots?: readonly string[];
  /** bounds of the waits for running jobs (HEALING_APPLY_WAIT_S, HEALING_OPENCLAW_WAIT_S...); core/running.ts DEFAULT_WAITS for any unset */
  waits?: Partial<WaitSettings>;
  /** ServiceConfig.defaultTimeZone: the zone of jobs that set none, told to the analyzer; unset: this machine's */
  defaultTimeZone?: DefaultTimeZone;
  log: Logger;
}
