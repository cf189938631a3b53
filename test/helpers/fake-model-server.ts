// A loopback OpenAI-compatible model server for running the real `openclaw` CLI offline.
// It serves `GET /v1/models` and `POST /v1/chat/completions` (SSE when the request streams, one JSON
// document when it does not), answers each chat request with the next answer a test queued (the last
// one repeats), and records every request it received, so a test can read the prompt the model saw.
// Several turns can share one server: a request whose user messages hold a marker a test registered
// (a job id, say) gets that marker's own queue of answers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Token counts the server reports in the final usage chunk. */
export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export type ModelAnswer = (
  /** A normal reply, with the usage it reports. */
  | { kind: 'text'; text: string; usage?: FakeUsage }
  /** An HTTP error with an OpenAI-style error body (429 with Retry-After, 500, ...). */
  | { kind: 'status'; status: number; message?: string; retryAfterS?: number }
  /** Accepts the request and never answers (until the client or the server closes). */
  | { kind: 'hang' }
  /** Starts a 200 SSE stream, sends part of a reply, then drops the connection without [DONE]. */
  | { kind: 'broken-stream'; text?: string }
  /** A tool call, e.g. `{ name: 'exec', args: { command: 'touch /tmp/x' } }`. */
  | { kind: 'tool-call'; name: string; args: Record<string, unknown>; usage?: FakeUsage }
) & {
  /**
   * Held until a chat request whose user messages hold this text has arrived (before or after):
   * two turns that wait for each other are answered only when both are in flight at once.
   */
  waitFor?: string;
};

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The parsed JSON body (null for a body-less request). */
  body: any;
}

export interface FakeModelServer {
  /** The OpenAI base URL, `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  /** The model id `/v1/models` lists. */
  model: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** The `POST /v1/chat/completions` requests only; given a marker, those whose user messages hold it. */
  chatRequests(marker?: string): RecordedRequest[];
  /** Queues the answers to the next chat requests; the last one answers every request after it. */
  respondWith(...answers: ModelAnswer[]): void;
  /** The same, for the chat requests whose user messages hold `marker` only. */
  respondTo(marker: string, ...answers: ModelAnswer[]): void;
  close(): Promise<void>;
}

const DEFAULT_USAGE: FakeUsage = { prompt_tokens: 1000, completion_tokens: 50 };

/** The text of a chat request's user messages (string contents, and the text parts of part lists). */
export function userText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const text = (content: unknown): string =>
    typeof content === 'string' ? content : Array.isArray(content) ? content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('\n') : '';
  return messages.filter((m) => m?.role === 'user').map((m) => text(m.content)).join('\n');
}

interface AnswerQueue {
  answers: ModelAnswer[];
  served: number;
}

export async function startFakeModelServer({ model = 'fake-model' }: { model?: string } = {}): Promise<FakeModelServer> {
  const requests: RecordedRequest[] = [];
  let queue: AnswerQueue = { answers: [{ kind: 'text', text: 'OK' }], served: 0 };
  const byMarker = new Map<string, AnswerQueue>();
  /** Answers held until a request holding their `waitFor` text arrives. */
  let held: { waitFor: string; release: () => void }[] = [];

  const isChat = (r: RecordedRequest) => r.method === 'POST' && r.path === '/v1/chat/completions';
  const chatRequests = (marker?: string) => requests.filter((r) => isChat(r) && (marker === undefined || userText(r.body).includes(marker)));
  const nextAnswer = (body: unknown): ModelAnswer => {
    const text = userText(body);
    const q = [...byMarker].find(([marker]) => text.includes(marker))?.[1] ?? queue;
    return q.answers[Math.min(q.served++, q.answers.length - 1)] as ModelAnswer;
  };
  const queueOf = (answers: ModelAnswer[]): AnswerQueue => {
    if (answers.length === 0) throw new Error('respondWith and respondTo need at least one answer');
    return { answers, served: 0 };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, body });

      if (req.method === 'GET' && url.pathname === '/v1/models') {
        sendJson(res, 200, { object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'fake' }] });
      } else if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
        const text = userText(body);
        const released = held.filter((h) => text.includes(h.waitFor));
        held = held.filter((h) => !released.includes(h));
        for (const h of released) h.release();
        const next = nextAnswer(body);
        const send = () => answer(res, next, body?.model ?? model, body?.stream === true);
        if (next.waitFor === undefined || chatRequests(next.waitFor).length > 0) {
          send();
        } else {
          const entry = { waitFor: next.waitFor, release: () => (res.destroyed ? undefined : send()) };
          held.push(entry);
          res.on('close', () => (held = held.filter((h) => h !== entry)));
        }
      } else {
        sendJson(res, 404, { error: { message: `no route ${req.method} ${url.pathname}`, type: 'invalid_request_error' } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    model,
    requests,
    chatRequests,
    respondWith: (...answers) => {
      queue = queueOf(answers);
    },
    respondTo: (marker, ...answers) => {
      byMarker.set(marker, queueOf(answers));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // hanging answers hold their sockets open
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function answer(res: http.ServerResponse, a: ModelAnswer, model: string, stream: boolean): void {
  const id = `chatcmpl-fake-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  switch (a.kind) {
    case 'hang':
      return; // the socket stays open until the client gives up or close() drops it
    case 'status': {
      const headers: Record<string, string> = a.retryAfterS === undefined ? {} : { 'retry-after': String(a.retryAfterS) };
      const type = a.status === 429 ? 'rate_limit_exceeded' : 'server_error';
      sendJson(res, a.status, { error: { message: a.message ?? `fake ${a.status}`, type, code: type } }, headers);
      return;
    }
    case 'broken-stream': {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(sse({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: { role: 'assistant', content: a.text ?? 'partial ans' }, finish_reason: null }] }));
      res.write('data: {"id":"'); // half an event, then the connection drops
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    case 'text':
    case 'tool-call': {
      const usage = a.usage ?? DEFAULT_USAGE;
      const usageBody = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
      const toolCall = a.kind === 'tool-call'
        ? { id: 'call_fake_1', type: 'function', function: { name: a.name, arguments: JSON.stringify(a.args) } }
        : undefined;
      const finish = a.kind === 'tool-call' ? 'tool_calls' : 'stop';
      const message = a.kind === 'text' ? { role: 'assistant', content: a.text } : { role: 'assistant', content: null, tool_calls: [toolCall] };
      if (!stream) {
        sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finish }], usage: usageBody });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta: unknown, finishReason: string | null) =>
        sse({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] });
      res.write(chunk({ role: 'assistant', content: '' }, null));
      if (a.kind === 'text') res.write(chunk({ content: a.text }, null));
      else res.write(chunk({ tool_calls: [{ index: 0, ...toolCall }] }, null));
      res.write(chunk({}, finish));
      res.write(sse({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageBody }));
      res.end('data: [DONE]\n\n');
      return;
    }
  }
}

const sse = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
