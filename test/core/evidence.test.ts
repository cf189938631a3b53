// A suggestion's citations, checked against what the analysis prompt sent: what is kept, what is
// dropped and counted, and hostile citations that must neither throw nor flood the record.
import { describe, expect, it } from 'vitest';
import { parseAnalyzerOutput, validateEvidence, type SentContext } from '../../core/parse-ai/index.js';
import { buildAnalysisPromptWithIndex } from '../../core/prompt.js';
import { EVIDENCE_LIMITS, type ReviewContext } from '../../core/review.js';
import { CONFIG_PATH, CONFIG_YAML, SCRIPT_PATH, healthyRuns, makeContext, makeLog, makeRun } from './factories.js';

const ALLOWED = [CONFIG_PATH, SCRIPT_PATH];

/** A failing run 11 with a 40-line log, next to ten healthy runs. */
function contextWithLog(): ReviewContext {
  const failed = makeRun(11, { exit_code: 1, error: 'connection reset by peer' });
  const lines = Array.from({ length: 40 }, (_, i) => (i === 37 ? 'ERROR psql: connection reset by peer' : `step ${i + 1} ok`));
  const { runs, logs } = healthyRuns(10);
  return makeContext({ runs: [...runs, failed], logs: [...logs, makeLog(failed, lines)] });
}

function answer(evidence: unknown): string {
  return JSON.stringify({ suggestions: [{ category: 'reliability', severity: 'high', title: 'Retry transient failures', description: 'run 11 failed', evidence }] });
}

function parse(ctx: ReviewContext, evidence: unknown, maxBytes?: number) {
  const { sent } = buildAnalysisPromptWithIndex(ctx, maxBytes);
  const parsed = parseAnalyzerOutput(answer(evidence), ALLOWED, { sent });
  expect(parsed.suggestions).toHaveLength(1); // a bad citation never costs the suggestion
  return parsed.suggestions[0]!.evidence!;
}

describe('the analysis prompt', () => {
  it('when a run has a log, numbers each of its lines and says how to cite them', () => {
    const { prompt } = buildAnalysisPromptWithIndex(contextWithLog());
    expect(prompt).toContain('38| ERROR psql: connection reset by peer');
    expect(prompt).toContain('cite as {"run_id":11,"from":<n>,"to":<n>}');
    expect(prompt).toContain('"evidence":{"runs":[<run id>]');
  });
});

describe('citations of what the prompt sent', () => {
  it('when the answer cites a run, a log range and config lines that were sent, keeps them with the lines quoted from the context, not from the answer', () => {
    const evidence = parse(contextWithLog(), {
      runs: [11, '3'],
      log_lines: [{ run_id: 11, from: 37, to: 38, lines: ['made up by the model'] }],
      config_lines: [{ file: 'job.yaml', from: 5, to: 6 }],
      sla: { p95_s: 700, max_duration_s: 600 },
    });
    expect(evidence.runs).toEqual([
      { id: 11, external_id: 'ext-11' },
      { id: 3, external_id: 'ext-3' },
    ]);
    expect(evidence.log_lines).toEqual([{ run_id: 11, file: null, from: 37, to: 38, lines: ['step 37 ok', 'ERROR psql: connection reset by peer'] }]);
    expect(evidence.config_lines).toEqual([{ file: CONFIG_PATH, from: 5, to: 6, lines: CONFIG_YAML.split('\n').slice(4, 6) }]);
    expect(evidence.sla).toEqual({ p95_s: 700, max_duration_s: 600 });
    expect(evidence.dropped_citations).toBe(0);
  });

  it('when the answer cites a run, a log line and a file that were not in the context, drops each of them and counts them', () => {
    const evidence = parse(contextWithLog(), {
      runs: [11, 999],
      log_lines: [
        { run_id: 11, from: 39, to: 41 }, // the log has 40 lines
        { run_id: 999, from: 1, to: 1 }, // no such run
        { run_id: 4, from: 1, to: 1 }, // a run of the context, but its log is 3 lines... line 1 exists: kept
      ],
      config_lines: [
        { file: '/etc/passwd', from: 1, to: 1 },
        { file: '../../etc/shadow', from: 1, to: 2 },
        { file: CONFIG_PATH, from: 1, to: 500 },
      ],
    });
    expect(evidence.runs.map((r) => r.id)).toEqual([11, 4]);
    expect(evidence.log_lines.map((l) => l.run_id)).toEqual([4]);
    expect(evidence.config_lines).toEqual([]);
    expect(evidence.dropped_citations).toBe(6);
  });

  it('when a log was cut to fit the prompt, a citation of its lines that were cut away is dropped while its last lines stay citable', () => {
    const ctx = contextWithLog();
    ctx.logs = ctx.logs.map((l) => (l.run_id === 11 ? { ...l, lines: Array.from({ length: 3000 }, (_, i) => `line ${i + 1} ${'x'.repeat(60)}`) } : l));
    const { prompt, sent, cut } = buildAnalysisPromptWithIndex(ctx, 40_000);
    expect(cut).toContain('the log of run 11');
    expect(prompt).not.toContain('\n1| line 1 ');
    const evidence = validateEvidence({ log_lines: [{ run_id: 11, from: 1, to: 2 }, { run_id: 11, from: 3000, to: 3000 }] }, sent);
    expect(evidence.log_lines).toEqual([{ run_id: 11, file: null, from: 3000, to: 3000, lines: [`line 3000 ${'x'.repeat(60)}`] }]);
    expect(evidence.dropped_citations).toBe(1);
  });
});

