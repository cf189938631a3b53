// Sixty days of history for the demo's nightly-backup, for the trend chart's browser test and its
// screenshot: three runs a day, a change applied 25 days ago (through the API) that the watch
// judged improved, and one applied 12 days ago that regressed and was rolled back by the watch.
import { http, type Stack } from '../helpers/stack.js';
import { insertSuggestions } from './support.js';

const DAY = 86_400_000;
export const TREND_JOB = 'nightly-backup';

export async function seedTrendHistory(stack: Stack, improvedSuggestionId: number): Promise<{ improvedAction: number; revertedAction: number }> {
  const now = Date.now();
  const approved = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${improvedSuggestionId}/approve`, {});
  if (approved.body.status !== 'applied') throw new Error(`the approve did not apply: ${JSON.stringify(approved.body)}`);
  const improvedAction = approved.body.action_id as number;
  await stack.db('healing_suggestions').where({ id: improvedSuggestionId }).update({ applied_at: new Date(now - 25 * DAY) });
  await stack.db('healing_actions').where({ id: improvedAction }).update({
    watch_status: 'done',
    verdict: 'improved',
    verdict_at: new Date(now - 23 * DAY),
    verdict_details: JSON.stringify({ summary: 'success rate 67% -> 100% (up 33 points)' }),
  });

  const [revertedSuggestion] = await insertSuggestions(stack, [
    { job_id: TREND_JOB, title: 'Upload with 8 parallel streams', category: 'performance', severity: 'medium', status: 'rolled_back', created_at: new Date(now - 13 * DAY) },
  ]);
  await stack.db('healing_suggestions').where({ id: revertedSuggestion }).update({ applied_at: new Date(now - 12 * DAY) });
  const [reverted] = await stack.db('healing_actions')
    .insert({
      suggestion_id: revertedSuggestion,
      attempt: 1,
      job_id: TREND_JOB,
      action_type: 'edit_config',
      status: 'rolled_back',
      can_rollback: false,
      created_at: new Date(now - 12 * DAY),
      rolled_back_at: new Date(now - 10 * DAY),
      rolled_back_by: 'regression-watch',
      auto_reverted: true,
      watch_status: 'done',
      verdict: 'regressed',
      verdict_at: new Date(now - 10 * DAY),
      verdict_details: JSON.stringify({ summary: 'success rate 100% -> 33% (down 67 points; the margin is 20)' }),
    })
    .returning('id');

  const runs = [];
  for (let k = 60; k >= 1; k--) {
    for (const [i, hour] of [2, 10, 18].entries()) {
      const started = new Date(now - k * DAY + hour * 3_600_000 - DAY);
      const regressed = k <= 12 && k > 10;
      const failed = k > 25 ? (k + i) % 3 === 0 : regressed ? i !== 0 : false;
      const durationMs = (k > 25 ? 560_000 : 480_000) + ((k * 7 + i * 13) % 10) * 6_000 + (regressed ? 120_000 : 0);
      runs.push({
        job_id: TREND_JOB,
        external_id: `trend-${k}-${i}`,
        started_at: started,
        finished_at: new Date(started.getTime() + durationMs),
        exit_code: failed ? 1 : 0,
        duration_ms: durationMs,
        trigger: 'scheduled',
        error: failed ? 'upload failed: connection reset by peer' : null,
      });
    }
  }
  await stack.db('job_runs').insert(runs);
  return { improvedAction, revertedAction: Number(reverted.id) };
}
