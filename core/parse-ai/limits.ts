// How much of an analyzer's answer is read, and the error that refuses an answer. Everything the
// parser reads is untrusted: its size is checked before anything is parsed, and every text kept
// from it is bounded.

/** The answer holds nothing usable: an error envelope, an empty reply, or no suggestions JSON. */
export class AnalyzerOutputError extends Error {
  override name = 'AnalyzerOutputError';
}

export const MAX_ANALYZER_OUTPUT_BYTES = 5 * 1024 * 1024;
export const MAX_SUGGESTIONS = 50;
/** Items past this are summarised in one dropped entry, so `dropped` stays small too. */
export const MAX_ITEMS_EXAMINED = 200;

/** Bounds of a suggestion's fields, in characters (paths and the file list in entries). */
export const LIMITS = {
  title: 200,
  description: 20_000,
  current_state: 200_000,
  suggested_change: 200_000,
  expected_impact: 5_000,
  path: 4_096,
  affected_files: 50,
  proposed_content: 2_000_000,
  /** core/review.ts SuggestionDraftSchema.severity_reported */
  severity_reported: 100,
} as const;

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

export function checkSize(stdout: string): void {
  // Length in UTF-16 units is a lower bound of the byte size: the cheap test first.
  if (stdout.length > MAX_ANALYZER_OUTPUT_BYTES || byteLength(stdout) > MAX_ANALYZER_OUTPUT_BYTES) {
    throw new AnalyzerOutputError(
      `the analyzer printed more than ${MAX_ANALYZER_OUTPUT_BYTES} bytes; refusing to parse it`,
    );
  }
}

/** The text on one line, cut to `max` characters: what a message may quote of the answer. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
