// CPU time by process, read from /proc: which process a workload costs (the worker, the API, the
// Temporal dev server, Postgres, the benchmark itself), in CPU seconds.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after the last ")"
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime + stime, plus cutime + cstime: the time of children it has reaped (Postgres backends
    // that exited), so a tree's total never goes down
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) };
  } catch {
    return null;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** The process whose command line holds every one of `parts`, if one does. */
export function findPid(...parts: string[]): number | null {
  return allPids().find((pid) => {
    const line = cmdline(pid);
    return parts.every((p) => line.includes(p));
  }) ?? null;
}

/** A process and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const s = stat(pid);
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU seconds used so far by the processes (a tree is read afresh each time: Postgres forks). */
export function cpuSeconds(pids: () => number[]): number {
  return pids().reduce((n, pid) => n + (stat(pid)?.ticks ?? 0), 0) / TICKS_PER_SECOND;
}

export type CpuMeter = Record<string, () => number[]>;

/** Snapshot, then the CPU seconds each group used since. */
export function startCpu(groups: CpuMeter): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, cpuSeconds(pids)]));
  return () => Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, Math.round((cpuSeconds(pids) - before[k]!) * 100) / 100]));
}

/**
 * Waits until the processes are idle (under `busyShare` of one core, summed, over each `windowMs`)
 * or `maxMs` passed; answers how long it waited. Before a measured burst, so work an earlier
 * phase left (timers, notifications, workflows it started) is not counted in the next one's figures.
 */
export async function settle(groups: CpuMeter, opts: { busyShare?: number; windowMs?: number; maxMs?: number } = {}): Promise<number> {
  const { busyShare = 0.05, windowMs = 1_000, maxMs = 120_000 } = opts;
  const t0 = Date.now();
  const all = () => Object.values(groups).flatMap((pids) => pids());
  while (Date.now() - t0 < maxMs) {
    const before = cpuSeconds(all);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    if ((cpuSeconds(all) - before) / (windowMs / 1000) < busyShare) break;
  }
  return Date.now() - t0;
}
