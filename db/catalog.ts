// The job catalog: a folder of YAML files (one a job, the id being the file name) or one
// jobs.yaml with a `jobs:` map. Each file is parsed once per change (mtime and size), and one bad
// file is reported without stopping the others.
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, Lexer, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { describeIssues, JOB_ID_PATTERN, JobSchema, type Job, type JobLoadError } from '../core/job.js';
import { humanError } from '../core/messages.js';
import { createLimiter } from '../core/concurrency.js';

export const MAX_JOB_FILE_BYTES = 1024 * 1024;
/** One job's own file: far above any real job, small enough to parse well under a second. */
export const MAX_SINGLE_JOB_FILE_BYTES = 256 * 1024;
/** Guards applied before parsing, so a hostile file costs linear time and a clear refusal. */
const MAX_LINES = { single: 10_000, map: 50_000 };
const MAX_FLOW_DEPTH = 64;
const MAX_INDENT = 256;
const MAX_ANCHORS_AND_ALIASES = 1_000;

export interface Catalog {
  jobs: Job[];
  errors: JobLoadError[];
}

/** One file's jobs as parsed, before ProcClaw's defaults (those follow its folder as it is at each load). */
interface ParsedFile extends Catalog {
  /** the folder whose procclaw.yaml or procclaw.db would make these jobs ProcClaw's (isProcclawFile), or null */
  procclawHome: string | null;
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  /** kept while it is parsed too: lookups of a cold catalog at once parse each file once */
  result: Promise<ParsedFile>;
}

const cache = new Map<string, CachedFile>();

/**
 * For a folder catalog: which file defined each job at the last full load, and the folder's mtime
 * then. While the folder's mtime holds (no file added, removed or renamed), findJob checks only
 * that one file instead of every file in the folder.
 */
const index = new Map<string, { dirMtimeMs: number; files: Map<string, string>; names: string[] }>();

/**
 * Files read at once, whatever the number of jobs and of concurrent loads: 64 lookups each opening
 * a 1,000-file folder at once ran out of descriptors (EMFILE) in the scale drill.
 */
const readSlot = createLimiter(64);

