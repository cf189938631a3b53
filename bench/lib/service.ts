// What the worker and API processes of a benchmark share: a ready message to the parent, memory
// figures on request (after a full collection, so growth means retained memory), clean SIGTERM.
export type Stop = () => Promise<void>;

export function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set: this process is started by bench/lib/stack.ts`);
  return value;
}

export async function runService(start: () => Promise<Stop>): Promise<void> {
  const stop = await start();
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  process.on('message', (m: { type?: string; id?: number }) => {
    if (m?.type !== 'memory') return;
    (globalThis as { gc?: () => void }).gc?.();
    const u = process.memoryUsage();
    process.send?.({ type: 'memory', id: m.id, memory: { rss_mb: mb(u.rss), heap_used_mb: mb(u.heapUsed), heap_total_mb: mb(u.heapTotal), external_mb: mb(u.external) } });
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    stop()
      .catch((error) => console.error(error))
      .finally(() => process.exit(0));
  });
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM')); // the benchmark died
  process.send?.({ type: 'ready' });
}
