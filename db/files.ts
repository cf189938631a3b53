// File writes that never leave a half-written file: temp file in the same folder, fsync,
// rename over the original, fsync the folder. Mode and owner are kept.
import { randomBytes } from 'node:crypto';
import { chown, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';

const tempPrefix = (file: string) => `.${path.basename(file)}.healing-`;

/**
 * Removes the temp files a writer killed between its write and its rename left beside `file`
 * (only ours: `.<name>.healing-<hex>.tmp`). Called before every write and by the steps that find
 * the write already done or never needed.
 */
export async function removeStaleTemps(file: string): Promise<void> {
  const prefix = tempPrefix(file);
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length))) await unlink(path.join(path.dirname(file), name)).catch(() => undefined);
  }
}

/** `mode` is for a file that does not exist (a deleted one recreated); an existing file keeps its own. */
export async function writeFileAtomic(file: string, content: string, opts: { mode?: number } = {}): Promise<void> {
  await removeStaleTemps(file);
  const previous = await stat(file).catch(() => null);
  const temp = path.join(path.dirname(file), `${tempPrefix(file)}${randomBytes(6).toString('hex')}.tmp`);
  const mode = previous ? previous.mode & 0o7777 : (opts.mode ?? 0o644);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode); // the umask narrowed open()'s mode
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined); // a full disk leaves no half-written temp file
    throw error;
  }
  await handle.close();
  try {
    if (previous && process.getuid?.() === 0) await chown(temp, previous.uid, previous.gid);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Runs `fn` (read a file, decide, write it) while no other process of the service does the same
 * for `file`: a Postgres advisory lock on the path, held for one transaction. Temporal runs a step
 * twice at once when a workflow task times out on a starved worker and another picks it up; without
 * the lock both find the original content and both write (seen in the scale drill).
 */
export async function withFileLock<T>(db: Knex, file: string, fn: () => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`healing-file:${file}`]);
    return fn();
  });
}
