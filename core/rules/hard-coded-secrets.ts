// The hard-coded secrets rule: credentials written into a job's script, YAML or prompt. It
// reports them masked and, in a script, proposes the same file reading them from the environment.
import { countBand } from '../fingerprint.js';
import type { JobFile, SuggestionDraft } from '../review.js';
import { findSecrets, languageOf, maskedLine, quoteAt, type Lang, type SecretHit } from '../secrets.js';
import { draft, proposal } from './draft.js';
import { cite } from './evidence.js';
import type { Facts } from './facts.js';

/** Where each line of a script sits: inside a heredoc (quoted or not) or a multi-line string. */
function blockStates(lines: string[], lang: Lang): ('code' | 'heredoc' | 'quoted-heredoc' | 'multiline')[] {
  const states: ('code' | 'heredoc' | 'quoted-heredoc' | 'multiline')[] = [];
  let heredoc: { tag: string; quoted: boolean } | null = null;
  let triple = 0;
  let backticks = 0;
  for (const line of lines) {
    if (heredoc) {
      states.push(heredoc.quoted ? 'quoted-heredoc' : 'heredoc');
      if (line.trim() === heredoc.tag) heredoc = null;
      continue;
    }
    const inMulti = (lang === 'python' && triple % 2 === 1) || (lang === 'node' && backticks % 2 === 1);
    states.push(inMulti ? 'multiline' : 'code');
    if (lang === 'python') triple += (line.match(/"""|'''/g) ?? []).length;
    if (lang === 'node') backticks += (line.match(/(?<!\\)`/g) ?? []).length;
    if (lang === 'shell' || lang === 'sh') {
      const m = line.match(/<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/);
      if (m) heredoc = { tag: m[2] as string, quoted: !!m[1] };
    }
  }
  return states;
}

/** The text that takes the literal's place, or null when no safe replacement is known. */
function replacement(lang: Lang, h: SecretHit, line: string, state: string): { start: number; end: number; text: string } | null {
  const name = h.name;
  if (lang === 'shell' || lang === 'sh') {
    if (state === 'quoted-heredoc') return null;
    if (state === 'heredoc') return { start: h.start, end: h.end, text: `\${${name}}` };
    if (h.ownQuote) return { start: h.start - 1, end: h.end + 1, text: `"\${${name}}"` };
    const inside = quoteAt(line, h.start);
    if (inside?.q === "'") {
      // Close the single quotes around a double-quoted expansion; skip quote pairs that would be empty.
      const opens = line[h.start - 1] === "'" && inside.at === h.start - 1;
      const closes = line[h.end] === "'";
      return { start: opens ? h.start - 1 : h.start, end: closes ? h.end + 1 : h.end, text: `${opens ? '' : "'"}"\${${name}}"${closes ? '' : "'"}` };
    }
    if (inside?.q === '"') return { start: h.start, end: h.end, text: `\${${name}}` };
    return { start: h.start, end: h.end, text: `"\${${name}}"` };
  }
  if (lang === 'python') {
    if (state !== 'code') return null;
    const ref = `os.environ["${name}"]`;
    if (h.ownQuote) return { start: h.start - 1, end: h.end + 1, text: ref };
    const inside = quoteAt(line, h.start);
    if (!inside || inside.q === '`') return null;
    const prefix = line.slice(Math.max(0, inside.at - 2), inside.at).toLowerCase();
    if (/b/.test(prefix)) return null; // bytes: a str would not concatenate
    if (/f/.test(prefix)) return { start: h.start, end: h.end, text: `{os.environ[${inside.q === '"' ? `'${name}'` : `"${name}"`}]}` };
    return { start: h.start, end: h.end, text: `${inside.q} + ${ref} + ${inside.q}` };
  }
  if (lang === 'node') {
    const ref = `process.env.${name}`;
    if (state === 'multiline') return { start: h.start, end: h.end, text: `\${${ref}}` };
    if (h.ownQuote) return { start: h.start - 1, end: h.end + 1, text: ref };
    const inside = quoteAt(line, h.start);
    if (!inside) return null;
    if (inside.q === '`') return { start: h.start, end: h.end, text: `\${${ref}}` };
    return { start: h.start, end: h.end, text: `${inside.q} + ${ref} + ${inside.q}` };
  }
  return null;
}

/** Adds `import os` before the first import (after __future__ imports) unless `os` is bound. */
function ensurePythonImportOs(lines: string[]): string[] {
  const bindsOs = (l: string) =>
    /^import\s/.test(l) && l.replace(/^import\s+/, '').split(',').some((part) => /^os(\.[\w.]+)?$/.test(part.trim()));
  if (lines.some(bindsOs)) return lines;
  let at = lines.findIndex((l) => /^(import|from)\s/.test(l) && !/^from\s+__future__\s/.test(l));
  if (at < 0) {
    at = 0;
    while (at < lines.length && (/^\s*#/.test(lines[at] as string) || /^from\s+__future__\s/.test(lines[at] as string))) at++;
  }
  return [...lines.slice(0, at), 'import os', ...lines.slice(at)];
}

/** The script with every literal replaced by an environment reference, or null if one cannot be. */
function withoutSecrets(file: JobFile, lang: Lang, hits: SecretHit[]): string | null {
  let lines = file.content.split('\n');
  const states = blockStates(lines, lang);
  const byLine = new Map<number, SecretHit[]>();
  for (const h of hits) byLine.set(h.line, [...(byLine.get(h.line) ?? []), h]);
  for (const [n, lineHits] of byLine) {
    let line = lines[n] as string;
    const edits = lineHits.map((h) => replacement(lang, h, line, states[n] ?? 'code'));
    if (edits.some((e) => e === null)) return null;
    for (const e of (edits as { start: number; end: number; text: string }[]).sort((a, b) => b.start - a.start)) {
      line = line.slice(0, e.start) + e.text + line.slice(e.end);
    }
    // `"" + os.environ["X"] + ""` reads badly: drop the empty literals the split left behind.
    lines[n] = line.replace(/(["'])\1 \+ /g, '').replace(/ \+ (["'])\1/g, '');
  }
  if (lang === 'python') lines = ensurePythonImportOs(lines);
  return lines.join('\n');
}

function secretNames(hits: SecretHit[]): void {
  // The same name for two different values would make one overwrite the other.
  const byName = new Map<string, string[]>();
  for (const h of hits) {
    const values = byName.get(h.name) ?? [];
    if (!values.includes(h.value)) values.push(h.value);
    byName.set(h.name, values);
    const index = values.indexOf(h.value);
    if (index > 0) h.name = `${h.name}_${index + 1}`;
  }
}

export function ruleSecrets(f: Facts): SuggestionDraft[] {
  const out: SuggestionDraft[] = [];
  for (const file of [f.script, f.config, f.prompt]) {
    if (!file) continue;
    const lang = languageOf(file, f.ctx.job.cmd);
    const { hits, privateKeyLines } = findSecrets(file, lang);
    if (hits.length === 0 && privateKeyLines.length === 0) continue;
    secretNames(hits);
    const lines = file.content.split('\n');
    const evidence = [...new Set(hits.map((h) => h.line))].slice(0, 10).map((n) => `line ${n + 1}: ${maskedLine(lines[n] as string, hits.filter((h) => h.line === n))}`);
    for (const n of privateKeyLines.slice(0, 3)) evidence.push(`line ${n}: ${(lines[n - 1] as string).trim()} (a private key)`);
    const names = [...new Set(hits.map((h) => h.name))];
    const kinds = [...new Set([...hits.map((h) => h.kind), ...(privateKeyLines.length ? ['private key'] : [])])];
    const rewritable = file.role === 'script' && privateKeyLines.length === 0;
    const edit = rewritable ? proposal(file, withoutSecrets(file, lang, hits)) : null;
    const role = file.role === 'config' ? 'job config' : file.role;
    out.push(draft({
      category: 'security',
      severity: 'critical',
      title: `Hard-coded secret in ${role}`,
      // The lines as the description shows them: the secret masked.
      evidence: cite(f, {
        files: [
          ...[...new Set(hits.map((h) => h.line))].slice(0, 10).map((n) => ({ file, from: n + 1, to: n + 1, lines: [maskedLine(lines[n] as string, hits.filter((h) => h.line === n))] })),
          ...privateKeyLines.slice(0, 3).map((n) => ({ file, from: n, to: n, lines: ['(a private key)'] })),
        ],
      }),
      description:
        `${file.path} contains ${hits.length + privateKeyLines.length} hard-coded secret(s) (${kinds.join(', ')}), values masked here:\n` +
        `${evidence.map((e) => `- ${e}`).join('\n')}\n` +
        'Anyone who can read the file, its backups or its history has the credential; rotate it.',
      current_state: evidence.join('\n'),
      suggested_change: edit
        ? `Read the secret from the environment instead (${names.join(', ')}), set it from the runner's secret store, and rotate the exposed value.`
        : privateKeyLines.length
          ? 'Move the private key to a file outside the job folder readable only by the job user (or a secret store), reference it by path, and rotate the key.'
          : `Move the value to the runner's secret store and pass it in as an environment variable (${names.join(', ')}); rotate the exposed value.`,
      expected_impact: 'The credential no longer sits in plain text in the job files, backups or the review history.',
      affected_files: [file.path],
      // The job fails until the variable is set: a person must do that first.
      auto_apply: false,
      // another secret (a new name or kind, another count) is new evidence; the values never take part
      figures: { names: [...names].sort().join(', ').slice(0, 300), kinds: [...kinds].sort().join(', ').slice(0, 300), secrets: countBand(hits.length + privateKeyLines.length) },
      ...(edit ?? {}),
    }));
  }
  return out;
}
