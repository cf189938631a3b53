// Turns what the analyzer CLI printed into validated suggestion drafts. Everything here is
// untrusted input: sizes and nesting are bounded before anything is parsed, unknown values are
// coerced or dropped with a reason, and no suggestion may point at a file outside the job's set.
import { posix } from 'node:path';
import { CATEGORIES, SEVERITIES, type Category, type Severity } from './job.js';
import { SuggestionDraftSchema, type SuggestionDraft } from './review.js';
import { normaliseTitle } from './fingerprint.js';

/** The answer holds nothing usable: an error envelope, an empty reply, or no suggestions JSON. */
export class AnalyzerOutputError extends Error {
  override name = 'AnalyzerOutputError';
}

export interface ParsedAnalysis {
  suggestions: SuggestionDraft[];
  dropped: { title: string; reason: string }[];
  tokens: number;
  sessionKey: string | null;
  replyText: string;
}

export const MAX_ANALYZER_OUTPUT_BYTES = 5 * 1024 * 1024;
export const MAX_SUGGESTIONS = 50;
/** Deeper than this is not a suggestion list but an attack or a runaway model. */
const MAX_DEPTH = 64;
/** Characters scanned per character of text when looking for JSON: bounds adversarial input. */
const SCAN_BUDGET_FACTOR = 8;
/** Fences looked at per reply. */
const MAX_FENCES = 64;
/** Items past this are summarised in one dropped entry, so `dropped` stays small too. */
const MAX_ITEMS_EXAMINED = 200;

const LIMITS = {
  title: 200,
  description: 20_000,
  current_state: 200_000,
  suggested_change: 200_000,
  expected_impact: 5_000,
  path: 4_096,
  affected_files: 50,
  proposed_content: 2_000_000,
} as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function checkSize(stdout: string): void {
  // Length in UTF-16 units is a lower bound of the byte size: the cheap test first.
  if (stdout.length > MAX_ANALYZER_OUTPUT_BYTES || byteLength(stdout) > MAX_ANALYZER_OUTPUT_BYTES) {
    throw new AnalyzerOutputError(
      `the analyzer printed more than ${MAX_ANALYZER_OUTPUT_BYTES} bytes; refusing to parse it`,
    );
  }
}

function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

// ---------------------------------------------------------------------------------------------
// Finding JSON in text

type SpanResult = { end: number } | { fail: 'unbalanced' | 'too-deep'; scanned: number; cost?: number };

/** Matches the bracket opened at `open`, respecting JSON strings, with an explicit stack. */
function matchSpan(text: string, open: number): SpanResult {
  const stack: string[] = [];
  let inString = false;
  for (let j = open; j < text.length; j++) {
    const c = text[j];
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      stack.push(c === '{' ? '}' : ']');
      if (stack.length > MAX_DEPTH) {
        // A nest that closes is skipped whole; one that never does, from where it got too deep.
        const end = skipNest(text, j + 1, stack.length);
        return { fail: 'too-deep', scanned: (end < 0 ? j : end) - open, cost: (end < 0 ? text.length : end) - open };
      }
    } else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return { fail: 'unbalanced', scanned: j - open };
      if (stack.length === 0) return { end: j + 1 };
    }
  }
  return { fail: 'unbalanced', scanned: text.length - open };
}

/**
 * Where a runaway nest ends: counts brackets (strings respected) from `from` at `depth` until the
 * nest closes, so the whole of it is skipped in linear time; -1 if it never closes.
 */
function skipNest(text: string, from: number, depth: number): number {
  let inString = false;
  for (let j = from; j < text.length; j++) {
    const c = text[j];
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return j + 1;
  }
  return -1;
}

/** Removes commas before a closing bracket (outside strings): a common slip in model output. */
function stripTrailingCommas(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ',') {
      let j = i + 1;
      while (j < json.length && /\s/.test(json[j] as string)) j++;
      if (json[j] === '}' || json[j] === ']') continue;
    }
    out += c;
  }
  return out;
}

function tryJson(text: string): { value: unknown } | null {
  try {
    return { value: JSON.parse(text) };
  } catch {
    try {
      return { value: JSON.parse(stripTrailingCommas(text)) };
    } catch {
      return null;
    }
  }
}

interface Found<T> {
  value: T | null;
  tooDeep: boolean;
}

/**
 * Scans `text` for balanced top-level JSON objects or arrays (prose quotes and stray braces
 * outside them are ignored) and returns the first one `accept` takes. The characters scanned
 * are budgeted, so prose full of unclosed braces costs linear time, not quadratic.
 */
