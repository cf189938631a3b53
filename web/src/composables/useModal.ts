// The one modal open at a time: a suggestion, an action, or a job's healing config. Which one is
// the URL's (useRoute: `#/suggestions/42`), so a link, a reload and Back open or close it; how it
// opens (the reason box, the confirm button) is this page's only.
import { computed, ref } from 'vue';
import { useRoute, type ModalTab } from './useRoute';

export type ModalState = { kind: 'suggestion'; id: number; reject?: boolean; approve?: boolean } | { kind: 'action'; id: number } | { kind: 'job'; id: string } | null;

const { route, openModal, closeModal } = useRoute();
/** the options of the modal opened last in this page, for that modal only */
const openedWith = ref<{ tab: ModalTab; id: string; reject?: boolean; approve?: boolean } | null>(null);

const current = computed<ModalState>(() => {
  const modal = route.modal;
  if (!modal) return null;
  const extra: { reject?: boolean; approve?: boolean } = openedWith.value?.tab === modal.tab && openedWith.value.id === modal.id ? openedWith.value : {};
  if (modal.tab === 'suggestions') return { kind: 'suggestion', id: Number(modal.id), reject: extra.reject, approve: extra.approve };
  if (modal.tab === 'actions') return { kind: 'action', id: Number(modal.id) };
  return { kind: 'job', id: modal.id };
});
let opener: HTMLElement | null = null;
/** the open modal holds typed text a close would discard (Modal.vue sets it from its `dirty` prop) */
const dirty = ref(false);
/** a close was asked while dirty: the modal asks whether to discard the text */
const confirmingDiscard = ref(false);

const TAB_OF = { suggestion: 'suggestions', action: 'actions', job: 'jobs' } as const;

export function useModal() {
  const open = (state: NonNullable<ModalState>) => {
    if (!current.value) opener = document.activeElement as HTMLElement | null;
    const tab = TAB_OF[state.kind];
    openedWith.value = { tab, id: String(state.id), ...(state.kind === 'suggestion' ? { reject: state.reject, approve: state.approve } : {}) };
    openModal(tab, state.id);
  };
  /**
   * Closes the modal. With typed text in it (Esc, the backdrop, ✕), it asks first instead; a second
   * Esc keeps editing. `force`: the text is saved or deliberately dropped (Save, Cancel, Discard).
   */
  const close = (options?: { force?: boolean } | Event) => {
    if (!current.value) return false;
    const force = !(options instanceof Event) && options?.force === true;
    if (dirty.value && !force) {
      confirmingDiscard.value = !confirmingDiscard.value;
      return false;
    }
    dirty.value = false;
    confirmingDiscard.value = false;
    closeModal();
    opener?.focus?.();
    opener = null;
    return true;
  };
  return {
    current,
    /** reject: the reason box open; approve: the change and the confirm button in view (nothing sent) */
    openSuggestion: (id: number, options: { reject?: boolean; approve?: boolean } = {}) => open({ kind: 'suggestion', id, ...options }),
    openAction: (id: number) => open({ kind: 'action', id }),
    openJob: (id: string) => open({ kind: 'job', id }),
    close,
    dirty,
    confirmingDiscard,
  };
}
