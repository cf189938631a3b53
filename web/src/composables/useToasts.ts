// Short messages after a decision: "Applied", "Rejected", or what went wrong; a toast may carry
// one action ("Review anyway", "Retry", "Show them"), and then stays long enough to be used.
import { reactive } from 'vue';

export interface ToastAction {
  label: string;
  run: () => unknown;
}

export interface Toast {
  id: number;
  kind: 'ok' | 'error' | 'info';
  text: string;
  action?: ToastAction;
}

const toasts = reactive<Toast[]>([]);
let next = 1;

export function useToasts() {
  const dismiss = (id: number) => {
    const i = toasts.findIndex((t) => t.id === id);
    if (i >= 0) toasts.splice(i, 1);
  };
  const show = (kind: Toast['kind'], text: string, options: number | { ms?: number; action?: ToastAction } = {}) => {
    const { ms, action } = typeof options === 'number' ? { ms: options, action: undefined } : options;
    const id = next++;
    toasts.push({ id, kind, text, ...(action ? { action } : {}) });
    if (toasts.length > 4) toasts.shift();
    setTimeout(() => dismiss(id), ms ?? (action ? 20_000 : kind === 'error' ? 8000 : 4000));
    return id;
  };
  return { toasts, show, dismiss };
}
