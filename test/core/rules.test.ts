import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { JobSchema } from '../../core/job.js';
import type { ReviewContext, RunSummary, SuggestionDraft } from '../../core/review.js';
import { analyzeWithRules, normaliseLogLine } from '../../core/rules/index.js';
import {
  CONFIG_PATH,
  CONFIG_YAML,
  PROMPT_PATH,
  SCRIPT_PATH,
  healthyRuns,
  makeContext,
  makeFile,
  makeJob,
  makeLog,
  makeRun,
  startOf,
  withScript,
} from './factories.js';

function find(suggestions: SuggestionDraft[], title: string): SuggestionDraft {
  const found = suggestions.find((s) => s.title === title);
  if (!found) throw new Error(`no suggestion "${title}" among: ${suggestions.map((s) => s.title).join(', ') || 'none'}`);
  return found;
}

function failing(ids: number[], error: string, logLine = error): { runs: RunSummary[]; logs: ReturnType<typeof makeLog>[] } {
  const runs = ids.map((id) => makeRun(id, { exit_code: 1, error, sla_status: 'fail' }));
  return { runs, logs: runs.map((r) => makeLog(r, ['starting backup', logLine.replace('{id}', String(r.id))])) };
}

describe('analyzeWithRules on a healthy job', () => {
  it('returns no suggestions when every run succeeds quickly and the files are clean', () => {
    expect(analyzeWithRules(makeContext())).toEqual([]);
  });

  it('returns no suggestions for a healthy openclaw job with a short prompt and small sessions', () => {
    const ctx = makeContext({
      job: makeJob({ type: 'openclaw', prompt_file: 'prompt.md' }),
      files: [makeFile('config', CONFIG_PATH, CONFIG_YAML), makeFile('prompt', PROMPT_PATH, '# Summarise the day\n\nRead the orders table and write a short summary.\n')],
      ai_sessions: [1, 2, 3].map((id) => ({
        run_id: id,
        messages: [
          { role: 'user', content: 'Summarise the day' },
          { role: 'assistant', content: 'Orders were up 3% on yesterday; no refunds.' },
        ],
      })),
    });
    expect(analyzeWithRules(ctx)).toEqual([]);
  });

  it('returns no suggestions when there are no runs at all', () => {
    expect(analyzeWithRules(makeContext({ runs: [], logs: [] }))).toEqual([]);
  });
});

