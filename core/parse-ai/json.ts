// Finding JSON in untrusted text: balanced objects and arrays among prose, log lines and stray
// brackets, in ``` fences or bare, parsed leniently (trailing commas). Nesting depth and the
// characters scanned are bounded, so hostile text costs linear time and no stack.

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deeper than this is not a suggestion list but an attack or a runaway model. */
export const MAX_DEPTH = 64;
/** Characters scanned per character of text when looking for JSON: bounds adversarial input. */
const SCAN_BUDGET_FACTOR = 8;
/** Fences looked at per reply. */
const MAX_FENCES = 64;

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
export function findJson<T>(text: string, accept: (v: unknown) => T | null): Found<T> {
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
export function fences(text: string): Fence[] {
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
export function findInReply<T>(reply: string, accept: (v: unknown) => T | null): Found<T> {
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
