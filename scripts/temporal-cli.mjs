// Finds (or builds) the `temporal` CLI binary, which carries the Temporal dev server.
//
// Order: TEMPORAL_CLI_PATH, then `temporal` on PATH, then a cached build under
// ${XDG_CACHE_HOME:-$HOME/.cache}/procclaw-healing/temporal-cli/<version>/temporal, then a
// `go install` of the pinned version into that cache.
//
// Plain JavaScript, Node built-ins only: it runs before `npm install`.
// Run directly (`node scripts/temporal-cli.mjs`) it prints the resolved path on stdout.

import { spawn, execFile } from 'node:child_process';
import * as fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pinned Temporal CLI version. Later versions' go.mod has a replace directive that breaks `go install`. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** The Go package that builds the `temporal` binary. */
export const TEMPORAL_CLI_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';

const BINARY_NAME = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
const PROGRESS_EVERY_MS = 15_000;
const VERSION_TIMEOUT_MS = 20_000;
/** A lock older than this is considered abandoned even if its owner cannot be checked. */
const STALE_LOCK_MS = 60 * 60_000;

const defaultLog = (msg) => process.stderr.write(`[healing] ${msg}\n`);

/** The folder the pinned version is cached in. */
export function temporalCliCacheDir(env = process.env, version = TEMPORAL_CLI_VERSION) {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)
    ? env.XDG_CACHE_HOME
    : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'procclaw-healing', 'temporal-cli', version);
}

/** Where the cached binary of the pinned version lives (it may not exist yet). */
export function temporalCliCachePath(env = process.env, version = TEMPORAL_CLI_VERSION) {
  return path.join(temporalCliCacheDir(env, version), BINARY_NAME);
}

/**
 * Returns an absolute path to a working `temporal` binary.
 *
 * @param {object} [opts]
 * @param {(msg: string) => void} [opts.log]  progress lines (without prefix handling; default writes `[healing] ...` to stderr)
 * @param {NodeJS.ProcessEnv} [opts.env]       environment to read (default process.env)
 * @param {boolean} [opts.build]               build with `go install` when nothing is found (default true);
 *                                             when false, resolves to null instead of building
 * @returns {Promise<string|null>}
 */
export async function resolveTemporalCli({ log = defaultLog, env = process.env, build = true } = {}) {
  // 1. An explicit path wins, and must be right.
  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit !== undefined && explicit !== '') {
    const abs = path.resolve(explicit);
    let st;
    try {
      st = await fs.stat(abs);
    } catch {
      throw new Error(`TEMPORAL_CLI_PATH is set to ${JSON.stringify(explicit)}, but no file exists there. ` +
        'Point it at a `temporal` binary, or unset it to use `temporal` on PATH or a cached build.');
    }
    if (!st.isFile() || !(await isExecutable(abs))) {
      throw new Error(`TEMPORAL_CLI_PATH is set to ${JSON.stringify(explicit)}, but that is not an executable file. ` +
        `Fix its permissions (chmod +x ${abs}) or point TEMPORAL_CLI_PATH at a \`temporal\` binary.`);
    }
    log(`Temporal CLI: ${abs} (from TEMPORAL_CLI_PATH)`);
    return abs;
  }

  // 2. `temporal` on PATH, if it runs.
  for (const candidate of whichAll(BINARY_NAME, env)) {
    const version = await versionOf(candidate);
    if (version) {
      log(`Temporal CLI: ${candidate} (on PATH: ${version})`);
      return candidate;
    }
  }

  // 3. The cache.
  const cached = temporalCliCachePath(env);
  const cachedVersion = await versionOf(cached);
  if (cachedVersion) {
    log(`Temporal CLI: ${cached} (cached: ${cachedVersion})`);
    return cached;
  }

  if (!build) return null;

  // 4. Build it.
  return buildIntoCache({ log, env });
}

