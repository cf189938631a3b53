// `npm start` / `npm test` entry point: makes sure dependencies and the Temporal CLI are present
// (and, for tests, Chromium and the real OpenClaw CLI), then runs the real command.
//
//   node scripts/bootstrap.mjs start [args...]   -> node --import tsx cli/healing.ts start [args...]
//   node scripts/bootstrap.mjs test  [args...]   -> vitest run [args...]
//
// Plain JavaScript, Node built-ins only: it runs before `npm install`.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChromium } from './chromium.mjs';
import { resolveOpenclawCli } from './openclaw-cli.mjs';
import { resolveTemporalCli, formatDuration } from './temporal-cli.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROGRESS_EVERY_MS = 15_000;

const log = (msg) => process.stderr.write(`[healing] ${msg}\n`);

const USAGE = 'usage: node scripts/bootstrap.mjs start|test [args...]';

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'start' && command !== 'test') {
    log(USAGE);
    return 2;
  }

  // (a) dependencies
  await ensureDependencies();

  // (b) the Temporal CLI
  const env = { ...process.env };
  const t0 = Date.now();
  if (command === 'start' && env.TEMPORAL_ADDRESS && !env.TEMPORAL_CLI_PATH) {
    // An external Temporal is configured: no dev server needed, so never build just for this.
    log('step 2/3: locating the Temporal CLI (optional here)');
    log(`TEMPORAL_ADDRESS=${env.TEMPORAL_ADDRESS} is set: using that Temporal, not starting a dev server`);
    const found = await resolveTemporalCli({ log, env, build: false });
    if (found) env.TEMPORAL_CLI_PATH = found;
  } else {
    log('step 2/3: locating the Temporal CLI');
    env.TEMPORAL_CLI_PATH = await resolveTemporalCli({ log, env });
    log(`Temporal CLI ready (${formatDuration(Date.now() - t0)})`);
  }

  // (c) run
  if (command === 'start') {
    log(`step 3/3: starting: node --import tsx cli/healing.ts start${rest.length ? ` ${rest.join(' ')}` : ''}`);
    return run(process.execPath, ['--import', 'tsx', path.join('cli', 'healing.ts'), 'start', ...rest], env);
  }

  await ensureChromium({ log });
  // The real-CLI tests need the pinned OpenClaw CLI; installing it here shows its progress before vitest starts.
  await resolveOpenclawCli({ log });
  const localVitest = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'vitest.cmd' : 'vitest');
  if (fs.existsSync(localVitest)) {
    log(`step 3/3: testing: vitest run${rest.length ? ` ${rest.join(' ')}` : ''}`);
    return run(localVitest, ['run', ...rest], env);
  }
  log(`step 3/3: testing: npx vitest run${rest.length ? ` ${rest.join(' ')}` : ''}`);
  return run(npxCommand(), ['--no-install', 'vitest', 'run', ...rest], env);
}

/**
 * Does node_modules hold what the lock names? npm's own record of the install (the hidden
 * node_modules/.package-lock.json) must list every package the lock requires on this machine at
 * its locked version. A fresh clone's lock is newer than any install, so its date alone says little.
 */
function installedAsLocked(lock, hidden) {
  if (!hidden.endsWith('.package-lock.json')) return false;
  try {
    const locked = JSON.parse(fs.readFileSync(lock, 'utf8')).packages ?? {};
    const installed = JSON.parse(fs.readFileSync(hidden, 'utf8')).packages ?? {};
    for (const [name, entry] of Object.entries(locked)) {
      if (!name) continue; // the project itself
      const have = installed[name];
      if (!have) {
        if (entry.optional || entry.devOptional || entry.peer) continue; // another platform's, or not needed here
        return false;
      }
      if (have.version !== entry.version) return false;
    }
    return Object.keys(installed).every((name) => name in locked);
  } catch {
    return false;
  }
}

