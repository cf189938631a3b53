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

/**
 * The innermost message: the one that says what really went wrong. An empty one (a cancellation's
 * CancelledFailure) says nothing, so the one around it is used.
 */
export function innermostMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let message = error.message;
  for (let current: unknown = error.cause; current instanceof Error; current = current.cause) {
    if (current.message) message = current.message;
  }
  return message;
}