describe('transient failures without retry', () => {
  const { runs, logs } = failing([1, 2, 3, 4, 5], 'connection reset by peer', '2026-01-01T00:00:0{id}Z ERROR psql: connection reset by peer');
  const ctx = makeContext({ runs: [...runs, ...healthyRuns(5, 6).runs], logs });

  it('proposes retries in the YAML and keeps its comments and unknown fields', () => {
    const s = find(analyzeWithRules(ctx), 'Retry transient failures');
    expect(s.category).toBe('reliability');
    expect(s.description).toContain('5 of 10 runs');
    expect(s.description).toContain('connection reset');
    expect(s.description).toContain('#1');
    expect(s.target_file).toBe(CONFIG_PATH);
    const next = s.proposed_content as string;
    expect(parse(next).retry).toEqual({ enabled: true, max_attempts: 3 });
    expect(next).toContain('# Nightly backup of the orders database.');
    expect(next).toContain('# ten minutes');
    expect(parse(next).owner_team).toBe('data');
    expect(JobSchema.safeParse(parse(next)).success).toBe(true);
  });

  it('edits the job inside a shared jobs.yaml catalog under jobs.<id>', () => {
    const catalog = `# all jobs\njobs:\n  backup:\n    name: Backup # main\n    cmd: ./backup.sh\n  other:\n    name: Other\n    cmd: ./other.sh\n`;
    const s = find(analyzeWithRules({ ...ctx, files: [makeFile('config', '/srv/jobs.yaml', catalog)] }), 'Retry transient failures');
    const doc = parse(s.proposed_content as string);
    expect(doc.jobs.backup.retry).toEqual({ enabled: true, max_attempts: 3 });
    expect(doc.jobs.other.retry).toBeUndefined();
    expect(s.proposed_content).toContain('# main');
  });

  it('keeps a four-space indented file four-space indented', () => {
    const yaml4 = 'name: Backup\ncmd: ./backup.sh\nsla:\n    max_duration: 600\n';
    const s = find(analyzeWithRules({ ...ctx, files: [makeFile('config', CONFIG_PATH, yaml4)] }), 'Retry transient failures');
    expect(s.proposed_content).toContain('\nretry:\n    enabled: true\n    max_attempts: 3\n');
    expect(s.proposed_content).toContain('sla:\n    max_duration: 600');
  });

  it('turns on a retry block that exists but is disabled', () => {
    const yaml = `${CONFIG_YAML}retry:\n  enabled: false # flaky upstream, revisit\n`;
    const c = { ...ctx, job: makeJob({ retry: { enabled: false } }), files: [makeFile('config', CONFIG_PATH, yaml)] };
    const s = find(analyzeWithRules(c), 'Retry transient failures');
    expect(parse(s.proposed_content as string).retry).toEqual({ enabled: true, max_attempts: 3 });
    expect(s.proposed_content).toContain('# flaky upstream, revisit');
  });

  it('says nothing about retries when retry is already configured', () => {
    const c = { ...ctx, job: makeJob({ retry: { enabled: true, max_attempts: 3 } }) };
    expect(analyzeWithRules(c).map((s) => s.title)).not.toContain('Retry transient failures');
  });

  it('describes the fix without proposed_content when the YAML was truncated', () => {
    const c = { ...ctx, files: [makeFile('config', CONFIG_PATH, CONFIG_YAML, { truncated: true })] };
    const s = find(analyzeWithRules(c), 'Retry transient failures');
    expect(s.proposed_content).toBeNull();
    expect(s.suggested_change).toContain('max_attempts: 3');
  });

  it('does not call a single timeout "repeated"', () => {
    const one = failing([1], 'request timed out');
    expect(analyzeWithRules(makeContext({ runs: [...one.runs, ...healthyRuns(9, 2).runs], logs: one.logs })).map((s) => s.title)).not.toContain(
      'Retry transient failures',
    );
  });

  it('does not take a "timeout=30" setting line for a timeout failure', () => {
    const { runs } = failing([1, 2, 3], 'KeyError: order_id');
    const logs = runs.map((r) => makeLog(r, ['settings: timeout=30 retries=0', 'KeyError: order_id']));
    expect(analyzeWithRules(makeContext({ runs, logs })).map((s) => s.title)).not.toContain('Retry transient failures');
  });
});

describe('durations against the SLA and the schedule', () => {
  it('flags a p95 above 80% of sla.max_duration as a medium performance problem', () => {
    const runs = Array.from({ length: 10 }, (_, i) => makeRun(i + 1, { duration_ms: 500_000 + i * 1000 }));
    const s = find(analyzeWithRules(makeContext({ runs, logs: [] })), 'Run duration near or over the SLA limit');
    expect(s.category).toBe('performance');
    expect(s.severity).toBe('medium');
    expect(s.description).toMatch(/8\dm|% of the SLA limit of 10m 00s/);
  });

  it('rates it high when the p95 breaches the limit and names the runs over it', () => {
    const runs = Array.from({ length: 10 }, (_, i) => makeRun(i + 1, { duration_ms: i < 3 ? 300_000 : 700_000 }));
    const s = find(analyzeWithRules(makeContext({ runs, logs: [], schedule_interval_s: null })), 'Run duration near or over the SLA limit');
    expect(s.severity).toBe('high');
    expect(s.description).toContain('7 run(s) went over the limit');
    expect(s.description).toContain('#4');
  });

  it('flags runs that outlast the interval between scheduled starts', () => {
    const runs = [...healthyRuns(8).runs, makeRun(9, { duration_ms: 4_000_000 }), makeRun(10, { duration_ms: 3_900_000 })];
    const ctx = makeContext({ runs, logs: [], job: makeJob({ sla: undefined }) });
    const s = find(analyzeWithRules(ctx), 'Runs outlast the schedule interval');
    expect(s.severity).toBe('high');
    expect(s.description).toContain('2 of 10 runs');
    expect(s.description).toContain('#9');
    expect(s.description).toContain('1h 06m');
  });

  it('reports runs that are getting slower', () => {
    const runs = Array.from({ length: 12 }, (_, i) => makeRun(i + 1, { duration_ms: i < 8 ? 40_000 : 200_000 }));
    const ctx = makeContext({ runs, logs: [], job: makeJob({ sla: undefined }) });
    const s = find(analyzeWithRules(ctx), 'Runs are getting slower');
    expect(s.category).toBe('performance');
    expect(s.description).toContain('40.0 s');
    expect(s.description).toContain('3m 20s');
  });
});

