// Job configuration: one schema that both validates and types. Objects are loose so the fields
// ProcClaw models and this service does not are kept when a file is read and written back.
//
// ProcClaw's own job fields pass through untouched (never validated here, so a file ProcClaw loads
// always loads here too): shutdown, health_check, log {stdout, stderr}, alerts, depends_on,
// operating_hours, resources, priority (0-3), dedup, concurrency, lock, trigger, session_triggers,
// tags, on_overlap, run_at, queue, model, thinking, steps, jobs, callback, and self_healing's
// preset, analysis and notify (and remediation's fields besides the two modelled below). ProcClaw
// may also write `key: null` for an unset optional value: the fields modelled below read that as
// absent.
import { z } from 'zod';
import { applyWindowAt, describeApplyWindow, JobApplyWindowSchema, type ApplyWindow } from './apply-window.js';

export const CATEGORIES = ['performance', 'cost', 'reliability', 'security', 'config', 'prompt', 'script'] as const;
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const FREQUENCIES = ['hourly', 'daily', 'weekly', 'monthly', 'on_failure', 'on_sla_breach', 'manual'] as const;
/** ProcClaw's job types: the first four are the common ones; the rest are its one-shot and composite jobs. */
export const JOB_TYPES = ['scheduled', 'continuous', 'manual', 'openclaw', 'oneshot', 'chain', 'group', 'chord'] as const;

export type Category = (typeof CATEGORIES)[number];
export type Severity = (typeof SEVERITIES)[number];
export type Frequency = (typeof FREQUENCIES)[number];

/** An optional field that also accepts `null` (as ProcClaw and hand-written YAML write it) as absent. */
function absent<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema.optional());
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour), e.g. "03:00"');

/**
 * The highest min_runs: a review reads at most 200 runs since the last one (activities/context.ts
 * LIMITS.runs), so a larger value could never be met; the seed reads 100 and caps it there.
 */
export const MAX_MIN_RUNS = 100;

export const ReviewScheduleSchema = z.looseObject({
  frequency: z.enum(FREQUENCIES).default('daily'),
  time: hhmm.default('03:00'),
  day: z.number().int().min(0).max(6).default(1),
  day_of_month: z.number().int().min(1).max(28).default(1),
  min_runs: z
    .number()
    .int()
    .min(0)
    .max(MAX_MIN_RUNS, `must be at most ${MAX_MIN_RUNS}: a review reads a bounded number of runs (200 at most), so a larger min_runs might never be met and the job never reviewed`)
    .default(5),
  max_lookback_days: z.number().int().min(1).max(365).default(7),
  timezone: z.string().refine(isTimeZone, 'unknown IANA time zone').optional(),
});

export const ReviewScopeSchema = z.looseObject({
  analyze_logs: z.boolean().default(true),
  analyze_runs: z.boolean().default(true),
  analyze_ai_sessions: z.boolean().default(true),
  analyze_sla: z.boolean().default(true),
  analyze_workflows: z.boolean().default(true),
  analyze_script: z.boolean().default(true),
  analyze_prompt: z.boolean().default(true),
  analyze_config: z.boolean().default(true),
});

export const SuggestionBehaviorSchema = z.looseObject({
  auto_apply: z.boolean().default(false),
  auto_apply_categories: z.array(z.enum(CATEGORIES)).default([]),
  min_severity_for_approval: z.enum(SEVERITIES).default('medium'),
  notify_on_suggestion: z.boolean().default(true),
  notify_channel: z.string().min(1).max(64).default('whatsapp'),
  notify_target: z.string().max(2048).optional(),
  suggestion_ttl_days: z.number().int().min(1).max(365).default(14),
  rollback_window_days: z.number().int().min(1).max(365).default(30),
  /** critical and security suggestions need two different approvers */
  two_person_rule: z.boolean().default(true),
});

export const BusinessLogSchema = z.looseObject({
  path: z.string().min(1).optional(),
  summary_path: z.string().min(1).optional(),
  max_lines: z.number().int().min(1).max(10_000).default(200),
  context_prompt: z.string().max(10_000).optional(),
});

/**
 * What a suggestion may do to the job's files. `allowed_actions` absent: the edits are allowed as
 * before (ProcClaw's own default, [restart_job], would stop every existing job's applies);
 * present: only what it lists (core/write-policy.ts maps the names). `forbidden_paths`: fnmatch
 * globs, `~` for home, a trailing "/" for a whole folder, added to the built-in list.
 */
export const RemediationSchema = z.looseObject({
  allowed_actions: absent(z.array(z.string().min(1).max(64)).max(64)),
  forbidden_paths: absent(z.array(z.string().min(1).max(4096)).max(1_000)),
});

