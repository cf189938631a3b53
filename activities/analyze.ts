// The analyze activity: the openclaw analyzer when its CLI works (or is asked for), else rules.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { AnalyzerOutputError, parseAnalyzerOutput } from '../core/parse-ai.js';
import { buildAnalysisPrompt } from '../core/prompt.js';
import { analyzeWithRules } from '../core/rules.js';
import type { AnalysisResult, ReviewContext } from '../core/review.js';
import { ERROR_TYPES } from '../core/temporal.js';
import type { AnalyzerSettings } from './deps.js';
import { openclawStatus, runCli } from './openclaw.js';

const RAW_RESPONSE_LIMIT = 256 * 1024;

export async function chooseAnalyzer(settings: AnalyzerSettings): Promise<'openclaw' | 'rules'> {
  if (settings.mode !== 'auto') return settings.mode;
  return (await openclawStatus(settings.openclawBin)).available ? 'openclaw' : 'rules';
}

export async function runAnalysis(settings: AnalyzerSettings, context: ReviewContext): Promise<AnalysisResult> {
  const analyzer = await chooseAnalyzer(settings);
  if (analyzer === 'rules') {
    return { analyzer, suggestions: analyzeWithRules(context), dropped: [], ai_tokens_used: 0, ai_session_key: null, raw_response: null };
  }
  return analyzeWithOpenClaw(settings, context);
}

async function analyzeWithOpenClaw(settings: AnalyzerSettings, context: ReviewContext): Promise<AnalysisResult> {
  const sessionId = `healing-${context.job_id}-${randomUUID()}`; // a reused id would resend old turns
  const args = ['agent', '--local', '--session-id', sessionId, '--message', buildAnalysisPrompt(context), '--json', '--timeout', String(settings.timeoutSeconds)];
  if (settings.agent) args.push('--agent', settings.agent);
  if (settings.thinking && settings.thinking !== 'off') args.push('--thinking', settings.thinking);
  const activity = activityContext();
  const result = await runCli(settings.openclawBin, args, {
    timeoutMs: (settings.timeoutSeconds + 30) * 1000,
    signal: activity?.cancellationSignal,
    onTick: () => activity?.heartbeat(),
  });
  const raw = result.stdout.slice(0, RAW_RESPONSE_LIMIT);
  if (result.timedOut) {
    throw ApplicationFailure.create({ message: `openclaw did not answer within ${settings.timeoutSeconds} s`, type: ERROR_TYPES.analyzerFailed, details: [raw] });
  }
  try {
    const allowed = context.files.map((f) => f.path);
    // A file the context holds only in part may be named, never rewritten whole.
    const noContentTargets = context.files.filter((f) => f.truncated).map((f) => f.path);
    const parsed = parseAnalyzerOutput(result.stdout, allowed, { noContentTargets });
    return {
      analyzer: 'openclaw',
      suggestions: parsed.suggestions,
      dropped: parsed.dropped,
      ai_tokens_used: parsed.tokens,
      ai_session_key: parsed.sessionKey ?? sessionId,
      raw_response: raw,
    };
  } catch (error) {
    if (error instanceof AnalyzerOutputError) {
      const exit = result.code === 0 ? '' : ` (exit ${result.code})`;
      // Retrying a CLI that answered with an error envelope can help; an unparseable answer too,
      // once. The raw answer travels in the failure's details so the review keeps it.
      throw ApplicationFailure.create({ message: `${error.message}${exit}`, type: ERROR_TYPES.analyzerFailed, details: [raw] });
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
