// Rules for jobs that run an AI agent: a prompt longer than it needs to be, high token usage,
// and an agent that repeats itself.
import { countBand, magnitudeBand } from '../fingerprint.js';
import type { SuggestionDraft } from '../review.js';
import { draft, proposal } from './draft.js';
import { cite, quote } from './evidence.js';
import type { Facts } from './facts.js';
import { normaliseLogLine } from './runs.js';

// ---------------------------------------------------------------------------------------------
// an oversized prompt

const PROMPT_MAX_CHARS = 8_000;

function dedupeLines(content: string): { text: string; removed: number; nonBlank: number } {
  const seen = new Set<string>();
  const kept: string[] = [];
  let removed = 0;
  let nonBlank = 0;
  for (const line of content.split('\n')) {
    const key = line.trim();
    if (key) nonBlank++;
    // Short lines (separators, fences, list markers) repeat legitimately.
    if (key.length >= 12 && seen.has(key)) {
      removed++;
      continue;
    }
    if (key.length >= 12) seen.add(key);
    // Do not leave runs of blank lines where duplicates were.
    if (!key && kept.length >= 2 && !kept[kept.length - 1]!.trim() && !kept[kept.length - 2]!.trim()) continue;
    kept.push(line);
  }
  return { text: kept.join('\n'), removed, nonBlank };
}

export function rulePromptSize(f: Facts): SuggestionDraft | null {
  const file = f.prompt;
  if (!file) return null;
  const size = file.content.length;
  const { text, removed, nonBlank } = dedupeLines(file.content);
  const heavy = removed >= 5 && removed >= 0.2 * nonBlank;
  if (!heavy && size <= PROMPT_MAX_CHARS) return null;
  const edit = heavy ? proposal(file, text) : null;
  const saved = size - text.length;
  const tokens = Math.round(size / 4);
  return draft({
    category: 'cost',
    severity: heavy || size > 2 * PROMPT_MAX_CHARS ? 'medium' : 'low',
    title: 'Prompt is longer than it needs to be',
    evidence: cite(f, {}),
    description:
      `${file.path} is ${size} characters (about ${tokens} tokens), sent with every run` +
      `${heavy ? `; ${removed} of its ${nonBlank} non-blank lines repeat an earlier line word for word` : ''}.`,
    current_state: `${size} characters, ${removed} duplicate lines`,
    suggested_change: edit
      ? `Remove the ${removed} duplicate lines (${saved} characters, about ${Math.round(saved / 4)} tokens per run).`
      : heavy
        ? `Remove the ${removed} duplicate lines by hand (the result is under half the size, too large a cut to apply automatically), then shorten the rest.`
        : 'Shorten the prompt: move reference material to files the agent reads only when it needs them, and drop instructions the model follows anyway.',
    expected_impact: `Fewer input tokens on every run${saved > 0 ? ` (about ${Math.round(saved / 4)} fewer)` : ''}, lower cost and latency.`,
    affected_files: [file.path],
    figures: { size: magnitudeBand(size), duplicate_lines: countBand(removed) },
    ...(edit ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// AI cost for openclaw jobs, an agent repeating itself

const TOKENS_PER_RUN_HIGH = 50_000;
const MESSAGES_PER_RUN_HIGH = 40;

export function ruleAiUsage(f: Facts): SuggestionDraft | null {
  const sessions = f.ctx.ai_sessions.filter((s) => s.messages.length > 0);
  if (sessions.length === 0) return null;
  const sizes = sessions.map((s) => ({
    id: s.run_id,
    messages: s.messages.length,
    tokens: Math.round(s.messages.reduce((n, m) => n + (m.content?.length ?? 0), 0) / 4),
  }));
  const avg = Math.round(sizes.reduce((n, s) => n + s.tokens, 0) / sizes.length);
  const heavy = sizes.filter((s) => s.tokens > TOKENS_PER_RUN_HIGH || s.messages >= MESSAGES_PER_RUN_HIGH).sort((a, b) => b.tokens - a.tokens);
  if (avg <= TOKENS_PER_RUN_HIGH && heavy.length * 2 < sizes.length) return null;
  return draft({
    category: 'cost',
    severity: avg > 3 * TOKENS_PER_RUN_HIGH ? 'high' : 'medium',
    title: 'High AI token usage',
    evidence: cite(f, { runs: heavy.length ? heavy : sizes }),
    description:
      `The agent's sessions average about ${avg} tokens of messages per run over ${sizes.length} runs; ` +
      `largest: ${heavy.slice(0, 5).map((s) => `run #${s.id} ${s.messages} messages ~${s.tokens} tokens`).join(', ') || 'none above the threshold'}.`,
    current_state: `average ~${avg} tokens and ${Math.round(sizes.reduce((n, s) => n + s.messages, 0) / sizes.length)} messages per run`,
    suggested_change:
      'Give the agent the data it needs in the prompt instead of letting it explore, cap its turns, and ask for a shorter answer; ' +
      'split the job if it does several unrelated things.',
    expected_impact: 'Lower token cost and shorter runs.',
    affected_files: [f.prompt?.path, f.config?.path].filter((p): p is string => !!p),
    figures: { tokens_per_run: magnitudeBand(avg), heavy_runs: countBand(heavy.length) },
  });
}

export function ruleAgentLoops(f: Facts): SuggestionDraft | null {
  const loops: { run: number; text: string; times: number }[] = [];
  for (const s of f.ctx.ai_sessions) {
    const counts = new Map<string, { text: string; times: number }>();
    for (const m of s.messages) {
      if (m.role !== 'assistant' || !m.content || m.content.trim().length < 20) continue;
      const key = normaliseLogLine(m.content.slice(0, 2000));
      const e = counts.get(key) ?? { text: m.content, times: 0 };
      e.times++;
      counts.set(key, e);
    }
    const worst = [...counts.values()].sort((a, b) => b.times - a.times)[0];
    if (worst && worst.times >= 3) loops.push({ run: s.run_id, ...worst });
  }
  if (loops.length === 0) return null;
  loops.sort((a, b) => b.times - a.times);
  return draft({
    category: 'prompt',
    severity: 'medium',
    title: 'AI agent repeats itself',
    evidence: cite(f, { runs: loops.map((l) => ({ id: l.run })) }),
    description:
      `In ${loops.length} run(s) the agent sent the same message again and again: ` +
      `${loops.slice(0, 3).map((l) => `run #${l.run}: ${quote(l.text, 160)} ×${l.times}`).join('; ')}. It is stuck in a loop and burns tokens.`,
    current_state: loops[0]!.text.slice(0, 1000),
    suggested_change: 'Tell the agent in the prompt when to stop (a clear done condition) and what to do when a step fails, instead of retrying it.',
    expected_impact: 'Shorter sessions, fewer tokens, and an answer instead of a loop.',
    affected_files: [f.prompt?.path].filter((p): p is string => !!p),
    figures: { message: normaliseLogLine(loops[0]!.text.slice(0, 2000)).slice(0, 300), runs: countBand(loops.length) },
  });
}
