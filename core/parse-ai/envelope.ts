// Stage one of parsing: the reply inside what the CLI printed. `openclaw agent --json` and
// `openclaw agent exec --json` wrap it in an envelope with token usage and a session id (log
// lines may precede it); an error envelope becomes an AnalyzerOutputError; anything else is
// taken as the bare reply.
import { findJson, isObj, type Obj } from './json.js';
import { AnalyzerOutputError, excerpt } from './limits.js';

interface Unwrapped {
  reply: string;
  tokens: number;
  sessionKey: string | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() ? v : null;
}

function usageTotal(usage: unknown): number {
  if (!isObj(usage)) return 0;
  const total = num(usage.total) ?? num(usage.totalTokens) ?? num(usage.total_tokens);
  if (total !== null) return Math.round(total);
  const input = num(usage.input) ?? num(usage.inputTokens) ?? num(usage.input_tokens) ?? 0;
  const output = num(usage.output) ?? num(usage.outputTokens) ?? num(usage.output_tokens) ?? 0;
  return Math.round(input + output);
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return excerpt(error, 1000);
  if (isObj(error)) {
    const message = str(error.message) ?? str(error.kind) ?? str(error.type);
    const kind = str(error.kind) ?? str(error.type);
    if (message) return excerpt(kind && kind !== message ? `${message} (${kind})` : message, 1000);
    return excerpt(JSON.stringify(error), 1000);
  }
  return 'unknown error';
}

function payloadTexts(payloads: unknown): string[] {
  if (!Array.isArray(payloads)) return [];
  return payloads.filter(isObj).map((p) => (typeof p.text === 'string' ? p.text : '')).filter(Boolean);
}

/** `openclaw agent --json`: payloads[].text and meta.{finalAssistantVisibleText,agentMeta,error}. */
function unwrapAgent(v: Obj): Unwrapped {
  const meta = isObj(v.meta) ? v.meta : {};
  const payloads = Array.isArray(v.payloads) ? v.payloads.filter(isObj) : [];
  const failed = payloads.find((p) => p.isError === true);
  if (failed || meta.error) {
    const text = failed && typeof failed.text === 'string' ? failed.text.trim() : '';
    const detail = meta.error ? errorText(meta.error) : '';
    throw new AnalyzerOutputError(
      `the analyzer reported an error: ${[text, detail].filter(Boolean).join(' ') || 'no detail given'}`,
    );
  }
  const agentMeta = isObj(meta.agentMeta) ? meta.agentMeta : {};
  return {
    reply: str(meta.finalAssistantVisibleText) ?? payloadTexts(payloads).join('\n'),
    tokens: usageTotal(agentMeta.usage),
    sessionKey: str(agentMeta.sessionId),
  };
}

const FAILED_STATUSES = new Set(['error', 'failed', 'timeout', 'timed_out', 'cancelled', 'canceled', 'aborted']);

/** `openclaw agent exec --json`: { ok, status, final, payloads, usage, sessionId }. */
function unwrapExec(v: Obj): Unwrapped {
  const status = typeof v.status === 'string' ? v.status.toLowerCase() : '';
  if (v.ok === false || FAILED_STATUSES.has(status)) {
    throw new AnalyzerOutputError(
      `the analyzer reported an error: ${v.error ? errorText(v.error) : `status ${status || 'not ok'}`}`,
    );
  }
  const final = isObj(v.final) ? (str(v.final.text) ?? payloadTexts(v.final.payloads).join('\n')) : str(v.final);
  return {
    reply: final ?? payloadTexts(v.payloads).join('\n'),
    tokens: usageTotal(v.usage),
    sessionKey: str(v.sessionId),
  };
}

type EnvelopeKind = { kind: 'envelope'; value: Obj } | { kind: 'bare' };

function classifyEnvelope(v: unknown): EnvelopeKind | null {
  // A bare array reply holds suggestion objects; `["..."]` on a log line does not.
  if (Array.isArray(v)) return v.some((item) => isObj(item) && 'title' in item) ? { kind: 'bare' } : null;
  if (!isObj(v)) return null;
  if ('suggestions' in v || 'proposed_content' in v) return { kind: 'bare' };
  if ('payloads' in v || 'meta' in v || 'ok' in v || 'final' in v) return { kind: 'envelope', value: v };
  return null;
}

/** Finds the CLI's JSON envelope (log lines may precede it) and returns the reply inside. */
export function unwrap(stdout: string): Unwrapped {
  const text = stdout.trim();
  if (!text) throw new AnalyzerOutputError('the analyzer printed nothing');
  const found = findJson(text, classifyEnvelope);
  let result: Unwrapped;
  if (found.value?.kind === 'envelope') {
    const v = found.value.value;
    if (v.ok === false) throw new AnalyzerOutputError(`the analyzer reported an error: ${errorText(v.error)}`);
    // The exec form carries `final`/`status`; the classic agent form `payloads` and `meta`.
    result = 'final' in v || 'status' in v ? unwrapExec(v) : unwrapAgent(v);
  } else {
    result = { reply: text, tokens: 0, sessionKey: null };
  }
  if (!result.reply.trim()) throw new AnalyzerOutputError('the analyzer answered with an empty reply');
  return result;
}
