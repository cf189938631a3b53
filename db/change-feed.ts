// The changes Postgres announces (migrations/009_change_notifications.ts), read on one dedicated
// connection that LISTENs, and handed to whoever subscribed (the API's event streams). The
// connection is not from knex's pool: a pooled one would be handed back and lose its LISTEN. When
// Postgres goes away the feed says so, reconnects with a growing pause, and says so again: the
// notifications sent meanwhile are lost, so a subscriber reloads what it shows at that moment.
import type { Logger } from 'pino';
import pg from 'pg';
import { z } from 'zod';
import { CHANNEL } from '../migrations/009_change_notifications.js';
import type { Db } from './knex.js';

// batches: migrations/017_bulk_decisions.ts, a bulk decision's progress
export const CHANGE_TABLES = ['suggestions', 'reviews', 'actions', 'batches'] as const;

/** One row written; `id` null: more rows than a payload lists changed at once (`rows` of them). */
export const ChangeSchema = z.object({
  table: z.enum(CHANGE_TABLES),
  op: z.enum(['insert', 'update', 'delete']),
  id: z.number().int().nullable(),
  job_id: z.string().nullable(),
  status: z.string().nullable(),
  rows: z.number().int().optional(),
});
export type Change = z.infer<typeof ChangeSchema>;

export interface ChangeSubscriber {
  change(change: Change): void;
  /** the feed lost Postgres (false) or has it again (true: reload, changes meanwhile were not seen) */
  live(live: boolean): void;
  /** the feed is closing: end what depends on it */
  close(): void;
}

export interface ChangeFeed {
  /** whether the LISTEN connection is up now */
  readonly live: boolean;
  readonly subscribers: number;
  subscribe(subscriber: ChangeSubscriber): () => void;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  log: Logger;
  /** first pause before reconnecting, doubled up to maxRetryMs */
  retryMs?: number;
  maxRetryMs?: number;
}

/** The pool's connection settings, under a name of its own (so an operator sees it in pg_stat_activity). */
export function listenerConnection(db: Db): pg.ClientConfig {
  const connection = (db.client as { config: { connection?: unknown } }).config.connection;
  const base: pg.ClientConfig = typeof connection === 'string' ? { connectionString: connection } : { ...(connection as pg.ClientConfig) };
  return { ...base, application_name: LISTENER_NAME };
}

export const LISTENER_NAME = 'procclaw-healing-listener';

export function startChangeFeed(connection: pg.ClientConfig, opts: ChangeFeedOptions): ChangeFeed {
  const { log } = opts;
  const retryMs = opts.retryMs ?? 500;
  const maxRetryMs = opts.maxRetryMs ?? 10_000;
  const subscribers = new Set<ChangeSubscriber>();
  let client: pg.Client | null = null;
  let live = false;
  let closed = false;
  let pause = retryMs;
  let timer: NodeJS.Timeout | null = null;

  const each = (fn: (s: ChangeSubscriber) => void) => {
    for (const s of [...subscribers]) {
      try {
        fn(s);
      } catch (error) {
        log.warn({ err: error }, 'a live-update subscriber failed');
      }
    }
  };
  const setLive = (value: boolean) => {
    if (live === value) return;
    live = value;
    each((s) => s.live(value));
  };

  const lost = (current: pg.Client, error: unknown) => {
    if (client !== current) return; // an older connection's late event
    client = null;
    current.removeAllListeners('notification');
    current.on('error', () => undefined); // nothing may throw from it any more
    void current.end().catch(() => undefined);
    if (closed) return;
    if (live) log.warn({ err: error }, `live updates lost their Postgres connection; reconnecting`);
    setLive(false);
    timer = setTimeout(connect, pause);
    timer.unref();
    pause = Math.min(pause * 2, maxRetryMs);
  };

  const connect = async () => {
    timer = null;
    if (closed) return;
    const next = new pg.Client(connection);
    client = next;
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, new Error('connection ended')));
    next.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const parsed = ChangeSchema.safeParse(safeJson(message.payload));
      if (!parsed.success) return log.warn({ payload: message.payload.slice(0, 200) }, 'unreadable change notification ignored');
      each((s) => s.change(parsed.data));
    });
    try {
      await next.connect();
      await next.query(`listen ${CHANNEL}`);
    } catch (error) {
      lost(next, error);
      return;
    }
    if (client !== next || closed) return;
    pause = retryMs;
    log.info('live updates: listening to Postgres');
    setLive(true);
  };
  void connect();

  return {
    get live() {
      return live;
    },
    get subscribers() {
      return subscribers.size;
    },
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      each((s) => s.close());
      subscribers.clear();
      const current = client;
      client = null;
      live = false;
      if (current) {
        current.on('error', () => undefined);
        await current.end().catch(() => undefined);
      }
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
