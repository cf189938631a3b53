// suggestionWorkflow: the one writer of a suggestion's state. It waits for a decision (or applies
// by policy), expires after its TTL, applies as a saga, and keeps the rollback window open.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
import { describeRun, JOB_STILL_RUNNING, type OpenRun } from '../core/running.js';
import { ADVICE_STATUS, APPLYING_STEP_TEXT, refusal, type ApplyingStep, type SuggestionCommand, type SuggestionStatus } from '../core/suggestion-state.js';
import { inertText, oneLine, searchableKeyword, shortTime } from '../core/temporal-ui.js';
import {
  ERROR_TYPES,
  SEARCH_ATTRIBUTES,
  type ApplyArgs,
  type ApplyNowArgs,
  type CommandResult,
  type RejectArgs,
  type RollbackArgs,
  type SuggestionInput,
} from '../core/temporal.js';
import type { ApplyWindowState } from '../activities/runs.js';
import type { WatchOutcome, WatchPlan } from '../activities/watch.js';
import { analysis, io, ioLocal, notify, withSummary } from './activity-proxies.js';
import { applyNowUpdate, applyUpdate, approveUpdate, rejectUpdate, rollbackUpdate, stateQuery } from './definitions.js';

/**
 * A decision and the apply saga run as local activities, inside the workflow task that carries the
 * command: two round trips to the Temporal server instead of fourteen, so approve -> applied no
 * longer waits on six task queues (bench/approve-apply.ts). Every step stays idempotent: a worker
 * lost mid-task has the task retried elsewhere, which finds each step done or does it once.
 * Commands carried out before this replay the old way.
 */
export const LOCAL_COMMAND_STEPS = 'suggestion-local-steps';

/**
 * A command's first step is a regular activity: scheduling it completes the workflow task that
 * accepts the update, so the command is in history before anything is written. A local activity
 * first would write Postgres and the file inside a task whose completion a Temporal outage can
 * lose, leaving the row applied and the workflow still pending (found by `npm run drill:temporal`).
 */
export const DURABLE_ACCEPT = 'suggestion-durable-accept';

/**
 * An auto-apply that is refused or fails leaves the workflow open in the status its row shows, to
 * take apply, reject and expiry like any other. Before this, a refusal failed the workflow and
 * stranded its row. Workflows that failed that way replay the old way; deprecate the patch once
 * their histories are no longer read (the retention window after this shipped).
 */
export const AUTO_APPLY_STAYS_OPEN = 'suggestion-auto-apply-stays-open';

/**
 * An apply that needs the AI to write the new file (15-90 s) is marked on the row as applying and,
 * when a command started it, answers that command at once (HTTP 202) and goes on in this workflow,
 * instead of holding the caller for the whole AI turn. Commands carried out before this replay the
 * old way (the rewrite inside the command); deprecate the patch once no history from before it is
 * read (the retention window after this shipped).
 */
export const REWRITE_AFTER_ANSWER = 'suggestion-rewrite-after-answer';

/**
 * Nothing is applied to a job while it runs: before the saga's first write the apply asks for the
 * job's open run and, while there is one, waits on durable timers (looking again after each) up
 * to the bound the check answers with (HEALING_APPLY_WAIT_S), then fails with the reason. The
 * suggestion shows `applying_step: job_running` meanwhile and a command answers 202 at once; an
 * auto-apply waits the same way. Applies started before replay without the check; deprecate the
 * patch once no history from before it is read (the retention window after this shipped).
 */
export const WAIT_FOR_RUNNING_JOB = 'suggestion-wait-for-running-job';

/**
 * Approving advice (no file edit, or one the job's policy does not allow) ends `acknowledged`, not
 * `applied`: nothing was written, so it keeps out of the apply figures and has no rollback window
 * to wait through. Advice approved before this replays the old way (applied, then the window);
 * deprecate the patch once no history from before it is read (the retention window after this
 * shipped).
 */
export const ADVICE_ACKNOWLEDGED = 'suggestion-advice-acknowledged';

/**
 * Who decided, and when, is searchable: HealingDecidedBy (a keyword list) holds each approver and
 * the rejecter, HealingDecidedAt the time of the last decision, written with the status a decision
 * sets (and alone for a first of two approvals, a new command), so "everything alice approved this
 * week" is one query. Decisions made before replay without them; deprecate the patch once no
 * history from before it is read (the retention window after this shipped).
 */
export const DECIDERS_SEARCHABLE = 'temporal-ui-decided-by';

