// Per-job figures for the Jobs tab: pending count, last review, the changes that can still be
// rolled back, and the next scheduled review (from the job list, or the per-job stats of an API
// whose list lacks it). Reloaded on refresh, and a job's as soon as one of its rows changes.
import { reactive, watch } from 'vue';
import { optional } from '../api/http';
import { reviewsApi } from '../api/reviews';
import { statsApi } from '../api/stats';
import { suggestionsApi } from '../api/suggestions';
import type { Job, Review } from '../api/types';
import { LIVE_TABLES, useLiveUpdates } from './useLiveUpdates';

export interface JobSummary {
  pending: number | null;
  lastReview: Review | null;
  nextReviewAt: string | null;
  /** applied changes that can still be rolled back; null when the API has no per-job stats */
  rollbackable: number | null;
  /** the API answered GET /healing/stats/{jobId} */
  statsAvailable: boolean;
  error: string | null;
}

export function useJobSummaries(jobs: () => Job[]) {
  const summaries = reactive<Record<string, JobSummary>>({});

  async function loadOne(job: Job) {
    const id = job.id;
    const listed = 'next_review_at' in job;
    try {
      const [pending, last, stats] = await Promise.all([
        suggestionsApi.pendingCount(id),
        reviewsApi.list({ job_id: id, limit: 1, offset: 0 }),
        optional(statsApi.job(id)).catch(() => null),
      ]);
      summaries[id] = {
        pending,
        lastReview: last.reviews[0] ?? null,
        nextReviewAt: listed ? (job.next_review_at ?? null) : (stats?.nextReviewAt ?? null),
        rollbackable: stats?.rollbackable ?? null,
        statsAvailable: listed || stats !== null,
        error: null,
      };
    } catch (e) {
      summaries[id] = { pending: null, lastReview: null, nextReviewAt: null, rollbackable: null, statsAvailable: false, error: (e as Error).message };
    }
  }

  const loadAll = () => Promise.all(jobs().map((j) => loadOne(j)));
  watch(jobs, () => void loadAll(), { immediate: true });
  useLiveUpdates(LIVE_TABLES, (batch) => {
    for (const job of jobs()) if (batch.all || batch.jobs.has(job.id)) void loadOne(job);
  });
  return { summaries, loadAll };
}
