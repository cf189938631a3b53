// The business-log view of a job (GET /jobs/{id}/business-logs): the last lines of its
// self_healing.business_log.path, bounded in lines and bytes, read only inside the job's places
// (core/read-places.ts) and redacted with the detector the analysis prompt uses.
import type { Job } from '../core/job.js';
import type { ReadPlacesEnv } from '../core/read-places.js';
import { redactText } from '../core/redact.js';
import { fileErrorReason, HARD_LINKED, inspectLogPath, LogFileRefused, NOT_READABLE, readLogTailLines } from './context.js';
import { checkReadPath } from './read-guard.js';

/** At most this much of the file's end is read, whatever the line count asks. */
export const BUSINESS_LOG_VIEW_BYTES = 256 * 1024;
/** A longer line is cut: one minified JSON record must not fill the page. */
const LINE_CHARS = 2_000;

export interface BusinessLogView {
  job_id: string;
  configured: boolean;
  path: string | null;
  lines: string[];
  max_lines: number;
  redacted: number;
  refused: boolean;
  reason: string | null;
}

export async function businessLogView(job: Job, env: ReadPlacesEnv, lines?: number): Promise<BusinessLogView> {
  const spec = job.config.self_healing.business_log;
  const maxLines = lines ?? spec?.max_lines ?? 200;
  const empty = { job_id: job.id, path: spec?.path ?? null, lines: [], max_lines: maxLines, redacted: 0 };
  if (!spec?.path) return { ...empty, configured: false, refused: false, reason: 'the job has no self_healing.business_log.path' };

  const place = await checkReadPath(spec.path, job, env);
  if (!place.ok) return { ...empty, configured: true, refused: true, reason: `business_log.path ${place.reason}` };
  const found = await inspectLogPath(spec.path, job, env);
  if (!found.ok && found.outside) return { ...empty, configured: true, refused: true, reason: "business_log.path resolves outside the job's folders" };
  if (!found.ok) {
    // Refused: what the file is (a pipe, a credential, a second name); a missing file or a permission is no refusal of ours.
    const refused = found.reason === NOT_READABLE || found.reason === HARD_LINKED;
    return { ...empty, configured: true, refused, reason: `${spec.path} ${found.reason === 'does not exist' ? 'does not exist (yet)' : found.reason}` };
  }
  let raw: string[];
  try {
    raw = await readLogTailLines(found.real, maxLines, BUSINESS_LOG_VIEW_BYTES);
  } catch (error) {
    if (error instanceof LogFileRefused) return { ...empty, configured: true, refused: true, reason: `${spec.path} ${error.message}` };
    const reason = fileErrorReason(error) ?? `could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    return { ...empty, configured: true, refused: false, reason: `${spec.path} ${reason}` };
  }
  // One text, so a secret spread over lines (a private key) is found; the job's env values are
  // known secrets, as in the prompt.
  const envValues = Object.values(job.config.env ?? {}).map(String);
  const redaction = redactText(raw.join('\n'), envValues);
  // Cut after redacting, so a secret at the cut is still found whole.
  const shown = raw.length ? redaction.text.split('\n').map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l)) : [];
  return { ...empty, configured: true, refused: false, reason: null, lines: shown, redacted: redaction.count };
}