/**
 * The regression watch after an apply (core/regression.ts judges it): the job's next `runs` runs
 * against the runs before the apply, for at most `max_days` (a fraction is allowed: 0.5 is twelve
 * hours). "Worse" is beyond a margin, never on fewer than `min_runs` runs a side. `auto_revert`
 * absent: on for auto-applied changes, off for human-approved ones (which get a notification with
 * a rollback link instead).
 */
export const WatchSchema = z.looseObject({
  enabled: z.boolean().default(true),
  runs: z.number().int().min(1).max(100).default(5),
  max_days: z.number().positive().max(365).default(14),
  /** fewer runs than this on either side (after, or before the apply) are "not enough runs": inconclusive */
  min_runs: z.number().int().min(1).max(100).default(3),
  /** percentage points the success rate may fall before it counts as worse */
  success_rate_drop: z.number().min(0).max(100).default(20),
  /** percent the p95 duration of successful runs may grow before it counts as worse */
  p95_increase_pct: z.number().min(0).max(10_000).default(50),
  /** percentage points the SLA breach rate may rise before it counts as worse */
  sla_breach_increase: z.number().min(0).max(100).default(20),
  /** runs after the apply that must show an error never seen before it for that to count as worse */
  new_error_min_runs: z.number().int().min(1).max(100).default(2),
  auto_revert: absent(z.boolean()),
});

/**
 * The job's monthly (UTC calendar month) AI budget, beside the service-wide one
 * (HEALING_AI_BUDGET_*): once reached, its reviews use the rules analyzer or skip the AI
 * (`on_exceed`; absent: HEALING_AI_BUDGET_ON_EXCEED). Cost in the unit of HEALING_AI_PRICES or
 * OpenClaw's reported cost.
 */
export const BudgetSchema = z.strictObject(
  {
    monthly_tokens: absent(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)),
    monthly_cost: absent(z.number().positive()),
    on_exceed: absent(z.enum(['rules', 'skip'])),
  },
  // Strict: a misspelt limit would otherwise leave the job with no budget at all.
  { error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeys(issue.keys, ['monthly_tokens', 'monthly_cost', 'on_exceed']) : undefined) },
);

export const SelfHealingSchema = z.looseObject({
  enabled: z.boolean().default(false),
  mode: z.enum(['reactive', 'proactive']).default('reactive'),
  review_schedule: ReviewScheduleSchema.default(() => ReviewScheduleSchema.parse({})),
  review_scope: ReviewScopeSchema.default(() => ReviewScopeSchema.parse({})),
  suggestions: SuggestionBehaviorSchema.default(() => SuggestionBehaviorSchema.parse({})),
  business_log: BusinessLogSchema.optional(),
  remediation: absent(RemediationSchema),
  watch: WatchSchema.default(() => WatchSchema.parse({})),
  budget: absent(BudgetSchema),
  /** when an approved change may be written (core/apply-window.ts); absent: HEALING_APPLY_WINDOW; false: any time; null is refused (it could mean either) */
  apply_window: JobApplyWindowSchema.optional(),
});

export const SlaSchema = z.looseObject({
  enabled: absent(z.boolean()),
  /** seconds a run may take before it breaches */
  max_duration: absent(z.number().positive()),
  /** percent of runs that must succeed */
  success_rate: absent(z.number().min(0).max(100)),
});