describe('hostile citations', () => {
  const sent = (): SentContext => buildAnalysisPromptWithIndex(contextWithLog()).sent;

  it('when the answer cites a huge array of runs, examines the first 200, counts the rest as dropped and keeps at most the limit, without error', () => {
    const runs = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const evidence = validateEvidence({ runs }, sent());
    expect(evidence.runs.map((r) => r.id)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(evidence.dropped_citations).toBe(100_000 - 11);
  });

  it('when ranges are negative, reversed, fractional, astronomically long or not numbers at all, drops each one without error', () => {
    const evidence = validateEvidence(
      {
        log_lines: [
          { run_id: 11, from: -5, to: 2 },
          { run_id: 11, from: 9, to: 3 },
          { run_id: 11, from: 1.5, to: 2 },
          { run_id: 11, from: 1, to: 1e15 },
          { run_id: 11, from: 1, to: Number.MAX_SAFE_INTEGER },
          { run_id: 11, from: '1; drop table', to: 2 },
          { run_id: { $gt: 0 }, from: 1, to: 1 },
          { file: 'business_log', from: 1, to: 1 }, // the context has no business log
          'run 11 line 3',
          null,
        ],
        config_lines: [{ file: CONFIG_PATH }, { file: ['a'], from: 1, to: 1 }, { file: `${CONFIG_PATH}\0`, from: 1, to: 1 }],
        sla: { figure: { nested: true }, ['k'.repeat(100)]: 1, ok: 3 },
      },
      sent(),
    );
    expect(evidence.log_lines).toEqual([]);
    expect(evidence.config_lines).toEqual([]);
    expect(evidence.sla).toEqual({ ok: 3 });
    expect(evidence.dropped_citations).toBe(10 + 3 + 2);
  });

  it('when the evidence is not an object, counts one dropped citation and keeps the suggestion', () => {
    expect(parse(contextWithLog(), 'runs 1-10').dropped_citations).toBe(1);
    expect(parse(contextWithLog(), [1, 2, 3]).dropped_citations).toBe(1);
    expect(parse(contextWithLog(), undefined)).toMatchObject({ runs: [], dropped_citations: 0 });
  });

  it('when every citation is valid but there are too many ranges, keeps the limit and never quotes more lines than the bound', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ run_id: 11, from: i + 1, to: i + 1 }));
    const evidence = validateEvidence({ log_lines: [...many, { run_id: 11, from: 1, to: 40 }] }, sent());
    expect(evidence.log_lines).toHaveLength(EVIDENCE_LIMITS.ranges);
    expect(evidence.log_lines.reduce((n, r) => n + r.lines.length, 0)).toBeLessThanOrEqual(EVIDENCE_LIMITS.linesTotal);
    expect(evidence.dropped_citations).toBe(41 - EVIDENCE_LIMITS.ranges);
  });
});