function findJson<T>(text: string, accept: (v: unknown) => T | null): Found<T> {
  let tooDeep = false;
  let budget = SCAN_BUDGET_FACTOR * text.length + 100_000;
  let i = 0;
  // Next opener positions, searched again only once passed: an absent '[' must not cost a
  // scan of the rest of the text at every step.
  let brace = -2;
  let bracket = -2;
  while (i < text.length && budget > 0) {
    if (brace !== -1 && brace < i) brace = text.indexOf('{', i);
    if (bracket !== -1 && bracket < i) bracket = text.indexOf('[', i);
    const open = brace < 0 ? bracket : bracket < 0 ? brace : Math.min(brace, bracket);
    if (open < 0) break;
    const span = matchSpan(text, open);
    if ('end' in span) {
      budget -= span.end - open;
      const parsed = tryJson(text.slice(open, span.end));
      const taken = parsed ? accept(parsed.value) : null;
      if (taken !== null) return { value: taken, tooDeep };
      // Valid JSON of another kind is skipped whole; prose like "{see below}" is looked into.
      i = parsed ? span.end : open + 1;
    } else {
      budget -= (span.cost ?? span.scanned) + 1;
      tooDeep ||= span.fail === 'too-deep';
      // Too deep: the whole runaway nest is skipped (nothing inside it is the answer), so the
      // scan stays linear and a valid answer after the nest is still found.
      i = span.fail === 'too-deep' ? open + Math.max(1, span.scanned) : open + 1;
    }
  }
  return { value: null, tooDeep };
}

interface Fence {
  lang: string;
  body: string;
}

/** Closed ``` fences, found with indexOf so an unclosed fence cannot cost quadratic time. */
function fences(text: string): Fence[] {
  const out: Fence[] = [];
  let i = 0;
  while (out.length < MAX_FENCES) {
    const start = text.indexOf('```', i);
    if (start < 0) break;
    const eol = text.indexOf('\n', start + 3);
    if (eol < 0) break;
    const lang = text.slice(start + 3, eol).trim().toLowerCase();
    const close = text.indexOf('```', eol + 1);
    if (close < 0) break;
    let body = text.slice(eol + 1, close);
    if (body.endsWith('\n')) body = body.slice(0, -1);
    out.push({ lang, body });
    i = close + 3;
  }
  return out;
}

/** Tries ```json fences, then other fences, then the whole text. */
function findInReply<T>(reply: string, accept: (v: unknown) => T | null): Found<T> {
  const all = fences(reply);
  const ordered = [...all.filter((f) => f.lang === 'json'), ...all.filter((f) => f.lang !== 'json')];
  let tooDeep = false;
  for (const fence of ordered) {
    const found = findJson(fence.body, accept);
    if (found.value !== null) return found;
    tooDeep ||= found.tooDeep;
  }
  const whole = findJson(reply, accept);
  return { value: whole.value, tooDeep: tooDeep || whole.tooDeep };
}

// ---------------------------------------------------------------------------------------------
// Envelopes

interface Unwrapped {
  reply: string;
  tokens: number;
  sessionKey: string | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() ? v : null;
}

function usageTotal(usage: unknown): number {
  if (!isObj(usage)) return 0;
  const total = num(usage.total) ?? num(usage.totalTokens) ?? num(usage.total_tokens);
  if (total !== null) return Math.round(total);
  const input = num(usage.input) ?? num(usage.inputTokens) ?? num(usage.input_tokens) ?? 0;
  const output = num(usage.output) ?? num(usage.outputTokens) ?? num(usage.output_tokens) ?? 0;
  return Math.round(input + output);
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return excerpt(error, 1000);
  if (isObj(error)) {
    const message = str(error.message) ?? str(error.kind) ?? str(error.type);
    const kind = str(error.kind) ?? str(error.type);
    if (message) return excerpt(kind && kind !== message ? `${message} (${kind})` : message, 1000);
    return excerpt(JSON.stringify(error), 1000);
  }
  return 'unknown error';
}

function payloadTexts(payloads: unknown): string[] {
  if (!Array.isArray(payloads)) return [];
  return payloads.filter(isObj).map((p) => (typeof p.text === 'string' ? p.text : '')).filter(Boolean);
}

