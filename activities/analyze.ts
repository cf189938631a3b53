// The analyze activity: the openclaw analyzer when its CLI works (or is asked for), else rules.
import { randomUUID } from 'node:crypto';
import { turnCost } from '../core/ai-bill.js';
import { parseAnalyzerOutput } from '../core/parse-ai/index.js';
import { buildAnalysisPromptWithIndex } from '../core/prompt.js';
import { contextRedactor, redactContext } from '../core/redact.js';
import { analyzeWithRules } from '../core/rules/index.js';
import type { AnalysisResult, ReviewContext, SuggestionDraft } from '../core/review.js';
import type { ToolAttempt } from '../db/reviews.js';
import type { AnalyzerSettings } from './deps.js';
import type { BudgetGate } from './budget.js';
import { openclawStatus, runAgentTurn, type OpenClawStatus, type TurnRecord } from './openclaw.js';
import { checkTurnSetup } from './openclaw-state.js';

/**
 * Bound of the whole analysis result in JSON bytes. It travels through Temporal (payloads over
 * 2 MB are refused, and the next activity carries it with the context): a hostile answer full of
 * huge suggestions is cut here, with the reason recorded, rather than failing the workflow.
 */
export const RESULT_MAX_BYTES = 1_000_000;

/** What an analysis spent (absent in results of older workers): tokens in and out, and the cost when known. */
export interface AnalysisBill {
  tokens_in: number;
  tokens_out: number;
  cost: number | null;
  cost_source: 'openclaw' | 'configured' | null;
  /** why a monthly budget changed the analyzer or skipped the analysis; null when none did */
  budget_note: string | null;
  /** true: no analyzer ran, for the budget */
  budget_skipped: boolean;
}

/** An analysis with what the AI turn left beyond the suggestions (absent in results of older workers). */
export type RecordedAnalysis = AnalysisResult & { ai_model?: string | null; ai_provider?: string | null; tool_calls?: ToolAttempt | null; bill?: AnalysisBill };

const NO_SPEND = { tokens_in: 0, tokens_out: 0, cost: 0, cost_source: null, budget_note: null, budget_skipped: false } as const;

let cachedSetup: { key: string; at: number; problem: string | null } | null = null;

/**
 * The CLI's status, unavailable too when a turn's config cannot be made safe (openclaw-state.ts):
 * a user's OpenClaw config the service cannot layer means no openclaw turn, not an unguarded one.
 */
export async function openclawReadiness(settings: AnalyzerSettings): Promise<OpenClawStatus> {
  const status = await openclawStatus(settings.openclawBin, settings.openclawNode ?? null);
  if (!status.available) return status;
  const key = JSON.stringify([settings.openclawBin, settings.openclawNode, settings.agent, settings.stateRoot]);
  if (!cachedSetup || cachedSetup.key !== key || Date.now() - cachedSetup.at >= 60_000) {
    cachedSetup = { key, at: Date.now(), problem: await checkTurnSetup(settings) };
  }
  return cachedSetup.problem === null ? status : { ...status, available: false, problem: `the service will not run it: ${cachedSetup.problem}` };
}

/** `auto` takes openclaw when it is ready, else the rules. */
export async function chooseAnalyzer(settings: AnalyzerSettings): Promise<'openclaw' | 'rules'> {
  if (settings.mode !== 'auto') return settings.mode;
  return (await openclawReadiness(settings)).available ? 'openclaw' : 'rules';
}

/** How long a short activity asks `auto` which analyzer it takes, well inside its own time-out. */
const ANALYZER_CHECK_MS = 4_000;

/**
 * The analyzer `auto` would pick, asked with a bound (the CLI's --version may take seconds when
 * not cached): undecided or failing, it counts as openclaw, the analyzer that costs tokens.
 */
export function analyzerSoon(settings: AnalyzerSettings): Promise<'openclaw' | 'rules'> {
  let timer: NodeJS.Timeout | undefined;
  const undecided = new Promise<'openclaw'>((resolve) => {
    timer = setTimeout(() => resolve('openclaw'), ANALYZER_CHECK_MS);
  });
  return Promise.race([chooseAnalyzer(settings).catch(() => 'openclaw' as const), undecided]).finally(() => clearTimeout(timer));
}

/**
 * The analysis by the chosen analyzer. Given the job's budget gate, an AI analysis first checks
 * the monthly budgets: once one is reached the rules analyzer runs instead, or none (on_exceed:
 * skip), and the result says why (bill.budget_note). The gate's notices follow every analysis.
 */
