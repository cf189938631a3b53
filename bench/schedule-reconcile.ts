// Schedule reconcile: 10,000 proactive jobs, one Temporal schedule each. First reconcile (creates
// them all); again with nothing changed (must write nothing); then with 1 % of the job files
// changed (must write only those). Writes are counted on the client itself (create, update,
// delete, pause, unpause, trigger), not taken from the reconciler's own report.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { reconcileSchedules, type ReconcileResult } from '../worker/schedules.js';
import { jobYaml, writeJobs } from './lib/jobs.js';
import { cpuSeconds, startCpu } from './lib/cpu.js';
import { round, startBench } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const JOBS = Number(process.env.BENCH_SCHEDULE_JOBS ?? 10_000);
const CHANGED = Math.max(1, Math.round(JOBS / 100));
const time = (i: number, shift = 0) => `${String((i + shift) % 24).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}`;

const bench = startBench('schedule-reconcile');
const stack = await startBenchStack();

/** Counts every call that changes a schedule, and the describes. */
function countCalls(client: Client) {
  const calls = { create: 0, update: 0, delete: 0, pause: 0, unpause: 0, trigger: 0, describe: 0 };
  const schedule = client.schedule;
  const create = schedule.create.bind(schedule);
  schedule.create = (async (...args: Parameters<typeof create>) => {
    calls.create++;
    return create(...args);
  }) as typeof schedule.create;
  const getHandle = schedule.getHandle.bind(schedule);
  schedule.getHandle = ((id: string) => {
    const handle = getHandle(id);
    for (const name of ['update', 'delete', 'pause', 'unpause', 'trigger', 'describe'] as const) {
      const original = (handle[name] as (...a: unknown[]) => Promise<unknown>).bind(handle);
      (handle as unknown as Record<string, unknown>)[name] = async (...a: unknown[]) => {
        calls[name]++;
        return original(...a);
      };
    }
    return handle;
  }) as typeof schedule.getHandle;
  return {
    take() {
      const now = { ...calls };
      for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
      const writes = now.create + now.update + now.delete + now.pause + now.unpause + now.trigger;
      return { ...now, writes };
    },
  };
}

/** Waits until the processes use less than a third of a core over 5 s (at most 5 minutes); answers the seconds waited. */
async function waitForIdle(pids: () => number[]): Promise<number> {
  const t0 = performance.now();
  for (let last = cpuSeconds(pids); performance.now() - t0 < 300_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const now = cpuSeconds(pids);
    if (now - last < 5 / 3) break;
    last = now;
  }
  return round((performance.now() - t0) / 1000, 0);
}

try {
  const ids = await writeJobs(stack.jobsDir, 'sched', JOBS, { time: (i) => time(i) });
  const counter = countCalls(stack.client);
  const pass = async (label: string) => {
    const cpu = startCpu(stack.cpuGroups());
    const t0 = performance.now();
    const result: ReconcileResult = await reconcileSchedules(stack.client, stack.jobsDir, { retention: false });
    const seconds = round((performance.now() - t0) / 1000, 1);
    const calls = counter.take();
    const used = cpu();
    bench.log(`${label}: ${seconds} s; ${JSON.stringify({ ...result, failed: result.failed.length })}; calls ${JSON.stringify(calls)}; CPU s ${JSON.stringify(used)}`);
    if (result.failed.length > 0) bench.log(`first failure: ${JSON.stringify(result.failed[0])}`);
    return { seconds, result: { ...result, failed: result.failed.length }, calls, cpu_s: used };
  };

  const first = await pass('first');
  const unchanged = await pass('unchanged');
  // Creating 10,000 schedules leaves the dev server starting each schedule's own workflow for a
  // minute or two after the creates return; until then it cannot describe them. A 1 % change comes
  // later in life than six seconds after the first start: wait until the server is idle.
  const settled = await waitForIdle(stack.cpuGroups().temporal!);
  bench.log(`the dev server settled after ${settled} s`);
  const changedIds = ids.filter((_, i) => i % 100 === 0).slice(0, CHANGED);
  for (const id of changedIds) {
    const i = ids.indexOf(id);
    await writeFile(path.join(stack.jobsDir, `${id}.yaml`), jobYaml(id, { time: time(i, 1) }));
  }
  const changed = await pass(`${changedIds.length} changed`);

  bench.add({
    figure: `first reconcile (${JOBS} jobs)`,
    target: '< 120 s',
    measured: first.seconds,
    unit: 's',
    pass: first.seconds < 120 && first.result.created === JOBS && first.result.failed === 0,
    note: `${first.result.created} created, ${first.calls.writes} writes`,
  });
  bench.add({
    figure: 'reconcile, nothing changed: writes',
    target: '0',
    measured: unchanged.calls.writes,
    unit: '',
    pass: unchanged.calls.writes === 0,
    baseline: { label: 'first reconcile', value: first.seconds, unit: 's' },
    note: `took ${unchanged.seconds} s (${unchanged.calls.describe} describes)`,
  });
  bench.add({
    figure: `reconcile, 1% changed: writes`,
    target: `only those (${changedIds.length})`,
    measured: changed.calls.writes,
    unit: '',
    pass: changed.calls.writes === changedIds.length && changed.calls.update === changedIds.length,
    note: `took ${changed.seconds} s; ${changed.result.updated} updated, ${changed.result.failed} failed (retried at the next pass); run after the server settled (${settled} s)`,
  });
  Object.assign(bench.details, { jobs: JOBS, changed: changedIds.length, first, unchanged, settled_s: settled, changed_pass: changed });
} finally {
  await stack.stop();
}
await bench.finish();