/** `openclaw agent --json`: payloads[].text and meta.{finalAssistantVisibleText,agentMeta,error}. */
function unwrapAgent(v: Obj): Unwrapped {
  const meta = isObj(v.meta) ? v.meta : {};
  const payloads = Array.isArray(v.payloads) ? v.payloads.filter(isObj) : [];
  const failed = payloads.find((p) => p.isError === true);
  if (failed || meta.error) {
    const text = failed && typeof failed.text === 'string' ? failed.text.trim() : '';
    const detail = meta.error ? errorText(meta.error) : '';
    throw new AnalyzerOutputError(
      `the analyzer reported an error: ${[text, detail].filter(Boolean).join(' ') || 'no detail given'}`,
    );
  }
  const agentMeta = isObj(meta.agentMeta) ? meta.agentMeta : {};
  return {
    reply: str(meta.finalAssistantVisibleText) ?? payloadTexts(payloads).join('\n'),
    tokens: usageTotal(agentMeta.usage),
    sessionKey: str(agentMeta.sessionId),
  };
}

const FAILED_STATUSES = new Set(['error', 'failed', 'timeout', 'timed_out', 'cancelled', 'canceled', 'aborted']);

/** `openclaw agent exec --json`: { ok, status, final, payloads, usage, sessionId }. */
function unwrapExec(v: Obj): Unwrapped {
  const status = typeof v.status === 'string' ? v.status.toLowerCase() : '';
  if (v.ok === false || FAILED_STATUSES.has(status)) {
    throw new AnalyzerOutputError(
      `the analyzer reported an error: ${v.error ? errorText(v.error) : `status ${status || 'not ok'}`}`,
    );
  }
  const final = isObj(v.final) ? (str(v.final.text) ?? payloadTexts(v.final.payloads).join('\n')) : str(v.final);
  return {
    reply: final ?? payloadTexts(v.payloads).join('\n'),
    tokens: usageTotal(v.usage),
    sessionKey: str(v.sessionId),
  };
}

type EnvelopeKind = { kind: 'envelope'; value: Obj } | { kind: 'bare' };

function classifyEnvelope(v: unknown): EnvelopeKind | null {
  // A bare array reply holds suggestion objects; `["..."]` on a log line does not.
  if (Array.isArray(v)) return v.some((item) => isObj(item) && 'title' in item) ? { kind: 'bare' } : null;
  if (!isObj(v)) return null;
  if ('suggestions' in v || 'proposed_content' in v) return { kind: 'bare' };
  if ('payloads' in v || 'meta' in v || 'ok' in v || 'final' in v) return { kind: 'envelope', value: v };
  return null;
}

/** Finds the CLI's JSON envelope (log lines may precede it) and returns the reply inside. */
function unwrap(stdout: string): Unwrapped {
  const text = stdout.trim();
  if (!text) throw new AnalyzerOutputError('the analyzer printed nothing');
  const found = findJson(text, classifyEnvelope);
  let result: Unwrapped;
  if (found.value?.kind === 'envelope') {
    const v = found.value.value;
    if (v.ok === false) throw new AnalyzerOutputError(`the analyzer reported an error: ${errorText(v.error)}`);
    // The exec form carries `final`/`status`; the classic agent form `payloads` and `meta`.
    result = 'final' in v || 'status' in v ? unwrapExec(v) : unwrapAgent(v);
  } else {
    result = { reply: text, tokens: 0, sessionKey: null };
  }
  if (!result.reply.trim()) throw new AnalyzerOutputError('the analyzer answered with an empty reply');
  return result;
}

// ---------------------------------------------------------------------------------------------
// Coercion

const CATEGORY_ALIASES: Record<string, Category> = {
  perf: 'performance', speed: 'performance', latency: 'performance',
  costs: 'cost', tokens: 'cost', spend: 'cost',
  reliable: 'reliability', resilience: 'reliability', stability: 'reliability', availability: 'reliability',
  secure: 'security', secrets: 'security', safety: 'security',
  configuration: 'config', settings: 'config', yaml: 'config',
  prompts: 'prompt', 'prompt engineering': 'prompt',
  scripts: 'script', code: 'script',
};

const SEVERITY_ALIASES: Record<string, Severity> = {
  info: 'low', minor: 'low', trivial: 'low', suggestion: 'low',
  moderate: 'medium', normal: 'medium', warning: 'medium', warn: 'medium',
  major: 'high', important: 'high', error: 'high', severe: 'high',
  crit: 'critical', blocker: 'critical', urgent: 'critical', emergency: 'critical',
};

function coerceCategory(v: unknown): Category {
  const key = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if ((CATEGORIES as readonly string[]).includes(key)) return key as Category;
  return CATEGORY_ALIASES[key] ?? 'config';
}