export async function loadCatalog(configured: string): Promise<Catalog> {
  const source = await procclawJobsSource(configured);
  const info = await stat(source).catch(() => null);
  if (!info) return { jobs: [], errors: [{ job_id: null, file: source, field: '(file)', reason: 'the job catalog does not exist' }] };
  const names = info.isDirectory() ? await jobFileNames(source) : [];
  const files = info.isDirectory() ? names.map((f) => path.join(source, f)) : [source];
  const catalog: Catalog = { jobs: [], errors: [] };
  const seen = new Set<string>();
  // All files at once: one by one, the stat calls alone cost 3-6 times the CPU (bench/stats.ts).
  const parsed = await Promise.all(files.map((file) => loadFile(file, !info.isDirectory())));
  const homes = new Map<string, Promise<boolean>>();
  const parts = await Promise.all(parsed.map((part) => withProcclawDefaults(part, homes)));
  for (const [i, part] of parts.entries()) {
    const file = files[i]!;
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
  if (info.isDirectory()) index.set(source, { dirMtimeMs: info.mtimeMs, files: new Map(catalog.jobs.map((j) => [j.id, j.file])), names });
  return catalog;
}

async function jobFileNames(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((f) => /\.ya?ml$/i.test(f)).sort();
}

/**
 * ProcClaw's home folder (`~/.procclaw`, holding procclaw.yaml or procclaw.db) is read the way
 * ProcClaw reads it: its `jobs/` folder when that has job files, else the older `jobs.yaml`.
 * Any other source is used as it is.
 */
export async function procclawJobsSource(source: string): Promise<string> {
  const info = await stat(source).catch(() => null);
  if (!info?.isDirectory()) return source;
  if (!(await isProcclawHome(source))) return source;
  const has = async (name: string) => (await stat(path.join(source, name)).catch(() => null)) !== null;
  const jobsDir = path.join(source, 'jobs');
  const jobFiles = await readdir(jobsDir).then((files) => files.filter((f) => /\.ya?ml$/i.test(f))).catch(() => [] as string[]);
  if (jobFiles.length > 0) return jobsDir;
  if (await has('jobs.yaml')) return path.join(source, 'jobs.yaml');
  return (await stat(jobsDir).catch(() => null))?.isDirectory() ? jobsDir : source;
}

/**
 * One job, reading one file while the folder holds the same job files as at the last full load
 * (else all). An apply renames a file into the folder, which changes its mtime but not its files:
 * the names are listed again then, so a write does not cost the next lookups a full load.
 */
export async function findJob(configured: string, jobId: string): Promise<Job | undefined> {
  const source = await procclawJobsSource(configured);
  const known = index.get(source);
  const file = known?.files.get(jobId);
  if (known && file && (await indexStillHolds(source, known))) {
    const job = (await withProcclawDefaults(await loadFile(file, false), new Map())).jobs.find((j) => j.id === jobId);
    if (job) return job;
  }
  return (await loadCatalog(configured)).jobs.find((j) => j.id === jobId);
}

async function indexStillHolds(source: string, known: { dirMtimeMs: number; names: string[] }): Promise<boolean> {
  const info = await stat(source).catch(() => null);
  if (!info) return false;
  if (info.mtimeMs === known.dirMtimeMs) return true;
  const names = await jobFileNames(source).catch(() => null);
  if (!names || names.length !== known.names.length || names.some((n, i) => n !== known.names[i])) return false;
  known.dirMtimeMs = info.mtimeMs;
  return true;
}

async function loadFile(file: string, isMapFile: boolean): Promise<ParsedFile> {
  const info = await stat(file).catch(() => null);
  if (!info) return { jobs: [], errors: [{ job_id: null, file, field: '(file)', reason: 'file vanished while loading' }], procclawHome: null };
  if (!info.isFile()) {
    // A FIFO or a device (a symlink to /dev/zero) would block or never end: never read one.
    const id = isMapFile ? null : path.basename(file).replace(/\.ya?ml$/i, '');
    return { jobs: [], errors: [{ job_id: id, file, field: '(file)', reason: 'not a regular file (a folder, device or pipe); a job file is a plain YAML file' }], procclawHome: null };
  }
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.result;
  const entry = { mtimeMs: info.mtimeMs, size: info.size, result: readSlot(() => parseJobFile(file, info.size, isMapFile)) };
  cache.set(file, entry);
  entry.result.catch(() => {
    if (cache.get(file) === entry) cache.delete(file);
  });
  return entry.result;
}

async function parseJobFile(file: string, size: number, isMapFile: boolean): Promise<ParsedFile> {
  const fileId = path.basename(file).replace(/\.ya?ml$/i, '');
  const fail = (field: string, reason: string, jobId: string | null = isMapFile ? null : fileId): ParsedFile => ({
    jobs: [],
    errors: [{ job_id: jobId, file, field, reason }],
    procclawHome: null,
  });
  const limit = isMapFile ? MAX_JOB_FILE_BYTES : MAX_SINGLE_JOB_FILE_BYTES;
  if (size > limit) return fail('(file)', `file is ${size} bytes; a ${isMapFile ? 'jobs.yaml' : 'job'} file may be at most ${limit}: split it or remove what it does not need`);
  // At most limit + 1 bytes are read, whatever the size was at stat time (the file may grow).
  const text = await readBounded(file, limit, size);
  if (text === null) return fail('(file)', `the file grew past ${limit} bytes while it was read; a job file may be at most ${limit}`);
  const refused = hostileText(text, isMapFile);
  if (refused) return fail('(yaml)', refused);
  // uniqueKeys is checked below in linear time: the parser's own check is quadratic in the keys.
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { uniqueKeys: false, lineCounter });
  } catch (error) {
    return fail('(yaml)', yamlReason((error as Error).message));
  }
  if (doc.errors.length > 0) return fail('(yaml)', yamlReason(doc.errors[0]!.message.split('\n')[0]!));
  const duplicate = duplicateKey(doc, lineCounter);
  if (duplicate) return fail('(yaml)', duplicate);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return fail('(yaml)', yamlReason((error as Error).message));
  }
  if (isPlainObject(value) && isPlainObject(value.jobs) && !('cmd' in value)) return { ...parseJobMap(file, value.jobs), procclawHome: procclawHomeOf(file, true) };
  if (isMapFile) return fail('jobs', 'a jobs.yaml file needs a top-level "jobs:" map of job id to job');
  if (!JOB_ID_PATTERN.test(fileId)) {
    const tooLong = fileId.length > 128 && JOB_ID_PATTERN.test(fileId.slice(0, 128));
    return fail('(file name)', tooLong ? `the file name is the job id, at most 128 characters; this one has ${fileId.length}` : 'the file name is the job id: letters, digits, ".", "_" or "-"');
  }
  return { ...toCatalog(file, fileId, value, ''), procclawHome: procclawHomeOf(file, false) };
}

/**
 * The folder that makes this file one ProcClaw itself reads, when that folder holds procclaw.yaml
 * or procclaw.db (as procclawJobsSource tells): the home of a job file in its `jobs/` folder, or of
 * its `jobs.yaml`. Path arithmetic only: whether the folder is ProcClaw's is asked at each load.
 */
function procclawHomeOf(file: string, isMap: boolean): string | null {
  const dir = path.dirname(file);
  return isMap ? (path.basename(file) === 'jobs.yaml' ? dir : null) : path.basename(dir) === 'jobs' ? path.dirname(dir) : null;
}

/** A folder ProcClaw lives in: it holds procclaw.yaml or procclaw.db. Two stats, not a listing: every job lookup passes here, and a folder may hold 10,000 jobs. */
async function isProcclawHome(dir: string): Promise<boolean> {
  const has = async (name: string) => (await stat(path.join(dir, name)).catch(() => null)) !== null;
  const [yaml, db] = await Promise.all([has('procclaw.yaml'), has('procclaw.db')]);
  return yaml || db;
}

