// List answers kept whole while nothing they show has changed: dashboards poll the same few pages,
// and a page built afresh costs a query, its rows parsed, masks and JSON (docs/BENCHMARKS.md,
// list suggestions). What tells "nothing changed" is Postgres's change feed (db/change-feed.ts):
// any notification of the table drops every kept page, and while the feed is down nothing is kept.
// A page is also kept at most `ttlMs`, because what it shows depends on more than the table (the
// job files' secrets its masks use, which the list reads again after as long).
import type { ChangeFeed, CHANGE_TABLES } from '../db/change-feed.js';

/** One answer as sent: its body and its ETag. */
export interface KeptAnswer {
  tag: string;
  body: string;
}

export interface KeptPages {
  /** The answer for `key`: the kept one if nothing changed since it was built, else `build`'s (kept when it may be). */
  answer(key: string, build: () => Promise<KeptAnswer>): Promise<KeptAnswer>;
}

export interface KeptPagesOptions {
  /** notifications of this table drop the kept pages */
  table: (typeof CHANGE_TABLES)[number];
  ttlMs: number;
  /** how many pages are kept at most (the oldest go first) */
  max: number;
  /**
   * How many bytes of answers are kept at most (the oldest go first); a larger answer is not kept.
   * Pages of full items can be megabytes each: a count alone would let a caller asking many
   * distinct pages fill the API's memory.
   */
  maxBytes: number;
}

/** Pages kept on `feed`'s word; without a feed, nothing is kept and every answer is built. */
export function keptPages(feed: ChangeFeed | undefined, opts: KeptPagesOptions): KeptPages {
  if (!feed || opts.ttlMs <= 0) return { answer: (_key, build) => build() };
  const pages = new Map<string, { until: number; answer: Promise<KeptAnswer>; bytes: number }>();
  let keptBytes = 0;
  const remove = (key: string) => {
    keptBytes -= pages.get(key)?.bytes ?? 0;
    pages.delete(key);
  };
  let open = true;
  // A notification, or the feed lost or found again (notifications meanwhile were not seen), drops
  // every page, those being built too: an entry still in the map was built since the last drop.
  const drop = () => {
    pages.clear();
    keptBytes = 0;
  };
  feed.subscribe({
    change: (change) => {
      if (change.table === opts.table) drop();
    },
    live: drop,
    close: () => {
      open = false;
      drop();
    },
  });

  return {
    answer(key, build) {
      const now = Date.now();
      const kept = pages.get(key);
      if (kept && kept.until > now) return kept.answer;
      if (kept) remove(key);
      const answer = build();
      if (!open || !feed.live) return answer;
      if (pages.size >= opts.max) remove(pages.keys().next().value!);
      const entry = { until: now + opts.ttlMs, answer, bytes: 0 };
      pages.set(key, entry);
      // a failed build is not kept; nor one that a change overtook (the map was cleared meanwhile)
      answer.then(
        ({ body }) => {
          if (pages.get(key) !== entry) return;
          if (body.length > opts.maxBytes) return remove(key);
          entry.bytes = body.length;
          keptBytes += entry.bytes;
          while (keptBytes > opts.maxBytes) remove(pages.keys().next().value!);
        },
        () => {
          if (pages.get(key) === entry) remove(key);
        },
      );
      return answer;
    },
  };
}
