// AI-assisted apply: a suggestion that describes a change but carries no new file content asks
// the openclaw analyzer for the complete new file, which then goes through the same apply saga.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { parseRewriteOutput } from '../core/parse-ai/index.js';
import { buildRewritePrompt } from '../core/prompt.js';
import { redactForRewrite, redactText } from '../core/redact.js';
import type { JobFile } from '../core/review.js';
import { ERROR_TYPES } from '../core/temporal.js';
import { chooseAnalyzer } from './analyze.js';
import type { AnalyzerSettings } from './deps.js';
import { runAgentTurn } from './openclaw.js';

export async function rewriteFileWithAi(settings: AnalyzerSettings, file: JobFile, suggestedChange: string): Promise<{ content: string; sessionKey: string }> {
  if ((await chooseAnalyzer(settings)) !== 'openclaw') {
    throw ApplicationFailure.create({
      message: 'this suggestion describes a change without the new file content, and writing it needs the openclaw analyzer, which is not available here; apply it by hand',
      type: ERROR_TYPES.guardRefusal,
      nonRetryable: true,
    });
  }
  const sessionKey = `healing-rewrite-${randomUUID()}`;
  // Nothing secret leaves: the file goes out with markers, and its own values are put back after.
  const shown = redactForRewrite(file, suggestedChange);
  const { answer } = await runAgentTurn(settings, {
    sessionId: sessionKey,
    message: buildRewritePrompt(shown.file, shown.change),
    parse: parseRewriteOutput,
    // The model saw only markers; what else looks like a secret in its answer is masked too.
    redact: (text) => redactText(text).text,
  });
  const restored = shown.restore(answer);
  if ('reason' in restored) {
    throw ApplicationFailure.create({ message: `openclaw's new file cannot be used: ${restored.reason}`, type: ERROR_TYPES.guardRefusal, nonRetryable: true });
  }
  return { content: restored.content, sessionKey };
}
