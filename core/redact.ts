// Redaction: nothing secret leaves for an analyzer. A job's `env` values and every secret that
// core/secrets.ts finds (tokens, keys, passwords, bearer headers, URL passwords, private keys) are
// replaced by a marker `[REDACTED:<kind>#<n>]`, so the analyzer still learns that a secret was
// there and what kind it was. Deterministic: the same input gives the same markers, so the
// marker -> value map can be rebuilt from the same context later (to put the values back into a
// file the analyzer rewrote) without ever storing it.
import { parseDocument } from 'yaml';
import type { JobFile, ReviewContext } from './review.js';
import { findSecretSpans, redactableValue, SECRET_KEY } from './secrets.js';

/** A marker as this module writes it. */
export const MARKER = /\[REDACTED:([A-Za-z0-9_.:-]{1,80})#(\d{1,7})\]/g;
/** Anything that could pass for a marker (used to refuse ambiguous round trips). */
const MARKER_LOOKALIKE = /\[REDACTED:[^\]\n]{0,100}\]/;

/** Known values shorter than this are not replaced (too many false hits in ordinary text). */
export const KNOWN_MIN_LENGTH = 4;
/** Secrets found elsewhere are replaced wherever they recur only from this length on. */
const RECUR_MIN_LENGTH = 6;
/** Words an `env` value often is that say nothing secret (and would match everywhere). */
const HARMLESS_VALUE = /^(?:true|false|yes|no|on|off|none|null|nil|undefined)$/i;

export interface Redaction {
  text: string;
  /** secrets replaced in this text (occurrences) */
  count: number;
  /** the kinds of the secrets replaced, sorted */
  kinds: string[];
}

export interface KnownSecret {
  value: string;
  kind: string;
}

function markerKind(kind: string): string {
  return kind.replace(/[^A-Za-z0-9_.:-]+/g, '_').slice(0, 80) || 'secret';
}

/** Ranges of markers already in `text`, which no later pass may touch. */
function markerSpans(text: string): [number, number][] {
  if (!text.includes('[REDACTED:')) return [];
  return [...text.matchAll(MARKER)].map((m) => [m.index ?? 0, (m.index ?? 0) + m[0].length]);
}

/** JSON-escaped forms of a value, so it is found inside a JSON string (a raw answer) too. */
function variants(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  const twice = JSON.stringify(escaped).slice(1, -1);
  return [...new Set([value, escaped, twice])];
}

/**
 * Holds the value -> marker map of one redaction session. Markers are numbered in the order
 * values are first met, so redacting the same texts in the same order gives the same markers.
 */
export class Redactor {
  private readonly byValue = new Map<string, string>();
  private readonly byMarker = new Map<string, string>();
  /** every form to look for (value and its escaped forms) -> marker, indexed by first 4 chars */
  private readonly index = new Map<string, { form: string; marker: string }[]>();

