// Review activities: every one idempotent, so a retry after a crash never duplicates a row.
import { realpath } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
import type { Job } from '../core/job.js';
import { dashboardLink, markdownLink } from '../core/links.js';
import { suggestionMetadata } from '../core/temporal-ui.js';
import { runState, unchangedReason, type ContextFingerprint } from '../core/context-fingerprint.js';
import { evidenceFingerprint, suggestionFingerprint } from '../core/fingerprint.js';
import { autoApplyDecision, requiredApprovals, severityRank } from '../core/policy.js';
import { redactContext, rehydrate, type Redactor } from '../core/redact.js';
import { buildAnalysisPromptWithIndex } from '../core/prompt.js';
import type { MissingContext, ReviewContext, ReviewStatus, Trigger } from '../core/review.js';
import { ERROR_TYPES, NON_RETRYABLE_ERROR_TYPES, type ReviewInput, type SuggestionInput } from '../core/temporal.js';
import { findJob } from '../db/catalog.js';
import { markAnalysisRequested, markAnalysisStarted, runRecords } from '../db/analysis-queue.js';
import { closeSkippedReview, lastCompletedReview, openReview as openReviewRow, updateReview } from '../db/reviews.js';
import { silencedFingerprints } from '../db/silences.js';
import { recordSkippedNotice } from '../db/notifications.js';
import { storeSuggestions as storeSuggestionRows, type NewSuggestion } from '../db/suggestions.js';
import { collectReviewContext, summarise, type CollectResult } from './context.js';
import type { ActivityDeps, AnalyzerSettings } from './deps.js';
import { analyzerSoon, runAnalysis, turnBill, type AnalysisBill, type RecordedAnalysis } from './analyze.js';
import { budgetGate } from './budget.js';
import type { TurnFailureDetails } from './openclaw.js';
import { noticeRoute } from './notify.js';
import { loadWriteGuard } from './write-guard.js';

const DAY_MS = 86_400_000;

/** An analysis and how long the analyzer took (absent in results of older workers). */
export type TimedAnalysis = RecordedAnalysis & { duration_ms?: number };

export interface StoredSuggestion {
  id: number;
  category: string;
  severity: string;
  input: SuggestionInput;
  /** for its workflow's static summary and details in the Temporal UI: what it is, and its dashboard link (absent from older workers) */
  summary?: string;
  details?: string;
  /** the file it edits, for the HealingTargetFile search attribute (absent from older workers) */
  targetFile?: string | null;
}

/**
 * What a review's analyzer could not see, for every suggestion of it: what the context left out
 * (activities/context.ts), and for the AI the secrets it saw as markers and what its prompt cut
 * (the prompt rebuilt from the same context is the same prompt).
 */
function blindSpots(context: ReviewContext, analyzer: 'openclaw' | 'rules'): MissingContext[] {
  const missing = [...(context.missing ?? [])];
  if (analyzer === 'openclaw') {
    const { context: redacted, secrets } = redactContext(context);
    if (secrets > 0) missing.push({ kind: 'redacted', detail: `${secrets} secret value(s) were replaced by markers before the AI saw them` });
    const { cut } = buildAnalysisPromptWithIndex(redacted);
    if (cut.length) missing.push({ kind: 'prompt_cut', detail: `cut to fit the AI's prompt: ${cut.slice(0, 8).join(', ')}${cut.length > 8 ? ` and ${cut.length - 8} more` : ''}` });
  }
  return missing;
}

/** The review's AI bill columns (migration 015). */
function billColumns(bill: AnalysisBill) {
  return { ai_tokens_in: bill.tokens_in, ai_tokens_out: bill.tokens_out, ai_cost: bill.cost, ai_cost_source: bill.cost_source, budget_note: bill.budget_note };
}

/** What the review row shows of its context (the dashboard's "what it read"). */
function contextColumns(context: ReviewContext) {
  return {
    runs_analyzed: context.runs.length,
    logs_lines: context.logs.reduce((n, l) => n + l.lines.length, 0),
    ai_sessions_count: context.ai_sessions.length,
    sla_violations_count: context.sla_violations.length,
  };
}

