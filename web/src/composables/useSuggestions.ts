// The suggestions tab: its filters from the URL, one page of matching suggestions.
import { computed } from 'vue';
import { suggestionsApi, type SuggestionQuery } from '../api/suggestions';
import { usePagedList } from './usePagedList';
import { pageOf, useRoute } from './useRoute';

export const SUGGESTION_FILTERS = ['job_id', 'status', 'category', 'severity', 'trigger', 'review_id'] as const;

export function useSuggestions() {
  const { route } = useRoute();
  const query = computed<SuggestionQuery>(() => {
    const q: SuggestionQuery = { ...pageOf(route.query) };
    for (const key of SUGGESTION_FILTERS) if (route.query[key]) (q as Record<string, unknown>)[key] = route.query[key];
    return q;
  });
  const list = usePagedList(suggestionsApi.list, 'suggestions', () => query.value);
  return { ...list, query };
}
