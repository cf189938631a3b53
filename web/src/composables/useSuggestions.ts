// The suggestions tab: its filters, search (`q`, over every suggestion, by the API) and order
// from the URL, one page of matching suggestions.
import { computed } from 'vue';
import { suggestionsApi, type SuggestionQuery } from '../api/suggestions';
import { usePagedList } from './usePagedList';
import { pageOf, useRoute } from './useRoute';

export const SUGGESTION_FILTERS = ['job_id', 'status', 'category', 'severity', 'trigger', 'review_id', 'q', 'sort'] as const;

/** The API's orders (db/suggestions.ts SUGGESTION_SORTS), the default first. */
export const SUGGESTION_SORTS = [
  { value: 'priority', label: 'Pending first, most severe' },
  { value: 'newest', label: 'Newest first' },
  { value: 'oldest', label: 'Oldest first' },
  { value: 'severity', label: 'Most severe first' },
] as const;

export function useSuggestions() {
  const { route } = useRoute();
  const query = computed<SuggestionQuery>(() => {
    const q: SuggestionQuery = { ...pageOf(route.query) };
    for (const key of SUGGESTION_FILTERS) if (route.query[key]) (q as Record<string, unknown>)[key] = route.query[key];
    return q;
  });
  const list = usePagedList(suggestionsApi.list, 'suggestions', () => query.value, { live: ['suggestions'] });
  return { ...list, query };
}
