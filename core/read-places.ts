// Where a review may read a file a run report or a job's business_log names: only inside the job's
// own places. A run report is client input, so without this rule whoever may report runs could
// have the worker read (and quote to every viewer and to the AI) any file it can read. Pure path
// arithmetic: the caller resolves symlinks (activities/read-guard.ts) and passes real paths in.
import path from 'node:path';
import { absolute } from './job-files.js';
import type { JobConfig } from './job.js';

export interface ReadPlacesEnv {
  home: string;
  procclawHome: string;
  /** this service's data folder: `healing run` writes its logs under `<dataDir>/runs/<job id>` */
  dataDir?: string | null;
  /** HEALING_LOG_ROOTS: more folders the operator lets reviews read from */
  logRoots?: readonly string[];
}

export interface ReadPlace {
  dir: string;
  /** what the folder is to the job, for refusal messages */
  what: string;
}

/**
 * The folders a job's logs may lie in: its `cwd` (resolved as core/job-files.ts does), the folder
 * of its YAML, ProcClaw's logs folder, `healing run`'s folder for the job, and HEALING_LOG_ROOTS.
 * Not yet resolved through symlinks, and the too broad ones not yet dropped: see usablePlaces.
 */
export function jobReadPlaces(job: { id: string; file: string; config: Pick<JobConfig, 'cwd'> }, env: ReadPlacesEnv): ReadPlace[] {
  const yamlDir = path.dirname(job.file);
  const places: ReadPlace[] = [];
  if (job.config.cwd) places.push({ dir: absolute(job.config.cwd, yamlDir, env.home), what: 'its cwd' });
  places.push({ dir: yamlDir, what: 'the folder of its YAML' });
  places.push({ dir: path.join(env.procclawHome, 'logs'), what: 'the ProcClaw logs folder' });
  if (env.dataDir) places.push({ dir: path.join(env.dataDir, 'runs', job.id), what: "`healing run`'s log folder for it" });
  for (const root of env.logRoots ?? []) places.push({ dir: root, what: 'HEALING_LOG_ROOTS' });
  return places;
}

/**
 * `/` and the home folder itself are too broad to count as a job's place: a job whose cwd is `~`
 * would otherwise open every file of the user (shell history, tokens, mail) to run reports.
 * Deeper folders (the YAML's folder, ~/.procclaw/logs) still count.
 */
export function tooBroad(dir: string, home: string): boolean {
  const d = path.posix.normalize(dir).replace(/(.)\/+$/, '$1');
  const h = path.posix.normalize(home).replace(/(.)\/+$/, '$1');
  return d === '/' || d === h;
}

/** The places that count: absolute, not too broad, each folder once. */
export function usablePlaces(places: readonly ReadPlace[], home: string): ReadPlace[] {
  const seen = new Set<string>();
  return places.filter((p) => {
    if (!path.posix.isAbsolute(p.dir) || tooBroad(p.dir, home) || seen.has(p.dir)) return false;
    seen.add(p.dir);
    return true;
  });
}

export function isInside(file: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`;
  return file.startsWith(d);
}

export type PlaceVerdict = { ok: true; place: ReadPlace } | { ok: false; reason: string };

/**
 * Is `real` (a path resolved through symlinks, normalised) inside one of `places` (resolved the
 * same way)? A file may not be the place itself: a folder is no log.
 */
export function checkInPlaces(real: string, places: readonly ReadPlace[]): PlaceVerdict {
  if (!path.posix.isAbsolute(real) || path.posix.normalize(real) !== real) return { ok: false, reason: 'must be an absolute path without "..", "." or "//"' };
  const place = places.find((p) => isInside(real, p.dir));
  if (place) return { ok: true, place };
  return { ok: false, reason: outsideReason(places) };
}

/** Says where a log may lie instead; the resolved path itself is not repeated (a symlink's target stays private). */
export function outsideReason(places: readonly ReadPlace[]): string {
  const listed = places.length ? places.map((p) => `${p.dir} (${p.what})`).join(', ') : 'none known';
  return `resolves (through symlinks) to a place outside the job's folders; a log must lie inside one of: ${listed}; an operator may add folders with HEALING_LOG_ROOTS`;
}

/**
 * HEALING_LOG_ROOTS: absolute folders separated by ":" (empty entries ignored). Returns the
 * folders, or the problem to report for the variable.
 */
export function parseLogRoots(value: string | undefined, home: string): { roots: string[] } | { problem: string } {
  const roots: string[] = [];
  for (const raw of (value ?? '').split(':')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (!path.posix.isAbsolute(entry)) return { problem: `"${entry}" is not an absolute folder (list absolute folders separated by ":")` };
    const dir = path.posix.normalize(entry).replace(/(.)\/+$/, '$1');
    if (tooBroad(dir, home)) return { problem: `"${entry}" is too broad: "/" or the home folder would let run reports read every file there; list the log folders themselves` };
    if (!roots.includes(dir)) roots.push(dir);
  }
  return { roots };
}
