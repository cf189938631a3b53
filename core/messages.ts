// Validation messages a person can act on: "must be 0 or more" instead of zod's "Too small:
// expected number to be >=0". Passed per parse (`schema.safeParse(value, { error: humanError })`),
// so a message a schema sets itself still wins and nothing global changes.
import type { z } from 'zod';

type Issue = z.core.$ZodRawIssue;

const TYPE_NOUNS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  object: 'a map of fields (key: value)',
  array: 'a list',
  date: 'a date',
  bigint: 'a whole number',
  null: 'null',
};

/** What a received value is, in the words of the nouns above. */
function kindOf(input: unknown): string {
  if (input === null) return 'null';
  if (input === undefined) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'number') return Number.isNaN(input) ? 'NaN (not a number)' : `the number ${input}`;
  if (typeof input === 'string') return input.length > 40 ? 'text' : `the text "${input}"`;
  if (typeof input === 'boolean') return String(input);
  if (typeof input === 'object') return 'a map of fields';
  return typeof input;
}

const quote = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function oneOf(values: readonly unknown[]): string {
  const shown = values.map(quote);
  if (shown.length === 1) return shown[0]!;
  if (shown.length === 2) return `${shown[0]} or ${shown[1]}`;
  return `one of ${shown.join(', ')}`;
}

function bound(issue: Issue & { code: 'too_small' | 'too_big' }): string | undefined {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum);
  const inclusive = (issue as { inclusive?: boolean }).inclusive !== false;
  switch ((issue as { origin?: string }).origin) {
    case 'number':
    case 'int':
    case 'bigint':
      if (inclusive) return small ? `must be ${limit} or more` : `must be ${limit} or less`;
      return small ? `must be more than ${limit}` : `must be less than ${limit}`;
    case 'string':
      if (small) return limit <= 1 ? 'must not be empty' : `must be at least ${limit} characters long`;
      return `must be at most ${limit} characters long`;
    case 'array':
    case 'set':
      if (small) return limit <= 1 ? 'must list at least one item' : `must list at least ${limit} items`;
      return `must list at most ${limit} items`;
    default:
      return undefined;
  }
}

/** The zod error map: a message for each kind of issue, or undefined to keep zod's own. */
export const humanError = (issue: Issue): string | undefined => {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = String((issue as { expected?: unknown }).expected ?? '');
      const noun = TYPE_NOUNS[expected] ?? expected;
      if (issue.input === undefined) return `is required: ${noun}`;
      return `must be ${noun}, not ${kindOf(issue.input)}`;
    }
    case 'invalid_value':
      return `must be ${oneOf((issue as { values: readonly unknown[] }).values)}`;
    case 'too_small':
    case 'too_big':
      return bound(issue as Issue & { code: 'too_small' | 'too_big' });
    case 'invalid_format':
      return (issue as { format?: string }).format === 'regex' ? 'has the wrong form' : `must be a valid ${(issue as { format?: string }).format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String((issue as { divisor?: unknown }).divisor)}`;
    default:
      return undefined;
  }
};
