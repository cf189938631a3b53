import { describe, expect, it } from 'vitest';
import { AnalyzerOutputError, parseAnalyzerOutput, parseRewriteOutput } from '../../core/parse-ai/index.js';
import { CONFIG_PATH, SCRIPT_PATH } from './factories.js';

const ALLOWED = [CONFIG_PATH, SCRIPT_PATH];

const suggestion = (over: Record<string, unknown> = {}) => ({
  category: 'reliability',
  severity: 'high',
  title: 'Retry transient failures',
  description: '4 of 10 runs failed with connection reset.',
  current_state: 'no retry',
  suggested_change: 'retry.enabled: true',
  expected_impact: 'fewer failures',
  affected_files: [CONFIG_PATH],
  target_file: CONFIG_PATH,
  proposed_content: 'name: Backup\ncmd: ./backup.sh\nretry:\n  enabled: true\n',
  auto_apply: null,
  ...over,
});

/** The success envelope of `openclaw agent --json`, as recorded in OPENCLAW.md. */
function agentEnvelope(reply: string, over: { total?: number; sessionId?: string } = {}) {
  return JSON.stringify({
    payloads: [{ text: reply, mediaUrl: null }],
    meta: {
      durationMs: 4093,
      finalAssistantVisibleText: reply,
      stopReason: 'stop',
      agentMeta: {
        sessionId: over.sessionId ?? 'healing-backup-1',
        provider: 'ollama',
        model: 'qwen3:0.6b',
        usage: { input: 1200, output: 345, cacheRead: 0, cacheWrite: 0, total: over.total ?? 1545, cost: { total: 0 } },
      },
    },
  });
}

const bare = (items: unknown[]) => JSON.stringify({ suggestions: items });

describe('parseAnalyzerOutput: envelopes', () => {
  it('reads the suggestions, tokens and session id from the agent --json envelope', () => {
    const out = parseAnalyzerOutput(agentEnvelope(bare([suggestion()]), { total: 2048, sessionId: 'sess-9' }), ALLOWED);
    expect(out.suggestions).toHaveLength(1);
    expect(out.suggestions[0]).toMatchObject({ category: 'reliability', severity: 'high', target_file: CONFIG_PATH });
    expect(out.tokens).toBe(2048);
    expect(out.sessionKey).toBe('sess-9');
    expect(out.replyText).toContain('"suggestions"');
    expect(out.dropped).toEqual([]);
  });

  it('finds the envelope after log lines that leaked onto stdout', () => {
    const stdout = `[agent] starting {pid 42}\n[plugins] loaded 3\n${agentEnvelope(bare([suggestion()]))}\n`;
    expect(parseAnalyzerOutput(stdout, ALLOWED).suggestions).toHaveLength(1);
  });

  it('throws the time-out text when the envelope marks the payload as an error', () => {
    const stdout = JSON.stringify({
      payloads: [{ text: 'Request timed out before a response was generated.', mediaUrl: null, isError: true }],
      meta: { durationMs: 30000, error: { kind: 'incomplete_turn' }, agentMeta: { sessionId: 's', usage: { total: 0 } } },
    });
    expect(() => parseAnalyzerOutput(stdout, ALLOWED)).toThrow(AnalyzerOutputError);
    expect(() => parseAnalyzerOutput(stdout, ALLOWED)).toThrow(/Request timed out.*incomplete_turn/);
  });

  it('throws the provider message of an {ok:false} error envelope', () => {
    const stdout = JSON.stringify({ ok: false, error: { type: 'cli_error', message: 'HTTP 401: invalid api key' } });
    let caught: unknown;
    try {
      parseAnalyzerOutput(stdout, ALLOWED);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AnalyzerOutputError);
    expect((caught as Error).name).toBe('AnalyzerOutputError');
    expect((caught as Error).message).toContain('HTTP 401: invalid api key');
  });

  it('reads the agent exec shape { ok, status, final, usage, sessionId }', () => {
    const stdout = JSON.stringify({
      ok: true,
      status: 'ok',
      final: bare([suggestion()]),
      payloads: [],
      usage: { input: 10, output: 5 },
      model: 'm',
      provider: 'p',
      sessionId: 'exec-1',
    });
    const out = parseAnalyzerOutput(stdout, ALLOWED);
    expect(out.suggestions).toHaveLength(1);
    expect(out.tokens).toBe(15);
    expect(out.sessionKey).toBe('exec-1');
  });

  it('throws for an agent exec answer with status timeout', () => {
    const stdout = JSON.stringify({ ok: false, status: 'timeout', final: null, payloads: [], error: { message: 'Request timed out' } });
    expect(() => parseAnalyzerOutput(stdout, ALLOWED)).toThrow(/timed out/);
  });

  it('accepts a bare reply printed without any envelope', () => {
    const out = parseAnalyzerOutput(bare([suggestion()]), ALLOWED);
    expect(out.suggestions).toHaveLength(1);
    expect(out.tokens).toBe(0);
    expect(out.sessionKey).toBeNull();
  });

  it('throws for empty output and for an empty reply', () => {
    expect(() => parseAnalyzerOutput('  \n', ALLOWED)).toThrow(AnalyzerOutputError);
    expect(() => parseAnalyzerOutput(agentEnvelope(''), ALLOWED)).toThrow(/empty reply/);
  });
});

