// The tab and its filters live in the URL hash (`#/suggestions?status=pending&offset=50`), so a
// reload, a bookmark or a shared link opens the same view. So does each thing the dashboard shows
// (core/links.ts writes these URLs into notifications and the Temporal UI): `#/suggestions/42`,
// `#/actions/7` and `#/jobs/<id>` open their modal, `#/reviews/15` shows that review. A modal
// opened in the page adds a history entry, so Back closes it and a reload reopens it; closing it
// goes back to the entry below, whose tab and filters are the page as it was.
import { reactive } from 'vue';

export const TABS = ['suggestions', 'reviews', 'actions', 'jobs', 'stats'] as const;
export type Tab = (typeof TABS)[number];

/** The tabs whose items open in a modal over the page (a review is shown in its tab instead). */
export const MODAL_TABS = ['suggestions', 'actions', 'jobs'] as const;
export type ModalTab = (typeof MODAL_TABS)[number];

export interface Route {
  tab: Tab;
  query: Record<string, string>;
  /** the one item the tab shows instead of its list (`#/reviews/15`) */
  id: string | null;
  /** the item open in a modal over the tab (`#/suggestions/42`) */
  modal: { tab: ModalTab; id: string } | null;
}

/** A row id, or a job id (core/job.ts JobIdSchema): anything else in the URL is not an item. */
const validId = (tab: Tab, id: string) => (tab === 'jobs' ? /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/ : /^[1-9]\d{0,15}$/).test(id);

function parse(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [first = '', rawId = '', ...more] = path.split('/');
  const tab = (TABS as readonly string[]).includes(first) ? (first as Tab) : 'suggestions';
  let id: string | null = null;
  try {
    id = more.length === 0 && rawId && first === tab ? decodeURIComponent(rawId) : null;
  } catch {
    id = null; // a malformed %-escape: not an item
  }
  if (id !== null && !validId(tab, id)) id = null;
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(search)) if (value) query[key] = value;
  const modal = id !== null && (MODAL_TABS as readonly string[]).includes(tab) ? { tab: tab as ModalTab, id } : null;
  return { tab, query: id === null ? query : {}, id: modal ? null : id, modal };
}

function format(route: Route): string {
  if (route.modal) return `#/${route.modal.tab}/${encodeURIComponent(route.modal.id)}`;
  if (route.id) return `#/${route.tab}/${encodeURIComponent(route.id)}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(route.query)) if (value !== '' && value !== undefined) params.set(key, value);
  const search = params.toString();
  return `#/${route.tab}${search ? `?${search}` : ''}`;
}

const route = reactive<Route>(parse(location.hash));
/** each tab's last filters, restored when you come back to it */
const remembered = new Map<Tab, Record<string, string>>();
/** The history entries the page added for the modals open now (kept in each entry's state, so a reload keeps it). */
const MODAL_DEPTH = 'healingModalDepth';
const modalDepth = (): number => {
  const depth = (history.state as Record<string, unknown> | null)?.[MODAL_DEPTH];
  return typeof depth === 'number' && depth > 0 ? depth : 0;
};
const follow = () => Object.assign(route, parse(location.hash));
window.addEventListener('hashchange', follow);
window.addEventListener('popstate', follow);

export function useRoute() {
  /** Goes to a tab with the given filters (replacing the current ones). */
  const navigate = (tab: Tab, query: Record<string, string | undefined> = {}) => {
    const clean: Record<string, string> = {};
    for (const [key, value] of Object.entries(query)) if (value) clean[key] = value;
    const next: Route = { tab, query: clean, id: null, modal: null };
    if (!route.id) remembered.set(route.tab, { ...route.query });
    const hash = format(next);
    if (hash !== location.hash) history.pushState(null, '', hash);
    Object.assign(route, next);
  };
  /** Puts the page's own state (a page past the end corrected, say) in the URL without a history entry. */
  const replaceQuery = (patch: Record<string, string | undefined>) => {
    const query: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...route.query, ...patch })) if (value) query[key] = value;
    Object.assign(route, { query });
    if (!route.modal) history.replaceState(history.state, '', format(route));
  };
  /** Opens a suggestion, action or job in its modal: a history entry of its own, `#/suggestions/42`. */
  const openModal = (tab: ModalTab, id: string | number) => {
    const modal = { tab, id: String(id) };
    if (route.modal?.tab === modal.tab && route.modal.id === modal.id) return;
    history.pushState({ [MODAL_DEPTH]: modalDepth() + 1 }, '', format({ ...route, modal }));
    route.modal = modal;
  };
  /** Closes the modal: back to the page below it, or (opened from a link) to its tab's list. */
  const closeModal = () => {
    if (!route.modal) return;
    const depth = modalDepth();
    route.modal = null;
    if (depth > 0) history.go(-depth);
    else history.replaceState(null, '', format(route));
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
  return { route, navigate, setQuery, replaceQuery, switchTab, openModal, closeModal };
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

/** limit and offset of the current page, from the URL, clamped to what the API takes. */
export function pageOf(query: Record<string, string>): { limit: number; offset: number } {
  const limit = Math.min(500, Math.max(1, Number(query.limit) || DEFAULT_PAGE_SIZE));
  const offset = Math.max(0, Math.floor(Number(query.offset) || 0));
  return { limit, offset };
}
