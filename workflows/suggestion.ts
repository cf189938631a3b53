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
import { findApplicationFailure, innermostMessage } from '../core/failures.js';
import { describeRun, JOB_STILL_RUNNING, type OpenRun } from '../core/running.js';
import { ADVICE_STATUS, APPLYING_STEP_TEXT, refusal, type ApplyingStep, type SuggestionCommand, type SuggestionStatus } from '../core/suggestion-state.js';
import {
  ERROR_TYPES,
  SEARCH_ATTRIBUTES,
  type ApplyArgs,
  type CommandResult,
  type RejectArgs,
  type RollbackArgs,
  type SuggestionInput,
} from '../core/temporal.js';
import { analysis, io, ioLocal } from './activity-proxies.js';
import { applyUpdate, approveUpdate, rejectUpdate, rollbackUpdate, stateQuery } from './definitions.js';

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

export async function suggestionWorkflow(input: SuggestionInput): Promise<SuggestionStatus> {
  const id = input.suggestionId;
  let status: SuggestionStatus = 'pending';
  let busy = false; // a command is being carried out: others are refused, never interleaved
  let applying: ApplyingStep | null = null; // an apply goes on after its command answered
  let attempt = 0;
  let actionId: number | null = null;
  const approvers: string[] = [];

  const currentStatus = (): SuggestionStatus => status;
  /** Nothing is being carried out: the state a person sees is the one the workflow waits in. */
  const idle = () => !busy && applying === null;
  const setStatus = (next: SuggestionStatus) => {
    status = next;
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.status]: [next] });
  };
  const check = (command: SuggestionCommand) => {
    if (applying) throw refused(`suggestion ${id} is being applied (${APPLYING_STEP_TEXT[applying]}); wait until it is applied or failed`, status);
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
    const compensations: (() => Promise<unknown>)[] = [];
    let prepared: { actionId: number | null; needsRewrite?: boolean } = { actionId: null };

    const finish = async (): Promise<CommandResult> => {
      if (prepared.needsRewrite) {
        await analysis.rewriteProposal({ suggestionId: id });
        prepared = await steps.prepareApply({ suggestionId: id, attempt, by });
      }
      if (prepared.actionId === null) {
        // Nothing to edit: the suggestion is advice, acknowledged (ADVICE_ACKNOWLEDGED); before
        // the patch it was marked applied.
        await steps.completeApply({ suggestionId: id, actionId: null, by });
        setStatus(patched(ADVICE_ACKNOWLEDGED) ? ADVICE_STATUS : 'applied');
        return { status, action_id: null };
      }
      const action = prepared.actionId;
      compensations.push(() => steps.restoreBackup({ actionId: action }));
      await steps.writeApplied({ actionId: action });
      await steps.verifyApplied({ actionId: action });
      await steps.completeApply({ suggestionId: id, actionId: action, by });
      actionId = action;
      setStatus('applied');
      return { status, action_id: action };
    };

    const failed = async (error: unknown): Promise<CommandResult> => {
      const message = innermostMessage(error);
      if (failureType(error) === ERROR_TYPES.noChange) {
        // Nothing was written or recorded as applied: the suggestion stays as it is, to be
        // rejected or to expire, and the command is refused with the reason (HTTP 409).
        await CancellationScope.nonCancellable(() => steps.noteRefusedApply({ suggestionId: id, error: message }));
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
        await steps.failApply({ suggestionId: id, actionId: prepared.actionId, error: message });
      });
      setStatus('failed');
      const type = failureType(error);
      if (type === ERROR_TYPES.staleFile || type === ERROR_TYPES.guardRefusal) throw refused(message, status, type);
      return { status, action_id: prepared.actionId, error: message };
    };

    /** Goes on after the command's answer; its end is read from the suggestion. */
    const afterAnswer = (step: ApplyingStep, work: () => Promise<CommandResult>) => {
      applying = step;
      void work()
        .catch(failed)
        // A refusal after the answer has nobody to go to: the row holds it (failApply ran).
        .catch((error: unknown) => log.warn('apply refused after its command was answered', { suggestionId: id, status: currentStatus(), error: innermostMessage(error) }))
        .finally(() => {
          applying = null;
        });
    };

    /** From the saga's first write on; `answered`: the command already has its answer. */
    const prepareAndFinish = async (prepareWith: typeof io, answered: boolean): Promise<CommandResult> => {
      prepared = await prepareWith.prepareApply({ suggestionId: id, attempt, by });
      if (prepared.needsRewrite && patched(REWRITE_AFTER_ANSWER)) {
        await steps.markApplying({ suggestionId: id, step: 'rewrite' });
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
        const check = await first.openJobRun({ jobId: input.jobId });
        if (check.run) {
          await steps.markApplying({ suggestionId: id, step: 'job_running' });
          if (currentStatus() !== 'approved') setStatus('approved');
          const waitUntil = Date.now() + check.waitS * 1000;
          const afterWait = async () => {
            await waitForRunEnd(check.run!, { until: waitUntil, waitS: check.waitS, checkS: check.checkS }, steps);
            return prepareAndFinish(steps, answerEarly);
          };
          const waiting = { applying: 'job_running' as const, waiting_for_run: check.run, wait_until: new Date(waitUntil).toISOString() };
          if (answerEarly) {
            afterAnswer('job_running', afterWait);
            return { status, action_id: null, ...waiting };
          }
          // An auto-apply: nobody waits on its answer, but commands meanwhile are told what it does.
          applying = 'job_running';
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
  const waitForRunEnd = async (run: OpenRun, bound: { until: number; waitS: number; checkS: number }, steps: typeof io): Promise<void> => {
    const { until, waitS, checkS } = bound;
    let open: OpenRun | null = run;
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
        setCurrentDetails(`${what} (until ${new Date(until).toISOString()})`);
        await sleep(Math.min(checkS * 1000, left), { summary: what });
        open = (await steps.openJobRun({ jobId: input.jobId })).run;
      }
    } finally {
      setCurrentDetails('');
    }
  };

  setHandler(stateQuery, () => ({ status, busy: !idle(), action_id: actionId, approvals: [...approvers], applying }));

  setHandler(
    approveUpdate,
    (args) =>
      exclusive(async () => {
        const steps = stepsFor();
        const approvals = await firstStep(steps).recordApproval({ suggestionId: id, by: args.by, comment: args.comment ?? null });
        approvers.splice(0, approvers.length, ...approvals);
        const needed = input.requiredApprovals - approvers.length;
        if (needed > 0) return { status, action_id: null, approvals_needed: needed };
        await steps.recordDecision({ suggestionId: id, status: 'approved', by: args.by, comment: args.comment ?? null });
        setStatus('approved');
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
        await firstStep(stepsFor()).recordDecision({ suggestionId: id, status: 'rejected', by: args.by, reason: args.reason });
        setStatus('rejected');
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
          await io.rollbackAction({ suggestionId: id, actionId: args.actionId, by: args.by, force: args.force ?? false });
        } catch (error) {
          // The update fails with the activity's own reason (a conflict carries the diff); the
          // suggestion stays applied.
          const cause = findApplicationFailure(error);
          throw ApplicationFailure.create({ message: innermostMessage(error), type: cause?.type ?? 'RollbackFailed', nonRetryable: true, details: cause?.details ?? [] });
        }
        setStatus('rolled_back');
        return { status, action_id: actionId };
      }),
    {
      validator: (args: RollbackArgs) => {
        check('rollback');
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
        await steps.recordDecision({ suggestionId: id, status: 'approved', by: 'auto', comment: 'applied by the job\'s auto-apply policy' });
        setStatus('approved');
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
  if (!(await condition(() => status !== 'pending' && idle(), input.ttlMs))) {
    await condition(idle);
    if (currentStatus() === 'pending') {
      await io.expireSuggestion({ suggestionId: id });
      setStatus('expired');
    }
  }
  // Approved but not applied, or failed: wait for an apply (or a retry) or a rejection; left
  // undecided for another TTL it expires too, so no suggestion is left open with no workflow.
  if (!(await condition(() => idle() && status !== 'approved' && status !== 'failed', input.ttlMs))) {
    await condition(idle);
    if (currentStatus() === 'approved' || currentStatus() === 'failed') {
      await io.expireSuggestion({ suggestionId: id });
      setStatus('expired');
    }
  }
  // Applied: keep the rollback window open, then close it. (status changes in handlers, so read it fresh)
  if (currentStatus() === 'applied') {
    const rolledBack = await condition(() => idle() && status !== 'applied', input.rollbackWindowMs);
    if (!rolledBack && actionId !== null) await io.closeRollbackWindow({ actionId });
  }
  await condition(idle);
  await condition(allHandlersFinished);
  return status;
}

function refused(message: string, status: SuggestionStatus, type: string = ERROR_TYPES.refused): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: [{ status }] });
}

function failureType(error: unknown): string | undefined {
  return findApplicationFailure(error)?.type ?? undefined;
}
