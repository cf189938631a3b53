// Single-key shortcuts for the page. Ignored while typing in a field or with a modifier held,
// except Escape, which always works.
import { onBeforeUnmount, onMounted } from 'vue';

export type KeyBindings = Record<string, (event: KeyboardEvent) => void>;

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

export function useKeyboard(bindings: KeyBindings) {
  const onKey = (event: KeyboardEvent) => {
    if (event.defaultPrevented) return;
    if (event.key === 'Escape') {
      bindings.Escape?.(event);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const handler = bindings[event.key];
    if (handler) {
      event.preventDefault();
      handler(event);
    }
  };
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}
