import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { shortCache } from '../core/short-cache.js';

describe('the stats cache', () => {
  it('shares one computation among concurrent callers of a key, and computes again after the TTL', async () => {
    const computed: string[] = [];
    const get = shortCache(200, async (key) => {
      const n = computed.push(key);
      await sleep(20);
      return `${key}:${n}`;
    });
    expect(await Promise.all([get('a'), get('a'), get('b'), get('a')])).toEqual(['a:1', 'a:1', 'b:2', 'a:1']);
    expect(computed).toEqual(['a', 'b']);
    await sleep(250);
    expect(await get('a')).toBe('a:3');
  });

  it('does not keep a failure: the next caller computes again', async () => {
    let calls = 0;
    const get = shortCache(60_000, async () => {
      calls += 1;
      if (calls === 1) throw new Error('Postgres is down');
      return 'ok';
    });
    await expect(get('x')).rejects.toThrow('Postgres is down');
    expect(await get('x')).toBe('ok');
    expect(calls).toBe(2);
  });

  it('with a TTL of 0, computes every time', async () => {
    let calls = 0;
    const get = shortCache(0, async () => ++calls);
    await Promise.all([get('x'), get('x')]);
    expect(calls).toBe(2);
  });
});
