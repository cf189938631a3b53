// The dashboard at /: the built web/dist when there is one, else a short page that says how to
// build it (a person opening the printed link should learn what to do, not read a JSON 404).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import express, { type Router } from 'express';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ProcClaw Healing: dashboard not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The dashboard is not built</h1>
<p>This API is running, but its dashboard (<code>web/dist</code>) has not been built.</p>
<p>Build it from the project folder, then reload this page:</p>
<pre style="background: #f3f3f3; padding: .75rem">npm run build:web</pre>
<p><code>npm start</code> builds it by itself when it is missing or older than <code>web/</code>.
The API answers meanwhile: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>, <a href="/health">/health</a>.</p>
</body>
</html>
`;

/** Vite's names for built files: `<name>-<8-character content hash>.<ext>`. */
const HASHED_NAME = /-[A-Za-z0-9_-]{8}\.(js|css)$/;

/** The CSP hashes of index.html's inline scripts (its early request), by the file's path and mtime. */
const inlineScriptHashes = new Map<string, { mtimeMs: number; sources: string[] }>();

/**
 * Lets index.html's own inline scripts run: each one's hash joins the page's script-src (the rest
 * of the policy is as api/app.ts set it), so no other inline script can.
 */
function allowInlineScripts(res: ServerResponse, file: string): void {
  const policy = res.getHeader('Content-Security-Policy');
  if (typeof policy !== 'string') return;
  const mtimeMs = statSync(file).mtimeMs;
  let known = inlineScriptHashes.get(file);
  if (known?.mtimeMs !== mtimeMs) {
    const html = readFileSync(file, 'utf8');
    const sources = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '').digest('base64')}'`);
    known = { mtimeMs, sources };
    inlineScriptHashes.set(file, known);
  }
  if (known.sources.length === 0) return;
  res.setHeader('Content-Security-Policy', policy.replace(/(^|;)(\s*script-src\s[^;]*)/, `$1$2 ${known.sources.join(' ')}`));
}

/** Serves web/dist, looked up per request, so a dashboard built after start-up is served at once. */
export function dashboardRouter(webDist: string | null): Router {
  const router = express.Router();
  if (!webDist) return router;
  router.use(
    express.static(webDist, {
      index: 'index.html',
      maxAge: '1h',
      // index.html names the current build's hashed bundles: revalidated, so a rebuilt dashboard
      // shows at once; a bundle's name changes with its content, so a browser keeps it for good
      setHeaders: (res, file) => {
        if (path.basename(path.dirname(file)) === 'assets' && HASHED_NAME.test(path.basename(file))) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        if (path.basename(file) !== 'index.html') return;
        res.setHeader('Cache-Control', 'no-cache');
        allowInlineScripts(res, file);
      },
    }),
  );
  router.get(['/', '/index.html'], (_req, res, next) => {
    if (existsSync(path.join(webDist, 'index.html'))) return next();
    res.status(503).type('html').set('Cache-Control', 'no-store').send(NOT_BUILT_PAGE);
  });
  return router;
}
