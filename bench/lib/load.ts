// Load from many concurrent clients with autocannon, and single-client timings per request.
import autocannon, { type Result } from 'autocannon';
import { round } from './report.js';

export interface LoadResult {
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** answers 304 Not Modified (counted in non2xx too) */
  not_modified: number;
}

/** A path, or a request with headers (If-None-Match for a conditional one). */
export type LoadRequest = string | { path: string; headers: Record<string, string> };

export async function load(url: string, paths: LoadRequest[], opts: { connections: number; seconds: number }): Promise<LoadResult> {
  const result: Result = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.seconds,
    timeout: 10,
    requests: paths.map((r) => (typeof r === 'string' ? { method: 'GET', path: r } : { method: 'GET', ...r })),
  });
  return {
    requests: result.requests.total,
    rps: round(result.requests.average, 0),
    p50_ms: result.latency.p50,
    p90_ms: result.latency.p90,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    not_modified: result['3xx'],
  };
}

/** Each path alone, one request at a time: which query is slow, without queueing in the way. */
export async function perPath(url: string, paths: Record<string, string>, reps: number): Promise<Record<string, { p50_ms: number; max_ms: number; bytes: number }>> {
  const out: Record<string, { p50_ms: number; max_ms: number; bytes: number }> = {};
  for (const [name, path] of Object.entries(paths)) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const response = await fetch(url + path);
      const body = await response.arrayBuffer();
      times.push(performance.now() - t0);
      bytes = body.byteLength;
      if (!response.ok) throw new Error(`${path} answered ${response.status}: ${new TextDecoder().decode(body).slice(0, 300)}`);
    }
    times.sort((a, b) => a - b);
    out[name] = { p50_ms: round(times[Math.floor(times.length / 2)]!, 1), max_ms: round(times.at(-1)!, 1), bytes };
  }
  return out;
}
