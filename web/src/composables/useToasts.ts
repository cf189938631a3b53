// Short messages after a decision: "Applied", "Rejected", or what went wrong.
import { reactive } from 'vue';

export interface Toast {
  id: number;
  kind: 'ok' | 'error' | 'info';
  text: string;
}

const toasts = reactive<Toast[]>([]);
let next = 1;

export function useToasts() {
  const dismiss = (id: number) => {
    const i = toasts.findIndex((t) => t.id === id);
    if (i >= 0) toasts.splice(i, 1);
  };
  const show = (kind: Toast['kind'], text: string, ms = kind === 'error' ? 8000 : 4000) => {
    const id = next++;
    toasts.push({ id, kind, text });
    if (toasts.length > 4) toasts.shift();
    setTimeout(() => dismiss(id), ms);
  };
  return { toasts, show, dismiss };
}
