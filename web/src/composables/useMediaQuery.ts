// A reactive media query, e.g. wide enough for a side-by-side diff.
import { onBeforeUnmount, ref } from 'vue';

export function useMediaQuery(query: string) {
  const media = window.matchMedia(query);
  const matches = ref(media.matches);
  const onChange = (e: MediaQueryListEvent) => (matches.value = e.matches);
  media.addEventListener('change', onChange);
  onBeforeUnmount(() => media.removeEventListener('change', onChange));
  return matches;
}