export const JobSchema = z.looseObject({
  name: z.string().min(1).max(200),
  cmd: z.string().min(1).max(10_000),
  cwd: absent(z.string()),
  description: absent(z.string()),
  type: z.enum(JOB_TYPES).default('manual'),
  enabled: z.boolean().default(true),
  schedule: absent(z.string()),
  timezone: absent(z.string().refine(isTimeZone, 'unknown IANA time zone')),
  env: absent(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
  /** the prompt file of an `openclaw` job (also found as `prompt`, `openclaw.prompt_file`, or a .md path in `cmd`) */
  prompt_file: absent(z.string()),
  sla: absent(SlaSchema),
  retry: absent(z.looseObject({ enabled: absent(z.boolean()), max_attempts: absent(z.number()) })),
  self_healing: SelfHealingSchema.default(() => SelfHealingSchema.parse({})),
}).superRefine((job, ctx) => {
  const problem = windowNeverOpens(job.self_healing.apply_window, job.schedule, job.timezone);
  if (problem) ctx.addIssue({ code: 'custom', path: ['self_healing', 'apply_window'], message: problem });
});

/** How soon after a job is loaded its own apply window must open: a week and a day holds every weekly window. */
export const WINDOW_MUST_OPEN_DAYS = 8;

/**
 * Why the job's own window would never let an apply through (its between-runs margins cover all
 * the time its days and hours leave), or null. Judged from now in the job's zone, or UTC when it
 * names none: the schedule and the window are read on the one clock, so where they meet is the same.
 */
function windowNeverOpens(window: ApplyWindow | false | undefined, schedule: string | undefined, timezone: string | undefined): string | null {
  if (!window) return null;
  const now = new Date();
  const zone = timezone ?? 'UTC';
  const opensAt = applyWindowAt(window, zone, now, schedule).opensAt;
  if (opensAt && opensAt.getTime() - now.getTime() <= WINDOW_MUST_OPEN_DAYS * 86_400_000) return null;
  return (
    `never opens: ${describeApplyWindow(window, zone)} leaves no time in the next ${WINDOW_MUST_OPEN_DAYS} days ` +
    `clear of the starts of the job's schedule "${schedule ?? ''}", so an approved change would wait forever; ` +
    'lower margin_minutes, widen days or hours, or set apply_window: false for any time'
  );
}

export type ReviewSchedule = z.infer<typeof ReviewScheduleSchema>;
export type ReviewScope = z.infer<typeof ReviewScopeSchema>;
export type SuggestionBehavior = z.infer<typeof SuggestionBehaviorSchema>;
export type SelfHealing = z.infer<typeof SelfHealingSchema>;
export type Remediation = z.infer<typeof RemediationSchema>;
export type WatchSettings = z.infer<typeof WatchSchema>;
export type JobConfig = z.infer<typeof JobSchema>;

export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const JobIdSchema = z.string().regex(JOB_ID_PATTERN, 'a job id is letters, digits, ".", "_" or "-" (at most 128)');

/** A job as the catalog knows it: its id, where it is defined and its validated config. */
export interface Job {
  id: string;
  /** the YAML file the job is defined in (a per-job file, or the shared jobs.yaml) */
  file: string;
  config: JobConfig;
}

/** A job file that could not be loaded, reported instead of stopping the others. */
export interface JobLoadError {
  job_id: string | null;
  file: string;
  field: string;
  reason: string;
}

/**
 * The zone of a job that sets no `timezone`: ProcClaw (like cron) runs such a job in its machine's
 * local time, which HEALING_DEFAULT_TIMEZONE names when this service runs elsewhere. A service
 * setting (core/config.ts), passed in: nothing here reads the environment.
 */
export interface DefaultTimeZone {
  zone: string;
  source: 'HEALING_DEFAULT_TIMEZONE' | 'machine';
}

/** A zone and where it came from: the review schedule's own, the job's, or the default. */
export interface ResolvedTimeZone {
  zone: string;
  source: 'schedule' | 'job' | DefaultTimeZone['source'];
}

/** The job's own zone (its cron schedule's): its `timezone`, else the default. */
export function jobTimeZone(config: JobConfig, defaultZone: DefaultTimeZone): ResolvedTimeZone {
  return config.timezone ? { zone: config.timezone, source: 'job' } : defaultZone;
}

/** The review time zone: the schedule's own, else the job's, else the default. */
export function reviewTimeZone(config: JobConfig, defaultZone: DefaultTimeZone): ResolvedTimeZone {
  const own = config.self_healing.review_schedule.timezone;
  return own ? { zone: own, source: 'schedule' } : jobTimeZone(config, defaultZone);
}

/** Why a defaulted zone is the one used, in words ("this machine's zone; the job sets none"); null when the job names it. */
export function defaultedZoneReason(zone: ResolvedTimeZone): string | null {
  if (zone.source === 'machine') return "this machine's zone; the job sets none";
  if (zone.source === 'HEALING_DEFAULT_TIMEZONE') return 'HEALING_DEFAULT_TIMEZONE; the job sets none';
  return null;
}

/** Answers already known: building a DateTimeFormat to ask costs ~1 ms, and every job load asks. */
const knownZones = new Map<string, boolean>();

export function isTimeZone(name: string): boolean {
  const known = knownZones.get(name);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    valid = true;
  } catch {
    valid = false;
  }
  if (knownZones.size < 1_000) knownZones.set(name, valid); // names come from users' files: bounded
  return valid;
}

/** Turns zod issues into (field, reason) pairs a person can act on, each once (two checks may say the same). */
export function describeIssues(error: z.ZodError): { field: string; reason: string }[] {
  const seen = new Set<string>();
  return error.issues
    .map((issue) => ({ field: issue.path.map(String).join('.') || '(root)', reason: issue.message }))
    .filter(({ field, reason }) => !seen.has(`${field}\n${reason}`) && Boolean(seen.add(`${field}\n${reason}`)));
}

/** `unknown key "monthly_tokenz": it takes monthly_tokens, monthly_cost or on_exceed`. */
export function unknownKeys(keys: readonly string[], known: readonly string[]): string {
  const named = keys.map((key) => `"${key}"`).join(', ');
  return `unknown key${keys.length === 1 ? '' : 's'} ${named}: it takes ${known.slice(0, -1).join(', ')} or ${known[known.length - 1]}`;
}
