// Dark mode: follows the system until the user picks one; the choice is remembered.
import { computed, ref, watchEffect } from 'vue';

const KEY = 'healing-theme';
type Choice = 'dark' | 'light' | null;

const media = window.matchMedia('(prefers-color-scheme: dark)');
const systemDark = ref(media.matches);
media.addEventListener('change', (e) => (systemDark.value = e.matches));

function stored(): Choice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'dark' || v === 'light' ? v : null;
  } catch {
    return null;
  }
}

const choice = ref<Choice>(stored());
const isDark = computed(() => (choice.value ? choice.value === 'dark' : systemDark.value));

watchEffect(() => {
  document.documentElement.dataset.theme = isDark.value ? 'dark' : 'light';
});

export function useDark() {
  const toggle = () => {
    choice.value = isDark.value ? 'light' : 'dark';
    try {
      localStorage.setItem(KEY, choice.value);
    } catch {
      // not persisted in private mode
    }
  };
  return { isDark, toggle };
}
