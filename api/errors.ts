// One error type with a status, and one middleware that turns anything thrown into the seed's
// error body. Client mistakes are 4xx with a message that says what to do; never a 500.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { humanError } from '../core/messages.js';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, `${what} not found`);

/** Validates with a zod schema; a failure is a 400 naming each field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value, { error: humanError });
  if (result.success) return result.data;
  // Each once: two checks may say the same (`int` and `max` both bound 1e300 at the safe integers).
  const seen = new Set<string>();
  const problems = result.error.issues
    .flatMap((i) => describeIssue(schema, i, where))
    .filter((p) => !seen.has(`${p.field}\n${p.reason}`) && Boolean(seen.add(`${p.field}\n${p.reason}`)));
  throw new HttpError(400, `invalid ${where}: ${problems.map((p) => `${p.field}: ${p.reason}`).join('; ')}`, problems);
}

/**
 * One (field, reason) per problem. An unknown key gets its own entry named after it (zod reports
 * them together at the object's path), with the keys accepted there when that is the top level:
 * a misspelt filter (`?can_rolback=`) reads as such.
 */
function describeIssue(schema: z.ZodType, issue: z.core.$ZodIssue, where: string): { field: string; reason: string }[] {
  if (issue.code !== 'unrecognized_keys') return [{ field: issue.path.join('.') || '(root)', reason: issue.message }];
  const known = issue.path.length === 0 ? topLevelKeys(schema) : null;
  const what = where === 'query' ? 'parameter' : 'field';
  const reason = known === null ? `unknown ${what}` : known.length === 0 ? `unknown ${what}; this endpoint takes none` : `unknown ${what}; accepted: ${known.join(', ')}`;
  return issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), reason }));
}

function topLevelKeys(schema: z.ZodType): string[] | null {
  const inner = schema instanceof z.ZodDefault ? schema.unwrap() : schema;
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : null;
}

/**
 * Postgres text and jsonb hold no NUL character: a request carrying one anywhere (path, query,
 * body) is refused here with a 400, before it can reach a query or a workflow's activity.
 */
export const refuseNulBytes: RequestHandler = (req, _res, next) => {
  const where = /%00/i.test(req.originalUrl) ? 'the URL' : containsNul(req.query) ? 'the query' : containsNul(req.body) ? 'the body' : null;
  next(where ? new HttpError(400, `${where} holds a NUL character (\\u0000), which cannot be stored; remove it`, [{ field: '(root)', reason: 'NUL character' }]) : undefined);
};

/** Walks the value without recursion: a 1 MB body may nest half a million levels deep. */
function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\0')) return true;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes('\0')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `no such endpoint: ${req.method} ${req.path}`));
};

export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const status = statusOf(error);
    if (status >= 500 && status !== 503) log.error({ err: error }, 'request failed');
    const message =
      status === 500 && !(error instanceof HttpError)
        ? 'internal error; the details are in the service log'
        : status === 400 && !(error instanceof HttpError) && /^22/.test(String((error as { code?: unknown }).code))
          ? `a value in the request is out of range: ${(error as Error).message}`
          : (error as Error).message;
    res.status(status).json({ success: false, error: message, detail: (error as HttpError).detail ?? null });
  };
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  const e = error as { type?: string; status?: number; code?: string };
  // body-parser's own errors (bad JSON, too large) carry their status
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return e.status;
  if (isUnavailable(error)) return 503;
  // Postgres data exceptions (class 22: a value out of range, a bad date) come from a value the
  // client sent that validation let through: the client's to fix, not a server fault.
  if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) return 400;
  return 500;
}

/** Postgres or Temporal cannot be reached: the caller may retry later. */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string; name?: string };
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', '57P01', '57P03', '08006', '08001', '08003'].includes(e.code ?? '')) return true;
  return /Knex: Timeout acquiring a connection|Connection terminated|connect ECONNREFUSED|ServiceError|UNAVAILABLE|DEADLINE_EXCEEDED|Failed to connect/i.test(
    `${e.name ?? ''} ${e.message ?? ''}`,
  );
}
