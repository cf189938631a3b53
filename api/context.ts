// What the routers need, passed in by whoever starts the API (the CLI or a test).
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';

export interface ApiDeps {
  db: Db;
  /** the Temporal client; throws when Temporal cannot be reached */
  temporal: () => Promise<Client>;
  temporalNamespace: string;
  jobsSource: string;
  temporalUiUrl: string | null;
  analyzerStatus: () => Promise<{ active: 'openclaw' | 'rules'; openclaw: { available: boolean; version: string | null; problem: string | null } }>;
  log: Logger;
  /** the built dashboard, served at / when present */
  webDist: string | null;
}
