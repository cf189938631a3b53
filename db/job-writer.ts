// Writes a job's `self_healing` block back into its YAML file, atomically, keeping the rest.
import { readFile, stat } from 'node:fs/promises';
import type { Job, JobConfig } from '../core/job.js';
import { editSelfHealing, type FieldProblem, type SelfHealingPatch } from '../core/self-healing-edit.js';
import { MAX_JOB_FILE_BYTES } from './catalog.js';
import { writeFileAtomic } from './files.js';

export type WriteResult = { ok: true; config: JobConfig } | { ok: false; status: 400 | 409; problems: FieldProblem[] };

export async function writeSelfHealing(job: Job, patch: SelfHealingPatch): Promise<WriteResult> {
  const info = await stat(job.file).catch(() => null);
  if (!info) return { ok: false, status: 409, problems: [{ field: '(file)', reason: `${job.file} vanished; try again` }] };
  if (info.size > MAX_JOB_FILE_BYTES) {
    return { ok: false, status: 409, problems: [{ field: '(file)', reason: `${job.file} is larger than a job file may be` }] };
  }
  const before = await readFile(job.file, 'utf8');
  const result = editSelfHealing(before, job.id, patch);
  if (!result.ok) return result;
  // Someone else wrote the file while we edited it: refuse rather than lose their change.
  const now = await stat(job.file);
  if (now.mtimeMs !== info.mtimeMs || now.size !== info.size) {
    return { ok: false, status: 409, problems: [{ field: '(file)', reason: `${job.file} changed while it was being edited; try again` }] };
  }
  if (result.text !== before) {
    try {
      await writeFileAtomic(job.file, result.text);
    } catch (error) {
      // A read-only folder or a full disk: the file is as it was; say what to fix.
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      return { ok: false, status: 409, problems: [{ field: '(file)', reason: `${job.file} could not be written (${code}: ${(error as Error).message}); make its folder writable for this service, then save again` }] };
    }
  }
  return { ok: true, config: result.config };
}