describe('hard-coded secrets', () => {
  it('replaces secrets in a bash script with environment references and masks them in the text', () => {
    const script = [
      '#!/usr/bin/env bash',
      'set -euo pipefail',
      'export API_TOKEN="abcd1234efgh5678"',
      'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE',
      "curl -H 'Authorization: Bearer abcdefghijklmnop1234' https://api.example.com/orders",
      '',
    ].join('\n');
    const s = find(analyzeWithRules(withScript(makeContext(), script)), 'Hard-coded secret in script');
    expect(s.category).toBe('security');
    expect(s.severity).toBe('critical');
    expect(s.auto_apply).toBe(false);
    expect(s.target_file).toBe(SCRIPT_PATH);
    const next = s.proposed_content as string;
    expect(next).toContain('export API_TOKEN="${API_TOKEN}"');
    expect(next).toContain('AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID}"');
    expect(next).not.toContain('abcd1234efgh5678');
    expect(next).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(next).not.toContain('abcdefghijklmnop1234');
    expect(next.split('\n')[0]).toBe('#!/usr/bin/env bash');
    for (const text of [s.description, s.current_state ?? '']) {
      expect(text).not.toContain('abcd1234efgh5678');
      expect(text).not.toContain('AKIAIOSFODNN7EXAMPLE');
    }
    expect(s.description).toContain('line 3');
  });

  it('uses os.environ in a Python script and adds import os', () => {
    const script = '#!/usr/bin/env python3\nimport sys\n\npassword = "hunter22xyz"\nprint(sys.argv)\n';
    const s = find(analyzeWithRules(withScript(makeContext(), script, '/srv/jobs/backup/run.py')), 'Hard-coded secret in script');
    expect(s.proposed_content).toContain('password = os.environ["PASSWORD"]');
    expect(s.proposed_content).toContain('import os\nimport sys');
    expect(s.proposed_content).not.toContain('hunter22xyz');
  });

  it('uses process.env in a Node script', () => {
    const script = "const apiKey = 'sk-abcdefghijklmnopqrstuvwx';\nfetch(url, { headers: { key: apiKey } });\n";
    const s = find(analyzeWithRules(withScript(makeContext(), script, '/srv/jobs/backup/run.mjs')), 'Hard-coded secret in script');
    expect(s.proposed_content).toContain('const apiKey = process.env.OPENAI_API_KEY;');
  });

  it('reports a private key without proposing a rewrite', () => {
    const script = '#!/bin/bash\nset -e\ncat > key.pem <<EOF\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nEOF\n';
    const s = find(analyzeWithRules(withScript(makeContext(), script)), 'Hard-coded secret in script');
    expect(s.proposed_content).toBeNull();
    expect(s.description).toContain('private key');
  });

  it('reports a secret in the job YAML as a job config problem', () => {
    const yaml = `${CONFIG_YAML}env:\n  DB_PASSWORD: "s3cr3t-pa55"\n`;
    const ctx = makeContext({ files: [makeFile('config', CONFIG_PATH, yaml), makeFile('script', SCRIPT_PATH, '#!/bin/bash\nset -e\n')] });
    const s = find(analyzeWithRules(ctx), 'Hard-coded secret in job config');
    expect(s.description).toContain(CONFIG_PATH);
    expect(s.description).not.toContain('s3cr3t-pa55');
  });

  it('leaves environment references, command substitutions and placeholders alone', () => {
    const script = [
      '#!/bin/bash',
      'set -euo pipefail',
      'TOKEN=$(cat /run/secrets/token)',
      'PASSWORD="${DB_PASSWORD}"',
      'API_KEY=changeme',
      'echo "token=${TOKEN}"',
      'max_tokens=4000',
      'echo "token: refreshed, password: unchanged"',
      '',
    ].join('\n');
    expect(analyzeWithRules(withScript(makeContext(), script))).toEqual([]);
  });
});

