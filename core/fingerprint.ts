// Suggestion fingerprints: the same problem found by two reviews must map to the same key, so a
// pending duplicate is not stored twice. Titles vary in case, numbers and punctuation between
// reviews (and between AI answers), so only their stable words take part.
import { sha256 } from './hash.js';

/** Lowercase, digits and punctuation removed, spaces collapsed: "Retry 3 timeouts!" -> "retry timeouts". */
export function normaliseTitle(title: string): string {
  return title
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{N}]+/gu, ' ')
    .replace(/[^\p{L}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** sha256 of job, category, target file and normalised title; the separator cannot occur in a title. */
export function suggestionFingerprint(
  jobId: string,
  d: { category: string; target_file: string | null; title: string },
): string {
  return sha256([jobId, d.category.trim().toLowerCase(), d.target_file ?? '', normaliseTitle(d.title)].join('\u0000'));
}

// ---------------------------------------------------------------------------------------------
// Evidence: the figures a rule fired on. The fingerprint above names a finding (the same problem
// of the same job); the evidence fingerprint says what it stood on, bucketed so that a review of
// slightly different runs finds "the same evidence": a person who rejected a finding is not asked
// again until its figures move to another band (db/suggestions.ts storeSuggestions).

/** A rule's figures, already bucketed into bands (the functions below). */
export type RuleFigures = Record<string, string | number | boolean>;

const COUNT_BANDS = [3, 5, 10, 20, 50, 100, 200, 500, 1000];

/** 0, 1 and 2 as they are, then 3-4, 5-9, 10-19, 20-49, 50-99, ... 1000+: one more failure among many is no new evidence. */
export function countBand(n: number): string {
  if (!Number.isFinite(n) || n < 3) return String(Math.max(0, Math.floor(Number.isFinite(n) ? n : 0)));
  for (let i = 0; i < COUNT_BANDS.length - 1; i++) {
    if (n < COUNT_BANDS[i + 1]!) return `${COUNT_BANDS[i]}-${COUNT_BANDS[i + 1]! - 1}`;
  }
  return `${COUNT_BANDS[COUNT_BANDS.length - 1]}+`;
}

/** A percentage in 10-point bands ("80-89%"), "100%" on its own, and "300%+" above that. */
export function percentBand(percent: number): string {
  if (!Number.isFinite(percent) || percent < 0) return '0-9%';
  if (percent >= 300) return '300%+';
  if (percent === 100) return '100%';
  const lo = Math.floor(percent / 10) * 10;
  return `${lo}-${lo + 9}%`;
}

/**
 * A positive magnitude (a duration in ms, a size, a ratio) in geometric bands of `step` (1.5: each
 * band 50% wider than the one below), named by its bounds: a p95 of 10m 20s and one of 10m 40s fall
 * in the same band, one twice as long does not.
 */
export function magnitudeBand(value: number, step = 1.5): string {
  if (!Number.isFinite(value) || value <= 0) return '0';
  const i = Math.floor(Math.log(value) / Math.log(step) + 1e-9);
  const round = (v: number) => (v >= 100 ? Math.round(v) : Math.round(v * 100) / 100);
  return `${round(step ** i)}-${round(step ** (i + 1))}`;
}

/** sha256 of a rule's bucketed figures (key order does not matter); null when a finding has none (an AI one). */
export function evidenceFingerprint(figures: RuleFigures | null | undefined): string | null {
  if (!figures) return null;
  const entries = Object.entries(figures).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return null;
  return sha256(JSON.stringify(entries));
}
