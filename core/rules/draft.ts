// What a rule hands back: a suggestion validated and bounded exactly as an AI one would be, and
// a whole new file only where it may be written.
import type { RuleFigures } from '../fingerprint.js';
import type { Category, Severity } from '../job.js';
import { checkShrink } from '../path-guard.js';
import { SuggestionDraftSchema, type Evidence, type JobFile, type SuggestionDraft } from '../review.js';

type Draft = {
  category: Category;
  severity: Severity;
  title: string;
  description: string;
  current_state?: string | null;
  suggested_change?: string | null;
  expected_impact?: string | null;
  affected_files?: string[];
  target_file?: string | null;
  proposed_content?: string | null;
  auto_apply?: boolean | null;
  /** exactly what made it fire: runs, log lines, file lines, SLA figures (rules/evidence.ts cite) */
  evidence?: Evidence;
  /** the figures it fired on, bucketed (core/fingerprint.ts bands): the same figures next time are the same evidence */
  figures: RuleFigures;
};

/** Validates and bounds a rule's draft exactly as an AI draft would be. */
export function draft(d: Draft): SuggestionDraft {
  const cut = (s: string | null | undefined, max: number) => (s == null ? null : s.length > max ? `${s.slice(0, max - 1)}…` : s);
  const files = [...new Set([...(d.target_file ? [d.target_file] : []), ...(d.affected_files ?? [])])];
  return SuggestionDraftSchema.parse({
    ...d,
    description: cut(d.description, 20_000) ?? '',
    current_state: cut(d.current_state, 200_000),
    suggested_change: cut(d.suggested_change, 200_000),
    expected_impact: cut(d.expected_impact, 5_000),
    affected_files: files.slice(0, 50),
    target_file: d.target_file ?? null,
  });
}

/** A whole new file for `file`, or null when it may not be rewritten (truncated) or nothing changed. */
export function proposal(file: JobFile | undefined, next: string | null): { target_file: string; proposed_content: string } | null {
  if (!file || file.truncated || next === null || next === file.content) return null;
  if (!checkShrink(file.content, next).ok) return null;
  return { target_file: file.path, proposed_content: next };
}
