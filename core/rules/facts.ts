// What every rule reads: the review context with its runs sorted into finished and failed, logs
// by run, the job's files by role, and the titles of the rules that already fired.
import type { JobFile, ReviewContext, RunSummary } from '../review.js';
import { isFailed, isFinished } from './runs.js';

export interface Facts {
  ctx: ReviewContext;
  finished: RunSummary[];
  failed: RunSummary[];
  logs: Map<number, string[]>;
  config: JobFile | undefined;
  script: JobFile | undefined;
  prompt: JobFile | undefined;
  /** titles of rules that fired, so later rules can avoid repeating the same evidence */
  fired: Set<string>;
}

export function collectFacts(ctx: ReviewContext): Facts {
  const finished = ctx.runs.filter(isFinished);
  return {
    ctx,
    finished,
    failed: finished.filter(isFailed),
    logs: new Map(ctx.logs.map((l) => [l.run_id, l.lines])),
    config: ctx.files.find((file) => file.role === 'config'),
    script: ctx.files.find((file) => file.role === 'script'),
    prompt: ctx.files.find((file) => file.role === 'prompt'),
    fired: new Set(),
  };
}

/** The run's recorded error, then its log lines. */
export function logText(f: Facts, run: RunSummary): string[] {
  return [...(run.error ? [run.error] : []), ...(f.logs.get(run.id) ?? [])];
}
