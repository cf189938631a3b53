// Bearer-token auth with roles. Tokens are compared by their SHA-256 digests in constant time,
// against every configured token, so timing tells nothing. No header, referer or origin is trusted.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { parse } from 'yaml';
import { z } from 'zod';
import { HttpError } from './errors.js';

export const ROLES = ['viewer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  name: string;
  role: Role;
  digest: Buffer;
}

const TokensFile = z.object({
  tokens: z
    .array(z.strictObject({ name: z.string().regex(/^[\w.@-]{1,64}$/), token: z.string().min(16), role: z.enum(ROLES) }))
    .min(1),
});

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** The configured tokens: HEALING_API_TOKEN (an admin named "admin") and a tokens file of named ones. */
export function loadTokens(opts: { apiToken: string | null; tokensFile: string | null }): ApiToken[] {
  const tokens: ApiToken[] = [];
  if (opts.apiToken) tokens.push({ name: 'admin', role: 'admin', digest: digest(opts.apiToken) });
  if (opts.tokensFile) {
    const parsed = TokensFile.safeParse(parse(readFileSync(opts.tokensFile, 'utf8')));
    if (!parsed.success) {
      throw new Error(`HEALING_TOKENS_FILE ${opts.tokensFile}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    for (const t of parsed.data.tokens) tokens.push({ name: t.name, role: t.role, digest: digest(t.token) });
  }
  return tokens;
}

/** Lifting a silence undoes part of a rejection: a decision, as the reject that made it. */
const APPROVER_DELETES = /^\/jobs\/[^/]+\/silences\/[^/]+\/?$/;

/** "Apply now" overrides the job's apply window: an admin's call, though a POST. */
const ADMIN_POSTS = /^\/healing\/suggestions\/[^/]+\/apply-now\/?$/;

/** What a request may do: reading is `viewer`, deciding and reporting `approver`, editing config `admin`. */
function roleNeeded(method: string, path: string): Role {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'viewer';
  if (method === 'DELETE' && APPROVER_DELETES.test(path)) return 'approver';
  if (method === 'POST' && ADMIN_POSTS.test(path)) return 'admin';
  if (method === 'PUT' || method === 'PATCH' || method === 'DELETE') return 'admin';
  return 'approver';
}

/** The token an Authorization header carries, compared in constant time with every one; or null. */
export function tokenOf(tokens: ApiToken[], authorization: string | undefined): ApiToken | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return null;
  const presented = digest(match[1]!);
  let found: ApiToken | null = null;
  for (const token of tokens) if (timingSafeEqual(presented, token.digest) && !found) found = token;
  return found;
}

export function authenticate(tokens: ApiToken[]): RequestHandler {
  return (req, res, next) => {
    if (tokens.length === 0) {
      // Open mode (loopback only): one anonymous person who may do everything.
      res.locals.actor = 'human';
      res.locals.identified = false;
      res.locals.role = 'admin' satisfies Role;
      return next();
    }
    const found = tokenOf(tokens, req.get('authorization'));
    if (!found) {
      res.set('WWW-Authenticate', 'Bearer realm="procclaw-healing"');
      return next(new HttpError(401, 'a valid bearer token is required: send "Authorization: Bearer <token>"'));
    }
    const needed = roleNeeded(req.method, req.path);
    if (ROLES.indexOf(found.role) < ROLES.indexOf(needed)) {
      return next(new HttpError(403, `token "${found.name}" has role ${found.role}; this needs ${needed}`));
    }
    res.locals.actor = found.name;
    res.locals.identified = true;
    res.locals.role = found.role;
    next();
  };
}