/**
 * A job ProcClaw reads keeps ProcClaw's meaning where its defaults differ from this service's:
 * ProcClaw's `sla.enabled` defaults to false (models.py SLAConfig; sla.py then checks nothing), so
 * an `sla` without `enabled` is off there, while in the service's own catalogs it is on. Decided
 * at every load from the folder as it is then (procclaw.db appears when ProcClaw first starts,
 * maybe after this service), not in the parse cache, which holds until the YAML changes. `homes`
 * asks each folder once per load: two stats. The cached jobs are never changed: copies are.
 */
async function withProcclawDefaults(part: ParsedFile, homes: Map<string, Promise<boolean>>): Promise<Catalog> {
  if (part.procclawHome === null || !part.jobs.some((job) => job.config.sla && job.config.sla.enabled === undefined)) return part;
  let procclaw = homes.get(part.procclawHome);
  if (!procclaw) homes.set(part.procclawHome, (procclaw = isProcclawHome(part.procclawHome)));
  if (!(await procclaw)) return part;
  const jobs = part.jobs.map((job) =>
    job.config.sla && job.config.sla.enabled === undefined ? { ...job, config: { ...job.config, sla: { ...job.config.sla, enabled: false } } } : job,
  );
  return { jobs, errors: part.errors };
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
  const parsed = JobSchema.safeParse(value ?? {}, { error: humanError });
  if (parsed.success) return { jobs: [{ id, file, config: parsed.data }], errors: [] };
  return {
    jobs: [],
    errors: describeIssues(parsed.error).map((i) => ({ job_id: id, file, field: fieldPrefix + i.field, reason: i.reason })),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Hostile files: refused before (or instead of) the parts of parsing that are not linear

/** The file's text, or null past `limit` bytes; the buffer starts at the size stat saw and grows only if the file did. */
async function readBounded(file: string, limit: number, expected: number): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    let buffer = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(expected + 1, 4096)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (buffer.length > limit) break;
        const grown = Buffer.allocUnsafe(Math.min(limit + 1, buffer.length * 2));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return length > limit ? null : buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

function yamlReason(message: string): string {
  if (/call stack/i.test(message)) return 'the YAML is nested too deeply to be a job file';
  if (/alias count/i.test(message)) return 'the YAML expands its aliases too much (an alias bomb?): write the values out';
  return message;
}

/** Why `text` is refused before parsing (not text, too many lines, too deep, too many aliases), or null. */
function hostileText(text: string, isMapFile: boolean): string | null {
  if (text.includes('\0')) return 'the file holds NUL bytes: it is not a YAML text file';
  let replaced = 0;
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd) replaced++;
    else if (c < 32 && c !== 9 && c !== 10 && c !== 13) control++;
  }
  if (replaced > 0 || control > 0) return 'the file is not UTF-8 text (binary or control bytes): it is not a YAML job file';
  let lines = 1;
  let indent = 0;
  let maxIndent = 0;
  let atLineStart = true;
  let brackets = 0;
  let marks = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      lines++;
      indent = 0;
      atLineStart = true;
      continue;
    }
    if (atLineStart) {
      if (c === ' ') {
        indent++;
        if (indent > maxIndent) maxIndent = indent;
        continue;
      }
      atLineStart = false;
    }
    if (c === '[' || c === '{') brackets++;
    else if (c === '&' || c === '*') marks++;
  }
  const maxLines = isMapFile ? MAX_LINES.map : MAX_LINES.single;
  if (lines > maxLines) return `the file has ${lines} lines; a ${isMapFile ? 'jobs.yaml' : 'job'} file may have at most ${maxLines}`;
  if (maxIndent > MAX_INDENT) return `a line is indented ${maxIndent} spaces; the YAML is nested too deeply to be a job file`;
  // Counting tokens needs the lexer; only worth it when the characters could add up to too much.
  if (brackets <= MAX_FLOW_DEPTH && marks <= MAX_ANCHORS_AND_ALIASES) return null;
  let depth = 0;
  let anchors = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++depth > MAX_FLOW_DEPTH) return `the YAML nests [ ] or { } more than ${MAX_FLOW_DEPTH} levels deep; a job file does not`;
    } else if (token === ']' || token === '}') {
      depth = Math.max(0, depth - 1);
    } else if ((token[0] === '&' || token[0] === '*') && token.length > 1 && !/\s/.test(token)) {
      if (++anchors > MAX_ANCHORS_AND_ALIASES) return `the YAML has more than ${MAX_ANCHORS_AND_ALIASES} anchors and aliases; write the values out`;
    }
  }
  return null;
}

/** The first key defined twice in one mapping, in linear time. */
function duplicateKey(doc: Document.Parsed, lines: LineCounter): string | null {
  let found: string | null = null;
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          const at = isScalar(pair.key) && pair.key.range ? lines.linePos(pair.key.range[0]) : null;
          found = `key ${JSON.stringify(key.slice(0, 100))} is defined twice in the same mapping${at ? ` (line ${at.line})` : ''}; keep one`;
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}
