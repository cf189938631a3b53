// The tab and its filters live in the URL hash (`#/suggestions?status=pending&offset=50`), so a
// reload, a bookmark or a shared link opens the same view.
import { reactive } from 'vue';

export const TABS = ['suggestions', 'reviews', 'actions', 'jobs', 'stats'] as const;
export type Tab = (typeof TABS)[number];

export interface Route {
  tab: Tab;
  query: Record<string, string>;
}

function parse(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const tab = (TABS as readonly string[]).includes(path) ? (path as Tab) : 'suggestions';
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(search)) if (value) query[key] = value;
  return { tab, query };
}

function format(route: Route): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(route.query)) if (value !== '' && value !== undefined) params.set(key, value);
  const search = params.toString();
  return `#/${route.tab}${search ? `?${search}` : ''}`;
}

const route = reactive<Route>(parse(location.hash));
/** each tab's last filters, restored when you come back to it */
const remembered = new Map<Tab, Record<string, string>>();
window.addEventListener('hashchange', () => Object.assign(route, parse(location.hash)));

export function useRoute() {
  /** Goes to a tab with the given filters (replacing the current ones). */
  const navigate = (tab: Tab, query: Record<string, string | undefined> = {}) => {
    const clean: Record<string, string> = {};
    for (const [key, value] of Object.entries(query)) if (value) clean[key] = value;
    const next = { tab, query: clean };
    remembered.set(route.tab, { ...route.query });
    const hash = format(next);
    if (hash !== location.hash) history.pushState(null, '', hash);
    Object.assign(route, next);
  };
  /** Changes some filters of the current tab; any filter change goes back to the first page. */
  const setQuery = (patch: Record<string, string | undefined>, keepOffset = false) => {
    const query: Record<string, string | undefined> = { ...route.query, ...patch };
    if (!keepOffset && !('offset' in patch)) delete query.offset;
    navigate(route.tab, query);
  };
  /** Goes to a tab with the filters it had when you left it. */
  const switchTab = (tab: Tab) => {
    if (tab === route.tab) return;
    navigate(tab, remembered.get(tab) ?? {});
  };
  return { route, navigate, setQuery, switchTab };
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

/** limit and offset of the current page, from the URL, clamped to what the API takes. */
export function pageOf(query: Record<string, string>): { limit: number; offset: number } {
  const limit = Math.min(500, Math.max(1, Number(query.limit) || DEFAULT_PAGE_SIZE));
  const offset = Math.max(0, Math.floor(Number(query.offset) || 0));
  return { limit, offset };
}
