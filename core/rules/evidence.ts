// How the rules quote their evidence: durations, run ids, shares and log lines, each bounded so
// a suggestion stays readable however many runs it cites.

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m}m ${String(rest).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** "#4, #7 and 3 more": run ids as evidence, bounded. */
export function runList(runs: { id: number }[], max = 8): string {
  const ids = runs.slice(0, max).map((r) => `#${r.id}`);
  const more = runs.length - ids.length;
  return more > 0 ? `${ids.join(', ')} and ${more} more` : ids.join(', ');
}

/** `part` of `whole` in percent, one decimal. */
export function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10;
}

export function quote(line: string, max = 300): string {
  const t = line.trim();
  return `"${t.length > max ? `${t.slice(0, max)}…` : t}"`;
}