/**
 * After an apply the workflow watches the job's next runs against the runs before (core/regression.ts),
 * on durable timers alongside the rollback window: it stores a verdict on the action and, on
 * `regressed`, rolls back by itself where the job allows (auto_revert), else notifies with a
 * rollback link. A rollback by a person ends the watch; so does its max_days bound (inconclusive).
 * Applies from before replay without it; deprecate the patch once no history from before it is
 * read (the retention window after this shipped).
 */
export const REGRESSION_WATCH = 'suggestion-regression-watch';

/**
 * An apply waits for its job's apply window (core/apply-window.ts, read from the job's config as it
 * is when the wait starts and again when it ends): the approval is recorded at once, the row shows
 * applying_step `window` and apply_at, and a durable timer waits until the window opens; an open
 * run is still waited for after it (WAIT_FOR_RUNNING_JOB), and a window that closed meanwhile is
 * waited for again. An admin's "apply now" (applyNowUpdate) ends the wait, recorded on the row.
 * Asked only where a window is closed: an apply with no window, or an open one, issues the
 * commands it did before. Advice writes nothing: openJobRun, given the suggestion, answers it no
 * window, so it is acknowledged at once (an input change only, no new commands). Deprecate the patch once no history from before it is read (the
 * retention window after this shipped).
 */
export const APPLY_WINDOW = 'suggestion-apply-window';

/** Who the regression watch rolls back as (rolled_back_by). */
export const WATCH_ACTOR = 'regression-watch';

