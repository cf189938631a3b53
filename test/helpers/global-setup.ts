// One embedded Postgres for the whole run (each test file gets its own database in it), and the
// Temporal CLI path for the dev servers each file starts.
import os from 'node:os';
import path from 'node:path';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalCliPath: string;
  }
}

let embedded: EmbeddedDatabase | null = null;
let dataDir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  const temporalCliPath: string = process.env.TEMPORAL_CLI_PATH ?? (await resolveTemporalCli({ log: (m: string) => console.log(m) }));
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'healing-test-pg-'));
    await chmod(dataDir, 0o755); // as root, Postgres runs as its own user and must reach the folder
    embedded = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg'), persistent: false, database: 'postgres' });
    databaseUrl = embedded.url;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalCliPath', temporalCliPath);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
