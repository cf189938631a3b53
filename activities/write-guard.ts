// What core/write-policy.ts needs, gathered from the disk: the other jobs of the catalog with the
// real paths of their files, and a shared config's current content. Loaded once per review (every
// suggestion of it is checked against the same catalog) and once per apply (the catalog as it is
// then).
import { readFile, realpath, stat } from 'node:fs/promises';
import { jobBaseDir, jobFilePaths, pathsInCmd } from '../core/job-files.js';
import type { Job } from '../core/job.js';
import { writeRefusal, type FileRole, type OtherJobFile } from '../core/write-policy.js';
import { loadCatalog } from '../db/catalog.js';

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

export async function loadWriteGuard(job: Job, env: WriteGuardEnv): Promise<WriteGuard> {
  const catalog = await loadCatalog(env.jobsSource);
  // Many jobs name the same runner or jobs.yaml: resolve each path once.
  const resolved = new Map<string, Promise<string | null>>();
  const resolve = (p: string) => {
    let r = resolved.get(p);
    if (!r) resolved.set(p, (r = realOrNull(p)));
    return r;
  };
  const others: OtherJobFile[] = (
    await Promise.all(
      catalog.jobs.filter((j) => j.id !== job.id).map(async (other) => {
        const own = (await realJobFiles(other, env, resolve)).map((f) => ({ job_id: other.id, role: f.role, file: f.real }));
        // Any file its command names, however spelled (`bash -c`, `env`, `timeout`, python3.11...).
        const named = await Promise.all(pathsInCmd(other.config.cmd, jobBaseDir(other, env.home), env.home).map(resolve));
        const extra = named.filter((f): f is string => f !== null && !own.some((o) => o.file === f)).map((file) => ({ job_id: other.id, role: 'script' as const, file }));
        return [...own, ...extra];
      }),
    )
  ).flat();
  // A hard link is the same file under another name: compare by device and inode too.
  const identities = new Map<string, string>();
  await Promise.all([...new Set(others.map((o) => o.file))].map(async (file) => {
    const id = await fileIdentity(file);
    if (id) identities.set(file, id);
  }));
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
