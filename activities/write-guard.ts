// What core/write-policy.ts needs, gathered from the disk: the other jobs of the catalog with the
// real paths of their files, and a shared config's current content. A review's suggestions are
// checked against the catalog as it was up to five seconds ago, an apply against the catalog as it
// is then.
import { readFile, realpath, stat } from 'node:fs/promises';
import { jobBaseDir, jobFilePaths, pathsInCmd } from '../core/job-files.js';
import type { Job } from '../core/job.js';
import { writeRefusal, type FileRole, type OtherJobFile } from '../core/write-policy.js';
import { shortCache } from '../core/short-cache.js';
import { loadCatalog, procclawJobsSource } from '../db/catalog.js';

export interface WriteGuardEnv {
  jobsSource: string;
  home: string;
  procclawHome: string;
}

/** A job's files that exist, as real paths with their role; the prompt is the first candidate that exists. */
export async function realJobFiles(job: Job, env: WriteGuardEnv, resolve: (p: string) => Promise<string | null> = realOrNull): Promise<{ role: FileRole; real: string }[]> {
  const paths = jobFilePaths(job, env);
  const out: { role: FileRole; real: string }[] = [];
  const config = await resolve(paths.config);
  if (config) out.push({ role: 'config', real: config });
  const script = paths.script ? await resolve(paths.script) : null;
  if (script) out.push({ role: 'script', real: script });
  for (const candidate of paths.promptCandidates) {
    const prompt = await resolve(candidate);
    if (prompt) {
      out.push({ role: 'prompt', real: prompt });
      break;
    }
  }
  return out;
}

function realOrNull(p: string): Promise<string | null> {
  return realpath(p).catch(() => null);
}

export interface WriteGuard {
  /** Why this job may not write `path` (real path `real`) with `proposed` (null: not known yet), or null. */
  refusal(input: { role: FileRole; path: string; real: string; proposed: string | null }): Promise<string | null>;
}

/** Every job's files as real paths with their role, and each file's identity (device and inode). */
interface CatalogFiles {
  files: OtherJobFile[];
  identities: Map<string, string>;
}

async function catalogFiles(env: WriteGuardEnv): Promise<CatalogFiles> {
  const catalog = await loadCatalog(env.jobsSource);
  // Many jobs name the same runner or jobs.yaml: resolve each path once.
  const resolved = new Map<string, Promise<string | null>>();
  const resolve = (p: string) => {
    let r = resolved.get(p);
    if (!r) resolved.set(p, (r = realOrNull(p)));
    return r;
  };
  const files: OtherJobFile[] = (
    await Promise.all(
      catalog.jobs.map(async (job) => {
        const own = (await realJobFiles(job, env, resolve)).map((f) => ({ job_id: job.id, role: f.role, file: f.real }));
        // Any file its command names, however spelled (`bash -c`, `env`, `timeout`, python3.11...).
        const named = await Promise.all(pathsInCmd(job.config.cmd, jobBaseDir(job, env.home), env.home).map(resolve));
        const extra = named.filter((f): f is string => f !== null && !own.some((o) => o.file === f)).map((file) => ({ job_id: job.id, role: 'script' as const, file }));
        return [...own, ...extra];
      }),
    )
  ).flat();
  // A hard link is the same file under another name: compare by device and inode too.
  const identities = new Map<string, string>();
  await Promise.all([...new Set(files.map((o) => o.file))].map(async (file) => {
    const id = await fileIdentity(file);
    if (id) identities.set(file, id);
  }));
  return { files, identities };
}

/**
 * The catalog's files as they were at most five seconds ago while no job file was added, removed
 * or renamed (the jobs folder's mtime), shared by every review storing suggestions meanwhile: each
 * review resolved every job's files before (thousands of realpath and stat calls a review with
 * 1,000 jobs, most of what 1,000 reviews at once cost the worker: bench/review-throughput.ts); with
 * a second, reviews arriving at 10 a second still rebuilt it a hundred times a minute (a tenth of
 * a second each at 3,000 jobs). For a review's advice only: the apply checks again against the
 * files as they are then, so a file shared in the last seconds is refused at the apply.
 */
const RECENT_CATALOG_MS = 5_000;
const recentCatalogFiles = shortCache(RECENT_CATALOG_MS, (key) => catalogFiles((JSON.parse(key) as { env: WriteGuardEnv }).env));

/**
 * The guard of `job`'s writes. `recent`: from the catalog's files as they were up to five seconds
 * ago (a review's check); otherwise as they are now (an apply's).
 */
export async function loadWriteGuard(job: Job, env: WriteGuardEnv, opts: { recent?: boolean } = {}): Promise<WriteGuard> {
  const recent = async () => {
    const folder = await stat(await procclawJobsSource(env.jobsSource)).catch(() => null);
    const { jobsSource, home, procclawHome } = env;
    return recentCatalogFiles(JSON.stringify({ env: { jobsSource, home, procclawHome }, folder: folder?.mtimeMs ?? null }));
  };
  const { files, identities } = opts.recent ? await recent() : await catalogFiles(env);
  const others = files.filter((f) => f.job_id !== job.id);
  return {
    async refusal({ role, path, real, proposed }) {
      const identity = await fileIdentity(real);
      const sameFile = identity ? others.filter((o) => o.file !== real && identities.get(o.file) === identity).map((o) => ({ ...o, file: real })) : [];
      // A config edit is compared with the file as it is: other jobs' entries and the job's own guards.
      const current = role === 'config' && proposed !== null ? await readFile(real, 'utf8') : null;
      return writeRefusal({
        job_id: job.id,
        role,
        path,
        real,
        home: env.home,
        remediation: job.config.self_healing.remediation,
        others: [...others, ...sameFile],
        config_change: current !== null ? { current, proposed } : undefined,
      });
    },
  };
}

/** `device:inode` of a file, or null when it cannot be read. */
async function fileIdentity(file: string): Promise<string | null> {
  const info = await stat(file).catch(() => null);
  return info ? `${info.dev}:${info.ino}` : null;
}
