// The file-system half of core/read-places.ts: resolves a path and a job's places through
// symlinks, so a symlink inside a job's folder cannot lead a read outside it. Used when a run is
// reported or a business_log path is set (the API refuses), and again before every read (a row
// stored earlier, or a symlink changed since, is never read).
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { checkInPlaces, jobReadPlaces, usablePlaces, type PlaceVerdict, type ReadPlace, type ReadPlacesEnv } from '../core/read-places.js';
import type { JobConfig } from '../core/job.js';

/**
 * The real path of `file`, through symlinks. A file that does not exist yet (a run still writing
 * its log) resolves through its deepest existing ancestor; null when the rest of the path then
 * steps up with "..", which only the real folders could resolve.
 */
export async function resolveDeep(file: string): Promise<string | null> {
  if (!path.posix.isAbsolute(file) || file.includes('\0')) return null;
  const missing: string[] = [];
  let current = file;
  for (;;) {
    const real = await realpath(current).catch(() => null);
    if (real) {
      if (missing.some((part) => part === '..' || part === '.')) return null;
      return missing.length ? path.posix.join(real, ...missing.reverse()) : real;
    }
    const parent = path.posix.dirname(current);
    if (parent === current) return null;
    const base = path.posix.basename(current);
    if (base) missing.push(base);
    current = parent;
  }
}

/** The job's places resolved through symlinks, the too broad ones (`/`, the home folder) dropped. */
export async function resolvedPlaces(job: { id: string; file: string; config: Pick<JobConfig, 'cwd'> }, env: ReadPlacesEnv): Promise<ReadPlace[]> {
  const home = (await resolveDeep(env.home)) ?? env.home;
  const places: ReadPlace[] = [];
  for (const place of jobReadPlaces(job, env)) {
    const dir = await resolveDeep(place.dir);
    if (dir) places.push({ ...place, dir });
  }
  // Checked against both the home as written and as resolved: either spelling is too broad.
  return usablePlaces(usablePlaces(places, env.home), home);
}

/** May a review read `file` for this job? `~/` is the home folder (as in business_log.path). */
export async function checkReadPath(
  file: string,
  job: { id: string; file: string; config: Pick<JobConfig, 'cwd'> },
  env: ReadPlacesEnv,
): Promise<PlaceVerdict & { real?: string }> {
  const expanded = file.startsWith('~/') ? path.posix.join(env.home, file.slice(2)) : file;
  if (!path.posix.isAbsolute(expanded)) return { ok: false, reason: 'must be an absolute path (or start with ~/)' };
  const real = await resolveDeep(expanded);
  if (!real) return { ok: false, reason: 'cannot be resolved: a folder of it is missing and the rest steps up with ".."' };
  const verdict = checkInPlaces(real, await resolvedPlaces(job, env));
  if (!verdict.ok) return verdict;
  // A log is a file: a folder (or a device, a pipe) is never one, now or later.
  const info = await stat(real).catch(() => null);
  if (info && !info.isFile()) return { ok: false, reason: `is ${info.isDirectory() ? 'a folder' : 'not a regular file'}; name the log file itself` };
  return { ...verdict, real };
}
