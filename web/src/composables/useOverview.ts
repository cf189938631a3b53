// The overview cards and the pending badge: how many suggestions are in each state, from one
// GET /healing/stats, or (an API without stats) from the `total` of a one-row list per state.
// Reloaded on every change of a suggestion (live updates), else polled every 30 s.
import { computed, reactive, ref } from 'vue';
import { messageOf } from '../api/http';
import { statsApi } from '../api/stats';
import { suggestionsApi } from '../api/suggestions';

// Every state a suggestion can be in, so the cards add up to the whole list.
export const OVERVIEW_STATUSES = ['pending', 'approved', 'applied', 'acknowledged', 'rejected', 'failed', 'expired', 'rolled_back'] as const;
export type OverviewStatus = (typeof OVERVIEW_STATUSES)[number];

const counts = reactive<Record<OverviewStatus, number | null>>(Object.fromEntries(OVERVIEW_STATUSES.map((s) => [s, null])) as Record<OverviewStatus, number | null>);
const error = ref<string | null>(null);
const BASE_TITLE = 'ProcClaw Healing';

/** false once the API answered 404 for stats: count with list totals from then on */
let statsAvailable = true;

async function countByStatus(): Promise<Record<OverviewStatus, number>> {
  if (statsAvailable) {
    const stats = await statsApi.global();
    if (stats && Object.keys(stats.byStatus).length > 0) {
      return Object.fromEntries(OVERVIEW_STATUSES.map((s) => [s, stats.byStatus[s] ?? 0])) as Record<OverviewStatus, number>;
    }
    statsAvailable = false;
  }
  const totals = await Promise.all(OVERVIEW_STATUSES.map((status) => suggestionsApi.list({ status, limit: 1, offset: 0 }).then((p) => p.total)));
  return Object.fromEntries(OVERVIEW_STATUSES.map((s, i) => [s, totals[i] ?? 0])) as Record<OverviewStatus, number>;
}

async function load(): Promise<void> {
  try {
    Object.assign(counts, await countByStatus());
    error.value = null;
  } catch (e) {
    error.value = messageOf(e);
  }
  const pending = counts.pending;
  document.title = pending ? `(${pending}) ${BASE_TITLE}` : BASE_TITLE;
}

export function useOverview() {
  const pending = computed(() => counts.pending);
  return { counts, pending, error, load };
}
