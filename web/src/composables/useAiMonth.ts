// Each job's AI spend this UTC month beside its budget, for the jobs list: one
// GET /healing/stats/ai per refresh. Nothing shown on an API without it.
import { ref, watch } from 'vue';
import { aiBillApi, type AiBill } from '../api/ai-bill';
import { useRefresh } from './useRefresh';

const bill = ref<AiBill | null>(null);

/** "12,000 of 50,000 tokens" (or "12,000 tokens" without a budget), the share used, or null when the job spent nothing and has no budget. */
export function jobMonthSpend(jobId: string): { text: string; share: number | null } | null {
  const job = bill.value?.month.jobs.find((j) => j.job_id === jobId);
  if (!job) return null;
  const n = (v: number) => v.toLocaleString('en-US');
  const text = job.budget.tokens === null ? `${n(job.spent.tokens)} tokens` : `${n(job.spent.tokens)} of ${n(job.budget.tokens)} tokens`;
  return { text: job.spent.cost > 0 ? `${text} · cost ${job.spent.cost.toFixed(2)}` : text, share: job.share };
}

export function useAiMonth() {
  const { tick } = useRefresh();
  watch(
    tick,
    async () => {
      // the jobs list stays usable without these figures
      bill.value = await aiBillApi.get(1).catch(() => null);
    },
    { immediate: true },
  );
  return { jobMonthSpend };
}
