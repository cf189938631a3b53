// Live updates, links and the suggestions list's order and search, through the API: GET /events
// streams each write to a suggestion, review or action (Postgres NOTIFY on one listener
// connection) as it commits, survives the listener's connection being cut, and ends at shutdown;
// the list's default order puts pending first, then severity, newest first, and pages by cursor
// in every order; `q` searches every suggestion; a review answers its Temporal run; the workflows
// carry their dashboard links into the Temporal UI.
import type { Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoRuns, writeDemoWorkspace } from '../cli/demo.js';
import { createApp } from '../api/app.js';
import { loadTokens } from '../api/auth.js';
import type { ApiDeps } from '../api/context.js';
import { severityRank } from '../core/policy.js';
import { suggestionWorkflowId } from '../core/temporal.js';
import { LISTENER_NAME, listenerConnection, startChangeFeed, type ChangeFeed } from '../db/change-feed.js';
import { MAX_ROWS } from '../migrations/009_change_notifications.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';
import { createSuggestion } from './helpers/suggestions.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

let stack: Stack;
const opened: Stream[] = [];

beforeAll(async () => {
  stack = await startStack();
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
  await eventually(async () => stack.changes.live || undefined, 10_000, 'the change feed to listen');
});
afterAll(async () => {
  for (const s of opened) s.close();
  await stack?.stop();
});

interface Event {
  event: string;
  data: any;
  at: number;
}

interface Stream {
  status: number;
  events: Event[];
  /** comment lines (heartbeats) seen */
  comments: number;
  ended: boolean;
  next(match: (e: Event) => boolean, timeoutMs?: number, what?: string): Promise<Event>;
  close(): void;
}

