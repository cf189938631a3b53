// `npm run bench`: every benchmark, one after another, each in its own process with its own
// Postgres and Temporal dev server; then one table of every figure, written to
// bench/results/summary.json and, as the Markdown table docs/BENCHMARKS.md quotes, summary.md.
// `npm run bench -- list-suggestions stats` runs only those (the summary keeps the others' latest).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { figureRow, formatTable, machine, round, type BenchResult, type Figure } from './lib/report.js';
import { ROOT } from './lib/paths.js';

const ALL = ['log-tail', 'list-suggestions', 'stats', 'review-overhead', 'approve-apply', 'bulk-decisions', 'review-throughput', 'schedule-reconcile', 'dashboard', 'memory', 'openclaw-turn', 'procclaw-import'];
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = chosen.length > 0 ? chosen : ALL;
for (const name of names) if (!ALL.includes(name)) throw new Error(`no benchmark "${name}"; there are: ${ALL.join(', ')}`);

const results = path.join(ROOT, 'bench', 'results');
const t0 = performance.now();
const runs: { name: string; code: number; seconds: number }[] = [];
for (const name of names) {
  const started = performance.now();
  process.stderr.write(`\n=== ${name} ===\n`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'bench', `${name}.ts`)], { cwd: ROOT, stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  runs.push({ name, code, seconds: round((performance.now() - started) / 1000, 0) });
}

// The summary holds every benchmark's latest result (this run's, or an earlier one's for those
// not run now), so running one benchmark again updates its rows and keeps the others.
const figures: Figure[] = [];
const benches: string[] = [];
const when: Record<string, string> = {};
for (const name of ALL) {
  const file = path.join(results, `${name}.json`);
  const run = runs.find((r) => r.name === name);
  if (run && run.code !== 0) {
    figures.push({ figure: `${name}: did not finish (exit ${run.code})`, target: '-', measured: Number.NaN, unit: '', pass: false });
    benches.push(name);
    continue;
  }
  if (!existsSync(file)) continue;
  const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  when[name] = result.started_at;
  for (const f of result.figures) {
    figures.push(f);
    benches.push(name);
  }
}
const total = round((performance.now() - t0) / 1000, 0);
console.log(`\nall benchmarks (${total} s)\n${formatTable(figures, benches)}\n`);

const markdown = [
  '| bench | figure | target | measured | baseline (same run) | ratio | result | command |',
  '|---|---|---|---|---|---|---|---|',
  ...figures.map((f, i) => `| ${benches[i]} | ${figureRow(f).map((c) => c.replaceAll('|', '\\|')).join(' | ')} | \`npm run bench:${benches[i]}\` |`),
].join('\n');
await writeFile(path.join(results, 'summary.md'), `${markdown}\n`);
await writeFile(
  path.join(results, 'summary.json'),
  `${JSON.stringify({ finished_at: new Date().toISOString(), total_s: total, machine: machine(), runs, results_from: when, figures: figures.map((f, i) => ({ bench: benches[i], ...f })) }, null, 2)}\n`,
);
process.exit(runs.some((r) => r.code !== 0) ? 1 : 0);
