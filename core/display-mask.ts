// Secrets masked for display: what the API serves of a file (a suggestion's current and proposed
// content, an action's original and new content, a diff, an analyzer's answer) with every secret
// the prompt redaction hides replaced by a mask such as "sk_l…(34 chars)", the same form the
// rules write in their text. The same detection as the prompt: core/redact.ts's Redactor over the
// patterns of core/secrets.ts and the job's env values, so nothing shown in full was hidden from
// an AI, and nothing hidden from an AI is shown to a viewer. Pure.
import { configEnv, MARKER, Redactor, type KnownSecret } from './redact.js';
import { mask } from './secrets.js';

/**
 * Text that is masked already: a redaction marker, or a mask such as "sk_l…(34 chars)" (the rules'
 * own text holds those). Left as it is, never masked again ("sk…(5 chars)(34 chars)").
 */
const MASKED_ALREADY = new RegExp(`${MARKER.source}|[^\\s…]{0,4}…\\(\\d{1,9} chars\\)(?:#\\d{1,6})?`, 'g');

export interface DisplayMasking<K extends string> {
  texts: Record<K, string | null>;
  /** distinct secrets hidden in these texts (not counting those only in `learnFrom`) */
  hidden: number;
}

/** Stands for text masked already while a text is masked: a marker no redaction session makes. */
const KEPT = (i: number) => `[REDACTED:display.kept#${i}]`;
const KEPT_RE = /\[REDACTED:display\.kept#(\d+)\]/g;

/**
 * The text with what is masked already put aside: the redaction never looks into a marker (as in
 * the prompt), and no marker already in the text can be taken for one this session made.
 */
function protect(text: string): { text: string; kept: string[] } {
  const kept: string[] = [];
  return { text: text.replace(MASKED_ALREADY, (m) => KEPT(kept.push(m) - 1)), kept };
}

/**
 * Masks several texts of one thing together: a secret found in one (the token assigned in the
 * current file) is hidden wherever it recurs in the others, and one value gets one mask in all of
 * them, so a diff of two masked texts still shows a line whose only change is its secret (two
 * values with the same mask get "#2", "#3"...). `known`: values secret whatever their context
 * (the job's env values, see knownSecrets). `learnFrom`: texts not shown whose secrets are hidden
 * where they recur in the shown ones (the files an analyzer's answer may quote).
 */
export function maskForDisplay<K extends string>(
  texts: Record<K, string | null | undefined>,
  known: KnownSecret[] = [],
  learnFrom: (string | null)[] = [],
): DisplayMasking<K> {
  const r = new Redactor(known);
  const entries = Object.entries(texts) as [K, string | null | undefined][];
  const shown = entries.map(([key, text]) => [key, typeof text === 'string' ? protect(text) : null] as const);
  // First pass: learn every secret of every text, so the second replaces each wherever it recurs.
  for (const text of learnFrom) if (text) r.redact(protect(text).text);
  for (const [, p] of shown) if (p) r.redact(p.text);

  const labels = new Map<string, string>(); // marker -> mask shown
  const taken = new Set<string>();
  const labelOf = (marker: string, value: string): string => {
    const known = labels.get(marker);
    if (known) return known;
    let label = mask(value);
    for (let n = 2; taken.has(label); n++) label = `${mask(value)}#${n}`;
    labels.set(marker, label);
    taken.add(label);
    return label;
  };
  const masked = {} as Record<K, string | null>;
  for (const [key, p] of shown) {
    masked[key] =
      p === null
        ? null
        : r
            .redact(p.text)
            .text.replace(MARKER, (marker) => {
              const value = r.valueOf(marker);
              return value === undefined ? marker : labelOf(marker, value);
            })
            .replace(KEPT_RE, (_m, i: string) => p.kept[Number(i)] ?? '');
  }
  return { texts: masked, hidden: labels.size };
}

/**
 * The values to hide whatever their context, as the prompt redaction knows them: the job's env
 * values, and the env values of any YAML job file among `files` (a jobs.yaml holds other jobs').
 */
export function knownSecrets(env: Record<string, string | number | boolean> | null | undefined, files: { path: string; content: string | null }[] = []): KnownSecret[] {
  const fromEnv = Object.keys(env ?? {})
    .sort()
    .map((key) => ({ value: String((env ?? {})[key]), kind: `env:${key}` }));
  const fromFiles = files
    .filter((f): f is { path: string; content: string } => f.content !== null && /\.ya?ml$/i.test(f.path))
    .flatMap((f) => configEnv({ role: 'config', path: f.path, content: f.content, sha256: '', truncated: false }));
  return [...fromEnv, ...fromFiles];
}