/** Opens GET /events like the dashboard does (fetch, token in the header) and collects its events. */
async function openStream(base: string, token?: string, query = ''): Promise<Stream & { body: any }> {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/v1/events${query}`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: controller.signal,
  });
  const stream: Stream & { body: any } = {
    status: response.status,
    body: null,
    events: [],
    comments: 0,
    ended: false,
    next: (match, timeoutMs = 5_000, what = 'an event') =>
      eventually(async () => stream.events.find(match), timeoutMs, what, 10),
    close: () => controller.abort(),
  };
  if (!response.ok || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    stream.body = await response.json().catch(() => null);
    stream.ended = true;
    return stream;
  }
  opened.push(stream);
  void (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          if (lines.every((l) => l.startsWith(':'))) stream.comments += 1;
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event && data) stream.events.push({ event, data: JSON.parse(data), at: Date.now() });
        }
      }
    } catch {
      // aborted by the test
    } finally {
      stream.ended = true;
    }
  })();
  await stream.next((e) => e.event === 'ready', 5_000, 'the ready event');
  return stream;
}

/** A second API on the same database, with other tokens, stream bounds or its own feed. */
async function startApi(extra: Partial<ApiDeps>): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const app = createApp({
    db: stack.db,
    temporal: async () => stack.env.client,
    temporalNamespace: stack.env.namespace ?? 'default',
    jobsSource: stack.jobsDir,
    temporalUiUrl: null,
    analyzerStatus: async () => ({ active: 'rules', openclaw: { available: false, version: null, problem: 'not used' } }),
    log: pino({ level: 'silent' }),
    webDist: null,
    tokens: [],
    changes: stack.changes,
    ...extra,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let seq = 0;
/** Rows straight into Postgres, as a review's activity writes them, under a review of their own. */
async function insertSuggestions(jobId: string, rows: { title: string; severity?: string; status?: string; description?: string; createdAt?: Date }[]): Promise<number[]> {
  seq += 1;
  const [review] = await stack.db('healing_reviews')
    .insert({ job_id: jobId, trigger: 'manual', status: 'completed', workflow_id: `healing-review/${jobId}`, workflow_run_id: `live-${seq}-${Date.now()}` })
    .returning('id');
  const inserted = (await stack.db('healing_suggestions')
    .insert(
      rows.map((r, i) => ({
        review_id: review.id,
        ordinal: i,
        job_id: jobId,
        category: 'config',
        severity: r.severity ?? 'low',
        severity_rank: severityRank((r.severity ?? 'low') as 'low'),
        title: r.title,
        description: r.description ?? '',
        fingerprint: `live-${seq}-${i}`,
        status: r.status ?? 'pending',
        ...(r.createdAt ? { created_at: r.createdAt, updated_at: r.createdAt } : {}),
      })),
    )
    .returning('id')) as { id: number }[];
  return inserted.map((r) => r.id);
}

const ids = (body: { suggestions: { id: number }[] }) => body.suggestions.map((s) => s.id);

describe('GET /events: live updates', () => {
  it('a suggestion written is streamed as a change with its table, id, job and status within a second of its commit', async () => {
    const stream = await openStream(stack.api);
    expect(stream.status).toBe(200);
    expect(stream.events[0]).toMatchObject({ event: 'ready', data: { live: true } });
    const before = Date.now();
    const [id] = await insertSuggestions('live-job', [{ title: 'streamed' }]);
    const change = await stream.next((e) => e.event === 'change' && e.data.table === 'suggestions' && e.data.id === id, 5_000, 'the insert');
    expect(change.data).toEqual({ table: 'suggestions', op: 'insert', id, job_id: 'live-job', status: 'pending' });
    expect(change.at - before).toBeLessThan(1_000);
    stream.close();
  });

  it('a decision through the API streams the suggestion\'s new status, and its action\'s, without a reload', async () => {
    const script = path.join(stack.jobsDir, 'live-apply.sh');
    await writeFile(script, `#!/bin/sh\n${'echo one\n'.repeat(5)}`, { mode: 0o755 });
    await writeFile(path.join(stack.jobsDir, 'live-apply.yaml'), 'name: Live apply\ncmd: ./live-apply.sh\nself_healing:\n  enabled: true\n');
    const id = await createSuggestion(stack, { jobId: 'live-apply', targetFile: script, proposed: `#!/bin/sh\n${'echo two\n'.repeat(5)}`, category: 'script' });
    const stream = await openStream(stack.api);
    const approved = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('applied');
    const applied = await stream.next((e) => e.event === 'change' && e.data.table === 'suggestions' && e.data.id === id && e.data.status === 'applied', 5_000, 'the applied status');
    expect(applied.data).toMatchObject({ op: 'update', job_id: 'live-apply' });
    const action = await stream.next((e) => e.event === 'change' && e.data.table === 'actions' && e.data.job_id === 'live-apply', 5_000, 'the action');
    expect(action.data).toMatchObject({ op: expect.stringMatching(/insert|update/), id: approved.body.action_id });
    stream.close();
  });

  it(`a statement writing more than ${MAX_ROWS} rows streams one change with id null and the row count, not one per row`, async () => {
    const stream = await openStream(stack.api);
    const rows = Array.from({ length: MAX_ROWS + 5 }, (_, i) => ({ title: `bulk ${i}` }));
    await insertSuggestions('live-bulk', rows);
    const bulk = await stream.next((e) => e.event === 'change' && e.data.table === 'suggestions' && e.data.id === null, 5_000, 'the bulk change');
    expect(bulk.data).toEqual({ table: 'suggestions', op: 'insert', id: null, job_id: null, status: null, rows: MAX_ROWS + 1 });
    // a marker written after: every change before it has arrived, and none was per row
    const [marker] = await insertSuggestions('live-bulk', [{ title: 'after the bulk' }]);
    await stream.next((e) => e.data?.table === 'suggestions' && e.data.id === marker, 5_000, 'the marker');
    expect(stream.events.filter((e) => e.event === 'change' && e.data.table === 'suggestions' && e.data.job_id === 'live-bulk')).toHaveLength(1);
    stream.close();
  });

  it('a write rolled back streams nothing', async () => {
    const stream = await openStream(stack.api);
    await stack.db
      .transaction(async (trx) => {
        await trx('healing_suggestions').where({ job_id: 'live-job' }).update({ title: 'never committed' });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const [marker] = await insertSuggestions('live-job', [{ title: 'marker after a rollback' }]);
    await stream.next((e) => e.data?.table === 'suggestions' && e.data.id === marker, 5_000, 'the marker');
    expect(stream.events.filter((e) => e.event === 'change' && e.data.op === 'update' && e.data.job_id === 'live-job')).toEqual([]);
    stream.close();
  });

  it('when Postgres drops the listener connection, the stream says live false, then live true once it reconnects, and changes flow again', async () => {
    const stream = await openStream(stack.api);
    const killed = await stack.db.raw('select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = ? and datname = current_database()', [LISTENER_NAME]);
    expect(killed.rows.map((r: { killed: boolean }) => r.killed)).toEqual([true]);
    await stream.next((e) => e.event === 'live' && e.data.live === false, 5_000, 'live false');
    await stream.next((e) => e.event === 'live' && e.data.live === true, 10_000, 'live true');
    const [id] = await insertSuggestions('live-job', [{ title: 'after the outage' }]);
    await stream.next((e) => e.event === 'change' && e.data.table === 'suggestions' && e.data.id === id, 5_000, 'a change after the reconnect');
    stream.close();
  });

  it('with tokens configured, a stream needs a token in the Authorization header (viewer is enough); a token in the URL is refused with 400', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'live-tokens-'));
    const file = path.join(dir, 'tokens.yaml');
    await writeFile(file, 'tokens:\n  - { name: vera, role: viewer, token: viewer-token-0123456789 }\n');
    const api = await startApi({ tokens: loadTokens({ apiToken: null, tokensFile: file }) });
    try {
      const anonymous = await openStream(api.url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual({ success: false, error: 'a valid bearer token is required: send "Authorization: Bearer <token>"', detail: null });
      const inUrl = await openStream(api.url, 'viewer-token-0123456789', '?access_token=viewer-token-0123456789');
      expect(inUrl.status).toBe(400);
      expect(inUrl.body.detail).toEqual([{ field: 'access_token', reason: 'unknown parameter; this endpoint takes none' }]);
      const viewer = await openStream(api.url, 'viewer-token-0123456789');
      expect(viewer.status).toBe(200);
      const [id] = await insertSuggestions('live-job', [{ title: 'seen by a viewer' }]);
      await viewer.next((e) => e.event === 'change' && e.data.table === 'suggestions' && e.data.id === id, 5_000, 'the change');
      viewer.close();
    } finally {
      await api.close();
    }
  });

  it('the number of open streams is bounded: one more is a 503 saying so, and a closed one frees its place; a heartbeat comment keeps each alive', async () => {
    const api = await startApi({ events: { maxClients: 2, heartbeatMs: 100 } });
    try {
      const first = await openStream(api.url);
      const second = await openStream(api.url);
      const third = await openStream(api.url);
      expect(third.status).toBe(503);
      expect(third.body.error).toBe('too many live-update streams are open (2); poll the lists instead, or retry later');
      await eventually(async () => first.comments >= 2 || undefined, 5_000, 'two heartbeats');
      first.close();
      const again = await eventually(async () => {
        const s = await openStream(api.url);
        return s.status === 200 ? s : undefined;
      }, 5_000, 'a freed place');
      expect(again.status).toBe(200);
      second.close();
      again.close();
    } finally {
      await api.close();
    }
  });

  it('an API without a change feed answers 503, so the dashboard polls', async () => {
    const api = await startApi({ changes: undefined });
    try {
      const res = await http(api.url, 'GET', '/api/v1/events');
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('live updates are not enabled in this API process; poll the lists instead');
    } finally {
      await api.close();
    }
  });

  it('at shutdown, closing the feed ends every open stream, so the server closes at once', async () => {
    const feed: ChangeFeed = startChangeFeed(listenerConnection(stack.db), { log: pino({ level: 'silent' }) });
    await eventually(async () => feed.live || undefined, 10_000, 'the feed to listen');
    const api = await startApi({ changes: feed });
    const others = feed.subscribers; // the list's kept pages listen too
    const streams = [await openStream(api.url), await openStream(api.url)];
    expect(feed.subscribers).toBe(others + 2);
    await feed.close();
    await eventually(async () => streams.every((s) => s.ended) || undefined, 2_000, 'the streams to end');
    const started = Date.now();
    await api.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    const listeners = await stack.db.raw('select count(*)::int as n from pg_stat_activity where application_name = ? and datname = current_database()', [LISTENER_NAME]);
    expect(listeners.rows[0].n).toBe(1); // the stack's own; this feed's connection is gone
  });
});