  constructor(known: KnownSecret[] = []) {
    const sorted = [...known]
      .filter((k) => k.value.length >= KNOWN_MIN_LENGTH && !HARMLESS_VALUE.test(k.value.trim()))
      .sort((a, b) => b.value.length - a.value.length || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    for (const k of sorted) this.markerFor(k.value, k.kind, KNOWN_MIN_LENGTH);
  }

  /** Distinct secrets known so far. */
  get size(): number {
    return this.byValue.size;
  }

  /** The value a marker stands for, if this session made it. */
  valueOf(marker: string): string | undefined {
    return this.byMarker.get(marker);
  }

  private markerFor(value: string, kind: string, recurFrom = RECUR_MIN_LENGTH): string {
    const existing = this.byValue.get(value);
    if (existing) return existing;
    const marker = `[REDACTED:${markerKind(kind)}#${this.byValue.size + 1}]`;
    this.byValue.set(value, marker);
    this.byMarker.set(marker, value);
    if (value.length >= recurFrom) {
      for (const form of variants(value)) {
        const key = form.slice(0, KNOWN_MIN_LENGTH);
        const list = this.index.get(key) ?? [];
        list.push({ form, marker });
        list.sort((a, b) => b.form.length - a.form.length);
        this.index.set(key, list);
      }
    }
    return marker;
  }

  /** Replaces every occurrence of a value already known (leftmost, longest first). */
  private replaceKnown(text: string, counter: { count: number; kinds: Set<string> }): string {
    if (this.index.size === 0 || text.length < KNOWN_MIN_LENGTH) return text;
    const skip = markerSpans(text);
    let out = '';
    let last = 0;
    let s = 0;
    for (let i = 0; i + KNOWN_MIN_LENGTH <= text.length; ) {
      while (s < skip.length && (skip[s] as [number, number])[1] <= i) s++;
      const span = skip[s];
      if (span && span[0] <= i) {
        i = span[1];
        continue;
      }
      const candidates = this.index.get(text.slice(i, i + KNOWN_MIN_LENGTH));
      const hit = candidates?.find((c) => text.startsWith(c.form, i) && !(span && i + c.form.length > span[0]));
      if (!hit) {
        i++;
        continue;
      }
      out += text.slice(last, i) + hit.marker;
      counter.count++;
      counter.kinds.add(kindOf(hit.marker));
      i += hit.form.length;
      last = i;
    }
    return last === 0 ? text : out + text.slice(last);
  }

  /** Replaces the secrets the patterns of core/secrets.ts find, learning their values. */
  private replaceFound(text: string, counter: { count: number; kinds: Set<string> }): string {
    const spans = findSecretSpans(text, markerSpans(text));
    if (spans.length === 0) return text;
    let out = '';
    let last = 0;
    for (const sp of spans) {
      const marker = this.markerFor(sp.value, sp.kind);
      out += text.slice(last, sp.start) + marker;
      counter.count++;
      counter.kinds.add(kindOf(marker));
      last = sp.end;
    }
    return out + text.slice(last);
  }

  /** Redacts one text, learning any new secret in it. */
  redact(text: string): Redaction {
    const counter = { count: 0, kinds: new Set<string>() };
    if (!text) return { text, count: 0, kinds: [] };
    let out = this.replaceKnown(text, counter);
    out = this.replaceFound(out, counter);
    // A secret found just now may recur elsewhere in the same text without its key.
    out = this.replaceKnown(out, counter);
    return { text: out, count: counter.count, kinds: [...counter.kinds].sort() };
  }

  /** Replaces only the values already known, finding nothing new: for text that must keep its shape. */
  redactKnown(text: string): string {
    return this.replaceKnown(text, { count: 0, kinds: new Set() });
  }

  /** Registers a value a caller knows is secret (a config value under a secret-naming key). */
  learn(value: string, kind: string): void {
    if (redactableValue(value)) this.markerFor(value, kind);
  }
}

function kindOf(marker: string): string {
  return /^\[REDACTED:(.*)#\d+\]$/.exec(marker)?.[1] ?? 'secret';
}

/** Redacts `text`: `knownValues` (a job's env values, >= 4 characters) and every secret found in it. */
export function redactText(text: string, knownValues: string[] = []): Redaction {
  const known = knownValues.map((value) => ({ value, kind: 'env' }));
  // Twice: the first pass learns every secret, the second replaces each wherever it recurs.
  const r = new Redactor(known);
  r.redact(text);
  return r.redact(text);
}

// ---------------------------------------------------------------------------------------------
// A review context

/** The job's env values as known secrets, named after their variable. */
function envSecrets(ctx: ReviewContext): KnownSecret[] {
  const env = ctx.job.env ?? {};
  return Object.keys(env)
    .sort()
    .flatMap((key) => {
      const value = env[key];
      return value === undefined || value === null ? [] : [{ value: String(value), kind: `env:${key}` }];
    });
}

/** Rebuilds a config value with every string redacted; strings under a secret-naming key are learnt first. */
function redactConfig(value: unknown, r: Redactor, key: string | null, depth = 0): unknown {
  if (depth > 64) return value;
  if (typeof value === 'string') {
    if (key && SECRET_KEY.test(key)) r.learn(value, /pass|pwd/i.test(key) ? 'password' : /token/i.test(key) ? 'token' : 'secret');
    return r.redact(value).text;
  }
  if ((typeof value === 'number' || typeof value === 'boolean') && key !== null) {
    // An env value or a secret-named field given as a number is still a value to hide.
    const text = String(value);
    const redacted = r.redact(text).text;
    return redacted === text ? value : redacted;
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, r, key, depth + 1));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, r, k, depth + 1)]));
  }
  return value;
}

function redactLines(lines: string[], r: Redactor): string[] {
  if (lines.length === 0) return lines;
  // Joined, so a private key spread over several lines is seen as one block.
  return r.redact(lines.join('\n')).text.split('\n');
}

