// Figures, percentiles, the printed table and the JSON each benchmark writes to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.js';

export interface Figure {
  /** what is measured, e.g. "review overhead p50" */
  figure: string;
  /** the target as written in the issue, e.g. "< 300 ms" */
  target: string;
  measured: number;
  unit: string;
  /** true when the target is met; null where there is no target (report only) */
  pass: boolean | null;
  /** the same-run baseline this figure is compared with, where there is one */
  baseline?: { label: string; value: number; unit: string };
  /** measured / baseline, or the ratio the target is stated in */
  ratio?: number;
  note?: string;
}

export interface BenchResult {
  name: string;
  command: string;
  started_at: string;
  duration_s: number;
  machine: { cpus: number; cpu_model: string; memory_gb: number; node: string; platform: string; load_average_at_end: number[] };
  figures: Figure[];
  details: Record<string, unknown>;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // nearest rank: the smallest value with at least p% of the values at or below it
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export const median = (values: number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function summary(values: number[], digits = 1): { n: number; min: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const r = (v: number) => round(v, digits);
  return {
    n: values.length,
    min: r(Math.min(...values)),
    p50: r(percentile(values, 50)),
    p90: r(percentile(values, 90)),
    p99: r(percentile(values, 99)),
    max: r(Math.max(...values)),
    mean: r(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function machine(): BenchResult['machine'] {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    // other work on the machine shows here: figures taken under load are slower across the board
    load_average_at_end: os.loadavg().map((l) => round(l, 2)),
  };
}

/** Starts the clock of a benchmark; `finish` prints its table and writes its JSON. */
export function startBench(name: string) {
  const started = new Date();
  const t0 = performance.now();
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  log(name, `started on ${os.cpus().length} cores`);
  return {
    figures,
    details,
    log: (message: string) => log(name, message),
    add(figure: Figure) {
      figures.push(figure);
    },
    async finish(): Promise<BenchResult> {
      const result: BenchResult = {
        name,
        command: `npm run bench:${name}`,
        started_at: started.toISOString(),
        duration_s: round((performance.now() - t0) / 1000, 1),
        machine: machine(),
        figures,
        details,
      };
      const dir = path.join(ROOT, 'bench', 'results');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
      console.log(`\n${name} (${result.duration_s} s)\n${formatTable(figures)}\n`);
      return result;
    },
  };
}

function log(name: string, message: string) {
  const clock = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${name} ${clock}] ${message}\n`);
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`.trim();
}

export function figureRow(f: Figure): string[] {
  return [
    f.figure,
    f.target,
    formatValue(f.measured, f.unit),
    f.baseline ? `${f.baseline.label}: ${formatValue(f.baseline.value, f.baseline.unit)}` : '-',
    f.ratio !== undefined ? `${f.ratio}×` : '-',
    f.pass === null ? 'report' : f.pass ? 'met' : 'MISSED',
  ];
}

export const TABLE_HEADER = ['figure', 'target', 'measured', 'baseline (same run)', 'ratio', 'result'];

export function formatTable(figures: Figure[], extraFirstColumn?: string[]): string {
  const header = extraFirstColumn ? ['bench', ...TABLE_HEADER] : TABLE_HEADER;
  const rows = figures.map((f, i) => (extraFirstColumn ? [extraFirstColumn[i]!, ...figureRow(f)] : figureRow(f)));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