describe('the suggestions list: order, cursor, search', () => {
  const HOUR = 3_600_000;
  const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * HOUR);
  const S: Record<string, number> = {};

  beforeAll(async () => {
    const rows = [
      { title: 'old critical applied', severity: 'critical', status: 'applied', createdAt: at(50) },
      { title: 'new low pending', severity: 'low', status: 'pending', createdAt: at(1) },
      { title: 'old high pending', severity: 'high', status: 'pending', createdAt: at(40) },
      { title: 'new high pending', severity: 'high', status: 'pending', createdAt: at(2) },
      { title: 'new medium rejected', severity: 'medium', status: 'rejected', createdAt: at(3) },
      { title: 'old medium rejected', severity: 'medium', status: 'rejected', createdAt: at(30) },
      { title: 'critical pending', severity: 'critical', status: 'pending', createdAt: at(20) },
    ];
    const inserted = await insertSuggestions('order-job', rows);
    rows.forEach((r, i) => (S[r.title] = inserted[i]!));
  });

  const order = (...titles: string[]) => titles.map((t) => S[t]);

  it('by default, pending first, then the most severe, newest first within; sort=newest, oldest and severity order as they say', async () => {
    const byDefault = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=order-job');
    expect(ids(byDefault.body)).toEqual(
      order('critical pending', 'new high pending', 'old high pending', 'new low pending', 'old critical applied', 'new medium rejected', 'old medium rejected'),
    );
    const newest = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=order-job&sort=newest');
    expect(ids(newest.body)).toEqual(
      order('new low pending', 'new high pending', 'new medium rejected', 'critical pending', 'old medium rejected', 'old high pending', 'old critical applied'),
    );
    const oldest = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=order-job&sort=oldest');
    expect(ids(oldest.body)).toEqual([...ids(newest.body)].reverse());
    const severity = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=order-job&sort=severity');
    expect(ids(severity.body)).toEqual(
      order('critical pending', 'old critical applied', 'new high pending', 'old high pending', 'new medium rejected', 'old medium rejected', 'new low pending'),
    );
  });

  it('pages by cursor in every order, with and without a status filter, as offset pages them, across the pending boundary', async () => {
    for (const query of ['', '&sort=newest', '&sort=oldest', '&sort=severity', '&status=pending', '&status=rejected&sort=severity']) {
      const all = ids((await http(stack.api, 'GET', `/api/v1/healing/suggestions?job_id=order-job${query}`)).body);
      const paged: number[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await http(stack.api, 'GET', `/api/v1/healing/suggestions?job_id=order-job${query}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(page.status, query).toBe(200);
        paged.push(...ids(page.body));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(paged, query).toEqual(all);
    }
  });

  it('a cursor of another order or status is a 400 naming cursor, never a wrong page', async () => {
    const newest = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=order-job&sort=newest&limit=2');
    for (const query of ['', '&sort=oldest', '&sort=severity', '&status=pending']) {
      const res = await http(stack.api, 'GET', `/api/v1/healing/suggestions?job_id=order-job&limit=2&cursor=${encodeURIComponent(newest.body.next_cursor)}${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.detail, query).toEqual([{ field: 'cursor', reason: 'not a cursor this API gave out for this sort and status: pass next_cursor from the previous page as it is' }]);
    }
    const priority = await http(stack.api, 'GET', '/api/v1/healing/suggestions?job_id=order-job&limit=2');
    const wrong = await http(stack.api, 'GET', `/api/v1/healing/suggestions?job_id=order-job&status=pending&cursor=${encodeURIComponent(priority.body.next_cursor)}`);
    expect(wrong.status).toBe(400);
  });

  it('an unknown sort is a 400 naming sort and the orders there are', async () => {
    const res = await http(stack.api, 'GET', '/api/v1/healing/suggestions?sort=title');
    expect(res.status).toBe(400);
    expect(res.body.detail).toEqual([{ field: 'sort', reason: expect.stringMatching(/priority.+newest.+oldest.+severity/) }]);
  });

  it('q searches every suggestion (not one page) in title, description and job id, any case, and total counts the matches', async () => {
    const [inTitle, inDescription, other] = await insertSuggestions('search-job', [
      { title: 'Rotate the NEEDLE token' },
      { title: 'Something else', description: 'the needle is in the description' },
      { title: 'Unrelated' },
    ]);
    const byWord = await http(stack.api, 'GET', '/api/v1/healing/suggestions?q=needle&limit=1');
    expect(byWord.status).toBe(200);
    expect(byWord.body.total).toBe(2);
    const both = await http(stack.api, 'GET', '/api/v1/healing/suggestions?q=NeEdLe');
    expect(ids(both.body).sort()).toEqual([inTitle, inDescription].sort());
    const byJob = await http(stack.api, 'GET', '/api/v1/healing/suggestions?q=search-j');
    expect(ids(byJob.body).sort()).toEqual([inTitle, inDescription, other].sort());
    const withFilter = await http(stack.api, 'GET', '/api/v1/healing/suggestions?q=needle&status=rejected');
    expect(withFilter.body).toMatchObject({ suggestions: [], total: 0 });
  });

  it('in q, % and _ match themselves, and a search longer than 200 characters is a 400 naming q', async () => {
    const [percent, underscore] = await insertSuggestions('like-job', [{ title: 'Cut CPU to 50% at night' }, { title: 'Rename max_retries' }, { title: 'Rename maxXretries' }]);
    expect(ids((await http(stack.api, 'GET', `/api/v1/healing/suggestions?q=${encodeURIComponent('50%')}`)).body)).toEqual([percent]);
    expect(ids((await http(stack.api, 'GET', `/api/v1/healing/suggestions?q=${encodeURIComponent('max_r')}`)).body)).toEqual([underscore]);
    expect((await http(stack.api, 'GET', `/api/v1/healing/suggestions?q=${encodeURIComponent('%')}&job_id=order-job`)).body.total).toBe(0);
    const long = await http(stack.api, 'GET', `/api/v1/healing/suggestions?q=${'x'.repeat(201)}`);
    expect(long.status).toBe(400);
    expect(long.body.detail).toEqual([{ field: 'q', reason: 'a search is at most 200 characters' }]);
  });

  it('the OpenAPI document lists q, sort and GET /events', async () => {
    const doc = (await http(stack.api, 'GET', '/api/v1/openapi.json')).body;
    const params = doc.paths['/healing/suggestions'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['q', 'sort', 'cursor']));
    expect(doc.paths['/events'].get.responses['200'].description).toMatch(/text\/event-stream/);
  });
});