/** What the review row records of its analysis. */
function analysisColumns(analysis: TimedAnalysis) {
  return {
    analyzer: analysis.bill?.budget_skipped ? null : analysis.analyzer,
    analysis_duration_ms: analysis.duration_ms ?? null,
    ai_tokens_used: analysis.ai_tokens_used,
    ...(analysis.bill ? billColumns(analysis.bill) : {}),
    ai_model: analysis.ai_model ?? null,
    ai_provider: analysis.ai_provider ?? null,
    ai_session_id: analysis.ai_session_key,
    tool_calls: analysis.tool_calls ?? null,
    raw_response: analysis.raw_response,
    dropped_count: analysis.dropped.length,
  };
}

/** How a review ends, as finishReview records it. */
export interface ReviewClose {
  status: Exclude<ReviewStatus, 'running'>;
  skipReason?: string;
  error?: string;
  rawResponse?: string | null;
  suggestionsCount?: number;
  duplicatesCount?: number;
  autoAppliedCount?: number;
}

function closeColumns(close: ReviewClose) {
  return {
    status: close.status,
    finished_at: new Date(),
    skip_reason: close.skipReason ?? null,
    error_message: close.error ?? null,
    ...(close.status === 'skipped' ? { skip_count: 1 } : {}),
    waiting_reason: null, // a closed review waits for nothing
    waiting_since: null,
    ...(close.rawResponse ? { raw_response: close.rawResponse } : {}),
    ...(close.suggestionsCount !== undefined ? { suggestions_count: close.suggestionsCount } : {}),
    ...(close.duplicatesCount !== undefined ? { duplicates_count: close.duplicatesCount } : {}),
    ...(close.autoAppliedCount !== undefined ? { auto_applied_count: close.autoAppliedCount } : {}),
  };
}

/** What a review stored of its analysis. */
export interface StoredFindings {
  suggestions: StoredSuggestion[];
  duplicates: number;
  /**
   * whether a notify workflow is to send the notice of the pending ones: false when notices are
   * off, or have no target (recorded as skipped here); absent from older workers' answers (true)
   */
  notify?: boolean;
}

/** A review's row as the workflow knows it. */
export interface OpenedReview {
  id: number;
  /** its dashboard page, for the workflow's details in the Temporal UI (absent from older workers' answers) */
  details?: string;
}

/** What beginReview answers: the review's row, and how far it got. */
export type BegunReview = { review: OpenedReview } & (CollectedReview | { failed: string });

/** How far collectAndAnalyze got: the review skipped (and closed), its context for an OpenClaw analysis, or the rules' analysis stored. */
type CollectedReview =
  | { skipped: { reviewId: number; reason: string } }
  | { collected: Exclude<CollectResult, { skip: string }> }
  | {
      analysed: {
        analyzer: 'rules' | 'openclaw';
        runs: number;
        files: number;
        logs: number;
        suggestions: StoredSuggestion[];
        duplicates: number;
        notify: boolean;
        /** closed as completed (nothing found); else finishReview closes it once the suggestion workflows started */
        closed: boolean;
      };
    };

