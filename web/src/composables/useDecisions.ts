// Approve, reject, apply and roll back, each with a toast that says what happened, and a page
// refresh so every list and count shows the new state.
import { reactive } from 'vue';
import { actionsApi } from '../api/actions';
import { ApiError, messageOf } from '../api/http';
import { suggestionsApi } from '../api/suggestions';
import { APPLYING_STEP_TEXT, type CommandResult, type SilenceSpec } from '../api/types';
import { formatDate } from '../lib/format';
import { useRefresh } from './useRefresh';
import { useToasts } from './useToasts';

const busy = reactive(new Set<string>());

function outcome(verb: string, id: number, result: CommandResult): { kind: 'ok' | 'error' | 'info'; text: string } {
  if (result.approvals_needed && result.approvals_needed > 0) {
    return { kind: 'info', text: `Suggestion #${id} approved; ${result.approvals_needed} more approval${result.approvals_needed === 1 ? '' : 's'} from another person needed before it applies.` };
  }
  if (result.applying === 'job_running' && result.waiting_for_run) {
    const run = result.waiting_for_run;
    return {
      kind: 'info',
      text: `Suggestion #${id} ${verb === 'apply' ? 'waits' : 'approved; it waits'} for run ${run.external_id} of ${run.job_id} to end before anything is written (at most until ${formatDate(result.wait_until)}). Its card shows when it is applied.`,
    };
  }
  if (result.applying === 'window') {
    const window = result.apply_window ?? 'see the suggestion';
    // No apply_at: the window does not open within the horizon, so no time is promised.
    if (!result.apply_at) {
      return {
        kind: 'info',
        text: `Suggestion #${id} approved, but the job's apply window (${window}) does not open within 15 days: nothing is written unless the window or the job's schedule changes, or an admin applies it now.`,
      };
    }
    return {
      kind: 'info',
      text: `Suggestion #${id} approved; it applies at ${formatDate(result.apply_at)}, when the job's apply window (${window}) opens. Nothing is written before.`,
    };
  }
  if (result.applying) {
    return { kind: 'info', text: `Suggestion #${id} ${verb === 'apply' ? 'is' : 'approved; it is'} being applied: ${APPLYING_STEP_TEXT[result.applying]}. Its card shows when it is done.` };
  }
  switch (result.status) {
    case 'applied':
      return { kind: 'ok', text: `Suggestion #${id} ${verb === 'apply' ? '' : 'approved and '}applied${result.action_id ? ` (action #${result.action_id})` : ''}.` };
    case 'acknowledged':
      // advice: no file was written, so nothing "applied" (core/suggestion-state.ts)
      return { kind: 'ok', text: `Suggestion #${id} acknowledged: it is advice, so nothing was changed.` };
    case 'approved':
      return { kind: 'ok', text: `Suggestion #${id} approved; nothing is written until someone applies it.` };
    case 'rejected':
      return { kind: 'ok', text: `Suggestion #${id} rejected.` };
    case 'rolled_back':
      return { kind: 'ok', text: `Rolled back: suggestion #${id}'s file holds its original content again.` };
    default:
      return { kind: 'info', text: `Suggestion #${id} is now ${result.status.replace('_', ' ')}.` };
  }
}

export function useDecisions() {
  const { refresh } = useRefresh();
  const { show } = useToasts();

  async function run<T extends CommandResult>(key: string, verb: string, id: number, call: () => Promise<T>): Promise<T | ApiError> {
    busy.add(key);
    try {
      const result = await call();
      const o = outcome(verb, id, result);
      show(o.kind, o.text);
      return result;
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError(0, messageOf(e));
      // 422: the apply was tried and failed, and the file restored (api/temporal.ts, failedApply)
      if (error.status === 422) show('error', `Suggestion #${id}: applying failed: ${error.message}. Its file was left as it was.`);
      else if (!(verb === 'rollback' && error.status === 409)) show('error', `Could not ${verb} suggestion #${id}: ${error.message}`);
      return error;
    } finally {
      busy.delete(key);
      refresh();
    }
  }

  return {
    isBusy: (kind: 's' | 'a', id: number) => busy.has(`${kind}${id}`),
    /** apply false: approve only; the file is written by a later apply */
    approve: (id: number, apply = true) => run(`s${id}`, 'approve', id, () => suggestionsApi.approve(id, { apply })),
    reject: (id: number, reason: string, silence: SilenceSpec | null = null) => run(`s${id}`, 'reject', id, () => suggestionsApi.reject(id, reason, silence)),
    apply: (id: number) => run(`s${id}`, 'apply', id, () => suggestionsApi.apply(id)),
    applyNow: (id: number) => run(`s${id}`, 'apply', id, () => suggestionsApi.applyNow(id)),
    rollback: (actionId: number, suggestionId: number, force = false) => run(`a${actionId}`, 'rollback', suggestionId, () => actionsApi.rollback(actionId, force)),
  };
}
