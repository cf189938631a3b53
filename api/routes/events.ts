// GET /events: server-sent events of every change to suggestions, reviews and actions, from the
// Postgres change feed (db/change-feed.ts), so the dashboard updates without polling. Auth is the
// same as every read (a bearer token in the Authorization header): the dashboard reads the stream
// with fetch, not EventSource, so no token ever travels in a URL (and from there into logs and
// history). Events:
//   ready   { live }             once, at the start
//   change  { table, op, id, job_id, status[, rows] }   id null: many rows at once, reload all
//   live    { live }             the feed lost Postgres (false) or has it again (true: reload all)
// and a comment line every heartbeat, so proxies and the client see the stream is alive.
import { Router } from 'express';
import type { ApiDeps } from '../context.js';
import { HttpError, parseInput } from '../errors.js';
import { NoQuery } from '../schemas.js';

export const EVENT_HEARTBEAT_MS = 15_000;
export const MAX_EVENT_CLIENTS = 100;

export function eventsRouter(deps: ApiDeps): Router {
  const router = Router();
  const heartbeatMs = deps.events?.heartbeatMs ?? EVENT_HEARTBEAT_MS;
  const maxClients = deps.events?.maxClients ?? MAX_EVENT_CLIENTS;
  let open = 0;

  router.get('/events', (req, res) => {
    parseInput(NoQuery, req.query, 'query');
    const feed = deps.changes;
    if (!feed) throw new HttpError(503, 'live updates are not enabled in this API process; poll the lists instead');
    if (open >= maxClients) {
      res.set('Retry-After', '30');
      throw new HttpError(503, `too many live-update streams are open (${maxClients}); poll the lists instead, or retry later`);
    }
    open += 1;
    res.status(200);
    res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // nginx: pass each event on at once
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);

    const send = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      open -= 1;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    const unsubscribe = feed.subscribe({
      change: (change) => send('change', change),
      live: (live) => send('live', { live }),
      close: end,
    });
    // retry: what an EventSource client waits before reconnecting
    res.write(`retry: 3000\n`);
    send('ready', { live: feed.live });
    req.on('close', end);
    res.on('error', end);
  });

  return router;
}
