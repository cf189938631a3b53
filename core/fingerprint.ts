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