describe('recurring errors in logs', () => {
  it('quotes an error line that recurs across failed runs with varying numbers', () => {
    const { runs, logs } = failing([1, 2, 3, 4], 'exit 1', 'ERROR: cannot open /data/orders-{id}.csv: No such file or directory');
    const ctx = makeContext({ runs: [...runs, ...healthyRuns(6, 5).runs], logs });
    const s = find(analyzeWithRules(ctx), 'Recurring error in run logs');
    expect(s.category).toBe('reliability');
    expect(s.description).toContain('"ERROR: cannot open /data/orders-1.csv: No such file or directory"');
    expect(s.description).toContain('in 4 of 4 failed runs');
    expect(s.description).toContain('path the job expects does not exist');
  });

  it('ignores an error-looking line that successful runs print just as often', () => {
    const runs = [...failing([1, 2, 3], 'exit 2').runs, ...healthyRuns(4, 4).runs];
    const logs = runs.map((r) => makeLog(r, ['warning: retry queue error count = 0', r.exit_code ? 'bad state' : 'done']));
    expect(analyzeWithRules(makeContext({ runs, logs })).map((s) => s.title)).not.toContain('Recurring error in run logs');
  });

  it('strips timestamps, uuids, hex and digits when comparing lines', () => {
    expect(normaliseLogLine('2026-01-02T03:04:05.123Z job 3f2a9c1e-8d4b-4c6a-9e1f-0a1b2c3d4e5f failed at 0xdeadbeef after 12 tries')).toBe(
      'job <uuid> failed at <hex> after # tries',
    );
  });
});

describe('prompt size', () => {
  const openclaw = (prompt: string) =>
    makeContext({ job: makeJob({ type: 'openclaw' }), files: [makeFile('config', CONFIG_PATH, CONFIG_YAML), makeFile('prompt', PROMPT_PATH, prompt)] });

  it('removes duplicated lines from a prompt as a cost fix', () => {
    const rules = Array.from({ length: 10 }, (_, i) => `- Rule ${i}: always cite the order id in the summary.`);
    const prompt = ['# Daily summary', '', ...rules, '', 'Always answer in English, briefly.', ...rules.slice(0, 6), 'Always answer in English, briefly.', ''].join('\n');
    const s = find(analyzeWithRules(openclaw(prompt)), 'Prompt is longer than it needs to be');
    expect(s.category).toBe('cost');
    expect(s.description).toContain('7 of its');
    const next = s.proposed_content as string;
    expect(next.match(/Always answer in English/g)).toHaveLength(1);
    expect(next.match(/Rule 3:/g)).toHaveLength(1);
    expect(next.startsWith('# Daily summary')).toBe(true);
  });

  it('flags a very long prompt without inventing an edit when nothing repeats', () => {
    const prompt = Array.from({ length: 300 }, (_, i) => `Line ${i}: context about table t${i} and its columns.`).join('\n');
    const s = find(analyzeWithRules(openclaw(prompt)), 'Prompt is longer than it needs to be');
    expect(s.proposed_content).toBeNull();
    expect(s.description).toMatch(/is \d{4,} characters/);
  });

  it('never proposes content for a truncated prompt', () => {
    const prompt = Array.from({ length: 40 }, () => 'Repeat this instruction to the agent again.').join('\n');
    const ctx = openclaw(prompt);
    ctx.files[1] = makeFile('prompt', PROMPT_PATH, prompt, { truncated: true });
    const s = find(analyzeWithRules(ctx), 'Prompt is longer than it needs to be');
    expect(s.proposed_content).toBeNull();
  });
});

