// A fresh, migrated database per test file inside the run's Postgres.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDb, migrateLatest, type Db } from '../../db/knex.js';

export async function createTestDatabase(): Promise<{ db: Db; url: string; drop: () => Promise<void> }> {
  const baseUrl = inject('databaseUrl');
  const name = `healing_test_${randomBytes(5).toString('hex')}`;
  const admin = createDb(baseUrl, { max: 1 });
  await admin.raw(`create database ${name}`);
  await admin.destroy();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString());
  await migrateLatest(db);
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.destroy();
      const cleanup = createDb(baseUrl, { max: 1 });
      await cleanup.raw(`drop database if exists ${name} with (force)`);
      await cleanup.destroy();
    },
  };
}
