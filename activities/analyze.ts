// The analyze activity: the openclaw analyzer when its CLI works (or is asked for), else rules.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { AnalyzerOutputError, parseAnalyzerOutput } from '../core/parse-ai.js';
import { buildAnalysisPrompt } from '../core/prompt.js';
import { contextRedactor, redactContext } from '../core/redact.js';
import { analyzeWithRules } from '../core/rules.js';
import type { AnalysisResult, ReviewContext, SuggestionDraft } from '../core/review.js';
import { ERROR_TYPES } from '../core/temporal.js';
import type { AnalyzerSettings } from './deps.js';
import { openclawStatus, runCli } from './openclaw.js';

const RAW_RESPONSE_LIMIT = 256 * 1024;
/**
 * Bound of the whole analysis result in JSON bytes. It travels through Temporal (payloads over
 * 2 MB are refused, and the next activity carries it with the context): a hostile answer full of
 * huge suggestions is cut here, with the reason recorded, rather than failing the workflow.
 */
export const RESULT_MAX_BYTES = 1_000_000;

export async function chooseAnalyzer(settings: AnalyzerSettings): Promise<'openclaw' | 'rules'> {
  if (settings.mode !== 'auto') return settings.mode;
  return (await openclawStatus(settings.openclawBin)).available ? 'openclaw' : 'rules';
}

export async function runAnalysis(settings: AnalyzerSettings, context: ReviewContext): Promise<AnalysisResult> {
  const analyzer = await chooseAnalyzer(settings);
  if (analyzer === 'rules') {
    // The rules run locally on the raw context; what they write (quoted config, log lines) is
    // stored and shown, so secrets the context holds are masked in it. Their new file content is
    // the user's own file and stays as it is.
    const redactor = contextRedactor(context);
    const suggestions = analyzeWithRules(context).map((s) => scrubTexts(s, (t) => redactor.redactKnown(t)));
    return { analyzer, suggestions, dropped: [], ai_tokens_used: 0, ai_session_key: null, raw_response: null };
  }
  return analyzeWithOpenClaw(settings, context);
}

async function analyzeWithOpenClaw(settings: AnalyzerSettings, context: ReviewContext): Promise<AnalysisResult> {
  const sessionId = `healing-${context.job_id}-${randomUUID()}`; // a reused id would resend old turns
  // Nothing secret leaves: the prompt is built from the redacted context. The redactor then
  // masks the answer the same way before any of it is kept.
  const { context: redacted, redactor } = redactContext(context);
  const args = ['agent', '--local', '--session-id', sessionId, '--message', buildAnalysisPrompt(redacted), '--json', '--timeout', String(settings.timeoutSeconds)];
  if (settings.agent) args.push('--agent', settings.agent);
  if (settings.thinking && settings.thinking !== 'off') args.push('--thinking', settings.thinking);
  const activity = activityContext();
  const result = await runCli(settings.openclawBin, args, {
    timeoutMs: (settings.timeoutSeconds + 30) * 1000,
    signal: activity?.cancellationSignal,
    onTick: () => activity?.heartbeat(),
  });
  const raw = cutBytes(redactor.redact(result.stdout.slice(0, RAW_RESPONSE_LIMIT)).text, RAW_RESPONSE_LIMIT);
  if (result.timedOut) {
    throw ApplicationFailure.create({ message: `openclaw did not answer within ${settings.timeoutSeconds} s`, type: ERROR_TYPES.analyzerFailed, details: [raw] });
  }
  try {
    const allowed = context.files.map((f) => f.path);
    // A file the context holds only in part may be named, never rewritten whole.
    const noContentTargets = context.files.filter((f) => f.truncated).map((f) => f.path);
    const parsed = parseAnalyzerOutput(result.stdout, allowed, { noContentTargets });
    // proposed_content keeps its markers: storeSuggestions puts the file's own values back.
    const suggestions = parsed.suggestions.map((s) => scrubTexts(s, (t) => redactor.redact(t).text));
    const dropped = parsed.dropped.map((d) => ({ title: redactor.redact(d.title).text, reason: redactor.redact(d.reason).text }));
    return boundResult({
      analyzer: 'openclaw',
      suggestions,
      dropped,
      ai_tokens_used: parsed.tokens,
      ai_session_key: parsed.sessionKey ?? sessionId,
      raw_response: raw,
    });
  } catch (error) {
    if (error instanceof AnalyzerOutputError) {
      const exit = result.code === 0 ? '' : ` (exit ${result.code})`;
      // Not retried: another turn costs as many tokens and mostly answers the same; the review
      // fails with the reason, and the raw answer travels in the failure's details so it is kept.
      throw ApplicationFailure.create({ message: `${redactor.redact(error.message).text}${exit}`, type: ERROR_TYPES.analyzerFailed, details: [raw] });
    }
    throw error;
  }
}

function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null; // called outside an activity (a test or the CLI)
  }
}

/** The suggestion with its prose fields passed through `scrub`; proposed_content untouched. */
function scrubTexts(s: SuggestionDraft, scrub: (text: string) => string): SuggestionDraft {
  const opt = (t: string | null) => (t === null ? null : scrub(t));
  return {
    ...s,
    title: scrub(s.title).slice(0, 200),
    description: scrub(s.description).slice(0, 20_000),
    current_state: opt(s.current_state)?.slice(0, 200_000) ?? null,
    suggested_change: opt(s.suggested_change)?.slice(0, 200_000) ?? null,
    expected_impact: opt(s.expected_impact)?.slice(0, 5_000) ?? null,
  };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** The longest prefix of `text` within `max` UTF-8 bytes. */
function cutBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const buf = Buffer.from(text, 'utf8').subarray(0, max);
  return buf.toString('utf8').replace(/\uFFFD$/, '');
}

const SHORT_TEXT = 4_000;

/**
 * Keeps the result within RESULT_MAX_BYTES: suggestions are kept in order while they fit; the one
 * that does not is kept without its new file content and with its long texts cut, if that fits;
 * the rest are dropped with the reason.
 */
export function boundResult(result: AnalysisResult, maxBytes = RESULT_MAX_BYTES): AnalysisResult {
  if (jsonBytes(result) <= maxBytes) return result;
  const base = jsonBytes({ ...result, suggestions: [] }) + 4_096; // room for the reasons added below
  const kept: SuggestionDraft[] = [];
  const dropped = [...result.dropped];
  let used = base;
  for (const [i, s] of result.suggestions.entries()) {
    const size = jsonBytes(s);
    if (used + size <= maxBytes) {
      kept.push(s);
      used += size;
      continue;
    }
    const cut = (t: string | null) => (t !== null && t.length > SHORT_TEXT ? `${t.slice(0, SHORT_TEXT - 1)}…` : t);
    const slim: SuggestionDraft = {
      ...s,
      description: cut(s.description) ?? '',
      current_state: cut(s.current_state),
      suggested_change: cut(s.suggested_change),
      expected_impact: cut(s.expected_impact),
      proposed_content: null,
    };
    const slimSize = jsonBytes(slim);
    if (used + slimSize <= maxBytes) {
      kept.push(slim);
      used += slimSize;
      dropped.push({ title: s.title.slice(0, 200), reason: 'the answer was too large: this suggestion was kept without its new file content and with its texts cut' });
      continue;
    }
    dropped.push({ title: `(${result.suggestions.length - i} more)`, reason: `the answer was too large: suggestions past ${Math.round(maxBytes / 1000)} KB were dropped` });
    break;
  }
  return { ...result, suggestions: kept, dropped };
}