describe('failures after a config change', () => {
  it('links failures that began after the YAML changed to that change', () => {
    const ok = healthyRuns(6).runs;
    const bad = failing([7, 8, 9, 10], "unknown option '--fast'").runs;
    const ctx = makeContext({ runs: [...ok, ...bad], logs: [], config_changed_at: startOf(7) });
    const s = find(analyzeWithRules(ctx), 'Failures began after a config change');
    expect(s.category).toBe('config');
    expect(s.severity).toBe('high');
    expect(s.description).toContain('6 of 6 runs succeeded');
    expect(s.description).toContain('4 of 4 failed');
    expect(s.description).toContain("unknown option '--fast'");
  });

  it('stays quiet when the job failed just as much before the change', () => {
    const runs = Array.from({ length: 10 }, (_, i) => makeRun(i + 1, { exit_code: i % 2 }));
    expect(analyzeWithRules(makeContext({ runs, logs: [], config_changed_at: startOf(6) })).map((s) => s.title)).not.toContain(
      'Failures began after a config change',
    );
  });
});

describe('success rate', () => {
  it('reports a success rate under sla.success_rate', () => {
    const runs = [...healthyRuns(7).runs, ...failing([8, 9, 10], 'schema mismatch in orders').runs];
    const ctx = makeContext({ runs, logs: [], job: makeJob({ sla: { success_rate: 95 } }) });
    const s = find(analyzeWithRules(ctx), 'Success rate below the SLA target');
    expect(s.description).toContain('7 of 10 runs succeeded (70%)');
    expect(s.description).toContain('schema mismatch in orders');
    expect(s.severity).toBe('high');
  });

  it('reports frequent failures without an SLA when nothing else explains them', () => {
    const runs = [...healthyRuns(5).runs, ...failing([6, 7, 8, 9], 'exit status 3').runs];
    const ctx = makeContext({ runs, logs: [], job: makeJob({ sla: undefined }) });
    expect(find(analyzeWithRules(ctx), 'Job fails often').description).toContain('4 of 9 runs failed');
  });
});

describe('a bash script that hides failures', () => {
  const script = '#!/bin/bash\n# nightly export\npg_dump orders > /tmp/o.sql\nupload /tmp/o.sql\n';

  it('adds set -euo pipefail after the shebang when runs exit 0 with errors in the log', () => {
    const { runs, logs } = healthyRuns(6);
    logs[2] = makeLog(runs[2]!, ['backup.sh: line 4: upload: command not found', 'done']);
    const s = find(analyzeWithRules(withScript(makeContext({ runs, logs }), script)), 'Script hides failures (no set -e)');
    expect(s.category).toBe('script');
    expect(s.description).toContain('#3');
    expect(s.description).toContain('command not found');
    expect((s.proposed_content as string).split('\n').slice(0, 3)).toEqual(['#!/bin/bash', 'set -euo pipefail', '# nightly export']);
    expect(s.auto_apply).toBe(false);
  });

  it('uses set -eu for a POSIX sh script', () => {
    const { runs, logs } = healthyRuns(3);
    logs[0] = makeLog(runs[0]!, ['sh: 1: upload: not found', 'ERROR upload failed']);
    const s = find(analyzeWithRules(withScript(makeContext({ runs, logs }), script.replace('#!/bin/bash', '#!/bin/sh'))), 'Script hides failures (no set -e)');
    expect(s.proposed_content).toContain('#!/bin/sh\nset -eu\n');
  });

  it('says nothing when the script already has set -e', () => {
    const { runs, logs } = healthyRuns(3);
    logs[0] = makeLog(runs[0]!, ['upload: command not found']);
    const titles = analyzeWithRules(withScript(makeContext({ runs, logs }), script.replace('# nightly', 'set -e\n# nightly'))).map((s) => s.title);
    expect(titles).not.toContain('Script hides failures (no set -e)');
  });
});

