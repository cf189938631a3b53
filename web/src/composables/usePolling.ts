// Calls `fn` now and every `intervalMs` while the page is visible, and at once when it becomes
// visible again. Stops with the component that started it.
import { onBeforeUnmount, onMounted } from 'vue';

export function usePolling(fn: () => unknown, intervalMs: number, options: { immediate?: boolean } = {}) {
  let timer: ReturnType<typeof setInterval> | null = null;
  const run = () => {
    if (document.visibilityState === 'visible') void fn();
  };
  const onVisibility = () => {
    if (document.visibilityState === 'visible') void fn();
  };
  onMounted(() => {
    if (options.immediate ?? true) void fn();
    timer = setInterval(run, intervalMs);
    document.addEventListener('visibilitychange', onVisibility);
  });
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  });
}
