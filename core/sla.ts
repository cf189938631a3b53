// A run's SLA verdict from the job's `sla` settings: what `healing run` reports, and what the API
// fills in for a report that carries no verdict (one kept while the API was unreachable, say).
export type Sla = { max_duration?: number | undefined; enabled?: boolean | undefined };

/** Null when the job sets no duration bound. */
export function slaVerdict(sla: Sla | null, durationMs: number): { status: 'pass' | 'fail'; details: Record<string, unknown> } | null {
  if (!sla || sla.enabled === false || typeof sla.max_duration !== 'number') return null;
  const seconds = durationMs / 1000;
  const breached = seconds > sla.max_duration;
  return {
    status: breached ? 'fail' : 'pass',
    details: {
      duration_seconds: Math.round(seconds * 10) / 10,
      max_duration: sla.max_duration,
      duration_check: !breached,
      ...(breached ? { reason: `run took ${seconds.toFixed(1)} s, longer than the SLA max_duration of ${sla.max_duration} s` } : {}),
    },
  };
}