describe('recorded SLA violations', () => {
  it('groups the violations with counts and run ids', () => {
    const ctx = makeContext({
      job: makeJob({ sla: { enabled: true } }),
      sla_violations: [
        { run_id: 3, reason: 'finished after 07:00, the delivery deadline' },
        { run_id: 5, reason: 'finished after 07:00, the delivery deadline' },
        { run_id: 8, reason: 'output file missing' },
      ],
    });
    const s = find(analyzeWithRules(ctx), 'SLA violations recorded');
    expect(s.description).toContain('3 SLA violation(s)');
    expect(s.description).toContain('×2 (#3, #5)');
    expect(s.severity).toBe('high');
  });
});

describe('AI usage for openclaw jobs', () => {
  const big = (runId: number, n: number, size: number) => ({
    run_id: runId,
    messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'tool', content: `${'x'.repeat(size)} step ${i}` })),
  });

  it('reports sessions that use many tokens', () => {
    const ctx = makeContext({ job: makeJob({ type: 'openclaw' }), ai_sessions: [big(1, 60, 5000), big(2, 50, 5000), big(3, 10, 100)] });
    const s = find(analyzeWithRules(ctx), 'High AI token usage');
    expect(s.category).toBe('cost');
    expect(s.description).toContain('run #1 60 messages');
  });

  it('reports an agent that sends the same message again and again', () => {
    const msgs = [{ role: 'user', content: 'Summarise' }, ...Array.from({ length: 5 }, () => ({ role: 'assistant', content: 'Let me check the orders table again.' }))];
    const s = find(analyzeWithRules(makeContext({ ai_sessions: [{ run_id: 4, messages: msgs }] })), 'AI agent repeats itself');
    expect(s.category).toBe('prompt');
    expect(s.description).toContain('×5');
  });
});

describe('killed runs', () => {
  it('reports runs killed by the OOM killer', () => {
    const runs = [...healthyRuns(5).runs, makeRun(6, { exit_code: 137 }), makeRun(7, { exit_code: 137 })];
    const s = find(analyzeWithRules(makeContext({ runs, logs: [] })), 'Runs are killed (signal or out of memory)');
    expect(s.severity).toBe('high');
    expect(s.description).toContain('#6 killed (137');
  });
});

describe('every suggestion', () => {
  function everything(): ReviewContext {
    const t = failing([1, 2, 3, 4], 'HTTP 503 Service Unavailable');
    const runs = [...t.runs, ...Array.from({ length: 6 }, (_, i) => makeRun(5 + i, { duration_ms: 700_000 }))];
    return withScript(
      makeContext({ runs, logs: t.logs, sla_violations: [{ run_id: 5, reason: 'took 700 s' }], job: makeJob({ sla: { max_duration: 600, success_rate: 99 } }) }),
      '#!/bin/bash\nTOKEN="abcdef1234567890"\ncurl -H "X-Token: $TOKEN" https://x\n',
    );
  }

  it('has a title without digits, a known category and a target among the job files', () => {
    const ctx = everything();
    const suggestions = analyzeWithRules(ctx);
    expect(suggestions.length).toBeGreaterThanOrEqual(4);
    const paths = ctx.files.map((f) => f.path);
    for (const s of suggestions) {
      expect(s.title).not.toMatch(/\d/);
      expect(s.description.length).toBeGreaterThan(20);
      if (s.proposed_content !== null) expect(paths).toContain(s.target_file);
    }
  });

  it('comes most severe first and is the same on every call', () => {
    const a = analyzeWithRules(everything());
    const order = ['critical', 'high', 'medium', 'low'];
    const ranks = a.map((s) => order.indexOf(s.severity));
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect(analyzeWithRules(everything())).toEqual(a);
  });

  it('keeps the YAML a valid job document after every config edit', () => {
    for (const s of analyzeWithRules(everything())) {
      if (s.target_file === CONFIG_PATH && s.proposed_content) {
        expect(parseDocument(s.proposed_content).errors).toEqual([]);
        expect(JobSchema.safeParse(parse(s.proposed_content)).success).toBe(true);
      }
    }
  });
});

