// The one fetch wrapper every API module goes through: base URL, query strings, JSON bodies,
// time-outs, the bearer token, and the API's error body `{ success: false, error, detail }`.
import { reactive } from 'vue';
import type { FieldError } from './types';

const TOKEN_KEY = 'healing-api-token';
const DEFAULT_TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** the HTTP status; 0 when the API could not be reached or did not answer in time */
    readonly status: number,
    message: string,
    readonly detail: unknown = null,
  ) {
    super(message);
  }

  /** the API (or what it depends on) is down, so retrying later may work */
  get unavailable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }

  /** the same request may work a moment later: the API or what is in front of it failed, not the request */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500;
  }

  /** the (field, reason) pairs of a 400 answer */
  get fieldErrors(): FieldError[] {
    if (!Array.isArray(this.detail)) return [];
    return this.detail.filter(
      (d): d is FieldError => typeof d === 'object' && d !== null && typeof (d as FieldError).field === 'string' && typeof (d as FieldError).reason === 'string',
    );
  }
}

/** Shared state the banner and the token prompt show. */
export const connection = reactive({
  /** the last request failed to reach the API at all */
  down: false,
  downMessage: '',
  /** the API answered 401: a token is needed (or the one given was refused) */
  tokenNeeded: false,
  token: readToken(),
});

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  connection.token = token && token.trim() ? token.trim() : null;
  connection.tokenNeeded = false;
  try {
    if (connection.token) sessionStorage.setItem(TOKEN_KEY, connection.token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: keep it in memory only
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  timeoutMs?: number;
  /** `/api/v1` unless given; `''` for root paths like `/health` */
  base?: string;
  /** statuses whose JSON body is an answer, not an error (e.g. 503 from /health) */
  accept?: number[];
  signal?: AbortSignal;
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** What request() reads of an answer: a fetch Response, or index.html's early answer (its body already read). */
type Answer = Pick<Response, 'ok' | 'status' | 'statusText' | 'headers' | 'text'>;

/** The request index.html sent before the bundle loaded (the first page of suggestions). */
interface EarlyRequest {
  url: string;
  token: string | null;
  response: Promise<Answer>;
}

const earlyHolder = window as { __healingEarly?: EarlyRequest };

/** index.html's early answer, once, to the first request that is the very same GET (same token). */
function takeEarlyAnswer(method: string, url: string): Promise<Answer> | null {
  const early = earlyHolder.__healingEarly;
  if (!early || method !== 'GET' || early.url !== url || early.token !== connection.token) return null;
  delete earlyHolder.__healingEarly;
  return early.response;
}

/** After the first render (which sent the first requests): an early answer not taken by then would be stale later. */
export function dropEarlyAnswer(): void {
  delete earlyHolder.__healingEarly;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const url = `${options.base ?? '/api/v1'}${path}${queryString(options.query)}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;

  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let response: Answer;
  try {
    response = await (takeEarlyAnswer(method, url) ??
      fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: controller.signal,
      }));
  } catch (error) {
    if (options.signal?.aborted) throw error; // the caller cancelled: not an outage
    const timedOut = (error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError' || controller.signal.aborted;
    const message = timedOut
      ? `the API did not answer within ${Math.round(timeoutMs / 1000)} s`
      : 'the API cannot be reached; is the healing service running?';
    connection.down = true;
    connection.downMessage = message;
    throw new ApiError(0, message);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }

  const body = await readBody(response);
  const page = typeof body === 'string' && looksLikeHtml(body, response.headers.get('content-type'));
  if (response.status === 502 || response.status === 504) {
    connection.down = true;
    connection.downMessage = `the API answered ${response.status}: a proxy in front of it cannot reach it`;
  } else {
    connection.down = false;
  }
  if (response.ok || options.accept?.includes(response.status)) return body as T;

  if (response.status === 401) connection.tokenNeeded = true;
  const error = body as { error?: unknown; detail?: unknown } | string | null;
  const message =
    typeof error === 'object' && error && typeof error.error === 'string'
      ? error.error
      : page
        ? // a proxy's or server's HTML error page: its markup says nothing a person can act on
          `the service answered with an error (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}); retry, and if it persists, check the service and any proxy in front of it`
        : typeof error === 'string' && error.trim()
          ? error.trim().slice(0, 300)
          : `${response.status} ${response.statusText}`.trim();
  throw new ApiError(response.status, message, typeof error === 'object' && error ? (error.detail ?? null) : null);
}

/** An HTML page (a proxy's 500 or 502 page, say) rather than the API's JSON or a plain text. */
function looksLikeHtml(text: string, contentType: string | null): boolean {
  return /html/i.test(contentType ?? '') || /^\s*<(!doctype|html|head|body)\b/i.test(text);
}

async function readBody(response: Answer): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const http = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, { ...options, body: body ?? {} }),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PUT', path, { ...options, body }),
};

/** Null for a 404 (an endpoint this API version does not have), else the answer or the error. */
export async function optional<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** A message for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
