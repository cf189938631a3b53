// Summarises a V8 CPU profile (from BENCH_PROFILE=worker|api): self time by function and by file,
// so a benchmark's "where does the time go" is answered without opening a profiler UI.
//   npx tsx bench/profile-summary.ts bench/results/profiles/CPU.<...>.cpuprofile [top]
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const top = Number(topArg ?? 30);
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
// inclusive time by our own source files: a sample counts once for every file on its stack
const inclusive = new Map<string, number>();
for (const [id, us] of self) {
  const n = nodes.get(id)!;
  const short = n.callFrame.url.replace(/^.*\/work\/main\//, '').replace(/^file:\/\//, '') || '(native)';
  const fnKey = `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
  byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + us);
  const fileKey = short.includes('node_modules/') ? short.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1') : short;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const url = nodes.get(cur)!.callFrame.url;
    if (!url.includes('/work/main/') || url.includes('node_modules')) continue;
    const key = `${url.replace(/^.*\/work\/main\//, '')} ${nodes.get(cur)!.callFrame.functionName}`;
    if (!seen.has(key)) {
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
};
console.log(`total sampled: ${(total / 1e6).toFixed(1)} s`);
show('self time by package or file', byFile);
show('self time by function', byFn);
show('inclusive time in our own functions', inclusive);
