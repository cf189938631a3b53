// `healing import procclaw [--db <procclaw.db>] [--follow] [--interval <s>] [--api <url>]`; --db
// defaults to $PROCCLAW_HOME/procclaw.db (PROCCLAW_HOME defaults to ~/.procclaw), where ProcClaw keeps it.
// The command's modules load when it runs, so other `healing` commands start fast.
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import type { ServiceConfig } from '../core/config.js';
import { isTimeZone } from '../core/job.js';
import { procclawLogsDir } from '../core/procclaw-log-files.js';
import type { ImportDeps, ImportOptions } from './procclaw/import.js';

interface ImportFlags {
  db?: string;
  follow?: boolean;
  interval: string;
  api?: string;
  timezone: string;
  reviewWindow: string;
  lockTimeout: string;
}

/** The database `healing import procclaw` reads without --db: ProcClaw's own, in PROCCLAW_HOME. */
export function defaultProcclawDb(cfg: Pick<ServiceConfig, 'home' | 'procclawHome'>): string {
  const home = cfg.procclawHome === '~' || cfg.procclawHome.startsWith('~/') ? path.join(cfg.home, cfg.procclawHome.slice(1)) : cfg.procclawHome;
  return path.resolve(home, 'procclaw.db');
}

export function registerImportCommand(program: Command, config: () => ServiceConfig): void {
  const importCommand = program.command('import').description('import run history from another scheduler');
  importCommand
    .command('procclaw')
    .description("import ProcClaw's run history and logs from its SQLite database (read-only; ProcClaw is never changed)")
    .option('--db <file>', "ProcClaw's database (default: $PROCCLAW_HOME/procclaw.db, PROCCLAW_HOME being ~/.procclaw unless set)")
    .option('--follow', 'keep importing new runs; a failed run starts its reactive review within seconds')
    .option('--interval <seconds>', 'with --follow, seconds between passes', '2')
    .option('--api <url>', 'report fresh runs to this API (e.g. http://127.0.0.1:3000), which starts the reactive reviews')
    .option(
      '--timezone <zone>',
      "the time zone of ProcClaw's timestamps that carry no offset (ProcClaw writes local time, and runs on this machine, whose database this reads)",
      Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    )
    .option('--review-window <minutes>', 'only runs that finished this recently start reviews; older ones are history', '60')
    .option('--lock-timeout <seconds>', 'how long to wait while ProcClaw holds a write lock', '5')
    .action(async (flags: ImportFlags) => {
      process.exit(await runImport(flags, config()));
    });
}

async function runImport(flags: ImportFlags, cfg: ServiceConfig): Promise<number> {
  const fail = (message: string, code = 2) => {
    console.error(`healing import procclaw: ${message}`);
    return code;
  };
  const dbFile = flags.db ? path.resolve(flags.db.startsWith('~/') ? path.join(cfg.home, flags.db.slice(2)) : flags.db) : defaultProcclawDb(cfg);
  const interval = Number(flags.interval);
  const windowMinutes = Number(flags.reviewWindow);
  const lockTimeout = Number(flags.lockTimeout);
  if (!Number.isFinite(interval) || interval < 0.2) return fail(`--interval ${flags.interval}: give seconds, at least 0.2`);
  if (!Number.isFinite(windowMinutes) || windowMinutes < 0) return fail(`--review-window ${flags.reviewWindow}: give minutes, 0 or more`);
  if (!Number.isFinite(lockTimeout) || lockTimeout < 0) return fail(`--lock-timeout ${flags.lockTimeout}: give seconds, 0 or more`);
  if (!isTimeZone(flags.timezone)) return fail(`--timezone ${flags.timezone}: not an IANA time zone (e.g. UTC, America/Sao_Paulo)`);
  let api: ImportDeps['api'] = null;
  if (flags.api) {
    try {
      api = { url: new URL(flags.api).toString().replace(/\/+$/, ''), token: cfg.apiToken };
    } catch {
      return fail(`--api ${flags.api}: not a URL (e.g. http://127.0.0.1:3000)`);
    }
  }

  const { ProcclawSource, ProcclawSourceError } = await import('./procclaw/source.js');
  // The ProcClaw file first: a wrong --db should not wait for Postgres to start.
  try {
    ProcclawSource.open(dbFile, { lockTimeoutMs: lockTimeout * 1000 }).close();
  } catch (error) {
    if (error instanceof ProcclawSourceError && error.kind === 'missing' && !flags.db) {
      return fail(`${dbFile}: no such file (the default, $PROCCLAW_HOME/procclaw.db with PROCCLAW_HOME=${cfg.procclawHome}). Set PROCCLAW_HOME to ProcClaw's folder, or point --db at its database.`);
    }
    if (error instanceof ProcclawSourceError) return fail(error.message);
    throw error;
  }

  const [{ default: pino }, { Client }, { connectClient }, { startReview }, { describeSummary, followProcclaw, importProcclawOnce }, { connectPostgres }] = await Promise.all([
    import('pino'),
    import('@temporalio/client'),
    import('./connect-temporal.js'),
    import('../api/temporal.js'),
    import('./procclaw/import.js'),
    import('./procclaw/postgres.js'),
  ]);
  const log = pino({ level: cfg.logLevel === 'info' ? 'warn' : cfg.logLevel }, pino.destination(2));
  const postgres = await connectPostgres(cfg, log);
  let connection: Connection | null = null;
  try {
    let review: ImportDeps['startReview'] = null;
    if (!api && cfg.temporalAddress) {
      connection = await connectClient(cfg);
      const client = new Client({ connection, namespace: cfg.temporalNamespace });
      review = (input) => startReview(client, postgres.db, input);
    }
    const deps: ImportDeps = { db: postgres.db, jobsSource: cfg.jobsSource, startReview: review, api };
    const opts: ImportOptions = {
      dbFile,
      naiveZone: flags.timezone,
      reviewWindowMs: windowMinutes * 60_000,
      lockTimeoutMs: lockTimeout * 1000,
      // where ProcClaw writes its jobs' logs (its DEFAULT_LOGS_DIR), whichever database --db names
      logsDir: procclawLogsDir(cfg.procclawHome, cfg.home),
      logRoots: cfg.logRoots,
    };
    if (!api && !review) {
      console.error('healing import procclaw: runs are imported, but no reactive review is started from here: pass --api <url> of the running service, or set TEMPORAL_ADDRESS (and HEALING_JOBS_DIR)');
    }
    if (!flags.follow) {
      const summary = await importProcclawOnce(deps, opts);
      console.log(describeSummary(summary) ?? `imported from ${dbFile}: nothing new`);
      return 0;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    console.log(`following ${dbFile} every ${interval} s (Ctrl-C stops)`);
    await followProcclaw(deps, {
      ...opts,
      intervalMs: interval * 1000,
      signal: stop.signal,
      onPass: (summary) => {
        const line = describeSummary(summary);
        if (line) console.log(`${new Date().toISOString()} ${line}`);
      },
      onError: (error) => console.error(`${new Date().toISOString()} healing import procclaw: ${error.message} (trying again in ${interval} s)`),
    });
    return 0;
  } catch (error) {
    if (error instanceof ProcclawSourceError) return fail(error.message);
    return fail((error as Error).message, 1);
  } finally {
    await connection?.close();
    await postgres.stop();
  }
}
