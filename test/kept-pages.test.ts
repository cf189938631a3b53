// The list's kept answers (api/kept-pages.ts) on the change feed's word, with a feed driven by
// hand: what a notification, a lost or found feed, a change during a build and a failed build do.
// test/list-slim-etag.test.ts shows the same through the API with Postgres's real feed.
import { describe, expect, it } from 'vitest';
import { keptPages, type KeptAnswer } from '../api/kept-pages.js';
import type { Change, ChangeFeed, ChangeSubscriber } from '../db/change-feed.js';

function handFeed() {
  const subscribers = new Set<ChangeSubscriber>();
  const feed = {
    live: true as boolean,
    get subscribers() {
      return subscribers.size;
    },
    subscribe(s: ChangeSubscriber) {
      subscribers.add(s);
      return () => subscribers.delete(s);
    },
    async close() {
      for (const s of subscribers) s.close();
    },
  } satisfies ChangeFeed;
  const change = (table: Change['table']) => {
    for (const s of subscribers) s.change({ table, op: 'update', id: 1, job_id: 'etl', status: 'pending' });
  };
  const setLive = (live: boolean) => {
    feed.live = live;
    for (const s of subscribers) s.live(live);
  };
  return { feed, change, setLive };
}

/** A build that counts its calls and answers the count. */
function counted() {
  let builds = 0;
  return {
    build: async (): Promise<KeptAnswer> => ({ tag: `t${++builds}`, body: `{"n":${builds}}` }),
    get builds() {
      return builds;
    },
  };
}

describe('kept list pages', () => {
  it('answers the kept page while nothing changes, and builds again after a notification of its table only', async () => {
    const { feed, change } = handFeed();
    const pages = keptPages(feed, { table: 'suggestions', ttlMs: 60_000, max: 10, maxBytes: 1_000_000 });
    const page = counted();
    expect((await pages.answer('p1', page.build)).body).toBe('{"n":1}');
    expect((await pages.answer('p1', page.build)).body).toBe('{"n":1}');
    change('reviews');
    expect((await pages.answer('p1', page.build)).body).toBe('{"n":1}');
    change('suggestions');
    expect((await pages.answer('p1', page.build)).body).toBe('{"n":2}');
    expect(page.builds).toBe(2);
  });

  it('keeps nothing while the feed is down, and drops what it kept when the feed is found again', async () => {
    const { feed, setLive } = handFeed();
    const pages = keptPages(feed, { table: 'suggestions', ttlMs: 60_000, max: 10, maxBytes: 1_000_000 });
    const page = counted();
    await pages.answer('p1', page.build);
    setLive(false);
    await pages.answer('p1', page.build);
    await pages.answer('p1', page.build);
    expect(page.builds).toBe(3);
    setLive(true);
    await pages.answer('p1', page.build);
    await pages.answer('p1', page.build);
    expect(page.builds).toBe(4);
  });

  it('does not keep a page that a change overtook while it was built, nor a failed one; callers at once share one build', async () => {
    const { feed, change } = handFeed();
    const pages = keptPages(feed, { table: 'suggestions', ttlMs: 60_000, max: 10, maxBytes: 1_000_000 });
    let release!: () => void;
    let builds = 0;
    const slow = () => {
      builds++;
      return new Promise<KeptAnswer>((resolve) => (release = () => resolve({ tag: 't', body: `{"n":${builds}}` })));
    };
    const both = [pages.answer('p1', slow), pages.answer('p1', slow)];
    change('suggestions'); // the build's query may have read the rows before this change
    release();
    expect((await Promise.all(both)).map((a) => a.body)).toEqual(['{"n":1}', '{"n":1}']);
    const after = counted();
    await pages.answer('p1', after.build);
    expect(after.builds).toBe(1);

    let failures = 0;
    const failing = async (): Promise<KeptAnswer> => {
      failures++;
      throw new Error('Postgres went away');
    };
    await expect(pages.answer('p2', failing)).rejects.toThrow('Postgres went away');
    await expect(pages.answer('p2', failing)).rejects.toThrow('Postgres went away');
    expect(failures).toBe(2);
  });

  it('keeps a page at most ttlMs, and at most `max` pages, the oldest going first', async () => {
    const { feed } = handFeed();
    const short = keptPages(feed, { table: 'suggestions', ttlMs: 50, max: 10, maxBytes: 1_000_000 });
    const page = counted();
    await short.answer('p1', page.build);
    await short.answer('p1', page.build);
    expect(page.builds).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await short.answer('p1', page.build);
    expect(page.builds).toBe(2);

    const few = keptPages(feed, { table: 'suggestions', ttlMs: 60_000, max: 2, maxBytes: 1_000_000 });
    const builds = { p1: counted(), p2: counted(), p3: counted() };
    for (const key of ['p1', 'p2', 'p3', 'p3', 'p2', 'p1'] as const) await few.answer(key, builds[key].build);
    expect([builds.p1.builds, builds.p2.builds, builds.p3.builds]).toEqual([2, 1, 1]);
  });

  it('keeps at most maxBytes of answers, the oldest going first, and never one larger than that', async () => {
    const { feed } = handFeed();
    const pages = keptPages(feed, { table: 'suggestions', ttlMs: 60_000, max: 10, maxBytes: 1_000 });
    let builds = 0;
    const sized = (bytes: number) => async (): Promise<KeptAnswer> => {
      builds++;
      return { tag: 't', body: 'x'.repeat(bytes) };
    };
    await pages.answer('a', sized(600));
    await pages.answer('a', sized(600));
    expect(builds).toBe(1);
    await pages.answer('b', sized(600)); // 1,200 bytes: a goes
    await pages.answer('b', sized(600));
    expect(builds).toBe(2);
    await pages.answer('a', sized(600));
    expect(builds).toBe(3);
    await pages.answer('huge', sized(1_001));
    await pages.answer('huge', sized(1_001));
    expect(builds).toBe(5);
  });

  it('without a feed (an API started with none) every answer is built', async () => {
    const pages = keptPages(undefined, { table: 'suggestions', ttlMs: 60_000, max: 10, maxBytes: 1_000_000 });
    const page = counted();
    await pages.answer('p1', page.build);
    await pages.answer('p1', page.build);
    expect(page.builds).toBe(2);
  });

  it('after the feed closes nothing is kept', async () => {
    const { feed } = handFeed();
    const pages = keptPages(feed, { table: 'suggestions', ttlMs: 60_000, max: 10, maxBytes: 1_000_000 });
    const page = counted();
    await pages.answer('p1', page.build);
    await feed.close();
    await pages.answer('p1', page.build);
    await pages.answer('p1', page.build);
    expect(page.builds).toBe(3);
  });
});