function redactPieces(ctx: ReviewContext, r: Redactor): ReviewContext {
  const text = (s: string) => r.redact(s).text;
  const nullable = (s: string | null) => (s === null ? null : text(s));
  return {
    ...ctx,
    job: redactConfig(ctx.job, r, null) as ReviewContext['job'],
    files: ctx.files.map((f) => ({ ...f, content: text(f.content) })),
    runs: ctx.runs.map((run) => ({ ...run, error: nullable(run.error) })),
    logs: ctx.logs.map((log) => ({ ...log, lines: redactLines(log.lines, r) })),
    sla_violations: ctx.sla_violations.map((v) => ({ ...v, reason: text(v.reason) })),
    ai_sessions: ctx.ai_sessions.map((s) => ({ ...s, messages: s.messages.map((m) => ({ ...m, content: text(m.content) })) })),
    business_log: ctx.business_log
      ? {
          lines: redactLines(ctx.business_log.lines, r),
          summary: nullable(ctx.business_log.summary),
          context_prompt: nullable(ctx.business_log.context_prompt),
        }
      : null,
    // what people wrote when they rejected a suggestion may quote a secret too
    ...(ctx.rejections ? { rejections: ctx.rejections.map((n) => ({ ...n, title: text(n.title), reason: text(n.reason) })) } : {}),
  };
}

/**
 * The redaction session of a context, with every secret of it known: redact more text with it
 * (the analyzer's raw answer) and the markers agree with the ones the prompt showed.
 */
export function contextRedactor(ctx: ReviewContext): Redactor {
  const r = new Redactor(envSecrets(ctx));
  redactPieces(ctx, r);
  return r;
}

/**
 * The context with every text piece redacted: files, logs, run errors, SLA reasons, session
 * messages, the business log, and the job config (env values and any secret-looking value).
 * `secrets` is the number of distinct secrets replaced.
 */
export function redactContext(ctx: ReviewContext): { context: ReviewContext; secrets: number; redactor: Redactor } {
  const r = contextRedactor(ctx);
  return { context: redactPieces(ctx, r), secrets: r.size, redactor: r };
}

/**
 * Puts the values back into a file the analyzer rewrote from redacted content. Only markers for
 * secrets that are in `file` itself are put back, so an answer cannot move a secret from a log or
 * another file into this one; an unknown marker, or a file that already holds marker-like text
 * (the round trip would be ambiguous), gives a reason instead: the edit must not be stored.
 */
export function rehydrate(proposed: string, file: JobFile, r: Redactor): { content: string } | { reason: string } {
  if (!proposed.includes('[REDACTED:')) return { content: proposed };
  if (MARKER_LOOKALIKE.test(file.content)) {
    return { reason: `${file.path} itself contains text like "[REDACTED:…]", so the secrets in the proposed content cannot be put back safely` };
  }
  const markers = [...new Set([...proposed.matchAll(MARKER)].map((m) => m[0]))];
  for (const marker of markers) {
    const value = r.valueOf(marker);
    if (value === undefined) return { reason: `the proposed content holds ${marker}, which stands for no secret of this review` };
    if (!file.content.includes(value)) {
      return { reason: `the proposed content puts ${marker} into ${file.path}, but that secret is not in this file; move it by hand if intended` };
    }
  }
  let content = proposed;
  for (const marker of markers) content = content.split(marker).join(r.valueOf(marker) as string);
  if (MARKER_LOOKALIKE.test(content)) return { reason: 'the proposed content still holds text like "[REDACTED:…]" that is no marker of this review' };
  return { content };
}

/** A config file's `env` values, read best-effort from its YAML (a broken file gives none). */
export function configEnv(file: JobFile): KnownSecret[] {
  if (file.role !== 'config') return [];
  try {
    const doc = parseDocument(file.content, { uniqueKeys: false });
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    const envs: Record<string, unknown>[] = [];
    if (isRecord(value)) {
      if (isRecord(value.env)) envs.push(value.env);
      if (isRecord(value.jobs)) for (const job of Object.values(value.jobs)) if (isRecord(job) && isRecord(job.env)) envs.push(job.env);
    }
    return envs.flatMap((env) =>
      Object.keys(env)
        .sort()
        .flatMap((key) => (['string', 'number'].includes(typeof env[key]) ? [{ value: String(env[key]), kind: `env:${key}` }] : [])),
    );
  } catch {
    return [];
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * For asking an analyzer to rewrite one file: the file and the change with their secrets (and a
 * config's env values) replaced by markers, and `restore`, which puts the file's own values back
 * into the answer or says why it cannot.
 */
export function redactForRewrite(
  file: JobFile,
  change: string,
): { file: JobFile; change: string; restore: (content: string) => { content: string } | { reason: string } } {
  const r = new Redactor(configEnv(file));
  r.redact(file.content);
  r.redact(change);
  return {
    file: { ...file, content: r.redact(file.content).text },
    change: r.redact(change).text,
    restore: (content) => rehydrate(content, file, r),
  };
}