export async function runAnalysis(settings: AnalyzerSettings, context: ReviewContext, budget: BudgetGate | null = null): Promise<RecordedAnalysis> {
  let analyzer = await chooseAnalyzer(settings);
  let budgetNote: string | null = null;
  if (analyzer === 'openclaw' && budget) {
    const verdict = await budget.check();
    if (verdict?.onExceed === 'skip') {
      await budget.notify({ tokens: 0, cost: 0 });
      return { analyzer: 'rules', suggestions: [], dropped: [], ai_tokens_used: 0, ai_session_key: null, raw_response: null, bill: { ...NO_SPEND, budget_note: verdict.note, budget_skipped: true } };
    }
    if (verdict) {
      analyzer = 'rules';
      budgetNote = verdict.note;
    }
  }
  if (analyzer === 'rules') {
    // The rules run locally on the raw context; what they write (quoted config, log lines) is
    // stored and shown, so secrets the context holds are masked in it. Their new file content is
    // the user's own file and stays as it is.
    const redactor = contextRedactor(context);
    const suggestions = analyzeWithRules(context).map((s) => scrubTexts(s, (t) => redactor.redactKnown(t)));
    await budget?.notify({ tokens: 0, cost: 0 });
    return { analyzer, suggestions, dropped: [], ai_tokens_used: 0, ai_session_key: null, raw_response: null, bill: { ...NO_SPEND, budget_note: budgetNote } };
  }
  const result = await analyzeWithOpenClaw(settings, context);
  await budget?.notify({ tokens: result.ai_tokens_used, cost: result.bill?.cost ?? null });
  return result;
}

/** What a turn spent, its cost from the meta or the configured prices. */
export function turnBill(record: TurnRecord, settings: AnalyzerSettings): AnalysisBill {
  const { cost, source } = turnCost(record.cost_reported, record.usage, record.model, record.provider, settings.bill?.prices ?? {});
  return { tokens_in: record.tokens_in, tokens_out: record.tokens_out, cost, cost_source: source, budget_note: null, budget_skipped: false };
}

async function analyzeWithOpenClaw(settings: AnalyzerSettings, context: ReviewContext): Promise<RecordedAnalysis> {
  // Nothing secret leaves: the prompt is built from the redacted context. The redactor then
  // masks the answer the same way before any of it is kept.
  const { context: redacted, redactor } = redactContext(context);
  const allowed = context.files.map((f) => f.path);
  // A file the context holds only in part may be named, never rewritten whole.
  const noContentTargets = context.files.filter((f) => f.truncated).map((f) => f.path);
  const sessionId = `healing-${context.job_id}-${randomUUID()}`; // a reused id would resend old turns
  // Each suggestion's citations are checked against what this prompt sent (its evidence).
  const { prompt, sent } = buildAnalysisPromptWithIndex(redacted);
  const { answer, raw, record } = await runAgentTurn(settings, {
    sessionId,
    message: prompt,
    parse: (stdout) => parseAnalyzerOutput(stdout, allowed, { noContentTargets, sent }),
    redact: (text) => redactor.redact(text).text,
  });
  // proposed_content keeps its markers: storeSuggestions puts the file's own values back.
  const suggestions = answer.suggestions.map((s) => scrubTexts(s, (t) => redactor.redact(t).text));
  const dropped = answer.dropped.map((d) => ({ title: redactor.redact(d.title).text, reason: redactor.redact(d.reason).text }));
  return boundResult({
    analyzer: 'openclaw',
    suggestions,
    dropped,
    ai_tokens_used: record.tokens,
    ai_session_key: record.session_id,
    ai_model: record.model,
    ai_provider: record.provider,
    tool_calls: record.tool_calls,
    raw_response: raw,
    bill: turnBill(record, settings),
  });
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
    // The lines it quotes are stored and shown like its texts.
    ...(s.evidence
      ? {
          evidence: {
            ...s.evidence,
            log_lines: s.evidence.log_lines.map((r) => ({ ...r, lines: r.lines.map(scrub) })),
            config_lines: s.evidence.config_lines.map((r) => ({ ...r, lines: r.lines.map(scrub) })),
          },
        }
      : {}),
  };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

const SHORT_TEXT = 4_000;

/**
 * Keeps the result within RESULT_MAX_BYTES: suggestions are kept in order while they fit; the one
 * that does not is kept without its new file content and with its long texts cut, if that fits;
 * the rest are dropped with the reason.
 */
export function boundResult<R extends AnalysisResult>(result: R, maxBytes = RESULT_MAX_BYTES): R {
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
