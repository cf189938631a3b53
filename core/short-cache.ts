// A short-lived, single-flight cache for what many callers ask at once (figures dashboards poll,
// the job files a write guard compares with): within the TTL every caller shares one computation
// (and one in flight is awaited, not repeated). A failed computation is not kept.
export function shortCache<T>(ttlMs: number, compute: (key: string) => Promise<T>): (key: string) => Promise<T> {
  if (ttlMs <= 0) return compute;
  const entries = new Map<string, { value: Promise<T>; until: number }>();
  return (key) => {
    const now = Date.now();
    const hit = entries.get(key);
    if (hit && hit.until > now) return hit.value;
    if (entries.size > 1_000) for (const [k, e] of entries) if (e.until <= now) entries.delete(k);
    const value = compute(key);
    entries.set(key, { value, until: now + ttlMs });
    value.catch(() => entries.delete(key));
    return value;
  };
}
