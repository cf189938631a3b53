// Live updates: the API's GET /events (server-sent events of every change to a suggestion, review
// or action, fed by Postgres LISTEN/NOTIFY), read with fetch so the token goes in the
// Authorization header like every other request (EventSource cannot send one, and a token in a
// URL ends up in logs and history). Changes are gathered for a moment and handed, as one batch, to
// the views that asked for them: lists, counts and an open modal reload by themselves. While the
// stream is down (no stream, Postgres lost, a proxy cutting it) views get a batch of "everything"
// every FALLBACK_POLL_MS instead: the polling this replaces.
import { getCurrentInstance, onBeforeUnmount, reactive, watch } from 'vue';
import { connection } from '../api/http';

// batches: a bulk decision's progress (its counters, written after each chunk)
export const LIVE_TABLES = ['suggestions', 'reviews', 'actions', 'batches'] as const;
export type LiveTable = (typeof LIVE_TABLES)[number];

export interface LiveBatch {
  /** anything may have changed: the stream came back, many rows changed at once, or a fallback poll */
  all: boolean;
  tables: Set<LiveTable>;
  /** ids of the rows that changed, per table */
  ids: Record<LiveTable, Set<number>>;
  /** the jobs those rows belong to */
  jobs: Set<string>;
}

/** How long changes are gathered before the views reload: a burst becomes one reload. */
const GATHER_MS = 250;
/** Reload everything this often while the stream is down. */
const FALLBACK_POLL_MS = 10_000;
/** The API sends a comment every 15 s: a stream silent for longer is dead (a proxy kept the socket). */
const SILENCE_MS = 40_000;
const MAX_RETRY_MS = 30_000;

/** `live`: changes arrive as they happen; `polling`: the stream is down, views reload every 10 s. */
export const live = reactive({ state: 'connecting' as 'connecting' | 'live' | 'polling' });

type Listener = { tables: readonly LiveTable[]; fn: (batch: LiveBatch) => void };
const listeners = new Set<Listener>();
let pending: LiveBatch | null = null;
let gatherTimer: ReturnType<typeof setTimeout> | null = null;
let started = false;
let controller: AbortController | null = null;

const emptyBatch = (): LiveBatch => ({ all: false, tables: new Set(), ids: { suggestions: new Set(), reviews: new Set(), actions: new Set(), batches: new Set() }, jobs: new Set() });

function flush() {
  gatherTimer = null;
  const batch = pending;
  pending = null;
  if (!batch) return;
  for (const l of [...listeners]) if (batch.all || l.tables.some((t) => batch.tables.has(t))) l.fn(batch);
}

function gather(change: { table?: unknown; id?: unknown; job_id?: unknown } | null, all = false) {
  pending ??= emptyBatch();
  if (all || !change) pending.all = true;
  if (typeof change?.job_id === 'string') pending.jobs.add(change.job_id);
  const table = change?.table;
  if ((LIVE_TABLES as readonly unknown[]).includes(table)) {
    pending.tables.add(table as LiveTable);
    if (typeof change?.id === 'number') pending.ids[table as LiveTable].add(change.id);
    else pending.all = true; // many rows at once
  }
  gatherTimer ??= setTimeout(flush, GATHER_MS);
}

let everLive = false;

function handle(event: string, data: unknown) {
  const body = (data ?? {}) as { live?: unknown; table?: unknown; id?: unknown; job_id?: unknown };
  if (event === 'change') gather(body);
  else if (event === 'ready' || event === 'live') {
    const wasLive = live.state === 'live';
    live.state = body.live === true ? 'live' : 'polling';
    // back after a gap: what changed meanwhile was not sent
    if (live.state === 'live' && !wasLive && (event === 'live' || everLive)) gather(null, true);
    if (live.state === 'live') everLive = true;
  }
}

/** One stream until it ends; true when it opened. */
async function stream(): Promise<boolean> {
  const mine = new AbortController();
  controller = mine;
  let silence: ReturnType<typeof setTimeout> | null = null;
  const alive = () => {
    if (silence) clearTimeout(silence);
    silence = setTimeout(() => mine.abort(), SILENCE_MS);
  };
  try {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (connection.token) headers.authorization = `Bearer ${connection.token}`;
    alive();
    const response = await fetch('/api/v1/events', { headers, signal: mine.signal, cache: 'no-store' });
    if (!response.ok || !response.body) return false;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      alive();
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const parsed = parseEvent(block);
        if (parsed) handle(parsed.event, parsed.data);
      }
    }
  } catch {
    return false;
  } finally {
    if (silence) clearTimeout(silence);
    if (controller === mine) controller = null;
  }
}

/** One server-sent event block: its `event:` name (default "message") and its `data:` as JSON; null for a comment. */
export function parseEvent(block: string): { event: string; data: unknown } | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { event, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

/** Ends the pause before the next connection attempt (a token was given). */
let wake: (() => void) | null = null;

async function run() {
  let pause = 1000;
  for (;;) {
    const opened = await stream();
    if (live.state === 'live') gather(null, true); // it was cut: catch up once, then poll until it is back
    live.state = 'polling';
    pause = opened ? 1000 : Math.min(pause * 2, MAX_RETRY_MS);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pause);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = null;
  }
}

/** Starts the one stream of the page (App.vue), and the fallback poll while it is down. */
export function startLiveUpdates() {
  if (started) return;
  started = true;
  void run();
  setInterval(() => {
    if (live.state !== 'live' && document.visibilityState === 'visible') gather(null, true);
  }, FALLBACK_POLL_MS);
  // a new token: reconnect with it now, not after the next failure or pause
  watch(
    () => connection.token,
    () => {
      controller?.abort();
      wake?.();
    },
  );
}

/**
 * Calls `fn` with each batch that touches one of `tables` (or may touch anything). Inside a
 * component it stops with it; elsewhere call the function it answers.
 */
export function useLiveUpdates(tables: readonly LiveTable[], fn: (batch: LiveBatch) => void): () => void {
  const listener: Listener = { tables, fn };
  listeners.add(listener);
  const stop = () => void listeners.delete(listener);
  if (getCurrentInstance()) onBeforeUnmount(stop);
  return stop;
}

/** Whether a batch may have changed this row. */
export const touches = (batch: LiveBatch, table: LiveTable, id: number) => batch.all || batch.ids[table].has(id);
