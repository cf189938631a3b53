// Redaction before anything leaves for an analyzer, and putting the values back into a file the
// analyzer rewrote.
import { describe, expect, it } from 'vitest';
import { boundResult } from '../../activities/analyze.js';
import { buildAnalysisPrompt, buildRewritePrompt } from '../../core/prompt.js';
import { contextRedactor, MARKER, redactContext, redactForRewrite, redactText, rehydrate } from '../../core/redact.js';
import type { AnalysisResult, SuggestionDraft } from '../../core/review.js';
import { analyzeWithRules } from '../../core/rules/index.js';
import { CONFIG_PATH, CONFIG_YAML, SCRIPT_PATH, makeContext, makeFile, makeJob, makeLog, makeRun } from './factories.js';

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const GITHUB = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const BEARER = 'eyJhbGciOi.J9sLongBearerToken_1234567890';
const DB_PASSWORD = 'Tr0ub4dor&3-horse';
const URL_PASSWORD = 'p4ssW0rd-in-url';

function markers(text: string): string[] {
  return [...text.matchAll(MARKER)].map((m) => m[0]);
}

describe('redactText', () => {
  const cases: { name: string; text: string; secret: string; kind: RegExp; keep?: string }[] = [
    { name: 'an AWS access key id', text: `export AWS_ACCESS_KEY_ID=${AWS_KEY}`, secret: AWS_KEY, kind: /aws-access-key-id/, keep: 'export AWS_ACCESS_KEY_ID=' },
    { name: 'an AWS secret key assignment', text: `aws_secret_access_key = ${AWS_SECRET}`, secret: AWS_SECRET, kind: /secret|key/ },
    { name: 'a GitHub token in prose', text: `cloning with ${GITHUB} now`, secret: GITHUB, kind: /github-token/, keep: 'cloning with ' },
    { name: 'an Authorization header', text: `curl -H 'Authorization: Bearer ${BEARER}' https://api.example.com`, secret: BEARER, kind: /authorization|bearer/, keep: 'Authorization: Bearer ' },
    { name: 'a bare bearer token in a log', text: `sent request with Bearer ${BEARER} -> 401`, secret: BEARER, kind: /bearer/ },
    { name: 'a password in a URL', text: `DATABASE_URL=postgres://app:${URL_PASSWORD}@db.internal:5432/orders`, secret: URL_PASSWORD, kind: /url-password/, keep: 'postgres://app:' },
    { name: 'a quoted shell password', text: `export DB_PASSWORD="${DB_PASSWORD}"`, secret: DB_PASSWORD, kind: /password/ },
    { name: 'a YAML token', text: `auth:\n  api_token: ${GITHUB.slice(4)}\n`, secret: GITHUB.slice(4), kind: /token/, keep: 'api_token: ' },
    { name: 'a JSON secret', text: `{"client_secret": "${DB_PASSWORD}", "user": "bob"}`, secret: DB_PASSWORD, kind: /secret/, keep: '"user": "bob"' },
    { name: 'a command-line flag', text: `mysql --password ${DB_PASSWORD} orders`, secret: DB_PASSWORD, kind: /password/, keep: 'mysql --password ' },
    { name: 'curl -u user:pass', text: `curl -u admin:${DB_PASSWORD} https://x`, secret: DB_PASSWORD, kind: /password/, keep: 'curl -u admin:' },
    {
      name: 'a private key block',
      text: 'before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACD\n-----END OPENSSH PRIVATE KEY-----\nafter',
      secret: 'b3BlbnNzaC1rZXktdjEAAAAA',
      kind: /private-key/,
      keep: 'after',
    },
  ];
  for (const c of cases) {
    it(`replaces ${c.name} with a marker naming its kind`, () => {
      const r = redactText(c.text);
      expect(r.text).not.toContain(c.secret);
      expect(r.count).toBeGreaterThan(0);
      const found = markers(r.text);
      expect(found.length).toBeGreaterThan(0);
      expect(found.join(' ')).toMatch(c.kind);
      if (c.keep) expect(r.text).toContain(c.keep);
    });
  }

  it('replaces env values everywhere, and a secret found once wherever it recurs', () => {
    const r = redactText(`login s3cr3t-env-value ok\npassword=hunter2-xyz\nretrying with hunter2-xyz`, ['s3cr3t-env-value']);
    expect(r.text).toBe('login [REDACTED:env#1] ok\npassword=[REDACTED:password#2]\nretrying with [REDACTED:password#2]');
    expect(r.count).toBe(3);
    expect(r.kinds).toEqual(['env', 'password']);
  });

  it('is deterministic: the same input gives the same markers', () => {
    const text = `A=${AWS_KEY} B=${GITHUB} password: "${DB_PASSWORD}"`;
    expect(redactText(text, ['abcd1234']).text).toBe(redactText(text, ['abcd1234']).text);
  });

  it('leaves references, placeholders, code and ordinary words alone', () => {
    const text = [
      'PASSWORD="${DB_PASSWORD}"',
      'API_KEY=changeme',
      'TOKEN=$(cat /run/secrets/token)',
      'password = os.environ["DB_PASSWORD"]',
      'token = get_token()',
      'const apiKey = process.env.API_KEY;',
      'max_tokens=4000',
      'postgres://app@db/orders',
      'the token expired, asking for a new one',
    ].join('\n');
    expect(redactText(text)).toEqual({ text, count: 0, kinds: [] });
  });

  it('skips env values too short or too common to be secrets', () => {
    expect(redactText('mode is on and true and abc', ['on', 'true', 'abc']).count).toBe(0);
  });

  it('does not redact its own markers again', () => {
    const once = redactText(`password: ${DB_PASSWORD}\nAuthorization: Bearer ${BEARER}`).text;
    expect(redactText(once).text).toBe(once);
  });

  it('finds secrets inside JSON-escaped text (a raw answer)', () => {
    const raw = JSON.stringify({ text: JSON.stringify({ password: DB_PASSWORD, url: `https://u:${URL_PASSWORD}@h/x` }) });
    const r = redactText(raw, [DB_PASSWORD]);
    expect(r.text).not.toContain(DB_PASSWORD);
    expect(r.text).not.toContain(URL_PASSWORD);
  });

  it('on hostile text keeps plain lines, hides a cut-off key block and still finds the secrets after it', () => {
    const plain = 'a'.repeat(300_000);
    const hostile = [
      plain,
      'password='.repeat(20_000),
      'http://'.repeat(20_000) + 'x:'.repeat(20_000),
      '-----BEGIN RSA PRIVATE KEY-----'.repeat(2_000),
      'Authorization: '.repeat(20_000),
    ].join('\n');
    const r = redactText(`${hostile}\n\nexport DB_PASSWORD="${DB_PASSWORD}" key ${AWS_KEY} env abcdef`, ['abcdef', 'ghijkl']);
    expect(r.text.startsWith(`${plain}\n`)).toBe(true);
    expect(r.text).not.toContain('BEGIN RSA PRIVATE KEY');
    expect(r.text.split('\n').at(-1)).toMatch(/^export DB_PASSWORD="\[REDACTED:password#\d+\]" key \[REDACTED:aws-access-key-id#\d+\] env \[REDACTED:env#1\]$/);
  });
});

describe('redactContext', () => {
  const script = [
    '#!/usr/bin/env bash',
    'set -euo pipefail',
    `export AWS_ACCESS_KEY_ID=${AWS_KEY}`,
    `export AWS_SECRET_ACCESS_KEY="${AWS_SECRET}"`,
    'aws s3 cp /tmp/orders.sql s3://backups/orders.sql',
    '',
  ].join('\n');
  const failed = makeRun(11, { exit_code: 1, error: `401 Unauthorized for Bearer ${BEARER}` });
  const ctx = makeContext({
    job: makeJob({ env: { DB_PASSWORD, REGION: 'eu-west-1', DEBUG: 'true', PIN: 987654 }, cmd: `./backup.sh --token ${GITHUB}` }),
    runs: [...makeContext().runs, failed],
    files: [makeFile('config', CONFIG_PATH, `${CONFIG_YAML}env:\n  DB_PASSWORD: "${DB_PASSWORD}"\n`), makeFile('script', SCRIPT_PATH, script)],
    logs: [makeLog(failed, ['starting backup', `curl -H "Authorization: Bearer ${BEARER}"`, `psql -d orders password=${DB_PASSWORD}`])],
    sla_violations: [{ run_id: 11, reason: `timeout connecting as app:${URL_PASSWORD}` }],
    ai_sessions: [{ run_id: 11, messages: [{ role: 'user', content: `use postgres://app:${URL_PASSWORD}@db/orders` }] }],
    business_log: { lines: [`exported with key ${AWS_KEY}`], summary: `pin 987654 used`, context_prompt: null },
  });
  const secrets = [AWS_KEY, AWS_SECRET, GITHUB, BEARER, DB_PASSWORD, URL_PASSWORD, '987654'];

  it('leaves no secret in any piece and counts what it replaced', () => {
    const { context, secrets: count } = redactContext(ctx);
    const all = JSON.stringify(context);
    for (const s of secrets) expect(all).not.toContain(s);
    expect(count).toBeGreaterThanOrEqual(secrets.length);
    // The same secret gets the same marker everywhere.
    const pw = markers(context.files[0]!.content).at(-1) as string;
    expect(pw).toMatch(/^\[REDACTED:env:DB_PASSWORD#\d+\]$/);
    expect(context.logs[0]!.lines.join('\n')).toContain(pw);
    expect(context.job.env?.DB_PASSWORD).toBe(pw);
    // Every env value is hidden, named after its variable; only words like "true" stay.
    expect(context.job.env?.REGION).toMatch(/^\[REDACTED:env:REGION#\d+\]$/);
    expect(context.job.env?.PIN).toMatch(/^\[REDACTED:env:PIN#\d+\]$/);
    expect(context.job.env?.DEBUG).toBe('true');
    expect(context.runs.length).toBe(ctx.runs.length);
  });

  it('gives a prompt without the secrets, with markers and the instruction about them', () => {
    const prompt = buildAnalysisPrompt(redactContext(ctx).context);
    for (const s of secrets) expect(prompt).not.toContain(s);
    expect(markers(prompt).length).toBeGreaterThan(5);
    expect(prompt).toMatch(/keep every marker exactly as it is/);
  });

  it('is deterministic, so the marker map can be rebuilt later', () => {
    expect(JSON.stringify(redactContext(ctx).context)).toBe(JSON.stringify(redactContext(structuredClone(ctx)).context));
  });

  it('does not change the context it was given', () => {
    const before = JSON.stringify(ctx);
    redactContext(ctx);
    expect(JSON.stringify(ctx)).toBe(before);
  });

  it('keeps rules texts free of secrets the context holds', () => {
    const ok = makeContext().runs.slice(0, 6);
    const bad = [7, 8, 9, 10].map((id) => makeRun(id, { exit_code: 1, error: 'bad' }));
    const c = makeContext({
      runs: [...ok, ...bad],
      logs: [],
      job: makeJob({ env: { DB_PASSWORD } }),
      files: [makeFile('config', CONFIG_PATH, `${CONFIG_YAML}env:\n  DB_PASSWORD: "${DB_PASSWORD}"\n`)],
      config_changed_at: new Date(Date.parse(ok.at(-1)!.started_at) + 1000).toISOString(),
    });
    const raw = analyzeWithRules(c).find((s) => s.title === 'Failures began after a config change');
    expect(raw?.current_state).toContain(DB_PASSWORD); // the rules quote the config as it is...
    const r = contextRedactor(c);
    expect(r.redactKnown(raw!.current_state!)).not.toContain(DB_PASSWORD); // ...and analyze masks it
  });
});

describe('rehydrate', () => {
  const script = `#!/bin/bash\nexport API_TOKEN="${GITHUB}"\ncurl -H "Authorization: Bearer $API_TOKEN" https://x\n`;
  const ctx = makeContext({
    files: [makeFile('config', CONFIG_PATH, CONFIG_YAML), makeFile('script', SCRIPT_PATH, script)],
    logs: [makeLog(makeRun(1), [`password=${DB_PASSWORD}`])],
  });
  const { context, redactor } = redactContext(ctx);
  const redactedScript = context.files[1]!.content;
  const file = ctx.files[1]!;

  it('puts the file\'s own secrets back into content rewritten from the redacted file', () => {
    expect(redactedScript).not.toContain(GITHUB);
    const proposed = `${redactedScript}echo done\n`;
    expect(rehydrate(proposed, file, redactor)).toEqual({ content: `${script}echo done\n` });
  });

  it('rebuilds the same map from the same context', () => {
    const again = redactContext(structuredClone(ctx)).redactor;
    expect(rehydrate(redactedScript, file, again)).toEqual({ content: script });
  });

  it('refuses a marker for a secret of another piece (a log) and an invented marker', () => {
    const logMarker = markers(context.logs[0]!.lines[0]!)[0] as string;
    const moved = rehydrate(`${redactedScript}export DB_PASSWORD=${logMarker}\n`, file, redactor);
    expect(moved).toMatchObject({ reason: expect.stringMatching(/not in this file/) });
    expect(rehydrate(`${redactedScript}x=[REDACTED:password#999]\n`, file, redactor)).toMatchObject({ reason: expect.stringMatching(/stands for no secret/) });
  });

  it('leaves content without markers as it is', () => {
    expect(rehydrate('plain', file, redactor)).toEqual({ content: 'plain' });
  });
});

describe('redactForRewrite', () => {
  it('sends a file to be rewritten without its secrets or env values, and puts them back in the answer', () => {
    const config = `${CONFIG_YAML}env:\n  REGION: eu-central-7\n  DB_PASSWORD: "${DB_PASSWORD}"\n`;
    const file = makeFile('config', CONFIG_PATH, config);
    const shown = redactForRewrite(file, `Add retries; keep password ${DB_PASSWORD} where it is.`);
    const prompt = buildRewritePrompt(shown.file, shown.change);
    expect(prompt).not.toContain(DB_PASSWORD);
    expect(prompt).not.toContain('eu-central-7');
    expect(prompt).toMatch(/\[REDACTED:env:DB_PASSWORD#\d+\]/);
    const answer = `${shown.file.content}retry:\n  enabled: true\n`;
    expect(shown.restore(answer)).toEqual({ content: `${config}retry:\n  enabled: true\n` });
    expect(shown.restore(`${shown.file.content}x: [REDACTED:token#42]\n`)).toHaveProperty('reason');
  });
});

describe('boundResult', () => {
  const draft = (i: number, size: number): SuggestionDraft => ({
    category: 'config',
    severity: 'low',
    title: `Suggestion ${i}`,
    description: 'd'.repeat(size),
    current_state: 'c'.repeat(size),
    suggested_change: null,
    expected_impact: null,
    affected_files: [SCRIPT_PATH],
    target_file: SCRIPT_PATH,
    proposed_content: 'p'.repeat(size),
    auto_apply: null,
    severity_reported: null,
  });
  const result = (suggestions: SuggestionDraft[]): AnalysisResult => ({
    analyzer: 'openclaw',
    suggestions,
    dropped: [],
    ai_tokens_used: 1,
    ai_session_key: 's',
    raw_response: 'r'.repeat(200_000),
  });

  it('keeps a result that fits as it is', () => {
    const r = result([draft(1, 100)]);
    expect(boundResult(r)).toBe(r);
  });

  it('cuts a result too large for a Temporal payload, saying why', () => {
    const bounded = boundResult(result(Array.from({ length: 50 }, (_, i) => draft(i, 30_000))));
    expect(Buffer.byteLength(JSON.stringify(bounded))).toBeLessThanOrEqual(1_000_000);
    expect(bounded.suggestions.length).toBeGreaterThan(0);
    expect(bounded.suggestions.length).toBeLessThan(50);
    expect(bounded.dropped.some((d) => /too large/.test(d.reason))).toBe(true);
  });
});