describe('links to the exact review, in the dashboard and in the Temporal UI', () => {
  it('a review answers its Temporal run; that run is this review, not a later one of the same job', async () => {
    const reviewsOf = async () => (await http(stack.api, 'GET', '/api/v1/healing/reviews?job_id=report-sync')).body.reviews as any[];
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const started = await http(stack.api, 'POST', '/api/v1/healing/reviews/report-sync/trigger', { force: true });
      expect([200, 202]).toContain(started.status);
      ids.push(started.body.review_id);
      await eventually(async () => (await reviewsOf()).find((r) => r.id === started.body.review_id && r.status !== 'running'), 60_000, 'the review');
    }
    const listed = await reviewsOf();
    const first = listed.find((r) => r.id === ids[0])!;
    const second = listed.find((r) => r.id === ids[1])!;
    expect(first.workflow_id).toBe(second.workflow_id);
    expect(first.workflow_run_id).not.toBe(second.workflow_run_id);
    const run = await stack.env.client.workflow.getHandle(first.workflow_id, first.workflow_run_id).result();
    expect(run.reviewId).toBe(first.id);
    const detail = await http(stack.api, 'GET', `/api/v1/healing/reviews/${first.id}`);
    expect(detail.body.workflow_run_id).toBe(first.workflow_run_id);
  });

  it('a review\'s suggestion workflows carry a summary and their dashboard link as static details; the review its own link as current details', async () => {
    const started = await http(stack.api, 'POST', '/api/v1/healing/reviews/nightly-backup/trigger', { force: true });
    const reviewId = started.body.review_id as number;
    const review = await eventually(async () => {
      const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${reviewId}`);
      return r.body.status !== 'running' ? r.body : undefined;
    }, 60_000, 'the review');
    expect(review.suggestions.length).toBeGreaterThan(0);
    for (const s of review.suggestions) {
      const description = await stack.env.client.workflow.getHandle(suggestionWorkflowId(s.id)).describe();
      expect(await description.staticSummary()).toContain('nightly-backup');
      expect(await description.staticSummary()).toContain(`${s.severity} ${s.category}`);
      expect(await description.staticDetails()).toContain(`(http://dashboard.test/#/suggestions/${s.id})`);
    }
    const metadata = await stack.env.client.workflow.getHandle(review.workflow_id, review.workflow_run_id).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain(`(http://dashboard.test/#/reviews/${reviewId})`);
  });
});
