// The reviews tab: filters from the URL, one page of reviews.
import { computed } from 'vue';
import { reviewsApi, type ReviewQuery } from '../api/reviews';
import { usePagedList } from './usePagedList';
import { pageOf, useRoute } from './useRoute';

export function useReviews() {
  const { route } = useRoute();
  const query = computed<ReviewQuery>(() => ({
    ...pageOf(route.query),
    job_id: route.query.job_id,
    status: route.query.status,
    trigger: route.query.trigger,
  }));
  const list = usePagedList(reviewsApi.list, 'reviews', () => query.value, { live: ['reviews', 'suggestions'] }); // a listed review's suggestions change too
  return { ...list, query };
}
