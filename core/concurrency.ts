// Bounded concurrency: many independent tasks (files of a catalog, decisions of a batch) run at
// most `limit` at a time, so a large input costs a steady amount of descriptors, connections or
// workflow updates instead of all of them at once.

/** Runs each call of the returned function when fewer than `limit` are running, in call order. */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`a concurrency limit is a whole number of at least 1, not ${limit}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so `running` never passes the limit.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/** `Promise.all(items.map(fn))` with at most `limit` calls of `fn` running at once; results keep their order. */
export function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const run = createLimiter(limit);
  return Promise.all(items.map((item, index) => run(() => fn(item, index))));
}
