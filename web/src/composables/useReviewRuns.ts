// "Run review now" and what came of it: starts a job's review, follows it until it ends (the
// page may change tab meanwhile), and says the outcome: completed with N suggestions, skipped and
// why (with "Review anyway" where a forced review would run), or failed and why.
import { reactive } from 'vue';
import { ApiError, messageOf } from '../api/http';
import { reviewsApi } from '../api/reviews';
import type { Review } from '../api/types';
import { plural } from '../lib/format';
import { useRefresh } from './useRefresh';
import { useRoute } from './useRoute';
import { useToasts } from './useToasts';

/** A review is followed this long at most; then the Reviews tab tells the rest. */
const FOLLOW_MS = 15 * 60_000;

/** What a job's button shows: its review being started, or running. */
const state = reactive<Record<string, 'starting' | 'running'>>({});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A 409 job_running: the job has a run without its end; a person may review it anyway. */
function runningJob(e: unknown): boolean {
  return e instanceof ApiError && e.status === 409 && (e.detail as { code?: unknown } | null)?.code === 'job_running';
}

/** The review to follow: the id the trigger answered, else the job's newest since the click. */
async function findReview(jobId: string, reviewId: number | null, since: number): Promise<Review | null> {
  if (reviewId !== null) return reviewsApi.get(reviewId);
  const page = await reviewsApi.list({ job_id: jobId, limit: 5, offset: 0 });
  return page.reviews.find((r) => Date.parse(r.started_at) >= since - 5_000) ?? null;
}

async function follow(jobId: string, reviewId: number | null, since: number): Promise<Review | null> {
  const deadline = Date.now() + FOLLOW_MS;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const review = await findReview(jobId, reviewId, since);
      if (review && review.status !== 'running') return review;
    } catch (e) {
      if (!(e instanceof ApiError && e.retryable)) throw e;
    }
    // quick at first (a rules review ends within seconds), then gentler
    await sleep(attempt < 10 ? 700 : 3000);
  }
  return null;
}

export function useReviewRuns() {
  const { refresh } = useRefresh();
  const { show, dismiss } = useToasts();
  const { navigate } = useRoute();

  const say = (jobId: string, review: Review) => {
    const which = `Review #${review.id} of ${jobId}`;
    if (review.status === 'completed') {
      const n = review.suggestions_count;
      show('ok', n > 0 ? `${which} completed: ${plural(n, 'new suggestion')}.` : `${which} completed: no new suggestions.`, {
        ...(n > 0 ? { action: { label: 'Show them', run: () => navigate('suggestions', { review_id: String(review.id) }) } } : {}),
      });
    } else if (review.status === 'skipped') {
      show('info', `${which} was skipped: ${review.skip_reason ?? 'no reason recorded'}.`, {
        ...(review.skipped_below_min_runs ? { action: { label: 'Review anyway', run: () => run(jobId, { force: true }) } } : { ms: 12_000 }),
      });
    } else {
      show('error', `${which} failed: ${review.error_message ?? 'no error recorded'}.`, {
        action: { label: 'Try again', run: () => run(jobId) },
      });
    }
  };

  async function trigger(jobId: string, force: boolean) {
    try {
      return await reviewsApi.trigger(jobId, force);
    } catch (e) {
      if (force || !runningJob(e) || !window.confirm(`${messageOf(e)}\n\nReview ${jobId} now anyway? The running run is read without its end.`)) throw e;
      return reviewsApi.trigger(jobId, true);
    }
  }

  /** Starts (or joins) the job's review and reports how it ended. */
  async function run(jobId: string, options: { force?: boolean } = {}) {
    if (state[jobId]) return;
    state[jobId] = 'starting';
    const since = Date.now();
    let note: number | null = null;
    try {
      const started = await trigger(jobId, options.force ?? false);
      state[jobId] = 'running';
      const which = started.review_id ? ` (review #${started.review_id})` : '';
      note = show(
        'info',
        started.already_running ? `A review of ${jobId} is already running${which}: its outcome shows here when it ends.` : `Review of ${jobId} started${which}: its outcome shows here when it ends.`,
        FOLLOW_MS,
      );
      refresh();
      const review = await follow(jobId, started.review_id, since);
      dismiss(note);
      note = null;
      if (review) say(jobId, review);
      else show('info', `The review of ${jobId} is still running; the Reviews tab shows it when it ends.`);
    } catch (e) {
      show('error', `Could not ${state[jobId] === 'starting' ? 'start' : 'follow'} a review of ${jobId}: ${messageOf(e)}`, {
        ...(e instanceof ApiError && e.retryable ? { action: { label: 'Retry', run: () => run(jobId, options) } } : {}),
      });
    } finally {
      if (note !== null) dismiss(note);
      delete state[jobId];
      refresh();
    }
  }

  return { run, state };
}
