// One embedded Postgres for the whole run (each test file gets its own database in it), the
// Temporal CLI path for the dev servers each file starts, and the real OpenClaw CLI (with its Node).
import os from 'node:os';
import path from 'node:path';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveOpenclawCli } from '../../scripts/openclaw-cli.mjs';
import type { OpenclawCli } from './openclaw-real.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalCliPath: string;
    openclaw: OpenclawCli;
  }
}

let embedded: EmbeddedDatabase | null = null;
let dataDir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  const log = (m: string) => console.log(m);
  const temporalCliPath: string = process.env.TEMPORAL_CLI_PATH ?? (await resolveTemporalCli({ log }));
  const openclaw: OpenclawCli = await resolveOpenclawCli({ log });
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'healing-test-pg-'));
    await chmod(dataDir, 0o755); // as root, Postgres runs as its own user and must reach the folder
    embedded = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg'), persistent: false, database: 'postgres' });
    databaseUrl = embedded.url;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalCliPath', temporalCliPath);
  project.provide('openclaw', openclaw);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
