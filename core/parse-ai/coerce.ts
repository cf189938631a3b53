// Stage two of parsing: each suggestion the model wrote, coerced into a valid draft or dropped
// with a reason. Categories are mapped from common synonyms, a severity that is none of the four
// becomes medium (the analyzer's word kept), texts are trimmed and bounded, and a target must be
// one of the job's own files; zod has the last word.
import { posix } from 'node:path';
import { CATEGORIES, SEVERITIES, type Category, type Severity } from '../job.js';
import { SuggestionDraftSchema, type SuggestionDraft } from '../review.js';
import { validateEvidence, type SentContext } from './evidence.js';
import { isObj } from './json.js';
import { excerpt, LIMITS } from './limits.js';

const CATEGORY_ALIASES: Record<string, Category> = {
  perf: 'performance', speed: 'performance', latency: 'performance',
  costs: 'cost', tokens: 'cost', spend: 'cost',
  reliable: 'reliability', resilience: 'reliability', stability: 'reliability', availability: 'reliability',
  secure: 'security', secrets: 'security', safety: 'security',
  configuration: 'config', settings: 'config', yaml: 'config',
  prompts: 'prompt', 'prompt engineering': 'prompt',
  scripts: 'script', code: 'script',
};

function coerceCategory(v: unknown): Category {
  const key = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if ((CATEGORIES as readonly string[]).includes(key)) return key as Category;
  return CATEGORY_ALIASES[key] ?? 'config';
}

/**
 * One of the four, in any case; anything else is medium, as in ProcClaw, with the analyzer's word
 * kept in `reported`. No synonym is mapped: "urgent" read as critical would ask for a second
 * approver, and "minor" read as low could let an edit auto-apply, on the strength of one word.
 */
function coerceSeverity(v: unknown): { severity: Severity; reported: string | null } {
  if (v === undefined || v === null || v === '') return { severity: 'medium', reported: null }; // none given: the default, not a coercion
  const key = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if ((SEVERITIES as readonly string[]).includes(key)) return { severity: key as Severity, reported: null };
  const word = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return { severity: 'medium', reported: text(word.replace(/\s+/g, ' '), LIMITS.severity_reported) ?? '(blank)' };
}

/** Trimmed and cut to `max` characters; anything not a string is dropped. */
function text(v: unknown, max: number): string | null {
  if (typeof v !== 'string') return null;
  const t = v.replaceAll('\0', '').trim(); // Postgres text holds no NUL
  if (!t) return null;
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

interface TargetIndex {
  byNormal: Map<string, string>;
  normals: string[];
}

export function indexTargets(allowed: string[]): TargetIndex {
  const byNormal = new Map<string, string>();
  for (const a of allowed) {
    if (typeof a === 'string' && a && !a.includes('\0')) byNormal.set(posix.normalize(a), a);
  }
  return { byNormal, normals: [...byNormal.keys()] };
}

/** The allowed path a model's target names, or why it names none. */
export function matchTarget(raw: string, index: TargetIndex): { path: string } | { reason: string } {
  const t = raw.trim().replace(/^[`'"]+|[`'"]+$/g, '');
  const shown = JSON.stringify(excerpt(t, 200));
   
  if (/[\u0000-\u001f\u007f]/.test(t)) return { reason: `target_file ${shown} contains a NUL or control character` };
  if (t.includes('~')) return { reason: `target_file ${shown} refers to a home folder (~)` };
  if (t.split(/[\\/]+/).includes('..')) return { reason: `target_file ${shown} climbs out of its folder ("..")` };
  if (t.length > LIMITS.path) return { reason: 'target_file is too long' };
  const normal = posix.normalize(t);
  const exact = index.byNormal.get(normal);
  if (exact) return { path: exact };
  if (!posix.isAbsolute(normal)) {
    // A model may shorten a listed path to its tail ("job.yaml"); accept it when unambiguous.
    const rel = normal.replace(/^\.\//, '');
    const hits = index.normals.filter((n) => n === rel || n.endsWith(`/${rel}`));
    if (hits.length === 1) return { path: index.byNormal.get(hits[0] as string) as string };
  }
  return { reason: `target_file ${shown} is not one of the job's files` };
}

function coerceAffected(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return list
    .filter((f): f is string => typeof f === 'string' && !f.includes('\0'))
    .map((f) => f.trim())
    .filter((f) => f && f.length <= LIMITS.path)
    .slice(0, LIMITS.affected_files);
}

type Coerced = { draft: SuggestionDraft } | { title: string; reason: string };

/** `sent`: what the prompt sent, to check the suggestion's citations against (none: no evidence kept). */
export function coerceOne(item: unknown, targets: TargetIndex, noContent: Set<string>, sent?: SentContext): Coerced {
  if (!isObj(item)) return { title: '(not an object)', reason: 'a suggestion must be a JSON object' };
  const title = text(item.title, LIMITS.title);
  if (!title) return { title: '(untitled)', reason: 'the suggestion has no title' };

  let target: string | null = null;
  const rawTarget = typeof item.target_file === 'string' ? item.target_file.trim() : '';
  if (rawTarget) {
    const matched = matchTarget(rawTarget, targets);
    if ('reason' in matched) return { title, reason: matched.reason };
    target = matched.path;
  }
  // The whole new file, untrimmed; only a target of the job's set may receive it.
  let proposed = typeof item.proposed_content === 'string' && item.proposed_content.trim() ? item.proposed_content : null;
  if (proposed?.includes('\0')) return { title, reason: 'the proposed content holds NUL bytes; a job\'s config, script or prompt is text' };
  if (proposed !== null && (!target || noContent.has(target) || proposed.length > LIMITS.proposed_content)) {
    proposed = null;
  }
  const affected = coerceAffected(item.affected_files);
  if (target && !affected.includes(target)) affected.unshift(target);

  const severity = coerceSeverity(item.severity);
  const parsed = SuggestionDraftSchema.safeParse({
    category: coerceCategory(item.category),
    severity: severity.severity,
    severity_reported: severity.reported,
    title,
    description: text(item.description, LIMITS.description) ?? '',
    current_state: text(item.current_state, LIMITS.current_state),
    suggested_change: text(item.suggested_change, LIMITS.suggested_change),
    expected_impact: text(item.expected_impact, LIMITS.expected_impact),
    affected_files: affected.slice(0, LIMITS.affected_files),
    target_file: target,
    proposed_content: proposed,
    auto_apply: typeof item.auto_apply === 'boolean' ? item.auto_apply : null,
    ...(sent ? { evidence: validateEvidence(item.evidence, sent) } : {}),
  });
  if (!parsed.success) return { title, reason: `invalid suggestion: ${excerpt(parsed.error.message, 300)}` };
  return { draft: parsed.data };
}
