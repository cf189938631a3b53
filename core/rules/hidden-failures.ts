// The hidden failures rule: a shell script without `set -e` whose runs exit 0 although a
// command in them failed; it proposes the script with `set -e` after the shebang.
import { countBand } from '../fingerprint.js';
import type { SuggestionDraft } from '../review.js';
import { languageOf } from '../secrets.js';
import { draft, proposal } from './draft.js';
import { cite, quote } from './evidence.js';
import type { Facts } from './facts.js';

const SHELL_ERROR = /command not found|no such file or directory|permission denied|syntax error|unbound variable|: line \d+: |^\s*(?:error|fatal)\b|\bERROR\b|\bFATAL\b/i;
const ERREXIT = /^\s*set\s+(?:-[a-zA-Z]*e[a-zA-Z]*\b|.*-o\s+errexit)/m;

export function ruleHiddenFailures(f: Facts): SuggestionDraft | null {
  const file = f.script;
  if (!file) return null;
  const lang = languageOf(file, f.ctx.job.cmd);
  if (lang !== 'shell' && lang !== 'sh') return null;
  const first = file.content.split('\n', 1)[0] ?? '';
  if (ERREXIT.test(file.content) || /^\s*set\s+\+e\b/m.test(file.content) || (first.startsWith('#!') && /\s-\w*e/.test(first))) return null;
  const hidden = f.finished
    .filter((r) => r.exit_code === 0)
    .flatMap((run) => {
      const line = (f.logs.get(run.id) ?? []).find((l) => SHELL_ERROR.test(l));
      return line ? [{ run, line }] : [];
    });
  if (hidden.length === 0) return null;
  const setLine = lang === 'sh' ? 'set -eu' : 'set -euo pipefail';
  const lines = file.content.split('\n');
  const at = first.startsWith('#!') ? 1 : 0;
  const next = [...lines.slice(0, at), setLine, ...lines.slice(at)].join('\n');
  const edit = proposal(file, next);
  return draft({
    category: 'script',
    severity: hidden.length >= 3 ? 'high' : 'medium',
    title: 'Script hides failures (no set -e)',
    evidence: cite(f, { runs: hidden.map((h) => h.run), lines: hidden.map((h) => ({ run: h.run.id, line: h.line })), files: [{ file, from: 1, to: Math.min(3, lines.length) }] }),
    description:
      `${hidden.length} run(s) exited 0 although a command failed: ${hidden.slice(0, 3).map((h) => `#${h.run.id} ${quote(h.line, 160)}`).join('; ')}. ` +
      `${file.path} has no \`set -e\`, so a failing command does not stop the script and the run is reported as a success.`,
    current_state: lines.slice(0, 3).join('\n'),
    suggested_change: `Add \`${setLine}\` after the shebang line so the first failing command fails the run.`,
    expected_impact: 'Failures are reported as failures, trigger alerts and reviews, and stop before later steps work on bad data.',
    affected_files: [file.path],
    // `-u` and `-e` change behaviour for commands that fail on purpose: a person should look.
    auto_apply: false,
    figures: { hidden_runs: countBand(hidden.length) },
    ...(edit ?? {}),
  });
}
