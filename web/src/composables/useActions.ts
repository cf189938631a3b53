// The actions tab: filters from the URL, one page of applied changes.
import { computed } from 'vue';
import { actionsApi, type ActionQuery } from '../api/actions';
import { usePagedList } from './usePagedList';
import { pageOf, useRoute } from './useRoute';

export function useActions() {
  const { route } = useRoute();
  const query = computed<ActionQuery>(() => ({
    ...pageOf(route.query),
    job_id: route.query.job_id,
    status: route.query.status,
    suggestion_id: route.query.suggestion_id ? Number(route.query.suggestion_id) : undefined,
    can_rollback: route.query.can_rollback === 'true' ? true : route.query.can_rollback === 'false' ? false : undefined,
  }));
  const list = usePagedList(actionsApi.list, 'actions', () => query.value, { live: ['actions'] });
  return { ...list, query };
}