describe('parseAnalyzerOutput: JSON inside the reply', () => {
  it('takes a ```json fenced block surrounded by prose', () => {
    const reply = `Here is my analysis.\n\n\`\`\`json\n${bare([suggestion()])}\n\`\`\`\n\nHope it helps!`;
    expect(parseAnalyzerOutput(agentEnvelope(reply), ALLOWED).suggestions).toHaveLength(1);
  });

  it('prefers the ```json block over another fenced block', () => {
    const reply = `Example shell:\n\`\`\`bash\necho {oops}\n\`\`\`\n\`\`\`json\n${bare([suggestion({ title: 'From json fence' })])}\n\`\`\``;
    expect(parseAnalyzerOutput(agentEnvelope(reply), ALLOWED).suggestions[0]?.title).toBe('From json fence');
  });

  it('takes a fence without a language', () => {
    const reply = `Result:\n\`\`\`\n${bare([suggestion()])}\n\`\`\``;
    expect(parseAnalyzerOutput(agentEnvelope(reply), ALLOWED).suggestions).toHaveLength(1);
  });

  it('finds JSON embedded in prose with stray braces, brackets and quotes', () => {
    const reply = `I checked {the runs} and [logs]; the "main issue" is } here: ${bare([suggestion()])} -- that's all {`;
    expect(parseAnalyzerOutput(agentEnvelope(reply), ALLOWED).suggestions).toHaveLength(1);
  });

  it('finds JSON after an unclosed brace in the prose', () => {
    const reply = `Note: { is used in templates. ${bare([suggestion()])}`;
    expect(parseAnalyzerOutput(reply, ALLOWED).suggestions).toHaveLength(1);
  });

  it('accepts a bare array of suggestions', () => {
    expect(parseAnalyzerOutput(agentEnvelope(JSON.stringify([suggestion()])), ALLOWED).suggestions).toHaveLength(1);
  });

  it('treats "suggestions": null and [] as zero suggestions', () => {
    expect(parseAnalyzerOutput(agentEnvelope('{"suggestions": null}'), ALLOWED).suggestions).toEqual([]);
    expect(parseAnalyzerOutput(agentEnvelope('{"suggestions": []}'), ALLOWED).suggestions).toEqual([]);
  });

  it('tolerates trailing commas', () => {
    const reply = '{"suggestions": [{"title": "Add retries", "category": "reliability", "severity": "low",},],}';
    expect(parseAnalyzerOutput(reply, ALLOWED).suggestions[0]?.title).toBe('Add retries');
  });

  it('throws when the reply holds no usable JSON', () => {
    expect(() => parseAnalyzerOutput(agentEnvelope('The job looks fine to me.'), ALLOWED)).toThrow(/no JSON with suggestions/);
    expect(() => parseAnalyzerOutput(agentEnvelope('{"suggestions": [{"title": "x" "severity"'), ALLOWED)).toThrow(AnalyzerOutputError);
  });
});

