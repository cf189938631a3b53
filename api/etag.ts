// Conditional GETs for the lists dashboards poll. The tag is made from what decides the answer (each
// row's id and version, the page's figures, the secrets its masks depend on), not by hashing the
// body as Express would, so an unchanged page is answered 304 before it is masked and serialised.
import { createHmac, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

// Keyed, because the secrets go into the tag and a plain hash of a short env value could be guessed
// back. One key per process: another API process gives other tags (a 200 where a 304 could have
// been, never a 304 for a changed answer).
const KEY = randomBytes(32);

/** A weak ETag for an answer decided by `parts` (anything JSON can write). */
export function answerTag(parts: unknown): string {
  return `W/"${createHmac('sha256', KEY).update(JSON.stringify(parts)).digest('base64url').slice(0, 27)}"`;
}

/**
 * Sets the ETag; when the request's If-None-Match holds it, answers 304 and says so. Compared here
 * rather than with Express's req.fresh, which answers 200 to any request with Cache-Control:
 * no-cache, and fetch() adds that to every request given an If-None-Match by hand: that directive
 * is for caches on the way, this is the origin (RFC 9110 13.1.2).
 */
export function answeredNotModified(req: Request, res: Response, tag: string): boolean {
  res.set('ETag', tag);
  if (!holdsTag(req.get('if-none-match'), tag)) return false;
  res.status(304).end();
  return true;
}

/** Weak comparison, as If-None-Match asks: W/"x" and "x" are the same tag. */
function holdsTag(ifNoneMatch: string | undefined, tag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = tag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === opaque);
}
