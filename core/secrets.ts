// Hard-coded secret detection, shared by the rules analyzer (which reports and removes them) and
// the redaction applied before any text leaves for an AI analyzer. Pure: regular expressions over
// text, no I/O.
import type { JobFile } from './review.js';

export type Lang = 'shell' | 'sh' | 'python' | 'node' | 'yaml' | 'other';

export function languageOf(file: JobFile, cmd: string): Lang {
  if (file.role === 'config') return 'yaml';
  const first = file.content.split('\n', 1)[0] ?? '';
  const shebang = first.startsWith('#!') ? first : '';
  const ext = file.path.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
  if (/\b(bash|zsh|ksh)\b/.test(shebang)) return 'shell';
  if (/\b(sh|dash|ash)\b/.test(shebang)) return 'sh';
  if (/python/.test(shebang) || ext === 'py') return 'python';
  if (/\b(node|deno|bun|tsx|ts-node)\b/.test(shebang) || ['js', 'mjs', 'cjs', 'ts', 'mts'].includes(ext)) return 'node';
  if (ext === 'sh' || ext === 'bash') return /^\s*sh\s/.test(cmd) ? 'sh' : 'shell';
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  return 'other';
}

export interface SecretHit {
  line: number;
  /** the literal's value range in the line */
  start: number;
  end: number;
  /** set when the value has its own quotes that go with it: [start-1, end+1) */
  ownQuote: boolean;
  value: string;
  name: string;
  kind: string;
}

export const TOKEN_FORMATS: { kind: string; name: string; re: RegExp }[] = [
  { kind: 'AWS access key id', name: 'AWS_ACCESS_KEY_ID', re: /\b((?:AKIA|ASIA)[0-9A-Z]{16})\b/g },
  { kind: 'GitHub token', name: 'GITHUB_TOKEN', re: /\b(gh[pousr]_[A-Za-z0-9]{36,})\b/g },
  { kind: 'Slack token', name: 'SLACK_TOKEN', re: /\b(xox[abprs]-[A-Za-z0-9-]{10,})\b/g },
  { kind: 'Stripe secret key', name: 'STRIPE_SECRET_KEY', re: /\b(sk_live_[A-Za-z0-9]{16,})\b/g },
  { kind: 'Google API key', name: 'GOOGLE_API_KEY', re: /\b(AIza[0-9A-Za-z_-]{35})\b/g },
  { kind: 'API secret key', name: 'OPENAI_API_KEY', re: /\b(sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,})\b/g },
  { kind: 'bearer token', name: 'API_TOKEN', re: /\b[Bb]earer\s+([A-Za-z0-9\-._~+/]{16,}=*)/g },
];

