// The one modal open at a time: a suggestion, an action, or a job's healing config.
import { ref } from 'vue';

export type ModalState = { kind: 'suggestion'; id: number; reject?: boolean } | { kind: 'action'; id: number } | { kind: 'job'; id: string } | null;

const current = ref<ModalState>(null);
let opener: HTMLElement | null = null;

export function useModal() {
  const open = (state: NonNullable<ModalState>) => {
    if (!current.value) opener = document.activeElement as HTMLElement | null;
    current.value = state;
  };
  const close = () => {
    if (!current.value) return false;
    current.value = null;
    opener?.focus?.();
    opener = null;
    return true;
  };
  return {
    current,
    openSuggestion: (id: number, options: { reject?: boolean } = {}) => open({ kind: 'suggestion', id, ...options }),
    openAction: (id: number) => open({ kind: 'action', id }),
    openJob: (id: string) => open({ kind: 'job', id }),
    close,
  };
}
