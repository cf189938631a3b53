// /health, polled: whether the API and what it needs are up, which analyzer is active, and where
// the Temporal UI is (for links to workflows).
import { computed, ref } from 'vue';
import { ApiError } from '../api/http';
import { healthApi } from '../api/health';
import type { Health } from '../api/types';

const health = ref<Health | null>(null);
const error = ref<string | null>(null);
const unreachable = ref(false);

async function check(): Promise<void> {
  try {
    health.value = await healthApi.get();
    error.value = null;
    unreachable.value = false;
  } catch (e) {
    error.value = (e as Error).message;
    unreachable.value = e instanceof ApiError ? e.unavailable : true;
  }
}

/**
 * The Temporal UI page of a workflow, when the API says where the UI is: of the run given (a
 * review's id is its job's, shared by every review of it), else of the latest run.
 */
function workflowUrl(workflowId: string | null | undefined, runId?: string | null): string | null {
  const ui = health.value?.temporal.ui;
  if (!ui || !workflowId) return null;
  const namespace = health.value?.temporal.namespace ?? 'default';
  const page = `${ui.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${page}/${encodeURIComponent(runId)}/history` : page;
}

export function useHealth() {
  const problems = computed(() => {
    const h = health.value;
    if (!h) return [];
    const out: string[] = [];
    if (!h.postgres.ok) out.push('Postgres is unreachable: lists cannot load.');
    if (!h.temporal.ok) out.push('Temporal is unreachable: approve, reject, apply and reviews cannot run.');
    else if (!h.worker.ok) out.push('No worker is polling the healing task queues: reviews and decisions wait until one starts.');
    return out;
  });
  const rulesFallback = computed(() => {
    const a = health.value?.analyzer;
    if (!a || a.active !== 'rules' || a.openclaw.available) return null;
    return a.openclaw.problem ?? 'the openclaw CLI is not available';
  });
  return { health, error, unreachable, problems, rulesFallback, check, workflowUrl };
}