async function buildIntoCache({ log, env }) {
  const dir = temporalCliCacheDir(env);
  const target = path.join(dir, BINARY_NAME);
  const lockPath = path.join(dir, '.build.lock');
  await fs.mkdir(dir, { recursive: true });

  const started = Date.now();
  // Hold the lock, or wait for whoever holds it.
  for (;;) {
    if (await tryLock(lockPath)) break;
    const holder = await readLock(lockPath);
    if (holder && isStale(holder)) {
      log(`removing a stale Temporal CLI build lock (pid ${holder.pid} on ${holder.host ?? '?'} is gone)`);
      await fs.rm(lockPath, { force: true });
      continue;
    }
    log(`another process (pid ${holder?.pid ?? '?'}) is building the Temporal CLI ${TEMPORAL_CLI_VERSION}; waiting for it`);
    const outcome = await waitForOtherBuild({ lockPath, target, log, started });
    if (outcome === 'built') {
      const version = await versionOf(target);
      if (version) {
        log(`Temporal CLI: ${target} (built by another process: ${version})`);
        return target;
      }
    }
    // The other build gave up or produced nothing usable: try to take the lock ourselves.
  }

  const release = () => { try { fsSync.rmSync(lockPath, { force: true }); } catch { /* ignore */ } };
  try {
    // Someone may have finished between our cache check and taking the lock.
    const already = await versionOf(target);
    if (already) {
      log(`Temporal CLI: ${target} (cached: ${already})`);
      return target;
    }
    return await goInstall({ dir, target, log, env });
  } finally {
    release();
  }
}

async function goInstall({ dir, target, log, env }) {
  const go = whichAll(process.platform === 'win32' ? 'go.exe' : 'go', env)[0];
  if (!go) {
    throw new Error(
      `The Temporal CLI was not found (TEMPORAL_CLI_PATH unset, no \`temporal\` on PATH, nothing cached at ${target}), ` +
      'and Go is not installed to build it. Either install Go 1.25 or newer (https://go.dev/dl/; an older Go 1.21+ fetches the ' +
      'toolchain it needs by itself) and run again, or install the Temporal CLI (https://docs.temporal.io/cli) and put it on PATH, ' +
      'or set TEMPORAL_CLI_PATH to an existing `temporal` binary.');
  }

  // Build into a private staging folder, then rename into place, so a half-written binary is never picked up.
  const staging = await fs.mkdtemp(path.join(dir, '.staging-'));
  const spec = `${TEMPORAL_CLI_PACKAGE}@${TEMPORAL_CLI_VERSION}`;
  const goflags = [env.GOFLAGS, /(^|\s)-mod=/.test(env.GOFLAGS ?? '') ? '' : '-mod=mod'].filter(Boolean).join(' ');
  // CGO off and these link flags are what the upstream release builds use: a static binary that reports its version.
  const childEnv = { ...env, GOBIN: staging, GOFLAGS: goflags, CGO_ENABLED: '0' };
  const ldflags = `-ldflags=-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.replace(/^v/, '')}`;
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with \`go install ${spec}\` into ${dir}`);
  log('this happens once and takes a few minutes (set TEMPORAL_CLI_PATH to skip it)');

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

  const child = spawn(go, ['install', ldflags, spec], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  // If we are interrupted, stop go and clean up rather than leaving a lock behind.
  const onSignal = (sig) => {
    child.kill('SIGTERM');
    try { fsSync.rmSync(staging, { recursive: true, force: true }); } catch { /* ignore */ }
    try { fsSync.rmSync(path.join(dir, '.build.lock'), { force: true }); } catch { /* ignore */ }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const timer = setInterval(() => {
    log(`still building the Temporal CLI (${formatDuration(Date.now() - started)})${lastLine ? `: ${truncate(lastLine, 100)}` : ''}`);
  }, PROGRESS_EVERY_MS);

  let code;
  try {
    code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? (signal ? `signal ${signal}` : 'unknown')));
    });
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw new Error(`Could not run ${go}: ${err.message}. Install Go (https://go.dev/dl/) or set TEMPORAL_CLI_PATH to an existing \`temporal\` binary.`);
  } finally {
    clearInterval(timer);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const built = path.join(staging, BINARY_NAME);
  if (code !== 0 || !(await isExecutable(built))) {
    await fs.rm(staging, { recursive: true, force: true });
    const text = output.join('').trim();
    throw new Error(
      `Building the Temporal CLI failed (\`go install ${spec}\` exited with ${code}).\n` +
      `--- go output (last part) ---\n${text.slice(-8000) || '(no output)'}\n--- end of go output ---\n` +
      'Fix the cause above (Go 1.25 or newer, or 1.21+ allowed to fetch a toolchain, and access to the Go module proxy are needed), or install the Temporal CLI ' +
      '(https://docs.temporal.io/cli) and put it on PATH, or set TEMPORAL_CLI_PATH to an existing `temporal` binary.');
  }

  await fs.rename(built, target);
  await fs.rm(staging, { recursive: true, force: true });
  const version = await versionOf(target);
  if (!version) {
    throw new Error(`The Temporal CLI was built at ${target}, but \`${target} --version\` does not run. ` +
      'Delete that file and try again, or set TEMPORAL_CLI_PATH to a working `temporal` binary.');
  }
  log(`built the Temporal CLI in ${formatDuration(Date.now() - started)}: ${version}`);
  return target;
}

