// What a deployment relies on and Docker cannot check here: migrations that undo cleanly, and a
// docker-compose.yml and Dockerfile that hang together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLatest, migrateRollbackAll } from '../db/knex.js';
import { createTestDatabase } from './helpers/database.js';
// @ts-expect-error plain JS module, also run on its own by `node scripts/check-compose.mjs`
import { checkCompose } from '../scripts/check-compose.mjs';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());

const tables = async () =>
  (await database.db.raw<{ rows: { table_name: string }[] }>("select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'knex%' order by 1")).rows.map((r) => r.table_name);

describe('migrations', () => {
  it('roll back to an empty schema and apply again, every one of them reversible', async () => {
    const before = await tables();
    expect(before).toEqual(expect.arrayContaining(['healing_reviews', 'healing_suggestions', 'healing_actions', 'job_runs', 'healing_suggestion_counts']));
    await migrateRollbackAll(database.db);
    expect(await tables()).toEqual([]);
    const reapplied = await migrateLatest(database.db);
    expect(reapplied.length).toBeGreaterThanOrEqual(4);
    expect(await tables()).toEqual(before);
  });
});

describe('docker-compose.yml', () => {
  it('has every service, variable and file it names, by the static checks', () => {
    const result = checkCompose();
    expect(result.errors).toEqual([]);
  });
});
