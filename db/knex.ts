// The knex instance and migrations. Migrations are imported statically so they run the same
// under tsx, vitest and a bundled build, with no loader guessing at file extensions.
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import * as m001 from '../migrations/001_healing_tables.js';
import * as m002 from '../migrations/002_notifications_retention.js';
import * as m003 from '../migrations/003_import_state.js';
import * as m004 from '../migrations/004_counts_and_indexes.js';
import * as m005 from '../migrations/005_action_verification.js';
import * as m006 from '../migrations/006_review_ai_record.js';
import * as m007 from '../migrations/007_suggestion_applying.js';
import * as m008 from '../migrations/008_guards_and_waits.js';
import * as m009 from '../migrations/009_change_notifications.js';
import * as m010 from '../migrations/010_advice_acknowledged.js';
import * as m011 from '../migrations/011_job_runs_time_note.js';
import * as m012 from '../migrations/012_import_generations.js';
import * as m013 from '../migrations/013_watch_evidence_silences.js';
import * as m014 from '../migrations/014_rejection_memory.js';
import * as m015 from '../migrations/015_ai_bill.js';
import * as m016 from '../migrations/016_review_fingerprint_queue.js';
import * as m017 from '../migrations/017_bulk_decisions.js';
import * as m018 from '../migrations/018_apply_windows.js';

// int8 (ids, counts) as numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value: string) => Number(value));

const MIGRATIONS: Record<string, Knex.Migration> = {
  '001_healing_tables': m001,
  '002_notifications_retention': m002,
  '003_import_state': m003,
  '004_counts_and_indexes': m004,
  '005_action_verification': m005,
  '006_review_ai_record': m006,
  '007_suggestion_applying': m007,
  '008_guards_and_waits': m008,
  '009_change_notifications': m009,
  '010_advice_acknowledged': m010,
  '011_job_runs_time_note': m011,
  '012_import_generations': m012,
  '013_watch_evidence_silences': m013,
  '014_rejection_memory': m014,
  '015_ai_bill': m015,
  '016_review_fingerprint_queue': m016,
  '017_bulk_decisions': m017,
  '018_apply_windows': m018,
};

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};

export type Db = Knex;

export function createDb(connectionString: string, pool: { min?: number; max?: number } = {}): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: 'procclaw-healing' },
    pool: { min: pool.min ?? 0, max: pool.max ?? 10 },
    acquireConnectionTimeout: 5_000,
  });
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export async function migrateRollbackAll(db: Db): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}

/** True when Postgres answers a trivial query within the time given. */
export async function pingDb(db: Db, timeoutMs = 2_000): Promise<boolean> {
  try {
    await Promise.race([
      db.raw('select 1'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}
