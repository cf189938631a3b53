// The Temporal activity the calling code runs in, if any. Activity code also runs outside one
// (tests call it directly), where there is nothing to heartbeat and no cancellation to follow.
import { Context } from '@temporalio/activity';

/** The current activity's context; null when not called from inside an activity. */
export function currentActivity(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}
