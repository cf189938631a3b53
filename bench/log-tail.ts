// Log tail: the last lines of a 1 GB log (sparse-ish, see writeLog), read the way a review reads a run's log
// (activities/log-tail.ts: at most 32 KB from the end), beside a whole-file read of the same file
// in the same run (the seed's way, and the fastest whole read Node has: one readFile into a
// Buffer, then the last lines of it). Memory: resident size before and after 1,000 tails.
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { readFile, rm, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { readTailLines } from '../activities/log-tail.js';
import { median, round, startBench, summary } from './lib/report.js';

const SIZE = Number(process.env.BENCH_LOG_BYTES ?? 1024 ** 3);
const LINES = 60; // LIMITS.logLinesPerRun in activities/context.ts
const MAX_BYTES = 32 * 1024; // LIMITS.logBytesPerRun
const TAILS = 1_000;
const WHOLE_READS = 3;
const file = path.join(os.tmpdir(), `procclaw-bench-${SIZE}.log`);

const bench = startBench('log-tail');

/**
 * A sparse-ish real log: 64 MiB of varied log lines, a hole up to 64 MiB before the end (reads as
 * zeros, takes no disk and no time to write), then 64 MiB of lines ending in a distinct stretch.
 * The whole-file read still reads every byte; the hole only makes it faster, never slower.
 */
async function writeLog(): Promise<void> {
  const lines: string[] = [];
  for (let i = 0, bytes = 0; bytes < 1024 * 1024 - 200; i++) {
    lines.push(`2026-11-23T03:${String(i % 60).padStart(2, '0')}:00.000Z INFO sync batch=${i} rows=${(i * 7919) % 10_000} took=${(i * 31) % 900}ms partner=api.example.com status=ok`);
    bytes += lines.at(-1)!.length + 1;
  }
  const block = Buffer.from(`${lines.join('\n')}\n`);
  const REAL = 64 * 1024 * 1024;
  const tail: string[] = [];
  for (let i = 0, bytes = 0; bytes < 200 * 1024; i++) {
    tail.push(`2026-11-23T04:00:${String(i % 60).padStart(2, '0')}.000Z ERROR upload failed: connection reset by peer (attempt ${i})`);
    bytes += tail.at(-1)!.length + 1;
  }
  const last = Buffer.from(`${tail.join('\n')}\n`);
  const blocks = Math.floor((REAL - last.length) / block.length);
  const writeAt = async (start: number, count: number, end?: Buffer) => {
    const out = createWriteStream(file, { flags: start === 0 ? 'w' : 'r+', start });
    for (let i = 0; i < count; i++) if (!out.write(block)) await once(out, 'drain');
    out.end(end);
    await once(out, 'finish');
  };
  await writeAt(0, blocks);
  const secondStart = SIZE - blocks * block.length - last.length;
  await truncate(file, secondStart); // the hole: no disk, no time
  await writeAt(secondStart, blocks, last); // ends exactly at SIZE
}

const rssMb = () => round(process.memoryUsage().rss / 1024 / 1024, 1);
/** What JavaScript holds after a collection: its heap and the buffers outside it. */
const heapMb = () => {
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 1024 / 1024;
};
const gc = () => (globalThis as { gc?: () => void }).gc?.();

try {
  if (!existsSync(file) || statSync(file).size !== SIZE) {
    bench.log(`writing a ${round(SIZE / 1024 ** 3, 2)} GB log to ${file}`);
    await writeLog();
    bench.log('written');
  }
  const size = statSync(file).size;
  // the file was just written (or read by an earlier run): in the page cache for both readers
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));

  let last: string[] = [];
  const tails: number[] = [];
  for (let i = 0; i < TAILS; i++) {
    const t0 = performance.now();
    last = await readTailLines(file, LINES, MAX_BYTES);
    tails.push(performance.now() - t0);
  }
  // Memory: what a second round of as many tails leaves held, after a collection each side.
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  const before = rssMb();
  const heapBefore = heapMb();
  for (let i = 0; i < TAILS; i++) last = await readTailLines(file, LINES, MAX_BYTES);
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  const after = rssMb();
  const heapGrowth = round(heapMb() - heapBefore, 2);
  if (last.length !== LINES || !last.at(-1)!.includes('ERROR upload failed')) throw new Error(`unexpected tail: ${last.slice(-2).join(' | ')}`);

  const whole: number[] = [];
  const wholeRss: number[] = [];
  for (let i = 0; i < WHOLE_READS; i++) {
    gc();
    const base = rssMb();
    const t0 = performance.now();
    const buffer = await readFile(file);
    let end = buffer.length;
    for (let n = 0; n <= LINES && end > 0; end--) if (buffer[end - 1] === 0x0a && ++n > LINES) break;
    const lines = buffer.subarray(end).toString('utf8').split('\n').filter(Boolean);
    whole.push(performance.now() - t0);
    wholeRss.push(round(rssMb() - base, 0));
    if (lines.at(-1) !== last.at(-1)) throw new Error('the whole-file read and the tail disagree');
  }

  const t = summary(tails, 3);
  const w = median(whole);
  const ratio = w / t.p50;
  bench.add({
    figure: `log tail of a ${round(size / 1024 ** 3, 2)} GB log (p50 of ${TAILS})`,
    target: '< 10 ms, >= 100x faster',
    measured: t.p50,
    unit: 'ms',
    pass: t.p50 < 10 && ratio >= 100,
    baseline: { label: 'whole-file read', value: round(w, 0), unit: 'ms' },
    ratio: round(ratio, 0),
    note: `p99 ${t.p99} ms; whole read median of ${WHOLE_READS}`,
  });
  bench.add({
    figure: `memory held by ${TAILS} more tails (heap + buffers, after GC)`,
    target: 'flat',
    measured: heapGrowth,
    unit: 'MB',
    pass: Math.abs(heapGrowth) < 1,
    baseline: { label: 'whole-file read RSS growth', value: median(wholeRss), unit: 'MB' },
    note: `RSS ${before} -> ${after} MB (the allocator keeps freed pages; the heap is what is held)`,
  });
  Object.assign(bench.details, { file_bytes: size, lines: LINES, max_bytes: MAX_BYTES, tail_ms: t, whole_read_ms: whole.map((v) => round(v, 0)), whole_read_rss_growth_mb: wholeRss, rss_before_mb: before, rss_after_mb: after, heap_growth_mb: heapGrowth });
} finally {
  if (!process.env.BENCH_KEEP_LOG) await rm(file, { force: true });
}
await bench.finish();