function coerceSeverity(v: unknown): Severity {
  const key = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if ((SEVERITIES as readonly string[]).includes(key)) return key as Severity;
  return SEVERITY_ALIASES[key] ?? 'medium';
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

function indexTargets(allowed: string[]): TargetIndex {
  const byNormal = new Map<string, string>();
  for (const a of allowed) {
    if (typeof a === 'string' && a && !a.includes('\0')) byNormal.set(posix.normalize(a), a);
  }
  return { byNormal, normals: [...byNormal.keys()] };
}

/** The allowed path a model's target names, or why it names none. */
function matchTarget(raw: string, index: TargetIndex): { path: string } | { reason: string } {
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

function coerceOne(item: unknown, targets: TargetIndex, noContent: Set<string>): Coerced {
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

  const parsed = SuggestionDraftSchema.safeParse({
    category: coerceCategory(item.category),
    severity: coerceSeverity(item.severity),
    title,
    description: text(item.description, LIMITS.description) ?? '',
    current_state: text(item.current_state, LIMITS.current_state),
    suggested_change: text(item.suggested_change, LIMITS.suggested_change),
    expected_impact: text(item.expected_impact, LIMITS.expected_impact),
    affected_files: affected.slice(0, LIMITS.affected_files),
    target_file: target,
    proposed_content: proposed,
    auto_apply: typeof item.auto_apply === 'boolean' ? item.auto_apply : null,
  });
  if (!parsed.success) return { title, reason: `invalid suggestion: ${excerpt(parsed.error.message, 300)}` };
  return { draft: parsed.data };
}

function acceptSuggestions(v: unknown): unknown[] | null {
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
 * Parses the analyzer's stdout: an `openclaw agent --json` envelope, an `agent exec` envelope or
 * a bare reply; inside the reply fenced, bare or embedded JSON. Throws AnalyzerOutputError when
 * nothing usable is there; otherwise returns valid drafts and the dropped ones with reasons.
 * `opts.noContentTargets`: files (e.g. truncated in the context) that may be named but not rewritten.
 */
export function parseAnalyzerOutput(
  stdout: string,
  allowedTargets: string[],
  opts: { noContentTargets?: string[] } = {},
): ParsedAnalysis {
  checkSize(stdout);
  const { reply, tokens, sessionKey } = unwrap(stdout);
  const found = findInReply(reply, acceptSuggestions);
  if (found.value === null) {
    throw new AnalyzerOutputError(
      found.tooDeep
        ? `the analyzer's JSON is nested deeper than ${MAX_DEPTH} levels; refusing it`
        : `no JSON with suggestions in the analyzer's reply: "${excerpt(reply)}"`,
    );
  }
  const targets = indexTargets(allowedTargets);
  const noContent = new Set((opts.noContentTargets ?? []).map((p) => matchTarget(p, targets)).flatMap((m) => ('path' in m ? [m.path] : [])));
  const suggestions: SuggestionDraft[] = [];
  const dropped: { title: string; reason: string }[] = [];
  const seen = new Set<string>();
  const items = found.value;
  for (const [i, item] of items.entries()) {
    if (i >= MAX_ITEMS_EXAMINED) {
      dropped.push({ title: `(${items.length - i} more)`, reason: `only the first ${MAX_ITEMS_EXAMINED} items are read` });
      break;
    }
    const result = coerceOne(item, targets, noContent);
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
  return { suggestions, dropped, tokens, sessionKey, replyText: reply };
}

/**
 * Parses the answer to buildRewritePrompt: `{"proposed_content": "..."}` (in any envelope, fenced
 * or bare), else the body of a single non-JSON fence. Throws AnalyzerOutputError otherwise.
 */
export function parseRewriteOutput(stdout: string): string {
  checkSize(stdout);
  const { reply } = unwrap(stdout);
  const found = findInReply(reply, (v) => (isObj(v) && typeof v.proposed_content === 'string' ? v.proposed_content : null));
  let content = found.value;
  if (content === null) {
    const plain = fences(reply).filter((f) => f.lang !== 'json');
    if (plain.length === 1) content = `${(plain[0] as Fence).body}\n`;
  }
  if (content === null) {
    throw new AnalyzerOutputError(
      found.tooDeep
        ? `the rewrite answer's JSON is nested deeper than ${MAX_DEPTH} levels; refusing it`
        : `no {"proposed_content": ...} in the rewrite answer: "${excerpt(reply)}"`,
    );
  }
  if (!content.trim()) throw new AnalyzerOutputError('the rewrite answer proposes an empty file');
  if (content.includes('\0')) throw new AnalyzerOutputError('the rewrite answer holds NUL bytes; a job\'s config, script or prompt is text');
  if (content.length > LIMITS.proposed_content) {
    throw new AnalyzerOutputError(`the rewrite answer is larger than ${LIMITS.proposed_content} characters`);
  }
  return content;
}
