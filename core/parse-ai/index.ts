// Turns what the analyzer CLI printed into validated suggestion drafts, in stages: the size
// check (limits.ts), the reply out of the CLI's envelope (envelope.ts), the JSON in the reply
// (json.ts), each suggestion coerced or dropped with a reason (coerce.ts), then duplicates and
// the excess dropped (suggestions.ts). No suggestion may point at a file outside the job's set.
import type { SuggestionDraft } from '../review.js';
import { unwrap } from './envelope.js';
import { fences, findInReply, isObj, MAX_DEPTH } from './json.js';
import type { SentContext } from './evidence.js';
import { AnalyzerOutputError, checkSize, excerpt, LIMITS } from './limits.js';
import { acceptSuggestions, collectSuggestions, type DroppedSuggestion } from './suggestions.js';

export { AnalyzerOutputError, MAX_ANALYZER_OUTPUT_BYTES, MAX_SUGGESTIONS } from './limits.js';
export { BUSINESS_LOG_CITATION, validateEvidence, type SentContext } from './evidence.js';

export interface ParsedAnalysis {
  suggestions: SuggestionDraft[];
  dropped: DroppedSuggestion[];
  tokens: number;
  sessionKey: string | null;
  replyText: string;
}

/**
 * Parses the analyzer's stdout: an `openclaw agent --json` envelope, an `agent exec` envelope or
 * a bare reply; inside the reply fenced, bare or embedded JSON. Throws AnalyzerOutputError when
 * nothing usable is there; otherwise returns valid drafts and the dropped ones with reasons.
 * `opts.noContentTargets`: files (e.g. truncated in the context) that may be named but not rewritten.
 * `opts.sent`: what the prompt sent; each suggestion's citations are checked against it and kept
 * as its evidence (those naming anything else dropped and counted).
 */
export function parseAnalyzerOutput(
  stdout: string,
  allowedTargets: string[],
  opts: { noContentTargets?: string[]; sent?: SentContext } = {},
): ParsedAnalysis {
  checkSize(stdout);
  const { reply, tokens, sessionKey } = unwrap(stdout);
  const found = findInReply(reply, acceptSuggestions);
  if (found.value === null) {
    throw new AnalyzerOutputError(
      found.tooDeep
        ? `the analyzer's JSON is nested deeper than ${MAX_DEPTH} levels; refusing it`
        : `no JSON with suggestions in the analyzer's reply: "${excerpt(reply)}"`,
    );
  }
  const { suggestions, dropped } = collectSuggestions(found.value, allowedTargets, opts.noContentTargets ?? [], opts.sent);
  return { suggestions, dropped, tokens, sessionKey, replyText: reply };
}

/**
 * Parses the answer to buildRewritePrompt: `{"proposed_content": "..."}` (in any envelope, fenced
 * or bare), else the body of a single non-JSON fence. Throws AnalyzerOutputError otherwise.
 */
export function parseRewriteOutput(stdout: string): string {
  checkSize(stdout);
  const { reply } = unwrap(stdout);
  const found = findInReply(reply, (v) => (isObj(v) && typeof v.proposed_content === 'string' ? v.proposed_content : null));
  let content = found.value;
  if (content === null) {
    const plain = fences(reply).filter((f) => f.lang !== 'json');
    if (plain.length === 1) content = `${plain[0]!.body}\n`;
  }
  if (content === null) {
    throw new AnalyzerOutputError(
      found.tooDeep
        ? `the rewrite answer's JSON is nested deeper than ${MAX_DEPTH} levels; refusing it`
        : `no {"proposed_content": ...} in the rewrite answer: "${excerpt(reply)}"`,
    );
  }
  if (!content.trim()) throw new AnalyzerOutputError('the rewrite answer proposes an empty file');
  if (content.includes('\0')) throw new AnalyzerOutputError('the rewrite answer holds NUL bytes; a job\'s config, script or prompt is text');
  if (content.length > LIMITS.proposed_content) {
    throw new AnalyzerOutputError(`the rewrite answer is larger than ${LIMITS.proposed_content} characters`);
  }
  return content;
}