/** Runs `npm ci` (or `npm install` without a lock) when node_modules is missing or older than the lock. */
async function ensureDependencies() {
  const lock = path.join(ROOT, 'package-lock.json');
  const nodeModules = path.join(ROOT, 'node_modules');
  const hasLock = fs.existsSync(lock);
  const manifest = hasLock ? lock : path.join(ROOT, 'package.json');
  // npm writes node_modules/.package-lock.json at the end of every install: its age is the install's age.
  const stamp = [path.join(nodeModules, '.package-lock.json'), nodeModules].find((p) => fs.existsSync(p));

  let reason = null;
  if (!stamp) reason = 'node_modules is missing';
  else if (mtime(stamp) < mtime(manifest) && !(hasLock && installedAsLocked(lock, stamp))) reason = `node_modules is older than ${path.basename(manifest)}`;

  if (reason && fs.lstatSync(nodeModules, { throwIfNoEntry: false })?.isSymbolicLink()) {
    // npm ci empties the folder a link points to: another checkout's dependencies. Leave them be.
    log(`step 1/3: ${reason}, but node_modules is a link to ${fs.realpathSync(nodeModules)}; not reinstalling through it (run npm ci there if it is out of date)`);
    return;
  }

  if (!reason) {
    log('step 1/3: dependencies are up to date');
    return;
  }

  const args = hasLock ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  log(`step 1/3: ${reason}; running npm ${args[0]} (this can take a minute)`);
  const started = Date.now();
  const timer = setInterval(() => log(`still installing dependencies (${formatDuration(Date.now() - started)})`), PROGRESS_EVERY_MS);
  const npm = npmCommand();
  let code;
  try {
    code = await run(npm.cmd, [...npm.args, ...args], process.env, { exit: false });
  } finally {
    clearInterval(timer);
  }
  if (code !== 0) {
    // A lock out of sync with package.json fails here on purpose: installing something else than
    // what was locked would hide it. `npm install` updates the lock; commit it.
    throw new Error(`npm ${args[0]} failed (exit ${code}); see its output above. Fix that and run again.`);
  }
  // Mark the install as newer than the lock, even if npm rewrote the lock after its hidden lockfile.
  const newStamp = path.join(nodeModules, '.package-lock.json');
  const now = new Date();
  try { fs.utimesSync(fs.existsSync(newStamp) ? newStamp : nodeModules, now, now); } catch { /* best effort */ }
  log(`dependencies installed (${formatDuration(Date.now() - started)})`);
}

/** npm as [command, leading args]: the npm that runs us when we are under `npm start`/`npm test`. */
function npmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath) && fs.existsSync(execPath)) {
    return { cmd: process.execPath, args: [execPath] };
  }
  return { cmd: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

function npxCommand() {
  return process.platform === 'win32' ? 'npx.cmd' : 'npx';
}

const mtime = (p) => fs.statSync(p).mtimeMs;

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs a child with inherited stdio, forwarding SIGINT/SIGTERM/SIGHUP to it, and resolves with its exit
 * code (128+n when a signal ended it). The same signal arriving twice within a second (npm forwards
 * Ctrl-C to us and the terminal sends it too) is forwarded once.
 */
function run(cmd, args, env, { exit = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: 'inherit', shell: process.platform === 'win32' });
    const lastForwarded = new Map();
    const handlers = new Map();
    for (const sig of FORWARDED) {
      const handler = () => {
        const now = Date.now();
        if (now - (lastForwarded.get(sig) ?? 0) < 1000) return;
        lastForwarded.set(sig, now);
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      handlers.set(sig, handler);
      process.on(sig, handler);
    }
    const cleanup = () => { for (const [sig, h] of handlers) process.removeListener(sig, h); };
    child.on('error', (err) => {
      cleanup();
      reject(err.code === 'ENOENT' ? new Error(`could not run ${cmd}: not found`) : err);
    });
    child.on('close', (code, signal) => {
      cleanup();
      if (signal) {
        if (exit) {
          // Die of the same signal, so our parent sees what happened to the child.
          process.kill(process.pid, signal);
          setTimeout(() => resolve(128 + (signalNumber(signal) ?? 1)), 1000);
          return;
        }
        resolve(128 + (signalNumber(signal) ?? 1));
        return;
      }
      resolve(code ?? 1);
    });
  });
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }[signal];
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => {
    log(`error: ${err.message}`);
    process.exitCode = 1;
  },
);