describe('parseAnalyzerOutput: coercion and dropping', () => {
  it('maps categories case-insensitively and from synonyms, and severities case-insensitively, defaulting unknown ones', () => {
    const out = parseAnalyzerOutput(
      bare([
        suggestion({ title: 'A', category: 'Performance', severity: 'HIGH' }),
        suggestion({ title: 'B', category: 'astrology', severity: 'apocalyptic' }),
        suggestion({ title: 'C', category: 'configuration', severity: 'minor' }),
      ]),
      ALLOWED,
    );
    expect(out.suggestions.map((s) => [s.category, s.severity, s.severity_reported])).toEqual([
      ['performance', 'high', null],
      ['config', 'medium', 'apocalyptic'],
      ['config', 'medium', 'minor'],
    ]);
  });

  it('when the analyzer says "urgent", the suggestion is medium (as in ProcClaw), not critical, and "urgent" is kept as severity_reported', () => {
    const out = parseAnalyzerOutput(bare([suggestion({ severity: 'urgent' })]), ALLOWED);
    expect(out.suggestions[0]).toMatchObject({ severity: 'medium', severity_reported: 'urgent' });
  });

  it('no synonym moves a severity: words for critical or low are medium too, with the word kept as written', () => {
    const words = ['Blocker', 'emergency', 'crit', 'severe', 'info', 'trivial', 'warning'];
    const out = parseAnalyzerOutput(bare(words.map((w) => suggestion({ title: `Sev ${w.toLowerCase()}`, severity: w }))), ALLOWED);
    expect(out.suggestions.map((s) => [s.severity, s.severity_reported])).toEqual(words.map((w) => ['medium', w]));
  });

  it('records nothing when the severity is one of the four in any case or missing, and bounds a strange one', () => {
    const out = parseAnalyzerOutput(
      bare([
        suggestion({ title: 'Low', severity: ' Low ' }),
        suggestion({ title: 'Missing', severity: undefined }),
        suggestion({ title: 'Number', severity: 3 }),
        suggestion({ title: 'Long', severity: `very\u0000 ${'x'.repeat(500)}` }),
      ]),
      ALLOWED,
    );
    expect(out.suggestions.map((s) => [s.title, s.severity, s.severity_reported])).toEqual([
      ['Low', 'low', null],
      ['Missing', 'medium', null],
      ['Number', 'medium', '3'],
      ['Long', 'medium', `very ${'x'.repeat(94)}…`],
    ]);
  });

  it('trims and bounds strings and drops fields of the wrong type', () => {
    const out = parseAnalyzerOutput(
      bare([suggestion({ title: `  ${'T'.repeat(500)}  `, description: 42, current_state: { a: 1 }, affected_files: [CONFIG_PATH, 7, null], auto_apply: 'yes' })]),
      ALLOWED,
    );
    const s = out.suggestions[0]!;
    expect(s.title.length).toBeLessThanOrEqual(200);
    expect(s.title.startsWith('T')).toBe(true);
    expect(s.description).toBe('');
    expect(s.current_state).toBeNull();
    expect(s.affected_files).toEqual([CONFIG_PATH]);
    expect(s.auto_apply).toBeNull();
  });

  it('takes NUL characters out of the texts Postgres stores, and drops a proposed file that holds one', () => {
    const out = parseAnalyzerOutput(
      bare([
        suggestion({ title: 'Re\u0000try', description: 'a\u0000b' }),
        suggestion({ title: 'Binary', proposed_content: 'name: X\ncmd: ./x.sh\n\u0000' }),
      ]),
      ALLOWED,
    );
    expect(out.suggestions.map((s) => [s.title, s.description])).toEqual([['Retry', 'ab']]);
    expect(out.dropped).toEqual([{ title: 'Binary', reason: expect.stringMatching(/NUL/) }]);
    expect(() => parseRewriteOutput(JSON.stringify({ proposed_content: 'echo hi\u0000\n' }))).toThrow(/NUL/);
  });

  it('drops suggestions aimed outside the job files, with a reason, and keeps the valid one', () => {
    const out = parseAnalyzerOutput(
      bare([
        suggestion({ title: 'Passwd', target_file: '../../etc/passwd', proposed_content: 'root::0:0::/root:/bin/sh' }),
        suggestion({ title: 'Hosts', target_file: '/etc/hosts' }),
        suggestion({ title: 'Keys', target_file: '~/.ssh/authorized_keys' }),
        suggestion({ title: 'Sneaky', target_file: '/srv/jobs/backup/../../../etc/shadow' }),
        suggestion({ title: 'Nul', target_file: `${CONFIG_PATH}\u0000.txt` }),
        suggestion({ title: 'Valid' }),
      ]),
      ALLOWED,
    );
    expect(out.suggestions.map((s) => s.title)).toEqual(['Valid']);
    expect(out.dropped.map((d) => d.title)).toEqual(['Passwd', 'Hosts', 'Keys', 'Sneaky', 'Nul']);
    expect(out.dropped[0]?.reason).toContain('..');
    expect(out.dropped[1]?.reason).toContain("not one of the job's files");
    expect(out.dropped[2]?.reason).toContain('~');
    expect(JSON.stringify(out.suggestions)).not.toContain('root::0');
  });

  it('maps a shortened relative target to the one listed path it names', () => {
    const out = parseAnalyzerOutput(bare([suggestion({ target_file: './job.yaml' })]), ALLOWED);
    expect(out.suggestions[0]?.target_file).toBe(CONFIG_PATH);
  });

  it('keeps advice without a target but drops proposed_content that has no target', () => {
    const out = parseAnalyzerOutput(bare([suggestion({ target_file: null, proposed_content: 'whole file' })]), ALLOWED);
    expect(out.suggestions[0]).toMatchObject({ target_file: null, proposed_content: null });
  });

  it('drops proposed_content for a file the context only had truncated', () => {
    const out = parseAnalyzerOutput(bare([suggestion()]), ALLOWED, { noContentTargets: [CONFIG_PATH] });
    expect(out.suggestions[0]).toMatchObject({ target_file: CONFIG_PATH, proposed_content: null });
  });

  it('drops suggestions without a title and exact duplicates', () => {
    const out = parseAnalyzerOutput(bare([suggestion({ title: '   ' }), { category: 'cost' }, 'text', suggestion(), suggestion({ title: 'retry transient failures!' })]), ALLOWED);
    expect(out.suggestions).toHaveLength(1);
    expect(out.dropped.map((d) => d.reason)).toEqual([
      'the suggestion has no title',
      'the suggestion has no title',
      'a suggestion must be a JSON object',
      'duplicate of an earlier suggestion in the same answer',
    ]);
  });

  it('keeps at most 50 suggestions and records the rest as dropped', () => {
    const items = Array.from({ length: 60 }, (_, i) => suggestion({ title: `Suggestion ${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}` }));
    const out = parseAnalyzerOutput(bare(items), ALLOWED);
    expect(out.suggestions).toHaveLength(50);
    expect(out.dropped).toHaveLength(10);
    expect(out.dropped[0]?.reason).toContain('more than 50');
  });
});

