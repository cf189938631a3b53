// The baseline: a workflow that does nothing, so its rate is what the dev server and one worker
// can do for any workflow at all.
export async function emptyWorkflow(): Promise<void> {}