describe('the evidence of a rule', () => {
  it('when transient errors fire the retry rule, cites exactly the failed runs with their external ids and the log line each one matched', () => {
    const { runs, logs } = failing([1, 2, 3], 'connection reset by peer', '2026-01-01T00:00:0{id}Z ERROR psql: connection reset by peer');
    const s = find(analyzeWithRules(makeContext({ runs: [...runs, ...healthyRuns(5, 4).runs], logs })), 'Retry transient failures');
    expect(s.evidence?.runs).toEqual([1, 2, 3].map((id) => ({ id, external_id: `ext-${id}` })));
    // the matched line is line 2 of each run's excerpt (after "starting backup")
    expect(s.evidence?.log_lines).toEqual(
      [1, 2, 3].map((id) => ({ run_id: id, file: null, from: 2, to: 2, lines: [`2026-01-01T00:00:0${id}Z ERROR psql: connection reset by peer`] })),
    );
    expect(s.evidence?.dropped_citations).toBe(0);
  });

  it('when the p95 breaches sla.max_duration, cites the runs over the limit, the sla block of the YAML with its line numbers, and the SLA figures', () => {
    const runs = Array.from({ length: 10 }, (_, i) => makeRun(i + 1, { duration_ms: i < 7 ? 300_000 : 700_000 }));
    const s = find(analyzeWithRules(makeContext({ runs, logs: [], schedule_interval_s: null })), 'Run duration near or over the SLA limit');
    expect(s.evidence?.runs.map((r) => r.id).sort((a, b) => a - b)).toEqual([8, 9, 10]);
    const slaAt = CONFIG_YAML.split('\n').findIndex((l) => l.startsWith('sla:')) + 1;
    expect(s.evidence?.config_lines).toEqual([{ file: CONFIG_PATH, from: slaAt, to: slaAt + 1, lines: ['sla:', '  max_duration: 600     # ten minutes'] }]);
    expect(s.evidence?.sla).toMatchObject({ max_duration_s: 600, p95_ms: 700_000, runs: 10, over_limit: 3 });
  });

  it('when a recurring error fires, cites the lines that recur and no line of a run that did not print it', () => {
    const { runs, logs } = failing([1, 2, 3], 'exit 1', 'FATAL: permission denied for table orders');
    const other = makeRun(4, { exit_code: 1, error: 'disk quota' });
    const s = find(
      analyzeWithRules(makeContext({ runs: [...runs, other, ...healthyRuns(4, 5).runs], logs: [...logs, makeLog(other, ['something else went wrong: quota'])] })),
      'Recurring error in run logs',
    );
    expect(s.evidence?.log_lines.map((l) => [l.run_id, l.from, l.lines[0]])).toEqual([1, 2, 3].map((id) => [id, 2, 'FATAL: permission denied for table orders']));
    expect(s.evidence?.runs.map((r) => r.id)).not.toContain(4);
  });

  it('when a hard-coded secret is found, cites its file line with the secret masked, never in full', () => {
    const key = 'AKIAJ7Q2EXAMPLEKEY42';
    const script = `#!/usr/bin/env bash\nset -euo pipefail\nexport AWS_ACCESS_KEY_ID=${key}\naws s3 ls\n`;
    const s = find(analyzeWithRules(withScript(makeContext(), script)), 'Hard-coded secret in script');
    expect(s.evidence?.config_lines).toHaveLength(1);
    expect(s.evidence?.config_lines[0]).toMatchObject({ file: SCRIPT_PATH, from: 3, to: 3 });
    expect(s.evidence?.config_lines[0]?.lines[0]).toContain('AWS_ACCESS_KEY_ID=');
    expect(JSON.stringify(s.evidence)).not.toContain(key);
  });

  it('when many runs fail, cites at most 50 runs and keeps the evidence bounded', () => {
    const runs = Array.from({ length: 120 }, (_, i) => makeRun(i + 1, { exit_code: 1, error: `boom ${i}` }));
    const s = find(analyzeWithRules(makeContext({ runs, logs: [], job: makeJob({ sla: undefined }) })), 'Job fails often');
    expect(s.evidence?.runs).toHaveLength(50);
  });
});
