// One refresh signal for the whole page: the `r` key, the refresh button, and every decision
// that changes data bump it, and every view that shows data reloads.
import { ref } from 'vue';

const tick = ref(0);
const lastRefresh = ref(Date.now());

export function useRefresh() {
  const refresh = () => {
    tick.value++;
    lastRefresh.value = Date.now();
  };
  return { tick, lastRefresh, refresh };
}
