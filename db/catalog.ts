// The job catalog: a folder of YAML files (one a job, the id being the file name) or one
// jobs.yaml with a `jobs:` map. Each file is parsed once per change (mtime and size), and one bad
// file is reported without stopping the others.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { describeIssues, JOB_ID_PATTERN, JobSchema, type Job, type JobLoadError } from '../core/job.js';

export const MAX_JOB_FILE_BYTES = 1024 * 1024;

export interface Catalog {
  jobs: Job[];
  errors: JobLoadError[];
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  result: Catalog;
}

const cache = new Map<string, CachedFile>();

export async function loadCatalog(configured: string): Promise<Catalog> {
  const source = await procclawJobsSource(configured);
  const info = await stat(source).catch(() => null);
  if (!info) return { jobs: [], errors: [{ job_id: null, file: source, field: '(file)', reason: 'the job catalog does not exist' }] };
  const files = info.isDirectory()
    ? (await readdir(source)).filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => path.join(source, f))
    : [source];
  const catalog: Catalog = { jobs: [], errors: [] };
  const seen = new Set<string>();
  for (const file of files) {
    const part = await loadFile(file, !info.isDirectory());
    for (const job of part.jobs) {
      if (seen.has(job.id)) {
        catalog.errors.push({ job_id: job.id, file, field: '(id)', reason: `job id "${job.id}" is defined twice` });
        continue;
      }
      seen.add(job.id);
      catalog.jobs.push(job);
    }
    catalog.errors.push(...part.errors);
  }
  return catalog;
}

/**
 * ProcClaw's home folder (`~/.procclaw`, holding procclaw.yaml or procclaw.db) is read the way
 * ProcClaw reads it: its `jobs/` folder when that has job files, else the older `jobs.yaml`.
 * Any other source is used as it is.
 */
export async function procclawJobsSource(source: string): Promise<string> {
  const info = await stat(source).catch(() => null);
  if (!info?.isDirectory()) return source;
  const entries = await readdir(source).catch(() => [] as string[]);
  if (!entries.includes('procclaw.yaml') && !entries.includes('procclaw.db')) return source;
  const jobsDir = path.join(source, 'jobs');
  const jobFiles = await readdir(jobsDir).then((files) => files.filter((f) => /\.ya?ml$/i.test(f))).catch(() => [] as string[]);
  if (jobFiles.length > 0) return jobsDir;
  if (entries.includes('jobs.yaml')) return path.join(source, 'jobs.yaml');
  return (await stat(jobsDir).catch(() => null))?.isDirectory() ? jobsDir : source;
}

export async function findJob(source: string, jobId: string): Promise<Job | undefined> {
  return (await loadCatalog(source)).jobs.find((j) => j.id === jobId);
}

async function loadFile(file: string, isMapFile: boolean): Promise<Catalog> {
  const info = await stat(file).catch(() => null);
  if (!info) return { jobs: [], errors: [{ job_id: null, file, field: '(file)', reason: 'file vanished while loading' }] };
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.result;
  const result = await parseJobFile(file, info.size, isMapFile);
  cache.set(file, { mtimeMs: info.mtimeMs, size: info.size, result });
  return result;
}

async function parseJobFile(file: string, size: number, isMapFile: boolean): Promise<Catalog> {
  const fileId = path.basename(file).replace(/\.ya?ml$/i, '');
  const fail = (field: string, reason: string, jobId: string | null = isMapFile ? null : fileId): Catalog => ({
    jobs: [],
    errors: [{ job_id: jobId, file, field, reason }],
  });
  if (size > MAX_JOB_FILE_BYTES) return fail('(file)', `file is ${size} bytes; a job file may be at most ${MAX_JOB_FILE_BYTES}`);
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) return fail('(yaml)', doc.errors[0]!.message.split('\n')[0]!);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return fail('(yaml)', (error as Error).message);
  }
  if (isPlainObject(value) && isPlainObject(value.jobs) && !('cmd' in value)) return parseJobMap(file, value.jobs);
  if (isMapFile) return fail('jobs', 'a jobs.yaml file needs a top-level "jobs:" map of job id to job');
  if (!JOB_ID_PATTERN.test(fileId)) return fail('(file name)', 'the file name is the job id: letters, digits, ".", "_" or "-"');
  return toCatalog(file, fileId, value, '');
}

function parseJobMap(file: string, jobs: Record<string, unknown>): Catalog {
  const catalog: Catalog = { jobs: [], errors: [] };
  for (const [id, value] of Object.entries(jobs)) {
    if (id.startsWith('_')) continue; // ProcClaw's metadata keys, not jobs
    const part = JOB_ID_PATTERN.test(id)
      ? toCatalog(file, id, value, `jobs.${id}.`)
      : { jobs: [], errors: [{ job_id: id, file, field: `jobs.${id}`, reason: 'a job id is letters, digits, ".", "_" or "-"' }] };
    catalog.jobs.push(...part.jobs);
    catalog.errors.push(...part.errors);
  }
  return catalog;
}

function toCatalog(file: string, id: string, value: unknown, fieldPrefix: string): Catalog {
  const parsed = JobSchema.safeParse(value ?? {});
  if (parsed.success) return { jobs: [{ id, file, config: parsed.data }], errors: [] };
  return {
    jobs: [],
    errors: describeIssues(parsed.error).map((i) => ({ job_id: id, file, field: fieldPrefix + i.field, reason: i.reason })),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
