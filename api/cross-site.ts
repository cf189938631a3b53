// Commands a page of another site could send. A browser sends a "simple" cross-origin POST (a form,
// or fetch with mode no-cors and a text/plain or empty body) without asking the API first, and only
// hides the answer from the page: with the API open (no tokens, the default on loopback) the
// command would still run. So a command a browser marks as coming from another origin is refused,
// and a command's body must be JSON, which no simple request can send.
import type { Request, RequestHandler } from 'express';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const refuseCrossSiteCommands: RequestHandler = (req, res, next) => {
  if (READS.has(req.method)) return next();
  if (fromAnotherOrigin(req)) {
    res.status(403).json({ success: false, error: "commands from another site's page are refused: send them from the dashboard, or from a client that is not a browser page", detail: { origin: req.get('origin') ?? null } });
    return;
  }
  if (hasBody(req) && !req.is('application/json')) {
    res.status(415).json({ success: false, error: "a command's body must be JSON (Content-Type: application/json)", detail: { content_type: req.get('content-type') ?? null } });
    return;
  }
  next();
};

/**
 * Sec-Fetch-Site, which browsers set and pages cannot, says it outright (and holds through a
 * reverse proxy that rewrites Host); without it, an Origin naming another host than the request's.
 * Clients that are not browsers send neither.
 */
function fromAnotherOrigin(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.get('origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.get('host');
  } catch {
    return true; // "null" (a sandboxed frame, a file) or unreadable
  }
}

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return length !== undefined ? Number(length) > 0 : req.get('transfer-encoding') !== undefined;
}