describe('parseAnalyzerOutput: hostile sizes', () => {
  it('refuses deeply nested JSON without overflowing the stack', () => {
    const deep = `{"suggestions": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    expect(() => parseAnalyzerOutput(deep, ALLOWED)).toThrow(/nested deeper/);
  });

  it('refuses more than 5 MB of output', () => {
    expect(() => parseAnalyzerOutput(`{"suggestions": [], "pad": "${'x'.repeat(5 * 1024 * 1024)}"}`, ALLOWED)).toThrow(/more than 5242880 bytes/);
  });

  it('refuses megabytes of unclosed braces as nested too deep', () => {
    let caught: unknown;
    try {
      parseAnalyzerOutput('{ "a'.repeat(1_000_000), ALLOWED);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AnalyzerOutputError);
    expect((caught as Error).message).toMatch(/nested deeper than 64 levels/);
  });
});

describe('parseRewriteOutput', () => {
  it('returns proposed_content from an envelope', () => {
    expect(parseRewriteOutput(agentEnvelope('{"proposed_content": "name: x\\ncmd: y\\n"}'))).toBe('name: x\ncmd: y\n');
  });

  it('returns proposed_content from a fenced block with prose', () => {
    expect(parseRewriteOutput(agentEnvelope('Sure:\n```json\n{"proposed_content": "a\\n"}\n```'))).toBe('a\n');
  });

  it('falls back to a single plain fenced file', () => {
    expect(parseRewriteOutput(agentEnvelope('Here:\n```bash\n#!/bin/bash\nset -e\n```'))).toBe('#!/bin/bash\nset -e\n');
  });

  it('throws for an error envelope, an empty file and an answer without content', () => {
    expect(() => parseRewriteOutput(JSON.stringify({ ok: false, error: { type: 'cli_error', message: 'boom' } }))).toThrow(/boom/);
    expect(() => parseRewriteOutput(agentEnvelope('{"proposed_content": "  "}'))).toThrow(/empty file/);
    expect(() => parseRewriteOutput(agentEnvelope('I would rather not.'))).toThrow(AnalyzerOutputError);
  });
});