export function createReviewActivities(deps: ActivityDeps) {
  const { db } = deps;

  async function loadJob(jobId: string) {
    const job = await findJob(deps.jobsSource, jobId);
    if (!job) throw ApplicationFailure.create({ message: `job "${jobId}" is not in the job catalog`, type: ERROR_TYPES.jobNotFound });
    return job;
  }

  /** The job and the review's context (or why the review is skipped), as collectReviewContext reads them. */
  async function collect(input: ReviewInput) {
    const job = await loadJob(input.jobId);
    const { mode, agent, thinking } = deps.analyzer;
    const result = await collectReviewContext(
      db,
      job,
      input,
      { home: deps.home, procclawHome: deps.procclawHome, dataDir: deps.dataDir, logRoots: deps.logRoots, defaultTimeZone: deps.defaultTimeZone, now: new Date() },
      { mode, agent: agent ?? null, thinking: thinking ?? null },
    );
    return { job, result };
  }

  /**
   * Why a scheduled review whose context has the fingerprint of the last analysed review's (no new
   * runs, the runs it saw unchanged, the same files, config and the rest the analyzer is shown) is
   * skipped; null when it is not.
   */
  async function unchangedSkip(input: { jobId: string; trigger: Trigger; fingerprint: ContextFingerprint | null }): Promise<string | null> {
    if (input.trigger !== 'scheduled' || !input.fingerprint) return null;
    const last = await lastCompletedReview(db, input.jobId);
    const before = last?.context_fingerprint;
    // compared with the review the context's runs start after; one a budget kept from the analyzer answered nothing
    if (!last || !before || last.analyzer === null) return null;
    const current = await runRecords(db, before.runs.map((r) => r.id));
    const currentRunStates = new Map(current.map((run) => [run.id, runState(summarise(run))]));
    return unchangedReason(input.fingerprint, { id: last.id, started_at: last.started_at, fingerprint: before, currentRunStates });
  }

  /** Stores the analysis's suggestions; the review row's columns (with `silenced`, its silenced_count) are the caller's to write. */
  async function storeFindings(input: { reviewId: number; context: ReviewContext; analysis: TimedAnalysis }, job: Job): Promise<Required<StoredFindings> & { silenced: number }> {
    const { context } = input;
    const policy = job.config.self_healing.suggestions;
    const ttlMs = policy.suggestion_ttl_days * DAY_MS;
    // The marker -> value map of the prompt, rebuilt by redacting the same context again.
    let redactor: Redactor | null = null;
    const missing = input.analysis.suggestions.length ? blindSpots(context, input.analysis.analyzer) : [];
    const drafts: NewSuggestion[] = input.analysis.suggestions.map((s, ordinal) => {
      // Only a file of the context (the job's own files, read through the guard) is ever
      // looked at or stored here: a target the analyzer named is matched, never read.
      const file = s.target_file ? context.files.find((f) => f.path === s.target_file) : undefined;
      let proposed = file && !file.truncated ? s.proposed_content : null;
      let description = s.description;
      // The AI saw the files redacted; the rules analyzer worked on them as they are.
      if (file && proposed !== null && input.analysis.analyzer === 'openclaw' && proposed.includes('[REDACTED:')) {
        redactor ??= redactContext(context).redactor;
        const back = rehydrate(proposed, file, redactor);
        if ('content' in back) {
          proposed = back.content;
        } else {
          proposed = null; // a marker is never written into a user's file
          description = `${description}\n\n(The proposed file content was not kept: ${back.reason}.)`.slice(0, 20_000);
        }
      }
      const edits = proposed !== null;
      return {
        review_id: input.reviewId,
        ordinal,
        job_id: context.job_id,
        category: s.category,
        severity: s.severity,
        severity_rank: severityRank(s.severity),
        title: s.title,
        description,
        current_state: s.current_state,
        suggested_change: s.suggested_change,
        expected_impact: s.expected_impact,
        affected_files: s.affected_files,
        target_file: file ? file.path : null,
        proposed_content: edits ? proposed : null,
        current_content: file ? file.content : null,
        current_sha256: file ? file.sha256 : null,
        fingerprint: suggestionFingerprint(context.job_id, { category: s.category, target_file: file?.path ?? null, title: s.title }),
        // only the rules analyzer's figures are evidence to compare (an AI answer carries none)
        evidence_fingerprint: input.analysis.analyzer === 'rules' ? evidenceFingerprint(s.figures) : null,
        analyzer_auto_apply: s.auto_apply,
        advisory_reason: null,
        severity_reported: s.severity_reported,
        evidence: s.evidence ?? null,
        missing_context: missing,
        expires_at: new Date(Date.now() + ttlMs),
      };
    });
    // An edit this job may not make (code shared with other jobs, a forbidden path, an action
    // its allowed_actions leaves out) is kept as advice with the reason: the person still sees
    // the diff, and the apply refuses it again against the catalog as it is then.
    if (drafts.some((d) => d.target_file !== null)) {
      const guard = await loadWriteGuard(job, { jobsSource: deps.jobsSource, home: deps.home, procclawHome: deps.procclawHome }, { recent: true });
      for (const draft of drafts) {
        const file = context.files.find((f) => f.path === draft.target_file);
        const real = file ? await realpath(file.path).catch(() => null) : null;
        if (file && real) draft.advisory_reason = await guard.refusal({ role: file.role, path: file.path, real, proposed: draft.proposed_content });
      }
    }
    // Nothing found (a healthy job): nothing to silence or store, and no round trips for it.
    if (drafts.length === 0) return { suggestions: [], duplicates: 0, notify: false, silenced: 0 };
    // A finding a person silenced for this job ("never", or "not now" until its day) is left
    // out and counted on the review (silenced_count), apart from duplicates.
    const silenced = await silencedFingerprints(db, context.job_id, new Date());
    const heard = drafts.filter((d) => !silenced.has(d.fingerprint));
    const { stored, duplicates } = await storeSuggestionRows(db, input.reviewId, heard);
    const twoPersonRule = policy.two_person_rule;
    const suggestions: StoredSuggestion[] = stored.map((row) => {
      const approvals = requiredApprovals(row, twoPersonRule);
      const decision = autoApplyDecision(policy, {
        category: row.category,
        severity: row.severity,
        edits_file: row.target_file !== null && (row.proposed_content !== null || row.suggested_change !== null),
        analyzer_auto_apply: row.analyzer_auto_apply,
        advisory_reason: row.advisory_reason,
      });
      const shown = suggestionMetadata(
        { id: row.id, jobId: row.job_id, severity: row.severity, category: row.category, title: row.title, targetFile: row.target_file, advisoryReason: row.advisory_reason },
        deps.dashboardUrl,
      );
      return {
        id: row.id,
        category: row.category,
        severity: row.severity,
        summary: shown.staticSummary,
        details: shown.staticDetails,
        targetFile: row.target_file,
        input: {
          suggestionId: row.id,
          jobId: row.job_id,
          autoApply: decision.auto,
          ttlMs,
          rollbackWindowMs: policy.rollback_window_days * DAY_MS,
          requiredApprovals: approvals,
          targetFile: row.target_file,
        },
      };
    });
    // A notice with nowhere to go is recorded here, not by a notify workflow started to do only that.
    const pending = suggestions.filter((s) => !s.input.autoApply).length;
    const route = noticeRoute(job);
    if (pending > 0 && route.kind === 'no_target') {
      await recordSkippedNotice(db, { reviewId: input.reviewId, jobId: context.job_id, channel: route.channel, reason: route.reason, count: pending });
    }
    return { suggestions, duplicates, notify: route.kind === 'send', silenced: drafts.length - heard.length };
  }

  /** Opens the review's row (or finds it, on a retry): its id and its dashboard page, for the workflow's details in the Temporal UI. */
  async function open(input: { jobId: string; trigger: Trigger; runId: number | null; workflowId: string; workflowRunId: string }): Promise<OpenedReview> {
    const row = await openReviewRow(db, {
      job_id: input.jobId,
      trigger: input.trigger,
      workflow_id: input.workflowId,
      workflow_run_id: input.workflowRunId,
      run_id: input.runId,
    });
    return { id: row.id, details: markdownLink(`Review #${row.id} of ${input.jobId} in the dashboard`, dashboardLink(deps.dashboardUrl, 'reviews', row.id)) };
  }

  /**
   * Collects the review's context and, when the rules will analyse it, also analyses it, stores
   * what they found and, when that is nothing, closes the review. A context the review skips
   * (min_runs, unchanged) closes the review here. For an OpenClaw analysis it answers the context.
   */
  async function collectAndAnalyze(input: ReviewInput & { reviewId: number }): Promise<CollectedReview> {
    const { job, result } = await collect(input);
    const closeSkipped = async (reason: string) => ({ skipped: { reviewId: (await closeSkippedReview(db, { reviewId: input.reviewId, jobId: input.jobId, skipReason: reason })).reviewId, reason } });
    if (result.skip !== undefined) return closeSkipped(result.skip);
    const { context, fingerprint = null } = result;
    if ((await analyzerSoon(deps.analyzer)) !== 'rules') {
      await updateReview(db, input.reviewId, contextColumns(context));
      return { collected: result };
    }
    const skip = await unchangedSkip({ jobId: input.jobId, trigger: input.trigger, fingerprint });
    if (skip) {
      await updateReview(db, input.reviewId, contextColumns(context));
      return closeSkipped(skip);
    }
    const started = new Date();
    let analysis: TimedAnalysis;
    try {
      // with the job's budget gate: a rules analysis spends nothing but sends the notices due (80 %, 100 %)
      analysis = { ...(await runAnalysis({ ...deps.analyzer, mode: 'rules' }, context, budgetGate(deps, job, input.reviewId))), duration_ms: Date.now() - started.getTime() };
    } catch (error) {
      // The rules read nothing but the context: an attempt again would fail the same way.
      throw ApplicationFailure.nonRetryable(`the rules analysis failed: ${error instanceof Error ? error.message : String(error)}`, 'RulesAnalysisFailed');
    }
    const stored = await storeFindings({ reviewId: input.reviewId, context, analysis }, job);
    const closed = stored.suggestions.length === 0;
    // One write for what the separate steps each wrote: counts, queue times, analysis, and the close.
    await updateReview(db, input.reviewId, {
      ...contextColumns(context),
      analysis_requested_at: started,
      analysis_started_at: started,
      ...(fingerprint ? { context_fingerprint: fingerprint } : {}),
      ...analysisColumns(analysis),
      silenced_count: stored.silenced,
      ...(closed ? closeColumns({ status: 'completed', suggestionsCount: 0, duplicatesCount: stored.duplicates, autoAppliedCount: 0 }) : {}),
    });
    return {
      analysed: {
        analyzer: analysis.analyzer,
        runs: context.runs.length,
        files: context.files.length,
        logs: context.logs.length,
        suggestions: stored.suggestions,
        duplicates: stored.duplicates,
        notify: stored.notify,
        closed,
      },
    };
  }

  /** An analysis with the given settings, its start shown in the analysis queue. */
  async function analyzeReview(input: { reviewId: number; context: ReviewContext }, settings: AnalyzerSettings): Promise<TimedAnalysis> {
    const started = Date.now();
    // For the analysis queue; best-effort, as the analysis writes nothing else before it works.
    await markAnalysisStarted(db, input.reviewId).catch((dbError: unknown) => deps.log.warn({ err: dbError, reviewId: input.reviewId }, 'could not record the start of the analysis'));
    try {
      const job = await loadJob(input.context.job_id);
      const result = await runAnalysis(settings, input.context, budgetGate(deps, job, input.reviewId));
      return { ...result, duration_ms: Date.now() - started };
    } catch (error) {
      const record = (findApplicationFailure(error)?.details as TurnFailureDetails | undefined)?.[1];
      if (record) {
        await updateReview(db, input.reviewId, {
          analyzer: 'openclaw',
          analysis_duration_ms: Date.now() - started,
          ai_tokens_used: record.tokens,
          ...billColumns(turnBill(record, deps.analyzer)),
          ai_model: record.model,
          ai_provider: record.provider,
          ai_session_id: record.session_id,
          tool_calls: record.tool_calls,
        }).catch((dbError: unknown) => deps.log.warn({ err: dbError, reviewId: input.reviewId }, 'could not record the failed analysis turn'));
      }
      throw error;
    }
  }

  return {
    openReview: open,

    /**
     * Opens the review's row, collects its context and, when the rules will analyse it, also
     * analyses it, stores what they found and, when that is nothing, closes the review; a review
     * skipped (min_runs, unchanged) is closed here too. A healthy job's review is then this one
     * local activity, and its context (the job's files and logs) never enters the workflow's
     * history (workflows/review.ts, REVIEW_STEPS_FOLDED). For an OpenClaw analysis it answers the
     * context and the review goes on as before: its wait for running OpenClaw jobs,
     * prepareAnalysis, analyze. A step that failed for good (the job left the catalog, the rules
     * threw) is answered as `failed`, with the row open, for the review to close as failed.
     */
    async beginReview(input: ReviewInput & { workflowId: string; workflowRunId: string }): Promise<BegunReview> {
      const review = await open({ jobId: input.jobId, trigger: input.trigger, runId: input.runId ?? null, workflowId: input.workflowId, workflowRunId: input.workflowRunId });
      try {
        return { review, ...(await collectAndAnalyze({ jobId: input.jobId, trigger: input.trigger, runId: input.runId, force: input.force, reviewId: review.id })) };
      } catch (error) {
        // a failure that retrying cannot fix; any other is retried with the whole step (each part is idempotent)
        const failure = findApplicationFailure(error);
        if (failure && (failure.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(failure.type ?? ''))) return { review, failed: innermostMessage(error) };
        throw error;
      }
    },

    async collectContext(input: ReviewInput & { reviewId: number }): Promise<CollectResult> {
      const { result } = await collect(input);
      if (result.context) await updateReview(db, input.reviewId, contextColumns(result.context));
      return result;
    },

    /**
     * Before the analysis: a scheduled review whose context has the fingerprint of the last
     * analysed review's (no new runs, the runs it saw unchanged, the same files, config and the
     * rest the analyzer is shown) is skipped with the reason; any other stores its fingerprint and
     * asks for its analysis (the analysis queue counts it from now), and answers the analyzer
     * that will run it: a rules analysis (no model, no tokens) needs no slot of the analysis queue.
     */
    async prepareAnalysis(input: { reviewId: number; jobId: string; trigger: Trigger; fingerprint: ContextFingerprint | null }): Promise<{ skip?: string; analyzer?: 'rules' | 'openclaw' }> {
      const skip = await unchangedSkip(input);
      if (skip) return { skip };
      await markAnalysisRequested(db, input.reviewId, input.fingerprint);
      return { analyzer: await analyzerSoon(deps.analyzer) };
    },

    // Analysis only analyzes: it has few attempts (each one costs AI tokens), so it writes nothing
    // to Postgres when it works. storeSuggestions, an I/O step that retries for as long as Postgres
    // is away, records what it found; a database outage can then never fail a review whose
    // analysis worked. A turn that failed after reaching the CLI is recorded here (model, tokens,
    // session, tool calls), once and best-effort: the review fails either way.
    analyze: (input: { reviewId: number; context: ReviewContext }) => analyzeReview(input, deps.analyzer),

    /**
     * The rules analysis, which the review runs as a local activity inside its own workflow task
     * when prepareAnalysis answered rules: no model and no tokens to queue for, and no activity task
     * and second workflow task for the Temporal server (bench/review-throughput.ts). The rules, even
     * if openclaw became ready meanwhile: a turn never runs under a local activity's time-out.
     */
    analyzeWithRules: (input: { reviewId: number; context: ReviewContext }) => analyzeReview(input, { ...deps.analyzer, mode: 'rules' }),

    async storeSuggestions(input: { reviewId: number; context: ReviewContext; analysis: TimedAnalysis }): Promise<StoredFindings> {
      const { silenced, ...stored } = await storeFindings(input, await loadJob(input.context.job_id));
      await updateReview(db, input.reviewId, { ...analysisColumns(input.analysis), silenced_count: silenced });
      return stored;
    },

    async finishReview(input: ReviewClose & { reviewId: number }) {
      await updateReview(db, input.reviewId, closeColumns(input));
    },

    /** Closes a review as skipped, a scheduled one as part of its job's streak (db/reviews.ts); answers the row holding it. */
    async closeSkippedReview(input: { reviewId: number; jobId: string; skipReason: string }) {
      return closeSkippedReview(db, input);
    },
  };
}
