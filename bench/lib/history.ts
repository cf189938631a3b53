// Where a workflow's time goes, from its Temporal history: for each activity, the time it waited
// in its task queue (scheduled -> started) and ran (started -> closed); for workflow tasks the
// same. The profile that explains a review's latency.
import type { Client } from '@temporalio/client';
import { median, round } from './report.js';

export interface StepTimes {
  /** activity type, or "workflow task" */
  step: string;
  queue_ms: number;
  run_ms: number;
}

function ms(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return Number.NaN;
  return Number(ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6;
}

export async function workflowSteps(client: Client, workflowId: string, runId?: string): Promise<{ steps: StepTimes[]; total_ms: number }> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const byId = new Map<number, (typeof events)[number]>();
  for (const e of events) byId.set(Number(e.eventId), e);
  const steps: StepTimes[] = [];
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes ?? e.workflowTaskStartedEventAttributes;
    if (started) {
      const scheduled = byId.get(Number(started.scheduledEventId));
      const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? 'workflow task';
      const closed = events.find((c) => {
        const a = c.activityTaskCompletedEventAttributes ?? c.activityTaskFailedEventAttributes ?? c.workflowTaskCompletedEventAttributes ?? c.workflowTaskFailedEventAttributes;
        return a && Number(a.startedEventId) === Number(e.eventId);
      });
      steps.push({ step: type, queue_ms: ms(e.eventTime) - ms(scheduled?.eventTime), run_ms: closed ? ms(closed.eventTime) - ms(e.eventTime) : Number.NaN });
    }
  }
  const total = events.length > 1 ? ms(events.at(-1)!.eventTime) - ms(events[0]!.eventTime) : 0;
  return { steps, total_ms: total };
}

/** The median queue and run time of each step across many workflows, and how many of each ran. */
export function profile(all: StepTimes[][]): Record<string, { count_per_workflow: number; queue_ms_p50: number; run_ms_p50: number; queue_ms_sum_p50: number; run_ms_sum_p50: number }> {
  const names = [...new Set(all.flatMap((steps) => steps.map((s) => s.step)))];
  return Object.fromEntries(
    names.map((name) => {
      const per = all.map((steps) => steps.filter((s) => s.step === name));
      const flat = per.flat();
      return [
        name,
        {
          count_per_workflow: round(flat.length / all.length, 1),
          queue_ms_p50: round(median(flat.map((s) => s.queue_ms))),
          run_ms_p50: round(median(flat.map((s) => s.run_ms))),
          queue_ms_sum_p50: round(median(per.map((steps) => steps.reduce((n, s) => n + s.queue_ms, 0)))),
          run_ms_sum_p50: round(median(per.map((steps) => steps.reduce((n, s) => n + s.run_ms, 0)))),
        },
      ];
    }),
  );
}
