// The analysis queue in the dashboard's reviews list: a review waiting for an analysis slot says
// its place in line and how long it has waited, the one analysing says since when, and a
// scheduled review skipped for an unchanged context says so. Rows as the review workflow writes
// them (test/review-skip-unchanged.test.ts drives the real queue).
import { describe, test } from 'vitest';
import { startStack } from '../helpers/stack.js';
import { browserSession, ensureWebBuilt, waitForText } from './support.js';

const session = browserSession(async () => startStack({ webDist: await ensureWebBuilt() }));

describe('the analysis queue in the reviews list', () => {
  test('a waiting review shows "waiting for analysis: 2nd in line, 42 s", the analysing one its time, a skipped one the unchanged reason', async () => {
    const { db } = session.stack;
    const ago = (s: number) => db.raw(`now() - interval '${s} seconds'`);
    const row = (job: string, extra: Record<string, unknown>) => ({
      job_id: job,
      trigger: 'scheduled',
      status: 'running',
      workflow_id: `healing-review/${job}`,
      workflow_run_id: `browser-queue-${job}-${Date.now()}`,
      ...extra,
    });
    const [analysing] = await db('healing_reviews').insert(row('queue-a', { analysis_requested_at: ago(90), analysis_started_at: ago(30) })).returning('id');
    const [first] = await db('healing_reviews').insert(row('queue-b', { analysis_requested_at: ago(60) })).returning('id');
    const [second] = await db('healing_reviews').insert(row('queue-c', { analysis_requested_at: ago(42) })).returning('id');
    const reason = 'nothing changed since review 7 on 2026-12-01 03:00 UTC: no new runs, same config and script; not analysed again (no AI tokens spent)';
    const [skipped] = await db('healing_reviews')
      .insert(row('queue-d', { status: 'skipped', skip_reason: reason, skip_count: 1, finished_at: new Date() }))
      .returning('id');

    const page = await session.open('#/reviews');
    await page.waitForLoadState('load');
    const line = (id: number) => page.getByTestId(`review-${id}`).getByTestId('review-analysis-queue');
    await waitForText(line(second.id), /Waiting for analysis: 2nd in line, 4\d s/);
    await waitForText(line(first.id), /Waiting for analysis: 1st in line, (6\d s|1 min \d+ s)/);
    await waitForText(line(analysing.id), /Analysing for 3\d s \(waited 60 s for its turn\)/);
    await waitForText(page.getByTestId(`review-${skipped.id}`).getByTestId('review-skipped'), `Skipped: ${reason}`);
  });
});
