// What a review looks at and what an analyzer gives back. Plain data: it crosses Temporal
// activity boundaries as JSON, so every piece is bounded in size by whoever builds it.
import { z } from 'zod';
import { CATEGORIES, SEVERITIES, type JobConfig, type ResolvedTimeZone } from './job.js';

export const TRIGGERS = ['scheduled', 'manual', 'on_failure', 'on_sla_breach'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/**
 * The reactive review a new run calls for, if any: a failed run for `on_failure` jobs, an SLA
 * breach for `on_sla_breach` ones, when healing is enabled. Run reports and imports both ask here.
 */
export function reactiveTrigger(config: JobConfig, run: { exit_code: number | null; sla_status: string | null }): Trigger | null {
  const healing = config.self_healing;
  if (!healing.enabled) return null;
  const frequency = healing.review_schedule.frequency;
  if (frequency === 'on_failure' && run.exit_code !== null && run.exit_code !== 0) return 'on_failure';
  if (frequency === 'on_sla_breach' && run.sla_status === 'fail') return 'on_sla_breach';
  return null;
}

export const REVIEW_STATUSES = ['running', 'completed', 'skipped', 'failed'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const SLA_STATUSES = ['pass', 'fail', 'unknown'] as const;
export type SlaStatus = (typeof SLA_STATUSES)[number];

/** One run, as the analyzer sees it. */
export interface RunSummary {
  id: number;
  external_id: string;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  duration_ms: number | null;
  trigger: string | null;
  error: string | null;
  sla_status: SlaStatus | null;
}

/** A file of the job's own set, with the content the analysis was made against. */
export interface JobFile {
  /** `config`: the job's YAML; `script`: the file its `cmd` runs; `prompt`: an openclaw job's prompt */
  role: 'config' | 'script' | 'prompt';
  path: string;
  content: string;
  sha256: string;
  /** true when the file was larger than the context keeps: never propose a full rewrite of it */
  truncated: boolean;
}

export interface RunLog {
  run_id: number;
  exit_code: number | null;
  /** the last lines of the run's log, oldest first */
  lines: string[];
}

export interface SessionMessage {
  role: string;
  content: string;
}

export interface ReviewContext {
  job_id: string;
  job: JobConfig;
  mode: 'reactive' | 'proactive';
  trigger: Trigger;
  /** the interval between scheduled runs in seconds, when the job's cron schedule gives one */
  schedule_interval_s: number | null;
  /** the zone the job's schedule runs in and where it came from (absent from older workers' contexts) */
  job_timezone?: ResolvedTimeZone;
  runs: RunSummary[];
  logs: RunLog[];
  files: JobFile[];
  sla_violations: { run_id: number; reason: string }[];
  ai_sessions: { run_id: number; messages: SessionMessage[] }[];
  business_log: { lines: string[]; summary: string | null; context_prompt: string | null } | null;
  /** when the job's YAML was last modified (ISO), to tell failures that began after a config change */
  config_changed_at: string | null;
  /** what the review could not see: every suggestion of the review records it (absent from older workers' contexts) */
  missing?: MissingContext[];
  /** what people rejected for this job lately, newest first, bounded (absent from older workers' contexts) */
  rejections?: RejectionNote[];
}

/** A suggestion a person rejected for the job, as the next review is told of it. */
export interface RejectionNote {
  title: string;
  category: string;
  reason: string;
  rejected_at: string;
  /** a silence still on it: never again for this job, or not before `until` */
  silenced: { kind: 'never' } | { kind: 'not_now'; until: string } | null;
}

/** Something a review could not see, in a person's words: a suggestion made without it may be wrong. */
export const MISSING_CONTEXT_KINDS = ['truncated_log', 'unreadable_log', 'logs_not_read', 'missing_file', 'truncated_file', 'redacted', 'runs_beyond_lookback', 'runs_capped', 'prompt_cut'] as const;
export interface MissingContext {
  kind: (typeof MISSING_CONTEXT_KINDS)[number];
  detail: string;
}

/** Bounds of a suggestion's evidence, so a hostile answer cannot store a flood of citations. */
export const EVIDENCE_LIMITS = { runs: 50, ranges: 12, linesPerRange: 40, linesTotal: 40, lineChars: 240, slaKeys: 12 } as const;

const citedLines = {
  /** 1-based, inclusive: log lines as numbered in the review's excerpt of the log, file lines as in the file */
  from: z.number().int().min(1),
  to: z.number().int().min(1),
  /** the lines quoted, as the review had them (at most linesPerRange of them) */
  lines: z.array(z.string().max(EVIDENCE_LIMITS.lineChars + 1)).max(EVIDENCE_LIMITS.linesPerRange),
};

/** What a suggestion stands on: every citation is one the review actually had (healing_suggestions.evidence). */
export const EvidenceSchema = z.object({
  runs: z.array(z.object({ id: z.number().int(), external_id: z.string().max(300).nullable() })).max(EVIDENCE_LIMITS.runs),
  /** a run's log (run_id) or the business log (file "business_log") */
  log_lines: z.array(z.object({ run_id: z.number().int().nullable(), file: z.string().max(4096).nullable(), ...citedLines })).max(EVIDENCE_LIMITS.ranges),
  /** lines of the job's own files: its YAML, script or prompt */
  config_lines: z.array(z.object({ file: z.string().max(4096), ...citedLines })).max(EVIDENCE_LIMITS.ranges),
  sla: z.record(z.string().max(60), z.union([z.number(), z.string().max(300), z.null()])).nullable(),
  /** citations of the analyzer that named something the review did not send (dropped) */
  dropped_citations: z.number().int().min(0),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

export function emptyEvidence(): Evidence {
  return { runs: [], log_lines: [], config_lines: [], sla: null, dropped_citations: 0 };
}

/** A suggestion as an analyzer proposes it, before it is stored. */
export const SuggestionDraftSchema = z.object({
  category: z.enum(CATEGORIES),
  severity: z.enum(SEVERITIES),
  title: z.string().min(1).max(200),
  description: z.string().max(20_000).default(''),
  current_state: z.string().max(200_000).nullable().default(null),
  suggested_change: z.string().max(200_000).nullable().default(null),
  expected_impact: z.string().max(5_000).nullable().default(null),
  affected_files: z.array(z.string().max(4096)).max(50).default([]),
  target_file: z.string().max(4096).nullable().default(null),
  proposed_content: z.string().max(2_000_000).nullable().default(null),
  /** the analyzer's veto: false means a person must decide whatever the policy says */
  auto_apply: z.boolean().nullable().default(null),
  /** the severity as the analyzer wrote it when it was none of the four (then stored as medium) */
  severity_reported: z.string().max(100).nullable().default(null),
  /** what it cites (absent from older workers' drafts) */
  evidence: EvidenceSchema.optional(),
  /**
   * the rules analyzer's figures that made it fire, bucketed (core/fingerprint.ts): a finding a
   * person rejected comes back only when they change. Never taken from an AI answer (parse-ai sets none).
   */
  figures: z.record(z.string().max(40), z.union([z.string().max(300), z.number(), z.boolean()])).optional(),
});
export type SuggestionDraft = z.infer<typeof SuggestionDraftSchema>;

export interface AnalysisResult {
  analyzer: 'openclaw' | 'rules';
  suggestions: SuggestionDraft[];
  /** suggestions the parser dropped, with why, for the review's record */
  dropped: { title: string; reason: string }[];
  ai_tokens_used: number;
  ai_session_key: string | null;
  /** the analyzer's raw answer, kept for debugging (bounded) */
  raw_response: string | null;
}

const BELOW_MIN_RUNS = /; min_runs is \d+ \(trigger with force to review anyway\)$/;

/** Why a proactive review was skipped for too few runs; a forced review is not held back by it. */
export function belowMinRunsReason(runs: number, since: Date, minRuns: number): string {
  return `only ${runs} run(s) since ${since.toISOString()}; min_runs is ${minRuns} (trigger with force to review anyway)`;
}

/** A skip that `force` lifts (the one belowMinRunsReason words), so the dashboard can offer "review anyway". */
export function isBelowMinRunsSkip(reason: string | null | undefined): boolean {
  return typeof reason === 'string' && BELOW_MIN_RUNS.test(reason);
}
