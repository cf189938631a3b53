// `npm run drill`: the five drills one after another, each in its own process with its own
// Postgres and Temporal, then one table of what they found. `npm run drill -- postgres sigterm`
// runs only those. Exits non-zero when any drill failed.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DrillResult } from './lib.js';
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DRILLS: { key: string; file: string }[] = [
  { key: 'postgres', file: 'postgres-outage.ts' },
  { key: 'temporal', file: 'temporal-restart.ts' },
  { key: 'worker', file: 'worker-kill.ts' },
  { key: 'sigterm', file: 'sigterm.ts' },
  { key: 'scale', file: 'scale.ts' },
];

const wanted = process.argv.slice(2);
const chosen = wanted.length === 0 ? DRILLS : DRILLS.filter((d) => wanted.some((w) => d.key === w || d.file.startsWith(w)));
if (chosen.length === 0) {
  console.error(`no such drill: ${wanted.join(' ')} (choose from ${DRILLS.map((d) => d.key).join(', ')})`);
  process.exit(2);
}

const temporalCli: string = process.env.TEMPORAL_CLI_PATH || (await resolveTemporalCli({ log: (m: string) => console.log(`[drill] ${m}`) }));
const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-drills-'));
const resultFile = path.join(dir, 'results.jsonl');
const started = Date.now();
const exitCodes = new Map<string, number | null>();

for (const drill of chosen) {
  console.log(`\n######## drill ${drill.key}: tsx test/drills/${drill.file}\n`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(HERE, drill.file)], {
      env: { ...process.env, TEMPORAL_CLI_PATH: temporalCli, DRILL_RESULT_FILE: resultFile },
      stdio: 'inherit',
    });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : null)));
  });
  exitCodes.set(drill.key, code);
}

const results = (await readFile(resultFile, 'utf8').catch(() => ''))
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as DrillResult);
await rm(dir, { recursive: true, force: true });

const rows = chosen.map((drill) => {
  const r = results.find((x) => x.drill === drill.file.replace(/\.ts$/, ''));
  if (!r) return [drill.key, '(did not report)', '-', '-', '-', '-', `FAIL (exit ${exitCodes.get(drill.key)})`];
  return [
    r.drill,
    r.fault,
    `${r.answers503} × 503, ${r.answers5xxOther} other`,
    String(r.lostDecisions),
    String(r.duplicateRows),
    String(r.writesOutside),
    `${r.ok && exitCodes.get(drill.key) === 0 ? 'PASS' : 'FAIL'} (${r.seconds} s)`,
  ];
});
const header = ['drill', 'injected fault', '5xx answers', 'lost decisions', 'duplicate rows', 'writes outside job files', 'result'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`\n######## fault drills: ${chosen.length} in ${Math.round((Date.now() - started) / 1000)} s\n`);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
for (const r of results) for (const f of r.failures) console.log(`\n${r.drill} FAILED: ${f}`);
const ok = chosen.every((d) => exitCodes.get(d.key) === 0);
console.log(ok ? '\nall drills passed' : '\nSOME DRILLS FAILED (their folders are kept; see above)');
process.exit(ok ? 0 : 1);
