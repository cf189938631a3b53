// Which suggestions a bulk decision is for: cards ticked one by one, or every suggestion the
// list's filter selects ("select all N matching"). Shared by the cards, the bar and the dialog.
import { computed, reactive } from 'vue';

const state = reactive({ ids: new Set<number>(), allMatching: false });

export function useBatchSelection() {
  const toggle = (id: number, on: boolean) => {
    state.allMatching = false;
    if (on) state.ids.add(id);
    else state.ids.delete(id);
  };
  const clear = () => {
    state.ids.clear();
    state.allMatching = false;
  };
  const selectAllMatching = () => {
    state.allMatching = true;
  };
  return {
    selected: computed(() => state.ids),
    allMatching: computed(() => state.allMatching),
    any: computed(() => state.allMatching || state.ids.size > 0),
    isSelected: (id: number) => state.allMatching || state.ids.has(id),
    toggle,
    clear,
    selectAllMatching,
  };
}
