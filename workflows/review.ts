// reviewWorkflow: open the review, collect context, analyze, store suggestions, start one
// suggestion workflow per suggestion, close the review, then hand the notification to its own
// workflow.
import {
  ApplicationFailure,
  CancellationScope,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
import { describeOpenclawRuns } from '../core/running.js';
import { notifyWorkflowId, SEARCH_ATTRIBUTES, suggestionWorkflowId, type ReviewInput, type ReviewOutcome } from '../core/temporal.js';
import { notifyMetadata, oneLine, searchableKeyword, shortTime, triggerText } from '../core/temporal-ui.js';
import type { CollectResult } from '../activities/context.js';
import type { BegunReview, StoredFindings, StoredSuggestion } from '../activities/reviews.js';
import { analysis, io, ioLocal, notify, reviewLocal, rulesLocal, withSummary } from './activity-proxies.js';
import { notifyWorkflow } from './notify.js';
import { suggestionWorkflow } from './suggestion.js';

/**
 * The review's own Postgres steps run as local activities, its suggestion workflows start
 * together and its first search attributes go in one write: half the workflow tasks and a sixth
 * of the activity tasks a review used to cost the Temporal server (bench/review-throughput.ts).
 * Reviews started before replay the old way.
 */
export const LOCAL_REVIEW_STEPS = 'review-local-steps';

/**
 * A review cancelled mid-step (from the Temporal UI or CLI) still closes its row as `failed`:
 * before, the closing step was cancelled with the rest and the row said `running` for ever.
 * Reviews cancelled before replay the old way; deprecate the patch once their histories are no
 * longer read (the retention window after this shipped).
 */
export const FAILED_REVIEW_CLOSES_ROW = 'review-failure-closes-row';

/**
 * A review completes when its suggestions are stored: its row is closed and its result returned
 * first, and the notification (with its retries) runs after in its own abandoned workflow
 * `healing-notify/<reviewId>`, so it neither delays the review (nor a next trigger, which waits for
 * this one-per-job id to be free) nor fails it. Reviews that notified before closing replay the old
 * way; deprecate the patch once their histories are no longer read (the retention window after
 * this shipped).
 */
export const NOTIFY_AFTER_CLOSE = 'review-notify-after-close';

/**
 * An OpenClaw analysis waits while OpenClaw jobs run (their tokens compete with it, as ProcClaw's
 * own engine waits for them): durable timers, looking again after each, up to the bound the check
 * answers with (HEALING_OPENCLAW_WAIT_S); then it runs anyway or is skipped with the reason
 * (HEALING_OPENCLAW_WAIT_TIMEOUT). The row shows waiting_reason/waiting_since, the Temporal UI the
 * status `waiting`, the current details and the timers' summaries; the context is collected again
 * after a wait. A rules analysis (no model, no tokens) never waits. And a scheduled skip continues
 * the job's streak of skipped scheduled reviews (one row with skip_count) instead of adding a row.
 * Reviews started before replay the old way; deprecate the patch once no history from before it
 * is read (the retention window after this shipped).
 */
export const WAIT_FOR_OPENCLAW_JOBS = 'review-waits-for-openclaw-jobs';

/**
 * Before its analysis, a review stores the fingerprint of its context and the time it asks for
 * the analysis (the analysis queue shows the reviews waiting for a healing-analysis slot); a
 * scheduled review whose context is the last analysed review's is skipped with that reason, for
 * no tokens (activities/reviews.ts prepareAnalysis). One more local activity; reviews started
 * before replay the old way; deprecate the patch once no history from before it is read (the
 * retention window after this shipped).
 */
export const SKIP_UNCHANGED = 'review-skip-unchanged';

/**
 * A rules analysis (no model, no tokens to queue for) runs as a local activity in the review's own
 * workflow task, when prepareAnalysis answers that the rules will analyse: a healthy job's review
 * is then one workflow task, with no activity task and no second workflow task for the Temporal
 * server (bench/review-throughput.ts). An OpenClaw analysis stays on the healing-analysis queue.
 * Reviews started before replay the old way; deprecate the patch once no history from before it is
 * read (the retention window after this shipped).
 */
export const RULES_ANALYSIS_INLINE = 'review-rules-analysis-inline';

/**
 * One marker for every gate above: a review started on this code takes them all, so it records
 * this patch alone instead of five. Each recorded patch costs a marker event and (the SDK upserts
 * TemporalChangeVersion) a search-attribute write with its visibility update on the server, which
 * was most of what a healthy review still cost it (bench/review-throughput.ts). Histories from
 * before it ask each gate as they did. A patch added after this one is asked with patched() itself:
 * reviews recorded with this marker predate it.
 */
export const REVIEW_GATES_AT_ONCE = 'review-gates-at-once';

/**
 * A review's first step is `beginReview`, one local activity that opens its row, collects its
 * context and, with the rules analyzer (no model, no tokens), also analyses it, stores what they
 * find and, when that is nothing, closes the review; a skipped review (min_runs, unchanged) is
 * closed there too. A healthy job's review is then one local activity instead of seven, two
 * workflow activations instead of eight (each runs the workflow's code in the SDK's V8 context
 * under a time-out, which costs Node a watchdog thread), one search-attribute write for its
 * status instead of two, and its context (the job's files and logs) is no longer copied into the
 * history three times (bench/review-throughput.ts). An OpenClaw review gets its context from it
 * and goes on as before. Its marker stands for REVIEW_GATES_AT_ONCE and every gate too, so a new
 * review records this one marker. Reviews started before replay the old way; deprecate with the
 * umbrella once no review from before it is open.
 */
export const REVIEW_STEPS_FOLDED = 'review-steps-folded';
type ReviewGate =
  | typeof LOCAL_REVIEW_STEPS
  | typeof FAILED_REVIEW_CLOSES_ROW
  | typeof NOTIFY_AFTER_CLOSE
  | typeof WAIT_FOR_OPENCLAW_JOBS
  | typeof SKIP_UNCHANGED
  | typeof RULES_ANALYSIS_INLINE;

export async function reviewWorkflow(input: ReviewInput): Promise<ReviewOutcome> {
  const info = workflowInfo();
  const folded = patched(REVIEW_STEPS_FOLDED);
  // asked only when the review is not folded, so a new review records one marker
  const current = folded || patched(REVIEW_GATES_AT_ONCE);
  /** Whether the review takes a gate's new path: all of them since REVIEW_GATES_AT_ONCE. */
  const gate = (id: ReviewGate) => current || patched(id);
  const local = gate(LOCAL_REVIEW_STEPS);
  const steps = local ? ioLocal : io;
  const identity = { [SEARCH_ATTRIBUTES.jobId]: [input.jobId], [SEARCH_ATTRIBUTES.trigger]: [input.trigger] };
  let identityShown = false;
  /** Shows the review's status (and, the first time, its job and trigger) in its search attributes. */
  const markStatus = (status: string) => {
    upsertSearchAttributes({ ...(identityShown ? {} : identity), [SEARCH_ATTRIBUTES.status]: [status] });
    identityShown = true;
  };
  const opening = { jobId: input.jobId, trigger: input.trigger, runId: input.runId ?? null, workflowId: info.workflowId, workflowRunId: info.runId };
  const opened = `open the review row of ${input.jobId} (${triggerText(input.trigger, input.runId)})`;
  let begun: BegunReview | undefined;
  if (folded) {
    try {
      begun = await withSummary(reviewLocal.beginReview, `${opened}, collect its context; with the rules, analyse it, store what they find and close the review`, { ...input, ...opening });
    } catch (error) {
      // Cancelled before the row was in hand: the row (opened again, idempotently) is closed as failed all the same.
      const message = innermostMessage(error);
      await CancellationScope.nonCancellable(async () => {
        const { id } = await withSummary(ioLocal.openReview, opened, opening);
        await withSummary(ioLocal.finishReview, `close review ${id} of ${input.jobId}: failed: ${message}`, { reviewId: id, status: 'failed', error: message });
      });
      markStatus('failed');
      throw ApplicationFailure.nonRetryable(`review of ${input.jobId} failed: ${message}`, 'ReviewFailed');
    }
  }
  const review = begun?.review ?? (await withSummary(steps.openReview, opened, opening));
  // The review's dashboard page, shown in the Temporal UI (absent from the answers of older workers).
  const details = review.details ?? '';
  /** The step the review is at, above its dashboard link, in the Temporal UI's current details. */
  const phase = (text: string) => setCurrentDetails(details ? `${text}\n\n${details}` : text);
  const of = `review ${review.id} of ${input.jobId}`;
  phase(`**collecting** the context of ${input.jobId} (${triggerText(input.trigger, input.runId)})`);
  const outcome: ReviewOutcome = { reviewId: review.id, status: 'completed', suggestionIds: [], duplicates: 0, autoApplied: 0 };
  // A folded review writes its search attributes once it knows whether its first step ended it.
  if (!folded && local) markStatus('running'); // one visibility write, not two
  if (!folded && !local) {
    upsertSearchAttributes(identity);
    identityShown = true;
    markStatus('running');
  }

  /** The review skipped, its row closed (a scheduled one counted on its job's streak of skipped reviews). */
  const skippedOutcome = (reviewId: number, reason: string): ReviewOutcome => {
    markStatus('skipped');
    phase(`**skipped**: ${reason}${reviewId !== review.id ? ` (counted on review ${reviewId}, the job's streak of skipped scheduled reviews)` : ''}`);
    return { ...outcome, reviewId, status: 'skipped' };
  };

  /** Starts the suggestion workflows of the stored suggestions, closes the review (unless already closed) and hands the notification on. */
  const complete = async (
    { suggestions, duplicates, notify: notifies = true }: StoredFindings,
    /** what was analysed, for the details: "the rules analysed 7 runs, 2 files, 1 log" */
    analysed: string,
    closed: boolean,
  ): Promise<ReviewOutcome> => {
    outcome.suggestionIds = suggestions.map((s) => s.id);
    outcome.duplicates = duplicates;
    phase(`**starting** ${plural(suggestions.length, 'suggestion workflow')}`);

    const start = (suggestion: StoredSuggestion) =>
      startChild(suggestionWorkflow, {
        workflowId: suggestionWorkflowId(suggestion.id),
        args: [suggestion.input],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // what it is and its dashboard link, in the Temporal UI (user metadata: not part of replay)
        staticSummary: suggestion.summary,
        staticDetails: suggestion.details,
        // part of the start command, whose attributes replay does not compare: no patch needed
        searchAttributes: {
          [SEARCH_ATTRIBUTES.jobId]: [input.jobId],
          [SEARCH_ATTRIBUTES.trigger]: [input.trigger],
          [SEARCH_ATTRIBUTES.category]: [suggestion.category],
          [SEARCH_ATTRIBUTES.severity]: [suggestion.severity],
          [SEARCH_ATTRIBUTES.status]: ['pending'],
          ...(suggestion.summary ? { [SEARCH_ATTRIBUTES.summary]: [suggestion.summary] } : {}),
          ...targetFileAttribute(suggestion.targetFile),
        },
      });
    if (local) await Promise.all(suggestions.map(start));
    else for (const suggestion of suggestions) await start(suggestion);
    outcome.autoApplied = suggestions.filter((s) => s.input.autoApply).length;

    const pending = suggestions.filter((s) => !s.input.autoApply).map((s) => s.id);
    const notifyAfterClose = gate(NOTIFY_AFTER_CLOSE);
    if (pending.length > 0 && !notifyAfterClose) {
      try {
        await withSummary(notify.notifySuggestions, `notify about ${plural(pending.length, 'pending suggestion')} of ${of}`, { reviewId: review.id, jobId: input.jobId, suggestionIds: pending });
      } catch {
        // The notification activity records its own failure; a review never fails for it.
      }
    }
    const shown = outcome.suggestionIds.slice(0, 10).map((sid) => `#${sid}`).join(', ');
    const more = outcome.suggestionIds.length > 10 ? ` and ${outcome.suggestionIds.length - 10} more` : '';
    const made = `${plural(outcome.suggestionIds.length, 'suggestion')}${shown ? ` (${shown}${more})` : ''}`;
    const counts = `${made}, ${plural(duplicates, 'duplicate')} left out, ${outcome.autoApplied} applying by policy`;
    if (!closed) {
      await withSummary(steps.finishReview, `close ${of}: completed, ${counts}`, {
        reviewId: review.id,
        status: 'completed',
        suggestionsCount: suggestions.length,
        duplicatesCount: duplicates,
        autoAppliedCount: outcome.autoApplied,
      });
    }
    markStatus('completed');
    phase(`**completed**: ${counts}; ${pending.length} waiting for a person; ${analysed}`);
    if (pending.length > 0 && notifyAfterClose && notifies) {
      const shown = notifyMetadata({ reviewId: review.id, jobId: input.jobId, pending: pending.length }, details || null);
      await startChild(notifyWorkflow, {
        workflowId: notifyWorkflowId(review.id),
        args: [{ reviewId: review.id, jobId: input.jobId, suggestionIds: pending }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        searchAttributes: { ...identity, [SEARCH_ATTRIBUTES.summary]: [shown.staticSummary] },
        ...shown,
      }).catch((error: unknown) => {
        // The review is complete and stays so: a notice that could not even start is only logged.
        log.warn('notification not started', { reviewId: review.id, jobId: input.jobId, error: innermostMessage(error) });
      });
    }
    return outcome;
  };

  try {
    const waits = gate(WAIT_FOR_OPENCLAW_JOBS);
    const collect = () => withSummary(steps.collectContext, `collect the context of ${of}`, { reviewId: review.id, ...input });
    let collected: CollectResult;
    if (begun) {
      if ('failed' in begun) throw ApplicationFailure.nonRetryable(begun.failed, 'ReviewStepFailed');
      if ('skipped' in begun) return skippedOutcome(begun.skipped.reviewId, begun.skipped.reason);
      if ('analysed' in begun) {
        const found = begun.analysed;
        if (!found.closed) markStatus('running'); // its suggestion workflows start in tasks of their own
        phase(`**storing** ${plural(found.suggestions.length, 'suggestion')} (analyzer: ${found.analyzer})`);
        return await complete(found, `the ${found.analyzer} analysed ${readText(found.runs, found.files, found.logs)}`, found.closed);
      }
      markStatus('running');
      collected = begun.collected;
    } else {
      collected = await collect();
    }
    if (collected.skip === undefined && waits) {
      const waited = await waitForOpenclawJobs(review.id, steps, markStatus, details);
      if (waited.skip !== undefined) collected = { skip: waited.skip };
      else if (waited.waited) {
        phase(`**collecting** the context of ${input.jobId} again, after the wait`);
        collected = await collect(); // what changed meanwhile
      }
    }
    let analyzer: 'rules' | 'openclaw' | undefined;
    if (collected.skip === undefined && gate(SKIP_UNCHANGED)) {
      const prepared = await withSummary(steps.prepareAnalysis, `compare the context of ${of} with the last analysed review's, and queue it for analysis`, {
        reviewId: review.id,
        jobId: input.jobId,
        trigger: input.trigger,
        fingerprint: collected.fingerprint ?? null,
      });
      if (prepared.skip !== undefined) collected = { skip: prepared.skip };
      analyzer = prepared.analyzer;
    }
    if (collected.skip !== undefined) {
      const skipped = `skip ${of}: ${collected.skip}`;
      if (!waits) {
        await withSummary(steps.finishReview, skipped, { reviewId: review.id, status: 'skipped', skipReason: collected.skip });
        return skippedOutcome(review.id, collected.skip);
      }
      const closed = await withSummary(steps.closeSkippedReview, skipped, { reviewId: review.id, jobId: input.jobId, skipReason: collected.skip });
      return skippedOutcome(closed.reviewId, collected.skip);
    }
    const context = collected.context;
    const read = readText(context.runs.length, context.files.length, context.logs.length);
    phase(`**analysing** ${read}`);
    const analysed = { reviewId: review.id, context };
    const result =
      analyzer === 'rules' && gate(RULES_ANALYSIS_INLINE)
        ? await withSummary(rulesLocal.analyzeWithRules, `analyse ${of} with the rules: ${read}`, analysed)
        : await withSummary(analysis.analyze, `analyse ${of}: ${read}`, analysed);
    phase(`**storing** ${plural(result.suggestions.length, 'suggestion')} (analyzer: ${result.analyzer})`);
    const stored = await withSummary(steps.storeSuggestions, `store the ${plural(result.suggestions.length, 'suggestion')} of ${of} (analyzer: ${result.analyzer})`, {
      reviewId: review.id,
      context,
      analysis: result,
    });
    return await complete(stored, `the ${result.analyzer} analysed ${read}`, false);
  } catch (error) {
    const message = innermostMessage(error);
    const closeRow = () =>
      withSummary(steps.finishReview, `close ${of}: failed: ${message}`, { reviewId: review.id, status: 'failed', error: message, rawResponse: rawAnswer(error) });
    await (gate(FAILED_REVIEW_CLOSES_ROW) ? CancellationScope.nonCancellable(closeRow) : closeRow());
    markStatus('failed');
    phase(`**failed**: ${oneLine(message, 1_000)}`);
    throw ApplicationFailure.nonRetryable(`review ${review.id} of ${input.jobId} failed: ${message}`, 'ReviewFailed');
  }
}

/**
 * Waits while OpenClaw jobs have open runs, when the analysis would use OpenClaw. Answers whether
 * it waited, or the skip reason when the bound passed and the configuration says skip.
 */
async function waitForOpenclawJobs(
  reviewId: number,
  steps: typeof io,
  markStatus: (status: string) => void,
  /** the review's own current details (its dashboard link), shown again once the wait ends */
  details: string,
): Promise<{ waited: boolean; skip?: string }> {
  const look = () => withSummary(steps.openclawRuns, `look for running OpenClaw jobs before the analysis of review ${reviewId}`);
  let check = await look();
  if (check.runs.length === 0) return { waited: false };
  const until = Date.now() + check.waitS * 1000;
  markStatus('waiting');
  let shown: string | null = null;
  while (check.runs.length > 0) {
    const running = describeOpenclawRuns(check.runs);
    const left = until - Date.now();
    if (left <= 0) {
      setCurrentDetails(details);
      if (check.onTimeout === 'skip') {
        return { waited: true, skip: `${running}, still after waiting ${check.waitS} s (HEALING_OPENCLAW_WAIT_S); not analysed while they compete for tokens (HEALING_OPENCLAW_WAIT_TIMEOUT=skip)` };
      }
      log.warn('OpenClaw jobs still running at the end of the wait; analysing anyway', { reviewId, running });
      break;
    }
    const reason = `${running}; the OpenClaw analysis waits until they end (at most until ${new Date(until).toISOString()}) so they do not compete for tokens`;
    if (reason !== shown) {
      await withSummary(steps.markReviewWaiting, `mark review ${reviewId} waiting: ${running}`, { reviewId, reason });
      shown = reason;
    }
    setCurrentDetails(details ? `**waiting**: ${reason}\n\n${details}` : `**waiting**: ${reason}`);
    await sleep(Math.min(check.checkS * 1000, left), {
      summary: oneLine(`wait for OpenClaw jobs to end before the analysis of review ${reviewId}, at most until ${shortTime(until)}`),
    });
    check = await look();
  }
  setCurrentDetails(details);
  await withSummary(steps.markReviewWaiting, `review ${reviewId} no longer waits`, { reviewId, reason: null });
  markStatus('running');
  return { waited: true };
}

/** The HealingTargetFile search attribute of a suggestion that names a file (absent when too long to store). */
function targetFileAttribute(file: string | null | undefined): Record<string, string[]> {
  const value = searchableKeyword(file);
  return value ? { [SEARCH_ATTRIBUTES.targetFile]: [value] } : {};
}

/** What an analysis read, in words: "7 runs, 2 files, 1 log". */
function readText(runs: number, files: number, logs: number): string {
  return `${plural(runs, 'run')}, ${plural(files, 'file')}, ${plural(logs, 'log')}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The analyzer's raw answer, which a failed analysis carries in its failure details. */
function rawAnswer(error: unknown): string | null {
  const detail = findApplicationFailure(error)?.details?.[0];
  return typeof detail === 'string' ? detail : null;
}
