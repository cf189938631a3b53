// Reading Temporal failures: an activity's own error arrives wrapped (ActivityFailure, update
// failure...), with the ApplicationFailure that names its type somewhere down the cause chain.
import { ApplicationFailure } from '@temporalio/common';

export function findApplicationFailure(error: unknown): ApplicationFailure | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) return current;
    current = current.cause;
  }
  return undefined;
}

/** The innermost message: the one that says what really went wrong. */
export function innermostMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