export async function tryLock(lockPath) {
  try {
    const fh = await fs.open(lockPath, 'wx');
    await fh.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now() }));
    await fh.close();
    return true;
  } catch (err) {
    if (err.code === 'EEXIST') return false;
    throw err;
  }
}

export async function readLock(lockPath) {
  try {
    const text = await fs.readFile(lockPath, 'utf8');
    const st = await fs.stat(lockPath);
    const data = JSON.parse(text);
    return { pid: data.pid, host: data.host, at: data.at ?? st.mtimeMs };
  } catch (err) {
    if (err.code === 'ENOENT') return null; // released meanwhile
    // Unreadable or half-written: judge by age only.
    try {
      const st = await fs.stat(lockPath);
      return { pid: undefined, host: undefined, at: st.mtimeMs };
    } catch {
      return null;
    }
  }
}

export function isStale(holder) {
  if (Date.now() - holder.at > STALE_LOCK_MS) return true;
  if (holder.host === os.hostname() && Number.isInteger(holder.pid)) return !pidAlive(holder.pid);
  return false;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function waitForOtherBuild({ lockPath, target, log, started }) {
  let lastNote = Date.now();
  for (;;) {
    await sleep(1000);
    const holder = await readLock(lockPath);
    if (!holder) return (await exists(target)) ? 'built' : 'released';
    if (isStale(holder)) return 'stale';
    if (Date.now() - lastNote >= PROGRESS_EVERY_MS) {
      lastNote = Date.now();
      log(`still waiting for the other Temporal CLI build (${formatDuration(Date.now() - started)})`);
    }
  }
}

/** Runs `<bin> --version`; returns its first line, or null when it does not run. */
export async function versionOf(bin) {
  if (!(await isExecutable(bin))) return null;
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: VERSION_TIMEOUT_MS, windowsHide: true }, (err, stdout) => {
      if (err) return resolve(null);
      const line = String(stdout).split('\n').map((l) => l.trim()).find(Boolean);
      resolve(line || 'temporal (version unknown)');
    });
  });
}

/** Every executable called `name` on PATH, in PATH order, as absolute paths. */
export function whichAll(name, env) {
  const found = [];
  const seen = new Set();
  for (const entry of (env.PATH || '').split(path.delimiter)) {
    if (!entry) continue;
    const candidate = path.resolve(entry, name);
    if (seen.has(candidate)) continue;
    seen.add(candidate);
    try {
      const st = fsSync.statSync(candidate);
      fsSync.accessSync(candidate, fsSync.constants.X_OK);
      if (st.isFile()) found.push(candidate);
    } catch { /* not here */ }
  }
  return found;
}

async function isExecutable(p) {
  try {
    const st = await fs.stat(p);
    if (!st.isFile()) return false;
    await fs.access(p, fsSync.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function exists(p) {
  try { await fs.access(p); return true; } catch { return false; }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const truncate = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function formatDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

// `node scripts/temporal-cli.mjs` prints the path (progress goes to stderr).
const isMain = (() => {
  try {
    return !!process.argv[1] && fsSync.realpathSync(process.argv[1]) === fsSync.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  resolveTemporalCli().then(
    (p) => { process.stdout.write(`${p}\n`); },
    (err) => { process.stderr.write(`[healing] ${err.message}\n`); process.exitCode = 1; },
  );
}
