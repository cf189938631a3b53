// The first screen: the loads the first page of suggestions does not need (the counts, health,
// the job catalog) wait until that page has arrived, so they do not compete with it for the API
// and the main thread; at most FIRST_SCREEN_WAIT_MS, and not at all on another tab.
const FIRST_SCREEN_WAIT_MS = 1000;

let markArrived: () => void = () => {};
const arrived = new Promise<void>((resolve) => {
  markArrived = resolve;
});

/** The suggestions tab's first page has arrived (or failed): the rest of the page may load. */
export function firstPageArrived(): void {
  markArrived();
}

/** Resolves once the first page of suggestions has arrived, at once when the page opens on another tab. */
export function afterFirstPage(onSuggestionsTab: boolean): Promise<void> {
  if (!onSuggestionsTab) return Promise.resolve();
  return Promise.race([arrived, new Promise<void>((resolve) => setTimeout(resolve, FIRST_SCREEN_WAIT_MS))]);
}
