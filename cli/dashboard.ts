// The dashboard's build (web/dist): whether it is there and current, and building it when not, so
// `healing start` never serves a missing or stale dashboard without saying so.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
const WEB_SOURCES = path.join(ROOT, 'web');
/** Besides web/, what changes the built dashboard: its dependencies' versions. */
const OTHER_INPUTS = [path.join(ROOT, 'package-lock.json')];
const SKIPPED = new Set(['dist', 'node_modules']);

export type DashboardBuild =
  | { state: 'current'; builtAt: Date }
  | { state: 'missing' }
  | { state: 'incomplete'; asset: string }
  | { state: 'stale'; builtAt: Date; newer: string };

export const BUILD_COMMAND = 'npm run build:web';

/** Compares web/dist/index.html with the newest file of web/ (and the lock). */
export function dashboardBuild(): DashboardBuild {
  const index = path.join(WEB_DIST, 'index.html');
  if (!existsSync(index)) return { state: 'missing' };
  // An index.html whose bundles are gone serves a blank page: as good as no build.
  for (const [, asset] of readFileSync(index, 'utf8').matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)) {
    if (!existsSync(path.join(WEB_DIST, asset!))) return { state: 'incomplete', asset: asset! };
  }
  const builtAt = statSync(index).mtime;
  const newest = newestInput();
  if (newest && newest.mtimeMs > builtAt.getTime()) return { state: 'stale', builtAt, newer: path.relative(ROOT, newest.file) };
  return { state: 'current', builtAt };
}

/** One line for people: what is wrong with the build, or null when it is current. */
export function describeDashboardBuild(build: DashboardBuild): string | null {
  if (build.state === 'missing') return 'web/dist is missing';
  if (build.state === 'incomplete') return `web/dist lacks ${build.asset}, which its index.html loads`;
  if (build.state === 'stale') return `web/dist is older than ${build.newer}`;
  return null;
}

/** What is wrong with the build and the command that fixes it, or null when it is current. */
export function dashboardAdvice(): string | null {
  const problem = describeDashboardBuild(dashboardBuild());
  return problem && `${problem}: \`${BUILD_COMMAND}\` builds it`;
}

/**
 * Builds the dashboard when it is missing or stale. The build goes to a folder beside web/dist and
 * replaces it in one rename, so an API already serving it never serves half a build. Resolves with
 * null when the dashboard is current (built now or before), else with what is wrong and how to fix it.
 */
export async function ensureDashboard(log: (message: string) => void): Promise<string | null> {
  if (dashboardBuild().state === 'current') return null;
  // Several builders at once (test files, a start beside them) take turns; the later ones find it built.
  const release = await takeBuildLock();
  try {
    // What a killed build left beside web/dist: nobody else builds while we hold the lock.
    for (const entry of readdirSync(path.dirname(WEB_DIST))) {
      if (/^dist\.(building|previous)-\d+$/.test(entry)) await rm(path.join(path.dirname(WEB_DIST), entry), { recursive: true, force: true });
    }
    return await build(log);
  } finally {
    await release();
  }
}

async function build(log: (message: string) => void): Promise<string | null> {
  const problem = describeDashboardBuild(dashboardBuild());
  if (!problem) return null;
  let vite: string;
  try {
    // vite's exports do not name its bin: find the package, then the file
    vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    return `${problem} and vite is not installed (a production install omits it): run \`npm ci && ${BUILD_COMMAND}\``;
  }
  log(`${problem}: building the dashboard (about 10 s)`);
  const started = Date.now();
  const staging = `${WEB_DIST}.building-${process.pid}`;
  const output: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', path.join('web', 'vite.config.ts'), '--outDir', staging, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('error', (error) => {
      output.push(error.message);
      resolve(1);
    });
    child.on('close', (exit) => resolve(exit ?? 1));
  });
  if (code !== 0) {
    await rm(staging, { recursive: true, force: true });
    const tail = output.join('').trim().split('\n').slice(-8).join('\n');
    return `${problem} and building it failed (exit ${code}): ${tail}\nfix what it says, then \`${BUILD_COMMAND}\``;
  }
  const previous = `${WEB_DIST}.previous-${process.pid}`;
  try {
    if (existsSync(WEB_DIST)) await rename(WEB_DIST, previous);
    await rename(staging, WEB_DIST);
  } catch (error) {
    if (!existsSync(WEB_DIST) && existsSync(previous)) await rename(previous, WEB_DIST);
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(previous, { recursive: true, force: true });
  }
  log(`dashboard built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return null;
}

const LOCK = path.join(WEB_SOURCES, '.build-lock');
/** A lock this old was left by a killed build. */
const STALE_LOCK_MS = 120_000;

async function takeBuildLock(): Promise<() => Promise<void>> {
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(path.join(LOCK, 'pid'), String(process.pid));
      return () => rm(LOCK, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      // A build killed mid-way (Ctrl-C) leaves its lock: its holder is gone, so it is taken over at once.
      if (age > STALE_LOCK_MS || (age > 1_000 && !holderAlive())) await rm(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another dashboard build holds ${LOCK}; remove it if none is running`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function holderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8').trim());
  } catch {
    return false; // killed between taking the lock and naming itself
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function newestInput(): { file: string; mtimeMs: number } | null {
  let newest: { file: string; mtimeMs: number } | null = null;
  const consider = (file: string) => {
    const mtimeMs = statSync(file).mtimeMs;
    if (!newest || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
  };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) {
        if (!SKIPPED.has(entry.name) && !entry.name.startsWith('dist.')) walk(path.join(dir, entry.name));
      } else if (entry.isFile()) {
        consider(path.join(dir, entry.name));
      }
    }
  };
  walk(WEB_SOURCES);
  for (const file of OTHER_INPUTS) if (existsSync(file)) consider(file);
  return newest;
}