/** A key that names a secret: ends in password, token, secret, api key, access key... */
export const SECRET_KEY = /(?:^|[_.-]|[a-z0-9])(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret)$/i;
export const ASSIGNMENT = /(["']?)(-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)\1[ \t]*(?::=|=|:(?!\/\/))[ \t]*(?:(["'])([^"'\n]*)\3|([^\s"'`;,)&|#<>]+))/g;
export const PLACEHOLDER = /^(?:x+|\*+|\.+|-+|changeme|change_me|your[\w-]*|example[\w-]*|placeholder|dummy|redacted|none|null|nil|undefined|true|false|todo|tbd|secret|password|token|test|required|optional|string|str|env)$/i;
/**
 * The first line of a PEM private key block; the capture is the key type ("RSA ", "OPENSSH ", or
 * empty), so the matching END line can be found. Global: use it with matchAll or search, never test().
 */
const PRIVATE_KEY_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----/g;

export function envName(key: string): string {
  const name = key
    .replace(/^-+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return /^[A-Z_]/.test(name) ? name : `SECRET_${name}`;
}

/** The quote the position sits inside on this line ('"', "'", '`') or null, and where it opened. */
export function quoteAt(line: string, pos: number): { q: string; at: number } | null {
  let q: string | null = null;
  let at = -1;
  for (let i = 0; i < pos; i++) {
    const c = line[i];
    if (q) {
      if (c === '\\' && q !== "'") i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'" || c === '`') {
      q = c;
      at = i;
    }
  }
  return q ? { q, at } : null;
}

export function literalValue(v: string): boolean {
  // `$VAR`, `{{ template }}`, `!secret ref`, a call or a CONSTANT_NAME are references, not literals.
  return v.length >= 6 && !PLACEHOLDER.test(v) && !/[$<>{}%!()]/.test(v) && !/^[A-Z_][A-Z0-9_]*$/.test(v);
}

/** Two or more of lower case, upper case, digits and symbols: a key or password, not a word of prose. */
export function credentialLike(v: string): boolean {
  return [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(v)).length >= 2;
}

export function findSecrets(file: JobFile, lang: Lang): { hits: SecretHit[]; privateKeyLines: number[] } {
  // Prompts are prose ("the password: ask the admin"): only unmistakable token formats count there.
  const assignments = file.role !== 'prompt';
  const hits: SecretHit[] = [];
  const privateKeyLines: number[] = [];
  const lines = file.content.split('\n');
  const overlaps = (line: number, start: number, end: number) => hits.some((h) => h.line === line && start < h.end && end > h.start);
  for (const [n, line] of lines.entries()) {
    if (line.length > 4000) continue; // minified or data lines: not hand-written secrets
    if (line.search(PRIVATE_KEY_BEGIN) >= 0) privateKeyLines.push(n + 1);
    for (const t of TOKEN_FORMATS) {
      for (const m of line.matchAll(t.re)) {
        const value = m[1] as string;
        const start = (m.index ?? 0) + m[0].lastIndexOf(value);
        if (value.includes('$') || overlaps(n, start, start + value.length)) continue;
        hits.push({ line: n, start, end: start + value.length, ownQuote: false, value, name: t.name, kind: t.kind });
      }
    }
    for (const m of assignments ? line.matchAll(ASSIGNMENT) : []) {
      const key = m[2] as string;
      if (!SECRET_KEY.test(key)) continue;
      const quoted = m[4];
      const raw = quoted ?? m[5] ?? '';
      const value = raw.trim();
      if (!literalValue(value)) continue;
      // The value (or its closing quote) ends the match.
      const end = (m.index ?? 0) + m[0].length - (quoted !== undefined ? 1 : 0);
      const start = end - raw.length;
      if (overlaps(n, start, end)) continue;
      // An unquoted value is a literal only where the language makes it one.
      const enclosing = quoteAt(line, m.index ?? 0);
      const before = line.slice(0, m.index ?? 0);
      if (quoted === undefined && !(lang === 'shell' || lang === 'sh' || lang === 'yaml' || enclosing || /[?&]$/.test(before))) continue;
      const ownQuote = quoted !== undefined && !quoteAt(line, start - 1) && quoted.trim() === quoted;
      // Outside a plain assignment ("echo 'token: refreshed'") only a credential-looking value counts.
      const statement = /^\s*(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)?|const\s+|let\s+|var\s+)?$/.test(before);
      if (!ownQuote && !statement && !credentialLike(value)) continue;
      hits.push({ line: n, start, end, ownQuote, value, name: envName(key.split(/[.]/).pop() as string), kind: 'hard-coded credential' });
    }
  }
  return { hits, privateKeyLines };
}

export function mask(value: string): string {
  return `${value.slice(0, value.length >= 12 ? 4 : 2)}…(${value.length} chars)`;
}

export function maskedLine(line: string, lineHits: SecretHit[]): string {
  let out = line;
  for (const h of [...lineHits].sort((a, b) => b.start - a.start)) out = out.slice(0, h.start) + mask(h.value) + out.slice(h.end);
  return out.trim();
}

// ---------------------------------------------------------------------------------------------
// Secret spans in free text, for redaction. Broader than findSecrets: any text (logs, session
// messages, answers), whole text at once, every quoting style, and erring on the side of hiding a
// value. Every pattern is bounded so a hostile line costs linear time.

export interface SecretSpan {
  /** the range of the secret itself in the text; what is around it (a key, a user name) stays */
  start: number;
  end: number;
  value: string;
  /** a short slug: password, token, aws-access-key-id, url-password, private-key... */
  kind: string;
}

/** Formats only redaction looks for (the rules analyzer keeps its own, narrower list). */
export const EXTRA_TOKEN_FORMATS: { kind: string; re: RegExp }[] = [
  { kind: 'github-token', re: /\b(github_pat_[A-Za-z0-9_]{22,})/g },
  { kind: 'gitlab-token', re: /\b(glpat-[A-Za-z0-9_-]{20,})/g },
  { kind: 'npm-token', re: /\b(npm_[A-Za-z0-9]{36})\b/g },
  { kind: 'stripe-key', re: /\b([rs]k_(?:live|test)_[A-Za-z0-9]{16,})\b/g },
  { kind: 'slack-webhook', re: /\b(https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{10,})/g },
  { kind: 'jwt', re: /\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g },
  { kind: 'bearer-token', re: /\b[Bb]earer[ \t]+([A-Za-z0-9\-._~+/]{8,}=*)/g },
];

const URL_CREDENTIALS = /\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}:\/\/[^\s:@/?#"'<>\\]{0,256}:([^\s@/?#"'<>\\]{1,512})@/g;
const AUTHORIZATION = /\b(?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:(?:bearer|basic|token|bot|digest|apikey|negotiate)[ \t]+)?([^\s"'\\,;]{4,})/gi;
const AUTH_SCHEME = /^(?:bearer|basic|token|bot|digest|apikey|negotiate)$/i;
const USER_FLAG = /(?<![\w-])(?:-u|--user)[ \t]+["']?[^\s:"']{1,256}:([^\s"']{1,512})/g;
/** `key = value` where the key ends in a secret's name (in the pattern, so other keys fail fast). */
const KEY_VALUE =
  /(?<![A-Za-z0-9_.-])(\\?["']?)(-{0,2}[A-Za-z0-9_.-]{0,60}?(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret))\1[ \t]*(?::=|=>|=|:(?!\/\/))[ \t]*(?:\\"([^"\\\n]*)\\"|"((?:[^"\\\n]|\\.){0,4096})"|'([^'\n]{0,4096})'|([^\s"'`;,&|<>(){}[\]\\]{1,4096}))/gi;
const FLAG_VALUE = /(?<![\w-])(--?[A-Za-z][A-Za-z0-9_-]{0,60})[ \t]+(?:"([^"\n]{0,4096})"|'([^'\n]{0,4096})'|([^\s"'`;&|<>(){}[\]\\-][^\s"'`;&|<>(){}[\]\\]{0,4095}))/g;
const MARKER_LIKE = /^\[REDACTED:/;

/** A short slug for a kind ("AWS access key id" -> "aws-access-key-id"). */
export function kindSlug(kind: string): string {
  return kind.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'secret';
}

/** What the secret a key names is: password, secret, token or key. */
function kindOfKey(key: string): string {
  if (/pass|pwd/i.test(key)) return 'password';
  if (/secret/i.test(key)) return 'secret';
  if (/token/i.test(key)) return 'token';
  return 'key';
}

/** `$VAR`, `${VAR}`, `{{ template }}`, `%(name)s`, `<placeholder>` or a marker: no secret itself. */
function isReference(v: string): boolean {
  return /^[$%<]/.test(v) || v.includes('${') || v.includes('{{') || v.includes('$(') || MARKER_LIKE.test(v);
}

/** An unquoted word that is code: a call, an index, an attribute path (`os.environ`, `self.token`). */
function isCode(value: string, next: string | undefined): boolean {
  if (/^[A-Za-z_]\w*$/.test(value) && next !== undefined && '([.'.includes(next)) return true;
  return /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value);
}

/** A value worth hiding: not a placeholder, not a reference to a variable or template, not code. */
export function redactableValue(v: string): boolean {
  const t = v.trim();
  if (t.length < 4 || PLACEHOLDER.test(t) || isReference(t) || t.startsWith('!')) return false;
  // An environment variable's or constant's name (DB_PASSWORD), not its value.
  if (/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(t) || /^[A-Z]+$/.test(t)) return false;
  // Masked already ("abcd…(16 chars)", "****1234").
  if (/…\(\d+ chars\)$/.test(t) || /^\*{3,}/.test(t)) return false;
  return true;
}

/**
 * Secrets in `text`: private key blocks, passwords in URLs, Authorization headers, known token
 * formats, and values of keys and flags that name a secret (`KEY=...`, `key: value`,
 * `"key": "value"`, `--password value`). Non-overlapping, in text order.
 */
export function findSecretSpans(text: string, blocked: [number, number][] = []): SecretSpan[] {
  // Accepted spans, sorted and disjoint; each pattern's candidates are merged in one linear pass
  // (a hostile text can hold a hundred thousand candidates).
  const BLOCKED = '\0blocked';
  let spans: SecretSpan[] = blocked.map(([start, end]) => ({ start, end, value: '', kind: BLOCKED })).sort((a, b) => a.start - b.start);
  let batch: SecretSpan[] = [];
  const add = (start: number, end: number, kind: string) => {
    if (end > start) batch.push({ start, end, value: text.slice(start, end), kind });
  };
  const merge = () => {
    batch.sort((a, b) => a.start - b.start);
    const out: SecretSpan[] = [];
    let i = 0;
    let lastEnd = -1;
    for (const c of batch) {
      while (i < spans.length && (spans[i] as SecretSpan).end <= c.start) out.push(spans[i++] as SecretSpan);
      const next = spans[i];
      if (c.start < lastEnd || (next && next.start < c.end)) continue;
      out.push(c);
      lastEnd = c.end;
    }
    while (i < spans.length) out.push(spans[i++] as SecretSpan);
    spans = out;
    batch = [];
  };
  /** The range of capture `value` of a match that ends with it. */
  const tail = (m: RegExpMatchArray, value: string) => {
    const end = (m.index ?? 0) + m[0].length;
    return [end - value.length, end] as const;
  };

  for (const m of text.matchAll(PRIVATE_KEY_BEGIN)) {
    const start = m.index ?? 0;
    const endTag = text.indexOf(`-----END ${m[1] ?? ''}PRIVATE KEY`, start + m[0].length);
    let end: number;
    if (endTag >= 0) {
      const close = text.indexOf('-----', endTag + 9);
      end = close >= 0 ? close + 5 : text.length;
    } else {
      // A cut-off block: hide up to the first blank line (real or escaped), else to the end.
      const blanks = [text.indexOf('\n\n', start), text.indexOf('\\n\\n', start)].filter((i) => i >= 0);
      end = blanks.length ? Math.min(...blanks) : text.length;
    }
    add(start, end, 'private-key');
  }
  merge();
  for (const m of text.matchAll(URL_CREDENTIALS)) {
    const pass = m[1] as string;
    if (isReference(pass)) continue;
    const end = (m.index ?? 0) + m[0].length - 1; // before the "@"
    add(end - pass.length, end, 'url-password');
  }
  merge();
  for (const m of text.matchAll(AUTHORIZATION)) {
    const value = m[1] as string;
    // `"Authorization": "Bearer " + token`: the scheme alone, its value comes from elsewhere.
    if (isReference(value) || AUTH_SCHEME.test(value)) continue;
    add(...tail(m, value), 'authorization');
  }
  merge();
  for (const m of text.matchAll(USER_FLAG)) {
    const value = m[1] as string;
    if (isReference(value)) continue;
    add(...tail(m, value), 'password');
  }
  merge();
  for (const t of TOKEN_FORMATS) {
    for (const m of text.matchAll(t.re)) {
      const value = m[1] as string;
      add(...tail(m, value), kindSlug(t.kind));
    }
  }
  merge();
  for (const t of EXTRA_TOKEN_FORMATS) {
    for (const m of text.matchAll(t.re)) {
      const value = m[1] as string;
      add(...tail(m, value), t.kind);
    }
  }
  merge();
  // exec, not matchAll: after a key that names no secret the scan resumes right after the key,
  // so `a=password=x` still finds `password=x`.
  KEY_VALUE.lastIndex = 0;
  for (let m = KEY_VALUE.exec(text); m; m = KEY_VALUE.exec(text)) {
    if (!SECRET_KEY.test((m[2] as string).replace(/^-+/, ''))) {
      KEY_VALUE.lastIndex = m.index + (m[1] as string).length + (m[2] as string).length;
      continue;
    }
    const key = (m[2] as string).replace(/^-+/, '');
    const quoted = m[3] ?? m[4] ?? m[5];
    const value = quoted ?? (m[6] as string);
    if (!redactableValue(value)) continue;
    const matchEnd = (m.index ?? 0) + m[0].length;
    // A bare word followed by a call, an index or an attribute is code, not a literal.
    if (quoted === undefined && isCode(value, text[matchEnd])) continue;
    const close = m[3] !== undefined ? 2 : quoted !== undefined ? 1 : 0;
    add(matchEnd - close - value.length, matchEnd - close, kindOfKey(key));
  }
  merge();
  for (const m of text.matchAll(FLAG_VALUE)) {
    const flag = (m[1] as string).replace(/^-+/, '');
    if (!SECRET_KEY.test(flag)) continue;
    const quoted = m[2] ?? m[3];
    const value = quoted ?? (m[4] as string);
    if (!redactableValue(value) || (quoted === undefined && isCode(value, text[(m.index ?? 0) + m[0].length]))) continue;
    const matchEnd = (m.index ?? 0) + m[0].length;
    const close = quoted !== undefined ? 1 : 0;
    add(matchEnd - close - value.length, matchEnd - close, kindOfKey(flag));
  }
  merge();
  return spans.filter((sp) => sp.kind !== BLOCKED);
}
