// Stage three of parsing: the suggestions list in the reply, each item coerced, then duplicates
// and the excess dropped with reasons, so one answer cannot flood a review.
import { normaliseTitle } from '../fingerprint.js';
import type { SuggestionDraft } from '../review.js';
import { coerceOne, indexTargets, matchTarget } from './coerce.js';
import type { SentContext } from './evidence.js';
import { isObj } from './json.js';
import { MAX_ITEMS_EXAMINED, MAX_SUGGESTIONS } from './limits.js';

export interface DroppedSuggestion {
  title: string;
  reason: string;
}

/** The items of a JSON value that holds suggestions, or null when it holds none. */
export function acceptSuggestions(v: unknown): unknown[] | null {
  if (Array.isArray(v)) return v.length === 0 || v.some(isObj) ? v : null;
  if (!isObj(v)) return null;
  if ('suggestions' in v) {
    const s = v.suggestions;
    if (Array.isArray(s)) return s;
    return isObj(s) ? [s] : [];
  }
  // A single suggestion object on its own.
  if (typeof v.title === 'string' && ('category' in v || 'description' in v)) return [v];
  return null;
}

/**
 * Valid drafts from `items` and the dropped ones with reasons. `noContentTargets`: files (e.g.
 * truncated in the context) that may be named but not rewritten. `sent`: what the prompt sent, to
 * check each suggestion's citations against (core/parse-ai/evidence.ts).
 */
export function collectSuggestions(
  items: unknown[],
  allowedTargets: string[],
  noContentTargets: string[],
  sent?: SentContext,
): { suggestions: SuggestionDraft[]; dropped: DroppedSuggestion[] } {
  const targets = indexTargets(allowedTargets);
  const noContent = new Set(noContentTargets.map((p) => matchTarget(p, targets)).flatMap((m) => ('path' in m ? [m.path] : [])));
  const suggestions: SuggestionDraft[] = [];
  const dropped: DroppedSuggestion[] = [];
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    if (i >= MAX_ITEMS_EXAMINED) {
      dropped.push({ title: `(${items.length - i} more)`, reason: `only the first ${MAX_ITEMS_EXAMINED} items are read` });
      break;
    }
    const result = coerceOne(item, targets, noContent, sent);
    if (!('draft' in result)) {
      dropped.push(result);
      continue;
    }
    const d = result.draft;
    const key = `${d.category}\0${d.target_file ?? ''}\0${normaliseTitle(d.title)}`;
    if (seen.has(key)) {
      dropped.push({ title: d.title, reason: 'duplicate of an earlier suggestion in the same answer' });
    } else if (suggestions.length >= MAX_SUGGESTIONS) {
      dropped.push({ title: d.title, reason: `more than ${MAX_SUGGESTIONS} suggestions; the rest are dropped` });
    } else {
      seen.add(key);
      suggestions.push(d);
    }
  }
  return { suggestions, dropped };
}
