// Reading runs: which finished, which failed, how long they took, and log lines made comparable
// across runs. Shared by the rules and the prompt builder.
import type { RunSummary } from '../review.js';

export function isFinished(run: RunSummary): boolean {
  return run.exit_code !== null || run.finished_at !== null;
}

/** A non-zero exit, or a finished run without an exit code that recorded an error. */
export function isFailed(run: RunSummary): boolean {
  if (run.exit_code !== null) return run.exit_code !== 0;
  return run.finished_at !== null && !!run.error;
}

/** The run's duration when it recorded a usable one. */
export function durationOf(run: RunSummary): number | null {
  return typeof run.duration_ms === 'number' && Number.isFinite(run.duration_ms) && run.duration_ms >= 0 ? run.duration_ms : null;
}

export function byStart(runs: RunSummary[]): RunSummary[] {
  return [...runs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Strips what differs between runs (timestamps, ids, numbers) so the same error matches. */
export function normaliseLogLine(line: string): string {
  return line
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .replace(/^\s*\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*/, '')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}