export async function suggestionWorkflow(input: SuggestionInput): Promise<SuggestionStatus> {
  const id = input.suggestionId;
  let status: SuggestionStatus = 'pending';
  let busy = false; // a command is being carried out: others are refused, never interleaved
  let applying: ApplyingStep | null = null; // an apply goes on after its command answered
  /** an apply waits for the job's apply window (APPLY_WINDOW); an admin's "apply now" ends it */
  let waitingForWindow = false;
  let applyNowBy: string | null = null;
  /** the opening the row's apply_at shows (a window changed meanwhile is marked again) */
  let windowMarkedFor: string | null = null;
  let attempt = 0;
  let actionId: number | null = null;
  let appliedBy: string | null = null;
  /** the rollback window has closed: a rollback (a person's or the watch's) is refused */
  let windowClosed = false;
  const approvers: string[] = [];
  /** the file it edits, as the steps' summaries name it */
  const file = input.targetFile ?? `the target file of suggestion ${id}`;

  // Its current details in the Temporal UI: the state, what it waits for, and what happened (who
  // decided and when, what was written, verified, restored or rolled back), one line each.
  const story: string[] = [];
  let waitingFor: string | null = null;
  /** how the regression watch stands (REGRESSION_WATCH), shown beside what it waits for */
  let watchLine: string | null = null;
  const showDetails = () => {
    const state = `**${status}**${applying ? `, ${APPLYING_STEP_TEXT[applying]}` : ''}`;
    const watchShown = watchLine ? [`regression watch: ${watchLine}`] : [];
    setCurrentDetails([state, ...(waitingFor ? [`waiting: ${waitingFor}`] : []), ...watchShown, '', ...story.map((line) => `- ${line}`)].join('\n'));
  };
  const tell = (line: string) => {
    story.push(`${oneLine(line, 1_000)} (${shortTime(Date.now())})`);
    showDetails();
  };
  const waitingOn = (what: string | null) => {
    waitingFor = what;
    showDetails();
  };

  const currentStatus = (): SuggestionStatus => status;
  /** Nothing is being carried out: the state a person sees is the one the workflow waits in. */
  const idle = () => !busy && applying === null;
  /** The deciders as HealingDecidedBy values (each a keyword short enough to store), and now (the workflow's clock) as HealingDecidedAt. */
  const decidedBy = (deciders: string[]) => ({
    [SEARCH_ATTRIBUTES.decidedBy]: [...new Set(deciders)].map(searchableKeyword).filter((name): name is string => name !== null),
    [SEARCH_ATTRIBUTES.decidedAt]: [new Date()],
  });
  /** `deciders`: a decision, recorded with the status in one visibility write (DECIDERS_SEARCHABLE). */
  const setStatus = (next: SuggestionStatus, deciders?: string[]) => {
    status = next;
    const searchable = deciders !== undefined && patched(DECIDERS_SEARCHABLE) ? decidedBy(deciders) : {};
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.status]: [next], ...searchable });
    showDetails();
  };
  const check = (command: SuggestionCommand) => {
    // A wait for the apply window (which may last days) takes a rejection, which ends it; an
    // auto-apply's wait holds the workflow busy and does not.
    const rejectsWindowWait = command === 'reject' && applying === 'window' && waitingForWindow && !busy;
    if (applying && !rejectsWindowWait) throw refused(`suggestion ${id} is being applied (${APPLYING_STEP_TEXT[applying]}); wait until it is applied or failed`, status);
    if (busy) throw refused(`suggestion ${id} is busy with another command; try again in a moment`, status);
    const reason = refusal(command, status);
    if (reason) throw refused(reason, status);
  };
  const exclusive = async (work: () => Promise<CommandResult>): Promise<CommandResult> => {
    busy = true;
    try {
      return await work();
    } finally {
      busy = false;
    }
  };

  /** The proxy for a command's steps; asked once per command, where the command starts. */
  const stepsFor = () => (patched(LOCAL_COMMAND_STEPS) ? ioLocal : io);
  /** The proxy for a command's first step (see DURABLE_ACCEPT). */
  const firstStep = (steps: typeof io) => (patched(DURABLE_ACCEPT) ? io : steps);

  /**
   * The apply saga, with `steps` (`first` for its first step). With `answerEarly` (a person's
   * command), an apply that needs the AI's rewrite answers as soon as it is marked applying and
   * finishes after the answer (REWRITE_AFTER_ANSWER); its end is read from the suggestion.
   */
  const apply = async (by: string, how: { steps: typeof io; first?: typeof io; answerEarly?: boolean }): Promise<CommandResult> => {
    const { steps, first = steps, answerEarly = false } = how;
    attempt += 1;
    applyNowBy = null; // an "apply now" ends one wait, not the window of a later apply
    const compensations: (() => Promise<unknown>)[] = [];
    let prepared: PreparedApply = { actionId: null };
    /** Guard, staleness check, backup and the action row; told in the details once backed up. */
    const prepare = async (prepareWith: typeof io) => {
      prepared = await withSummary(prepareWith.prepareApply, `check and back up ${file} for suggestion ${id} (attempt ${attempt})`, { suggestionId: id, attempt, by });
      if (prepared.actionId !== null) tell(`backed up ${prepared.file ?? file}${prepared.backupPath ? ` to ${prepared.backupPath}` : ''} (action ${prepared.actionId})`);
    };

    const finish = async (): Promise<CommandResult> => {
      if (prepared.needsRewrite) {
        await withSummary(analysis.rewriteProposal, `the AI writes the new content of ${file} for suggestion ${id}`, { suggestionId: id });
        await prepare(steps);
      }
      if (prepared.actionId === null) {
        // Nothing to edit: the suggestion is advice, acknowledged (ADVICE_ACKNOWLEDGED); before
        // the patch it was marked applied.
        await withSummary(steps.completeApply, `record suggestion ${id} acknowledged: advice, nothing to write`, { suggestionId: id, actionId: null, by });
        setStatus(patched(ADVICE_ACKNOWLEDGED) ? ADVICE_STATUS : 'applied');
        tell('advice: nothing written');
        return { status, action_id: null };
      }
      const action = prepared.actionId;
      const written = prepared.file ?? file;
      const backup = prepared.backupPath ? `; backup ${prepared.backupPath}` : '';
      compensations.push(async () => {
        await withSummary(steps.restoreBackup, `restore ${written} from its backup (action ${action})`, { actionId: action });
        tell(`restored ${written} from its backup (action ${action})`);
      });
      await withSummary(steps.writeApplied, `write ${written} (action ${action}${backup})`, { actionId: action });
      tell(`wrote ${written} (action ${action})`);
      const verified = await withSummary(steps.verifyApplied, `verify ${written} (action ${action})`, { actionId: action });
      // absent from older workers' answers
      if (verified?.verification) tell(verificationText(verified.verification));
      await withSummary(steps.completeApply, `record suggestion ${id} applied (action ${action})`, { suggestionId: id, actionId: action, by });
      actionId = action;
      appliedBy = by;
      setStatus('applied');
      return { status, action_id: action };
    };

    const failed = async (error: unknown): Promise<CommandResult> => {
      const message = innermostMessage(error);
      if (failureType(error) === ERROR_TYPES.noChange) {
        // Nothing was written or recorded as applied: the suggestion stays as it is, to be
        // rejected or to expire, and the command is refused with the reason (HTTP 409).
        await CancellationScope.nonCancellable(() => withSummary(steps.noteRefusedApply, `note suggestion ${id} not applied: no change`, { suggestionId: id, error: message }));
        tell(`not applied: ${message}`);
        throw refused(message, status, ERROR_TYPES.noChange);
      }
      await CancellationScope.nonCancellable(async () => {
        for (const undo of compensations.reverse()) {
          try {
            await undo();
          } catch (undoError) {
            log.error('compensation failed', { suggestionId: id, error: innermostMessage(undoError) });
          }
        }
        await withSummary(steps.failApply, `record suggestion ${id} failed: ${message}`, { suggestionId: id, actionId: prepared.actionId, error: message });
      });
      setStatus('failed');
      tell(`apply failed: ${message}`);
      const type = failureType(error);
      if (type === ERROR_TYPES.staleFile || type === ERROR_TYPES.guardRefusal) throw refused(message, status, type);
      return { status, action_id: prepared.actionId, error: message };
    };

    /** Goes on after the command's answer; its end is read from the suggestion. */
    const afterAnswer = (step: ApplyingStep, work: () => Promise<CommandResult>) => {
      applying = step;
      showDetails();
      void work()
        .catch(failed)
        // A refusal after the answer has nobody to go to: the row holds it (failApply ran).
        .catch((error: unknown) => log.warn('apply refused after its command was answered', { suggestionId: id, status: currentStatus(), error: innermostMessage(error) }))
        .finally(() => {
          applying = null;
          showDetails();
        });
    };

    /** From the saga's first write on; `answered`: the command already has its answer. */
    const prepareAndFinish = async (prepareWith: typeof io, answered: boolean): Promise<CommandResult> => {
      await prepare(prepareWith);
      if (prepared.needsRewrite && patched(REWRITE_AFTER_ANSWER)) {
        await withSummary(steps.markApplying, `mark suggestion ${id} applying: ${APPLYING_STEP_TEXT.rewrite}`, { suggestionId: id, step: 'rewrite' });
        if (currentStatus() !== 'approved') setStatus('approved'); // a retry of a failed apply, as the row now says
        if (answered) {
          applying = 'rewrite'; // the row says so too; cleared where the early answer's work ends
        } else if (answerEarly) {
          afterAnswer('rewrite', finish);
          return { status, action_id: null, applying: 'rewrite' };
        }
      }
      return finish();
    };

    try {
      if (patched(WAIT_FOR_RUNNING_JOB)) {
        const check = await withSummary(first.openJobRun, `is ${input.jobId} running? nothing is applied while it runs`, { jobId: input.jobId, suggestionId: id });
        // Only a closed window asks for the patch: with none, the commands are those from before.
        const outsideWindow = windowShut(check) && patched(APPLY_WINDOW);
        if (check.run || outsideWindow) {
          const step: ApplyingStep = outsideWindow ? 'window' : 'job_running';
          if (outsideWindow) await markWindowWait(check.window!, steps);
          else await withSummary(steps.markApplying, `mark suggestion ${id} applying: ${APPLYING_STEP_TEXT.job_running}`, { suggestionId: id, step: 'job_running' });
          if (currentStatus() !== 'approved') setStatus('approved');
          const waitUntil = Date.now() + check.waitS * 1000;
          const afterWait = async () => {
            if (!(await waitForTurn(check, step, waitUntil, steps))) return { status, action_id: null };
            return prepareAndFinish(steps, answerEarly);
          };
          const waiting = outsideWindow
            ? { applying: 'window' as const, apply_at: check.window!.opens_at ?? undefined, apply_window: check.window!.description }
            : { applying: 'job_running' as const, waiting_for_run: check.run!, wait_until: new Date(waitUntil).toISOString() };
          if (answerEarly) {
            afterAnswer(step, afterWait);
            return { status, action_id: null, ...waiting };
          }
          // An auto-apply: nobody waits on its answer, but commands meanwhile are told what it does.
          applying = step;
          try {
            return await afterWait();
          } finally {
            applying = null;
          }
        }
      }
      return await prepareAndFinish(first, false);
    } catch (error) {
      return failed(error);
    }
  };

  /**
   * Durable timers until the job's open run has ended (looked up again after each), shown in the
   * Temporal UI; past `until` it fails with the reason, nothing written.
   */
  const waitForRunEnd = async (run: OpenRun, bound: { until: number; waitS: number; checkS: number }, steps: typeof io): Promise<RunCheck | null> => {
    const { until, waitS, checkS } = bound;
    let open: OpenRun | null = run;
    let last: RunCheck | null = null;
    try {
      while (open) {
        const left = until - Date.now();
        const what = `waiting for ${describeRun(open)} to end before applying suggestion ${id}`;
        if (left <= 0) {
          throw ApplicationFailure.create({
            type: JOB_STILL_RUNNING,
            nonRetryable: true,
            message:
              `not applied: ${describeRun(open)} had not reported its end after the apply waited ${waitS} s ` +
              `(HEALING_APPLY_WAIT_S); nothing was written. Apply again once the run has ended (a run that ended without saying so: report its finished_at to POST /api/v1/jobs/${open.job_id}/runs)`,
          });
        }
        waitingOn(`${what} (at most until ${shortTime(until)})`);
        await sleep(Math.min(checkS * 1000, left), { summary: oneLine(`${what}, at most until ${shortTime(until)}`) });
        last = await withSummary(steps.openJobRun, `is ${input.jobId} still running? (${describeRun(open)})`, { jobId: input.jobId, suggestionId: id });
        open = last.run;
      }
      return last;
    } finally {
      waitingOn(null);
    }
  };

  /** The job has an apply window, closed now, and no admin said "apply now". */
  const windowShut = (check: RunCheck | null): boolean => Boolean(check?.window && !check.window.open) && applyNowBy === null;

  const markWindowWait = async (window: ApplyWindowState, steps: typeof io) => {
    const when = window.opens_at ? `applies at ${shortTime(Date.parse(window.opens_at))}` : 'the window does not open within fifteen days';
    await withSummary(steps.markApplying, `mark suggestion ${id} applying: ${APPLYING_STEP_TEXT.window} (${when})`, {
      suggestionId: id,
      step: 'window',
      applyAt: window.opens_at ?? undefined,
      reason: `outside the job's apply window (${window.description})${window.note ? `; ${window.note}` : ''}`,
    });
    windowMarkedFor = window.opens_at;
    applying = 'window';
    tell(`outside the apply window (${window.description}): ${when}`);
  };

  /**
   * Waits until the job's apply window is open and no run of it is open, the window read again
   * after each wait (APPLY_WINDOW). `step`: what the row already shows; `runUntil`: the bound of a
   * first wait for a run (the one the command's answer named).
   */
  const waitForTurn = async (first: RunCheck, step: ApplyingStep, runUntil: number, steps: typeof io): Promise<boolean> => {
    let check: RunCheck | null = first;
    let shown = step;
    let until = runUntil;
    while (check) {
      if (windowShut(check) && patched(APPLY_WINDOW)) {
        if (shown !== 'window' || check.window!.opens_at !== windowMarkedFor) await markWindowWait(check.window!, steps);
        shown = 'window';
        check = await waitForWindow(check.window!, steps);
        if (!check) return false; // rejected while it waited
        until = Date.now() + check.waitS * 1000;
        continue;
      }
      if (!check.run) return true;
      if (shown !== 'job_running') {
        await withSummary(steps.markApplying, `mark suggestion ${id} applying: ${APPLYING_STEP_TEXT.job_running}`, { suggestionId: id, step: 'job_running' });
        applying = 'job_running';
        shown = 'job_running';
      }
      // Before the patch the apply went on once the run ended; since, the window is judged again.
      check = await waitForRunEnd(check.run, { until, waitS: check.waitS, checkS: check.checkS }, steps);
    }
    return true;
  };

  /**
   * A durable timer until the window opens (or an admin's "apply now"), then the job's window and
   * runs read again; null when the suggestion was rejected meanwhile (nothing more to do).
   */
  const waitForWindow = async (window: ApplyWindowState, steps: typeof io): Promise<RunCheck | null> => {
    const opensAt = window.opens_at ? Date.parse(window.opens_at) : null;
    // A window that does not open within the horizon is looked at again daily: its config may change.
    const ms = opensAt === null ? DAY_MS : Math.max(1_000, opensAt - Date.now());
    const what = opensAt === null
      ? `the apply window (${window.description}) does not open within fifteen days; look again at ${shortTime(Date.now() + ms)}`
      : `apply when the window opens at ${shortTime(opensAt)} (${window.description})`;
    waitingForWindow = true;
    waitingOn(what);
    try {
      await condition(() => applyNowBy !== null || (status === 'rejected' && !busy), ms, { summary: oneLine(`${what}: suggestion ${id}`) });
    } finally {
      waitingForWindow = false;
      waitingOn(null);
    }
    if (currentStatus() === 'rejected') return null;
    return withSummary(steps.openJobRun, `is the apply window of ${input.jobId} open, and is it running?`, { jobId: input.jobId, suggestionId: id });
  };

  setHandler(
    applyNowUpdate,
    async (args) => {
      await withSummary(io.recordApplyNow, `record ${args.by}'s "apply now" of suggestion ${id}: the apply window is not waited for`, { suggestionId: id, by: args.by });
      applyNowBy = args.by;
      tell(`apply now by ${args.by}: the apply window is not waited for (an open run still is)`);
      // Answers once the apply went on: applied or failed, or waiting for a run or the AI's rewrite.
      await condition(() => !waitingForWindow && applying !== 'window');
      return { status, action_id: actionId, ...(applying ? { applying } : {}) };
    },
    {
      validator: (_args: ApplyNowArgs) => {
        if (!waitingForWindow || applyNowBy !== null) throw refused(`suggestion ${id} is not waiting for its job's apply window: "apply now" only ends that wait`, status);
      },
    },
  );

  setHandler(stateQuery, () => ({ status, busy: !idle(), action_id: actionId, approvals: [...approvers], applying }));

  setHandler(
    approveUpdate,
    (args) =>
      exclusive(async () => {
        const steps = stepsFor();
        const approvals = await withSummary(firstStep(steps).recordApproval, `record ${args.by}'s approval of suggestion ${id}`, { suggestionId: id, by: args.by, comment: args.comment ?? null });
        approvers.splice(0, approvers.length, ...approvals);
        const needed = input.requiredApprovals - approvers.length;
        if (needed > 0) {
          // A first of two approvals: searchable at once, though the status stays pending.
          if (patched(DECIDERS_SEARCHABLE)) upsertSearchAttributes(decidedBy(approvers));
          tell(`approved by ${args.by}; ${needed} more approver${needed === 1 ? '' : 's'} needed`);
          return { status, action_id: null, approvals_needed: needed };
        }
        await withSummary(steps.recordDecision, `record suggestion ${id} approved by ${approvers.join(' and ')}`, { suggestionId: id, status: 'approved', by: args.by, comment: args.comment ?? null });
        setStatus('approved', approvers);
        tell(`approved by ${args.by}${args.comment ? `: "${inertText(args.comment)}"` : ''}`);
        if (args.apply === false) return { status, action_id: null };
        return apply(args.by, { steps, answerEarly: true });
      }),
    {
      validator: (args) => {
        check('approve');
        if (input.requiredApprovals > 1 && args.identified === false) {
          throw refused(
            `this ${'suggestion'} needs ${input.requiredApprovals} different approvers, each with their own API token: configure HEALING_TOKENS_FILE, or set self_healing.suggestions.two_person_rule: false for the job`,
            status,
          );
        }
        if (approvers.includes(args.by)) throw refused(`${args.by} has already approved; a second approver is needed`, status);
      },
    },
  );

  setHandler(
    rejectUpdate,
    (args) =>
      exclusive(async () => {
        await withSummary(firstStep(stepsFor()).recordDecision, `record suggestion ${id} rejected by ${args.by}`, { suggestionId: id, status: 'rejected', by: args.by, reason: args.reason });
        setStatus('rejected', [...approvers, args.by]);
        // The reason is a person's free text and may hold a secret: it is shown, masked, in the dashboard only.
        tell(`rejected by ${args.by} (the reason is in the dashboard)`);
        return { status, action_id: null };
      }),
    { validator: (_args: RejectArgs) => check('reject') },
  );

  setHandler(
    applyUpdate,
    (args) =>
      exclusive(() => {
        const steps = stepsFor();
        return apply(args.by, { steps, first: firstStep(steps), answerEarly: true });
      }),
    { validator: (_args: ApplyArgs) => check('apply') },
  );

  setHandler(
    rollbackUpdate,
    (args) =>
      exclusive(async () => {
        try {
          await withSummary(io.rollbackAction, `roll back action ${args.actionId}: restore ${file} as it was before the apply (by ${args.by}${args.force ? ', forced' : ''})`, {
            suggestionId: id,
            actionId: args.actionId,
            by: args.by,
            force: args.force ?? false,
          });
        } catch (error) {
          // The update fails with the activity's own reason (a conflict carries the diff); the
          // suggestion stays applied.
          const cause = findApplicationFailure(error);
          throw ApplicationFailure.create({ message: innermostMessage(error), type: cause?.type ?? 'RollbackFailed', nonRetryable: true, details: cause?.details ?? [] });
        }
        setStatus('rolled_back');
        tell(`rolled back by ${args.by}${args.force ? ' (forced)' : ''}: ${file} restored as it was before action ${args.actionId}`);
        return { status, action_id: actionId };
      }),
    {
      validator: (args: RollbackArgs) => {
        check('rollback');
        if (windowClosed) throw refused(`the rollback window of action ${args.actionId} has closed: the change stays; edit ${file} by hand to undo it`, status);
        if (args.actionId !== actionId) {
          throw refused(`action ${args.actionId} is not the applied change of suggestion ${id}${actionId === null ? '' : `; roll back action ${actionId}`}`, status);
        }
      },
    },
  );

  if (input.autoApply) {
    try {
      await exclusive(async () => {
        const steps = stepsFor();
        await withSummary(steps.recordDecision, `record suggestion ${id} approved by the job's auto-apply policy`, {
          suggestionId: id,
          status: 'approved',
          by: 'auto',
          comment: 'applied by the job\'s auto-apply policy',
        });
        setStatus('approved', ['auto']);
        tell('approved by auto (the job\'s auto-apply policy)');
        return apply('auto', { steps });
      });
    } catch (error) {
      // Nobody waits on an auto-apply's answer: the workflow goes on in the status its row shows.
      // A refusal (file changed since the review, guard) or a failed saga step leaves both
      // `failed`, not `pending`, even with nothing written: the row keeps the reason, an approve
      // would meet the same refusal, and `failed` takes what a person needs (apply once the file
      // is fixed, reject, expiry). A decision never recorded leaves both `pending`; a failApply
      // that failed, both `approved`.
      if (!patched(AUTO_APPLY_STAYS_OPEN)) throw error;
      log.warn('auto-apply did not apply', { suggestionId: id, status: currentStatus(), error: innermostMessage(error) });
    }
  }

  // The steps below throw none of NON_RETRYABLE_ERROR_TYPES: they retry until Postgres answers,
  // so none can end the workflow while its row still takes commands.
  // Pending: wait for a decision until the TTL runs out.
  const expire = async (undecided: string) => {
    await withSummary(io.expireSuggestion, `expire suggestion ${id}: ${undecided}`, { suggestionId: id });
    setStatus('expired');
    tell(`expired: ${undecided}`);
  };
  showDetails();
  const decisionBy = shortTime(Date.now() + input.ttlMs);
  if (!(await condition(() => status !== 'pending' && idle(), input.ttlMs, { summary: `wait for approval until ${decisionBy}` }))) {
    await condition(idle);
    if (currentStatus() === 'pending') await expire(`no decision by ${decisionBy}`);
  }
  // Approved but not applied, or failed: wait for an apply (or a retry) or a rejection; left
  // undecided for another TTL it expires too, so no suggestion is left open with no workflow.
  const applyBy = shortTime(Date.now() + input.ttlMs);
  if (!(await condition(() => idle() && status !== 'approved' && status !== 'failed', input.ttlMs, { summary: `wait for an apply or a rejection until ${applyBy}` }))) {
    await condition(idle);
    if (currentStatus() === 'approved' || currentStatus() === 'failed') await expire(`${currentStatus()} and not applied by ${applyBy}`);
  }
  /** Tells the job's channel what the watch did about a regression; a failed notice never ends the watch. */
  const notifyWatch = async (action: number, outcome: WatchOutcome, reason: string | null = null) => {
    try {
      const sent = await withSummary(notify.notifyWatch, `notify: action ${action} made ${input.jobId} worse (${outcome.replace('_', ' ')})`, { actionId: action, outcome, reason });
      tell(`notified: ${sent.detail}`);
    } catch (error) {
      tell(`notification failed: ${innermostMessage(error)}`);
    }
  };

  /** On `regressed`: roll back through the same conflict-aware step as a person's rollback, where allowed; else notify. */
  const onRegressed = async (action: number, plan: WatchPlan) => {
    await condition(idle);
    if (currentStatus() !== 'applied') return; // rolled back meanwhile
    if (windowClosed) return notifyWatch(action, 'window_closed');
    if (!plan.autoRevert) return notifyWatch(action, 'needs_person');
    let refusedReason: string | null = null;
    await exclusive(async () => {
      try {
        await withSummary(io.rollbackAction, `roll back action ${action}: the regression watch found ${input.jobId} worse; restore ${file} unless it was edited since`, {
          suggestionId: id,
          actionId: action,
          by: WATCH_ACTOR,
          force: false,
        });
        setStatus('rolled_back');
        tell(`rolled back by the regression watch: ${file} restored as it was before action ${action}`);
      } catch (error) {
        refusedReason = innermostMessage(error);
        tell(`not rolled back by the regression watch: ${refusedReason}`);
      }
      return { status, action_id: action };
    });
    if (refusedReason !== null) return notifyWatch(action, 'revert_refused', refusedReason);
    await withSummary(io.markAutoReverted, `mark action ${action} rolled back by the regression watch`, { actionId: action });
    return notifyWatch(action, 'auto_reverted');
  };

  /**
   * The regression watch (REGRESSION_WATCH): durable timers, each followed by one short count of
   * the runs since the apply, until a verdict, the max_days bound, or a rollback. It ends with the
   * rollback window at the latest (`windowEndsAt`), so the workflow lives no longer than before.
   */
  const watchRuns = async (action: number, windowEndsAt: number) => {
    const plan = await withSummary(io.startWatch, `start the regression watch of action ${action}: the next runs of ${input.jobId} against the runs before`, {
      actionId: action,
      autoApplied: appliedBy === 'auto',
    });
    if (!plan.watching) {
      tell(`not watched: ${plan.reason}`);
      return;
    }
    const until = Math.min(Date.now() + plan.maxMs, windowEndsAt);
    const untilText = shortTime(until);
    tell(`watching the next ${plan.rule.runs} runs of ${input.jobId}, until ${untilText} at most${plan.autoRevert ? '; a regression is rolled back automatically' : ''}`);
    let runsAfter = 0;
    let verdictLine: string | null = null;
    try {
      for (;;) {
        const left = until - Date.now();
        if (left > 0) {
          watchLine = `${runsAfter} of ${plan.rule.runs} runs since the apply; judged after ${plan.rule.runs} runs, or at ${untilText}`;
          showDetails();
          await condition(() => status !== 'applied', Math.min(plan.checkMs, left), { summary: oneLine(`regression watch of action ${action}: look at the runs of ${input.jobId} again (until ${untilText})`) });
        }
        await condition(idle);
        if (currentStatus() !== 'applied') {
          const reason = `the change was ${currentStatus().replace('_', ' ')} before a verdict`;
          await withSummary(io.stopWatch, `end the regression watch of action ${action}: ${reason}`, { actionId: action, reason });
          tell(`regression watch ended: ${reason}`);
          return;
        }
        const final = Date.now() >= until;
        const judged = await withSummary(io.judgeWatch, `count the runs of ${input.jobId} since action ${action}${final ? ' (the watch ends)' : ''}`, {
          actionId: action,
          rule: plan.rule,
          final,
          autoRevert: plan.autoRevert,
          until: new Date(until).toISOString(),
        });
        runsAfter = judged.runsAfter;
        if (judged.verdict === null) continue;
        verdictLine = `**${judged.verdict}**: ${judged.summary}`;
        watchLine = verdictLine;
        tell(`verdict ${judged.verdict}: ${judged.summary}`);
        if (judged.verdict === 'regressed') await onRegressed(action, plan);
        return;
      }
    } finally {
      watchLine = verdictLine;
      showDetails();
    }
  };

  // Applied: keep the rollback window open, then close it. (status changes in handlers, so read it fresh)
  let watching: Promise<void> | null = null;
  if (currentStatus() === 'applied') {
    const windowEndsAt = Date.now() + input.rollbackWindowMs;
    if (actionId !== null && patched(REGRESSION_WATCH)) watching = watchRuns(actionId, windowEndsAt);
    const windowEnd = shortTime(windowEndsAt);
    waitingOn(`a rollback, possible until ${windowEnd}`);
    const rolledBack = await condition(() => idle() && status !== 'applied', input.rollbackWindowMs, {
      summary: `keep the rollback window${actionId === null ? '' : ` of action ${actionId}`} open until ${windowEnd}`,
    });
    waitingOn(null);
    if (!rolledBack && actionId !== null) {
      const action = actionId;
      windowClosed = true;
      await withSummary(io.closeRollbackWindow, `close the rollback window of action ${action}`, { actionId: action });
      tell(`rollback window closed: the change of action ${action} stays`);
    }
  }
  if (watching) await watching;
  await condition(idle);
  await condition(allHandlersFinished);
  return status;
}

const DAY_MS = 86_400_000;

type PreparedApply = Awaited<ReturnType<Activities['prepareApply']>>;
type RunCheck = Awaited<ReturnType<Activities['openJobRun']>>;
type Verification = Awaited<ReturnType<Activities['verifyApplied']>>['verification'];

/** An apply's verification in words, for the current details. */
function verificationText(verification: Verification): string {
  if (verification.status === 'verified') return `verified (${verification.check})`;
  if (verification.status === 'skipped') return `not verified: ${verification.reason}`;
  return `verification failed (${verification.check}): ${verification.reason}`;
}

function refused(message: string, status: SuggestionStatus, type: string = ERROR_TYPES.refused): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: [{ status }] });
}

function failureType(error: unknown): string | undefined {
  return findApplicationFailure(error)?.type ?? undefined;
}
