// One page of a list endpoint (`{ <noun>: [...], total, limit, offset }`), reloaded when its
// query changes, the page is refreshed, or (live) a row of its table changes. The previous page
// stays visible while the next loads, and an answer that arrives after a newer request is
// dropped. A page past the end (an old link, or the last rows gone) moves to the last page.
import { onBeforeUnmount, ref, shallowRef, watch, type Ref } from 'vue';
import { messageOf, type Query } from '../api/http';
import type { PageInfo } from '../api/types';
import { useLiveUpdates, type LiveTable } from './useLiveUpdates';
import { useRefresh } from './useRefresh';
import { useRoute } from './useRoute';

export interface PagedList<T> {
  items: Ref<T[]>;
  total: Ref<number>;
  /** limit and offset of the page shown (the answer's, so they match the rows on screen) */
  limit: Ref<number>;
  offset: Ref<number>;
  loading: Ref<boolean>;
  /** the first load has finished (successfully or not) */
  loaded: Ref<boolean>;
  error: Ref<string | null>;
  reload: (options?: { quiet?: boolean }) => Promise<void>;
}

export function usePagedList<T, Q extends Query, N extends string>(
  fetchPage: (query: Q, signal: AbortSignal) => Promise<PageInfo & { [key in N]: T[] }>,
  noun: N,
  query: () => Q,
  options: { live?: readonly LiveTable[] } = {},
): PagedList<T> {
  const items = shallowRef<T[]>([]) as Ref<T[]>;
  const total = ref(0);
  const limit = ref(0);
  const offset = ref(0);
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const { tick } = useRefresh();
  const { replaceQuery } = useRoute();
  let controller: AbortController | null = null;

  /** quiet: a live update, which brings the change itself; the list is not dimmed while it loads */
  const reload = async (options?: { quiet?: boolean }) => {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    if (!options?.quiet) loading.value = true;
    try {
      const page = await fetchPage(query(), mine.signal);
      if (mine.signal.aborted) return;
      const rows = page[noun] ?? [];
      if (rows.length === 0 && page.total > 0 && page.offset >= page.total) {
        // past the end: show the last page instead (its offset in the URL, without a history entry)
        const last = Math.floor((page.total - 1) / page.limit) * page.limit;
        replaceQuery({ offset: last > 0 ? String(last) : undefined });
        controller = null; // still loading: the changed query's own load follows
        return;
      }
      items.value = rows;
      total.value = page.total;
      limit.value = page.limit;
      offset.value = page.offset;
      error.value = null;
    } catch (e) {
      if (mine.signal.aborted) return;
      error.value = messageOf(e);
    } finally {
      if (controller === mine) {
        loading.value = false;
        loaded.value = true;
      }
    }
  };

  watch(query, () => void reload(), { deep: true, immediate: true });
  watch(tick, () => void reload());
  if (options.live) useLiveUpdates(options.live, () => void reload({ quiet: true }));
  onBeforeUnmount(() => controller?.abort());
  return { items, total, limit, offset, loading, loaded, error, reload };
}
