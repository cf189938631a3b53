// What the routers need, passed in by whoever starts the API (the CLI or a test).
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { AiBillSettings } from '../core/ai-bill.js';
import type { DefaultTimeZone } from '../core/job.js';
import type { ReadPlacesEnv } from '../core/read-places.js';
import type { ChangeFeed } from '../db/change-feed.js';
import type { Db } from '../db/knex.js';
import type { ApiToken } from './auth.js';

export interface ApiDeps {
  db: Db;
  /** the Temporal client; throws when Temporal cannot be reached */
  temporal: () => Promise<Client>;
  temporalNamespace: string;
  jobsSource: string;
  temporalUiUrl: string | null;
  analyzerStatus: () => Promise<{ active: 'openclaw' | 'rules'; openclaw: { available: boolean; version: string | null; problem: string | null } }>;
  log: Logger;
  /** the service's AI budgets and prices (HEALING_AI_*), shown beside the month's spend; unset: none */
  aiBill?: () => AiBillSettings;
  /** bearer tokens; empty means open (and then the server listens on loopback only) */
  tokens: ApiToken[];
  /** HEALING_BATCH_CONCURRENCY: decisions a bulk decision sends at once (default core/batch.ts DEFAULT_BATCH_CONCURRENCY) */
  batchConcurrency?: number;
  /** commands (POST/PUT) a caller may send per minute */
  commandRateLimit?: number;
  /** how old the stats endpoints' figures may be, in ms (default 1000; 0: computed per request) */
  statsCacheMs?: number;
  /** the built dashboard, served at / when present */
  webDist: string | null;
  /**
   * Makes one job's Temporal schedule match its file (the worker's reconciler, passed in by whoever
   * starts the API); without it an edited job's schedule follows at the worker's next reconcile.
   */
  reconcileSchedule?: (jobId: string) => Promise<'created' | 'updated' | 'paused' | 'deleted' | 'unchanged'>;
  /** ServiceConfig.defaultTimeZone: the review zone of jobs that set none, shown per job; unset: this machine's */
  defaultTimeZone?: DefaultTimeZone;
  /**
   * Where a job's logs may lie (its folders, ProcClaw's logs, HEALING_LOG_ROOTS): a run report or a
   * business_log path outside them is refused. Unset: this process's home, ~/.procclaw, no data
   * folder and no extra roots.
   */
  readPlaces?: ReadPlacesEnv;
  /**
   * Postgres's change notifications, streamed by GET /events to the dashboard. Whoever starts the
   * API owns it and closes it before the server (that ends the open streams). Unset: /events
   * answers 503 and the dashboard polls.
   */
  changes?: ChangeFeed;
  /** the event streams' heartbeat and how many may be open at once (api/routes/events.ts) */
  events?: { heartbeatMs?: number; maxClients?: number };
  /**
   * How a test notification is sent (POST /jobs/{id}/notify-test): the openclaw binary for the
   * channels it carries, and the dashboard link the message holds. Unset: `openclaw` on PATH, no link.
   */
  notify?: { openclawBin: string; openclawNode: string | null; dashboardUrl: string | null };
}
