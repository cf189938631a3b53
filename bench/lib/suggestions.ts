// Suggestions made the way a review makes them (rows, then one workflow each), in bulk: each one
// proposes an edit of its own job's YAML (a retry block), so approving it really writes a file.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { sha256 } from '../../core/hash.js';
import { severityRank } from '../../core/policy.js';
import { suggestionWorkflowId, TASK_QUEUE, type SuggestionInput } from '../../core/temporal.js';
import type { Db } from '../../db/knex.js';

export const withRetry = (yaml: string): string => yaml.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');

/** One pending suggestion (and its running workflow) per job; answers their ids in job order. */
export async function createEditSuggestions(db: Db, client: Client, jobsDir: string, jobIds: string[]): Promise<number[]> {
  const [review] = await db('healing_reviews')
    .insert({ job_id: jobIds[0], trigger: 'manual', status: 'completed', workflow_id: 'bench', workflow_run_id: `bench-${Date.now()}-${Math.random()}` })
    .returning('id');
  const rows = [];
  for (const [ordinal, jobId] of jobIds.entries()) {
    const file = path.join(jobsDir, `${jobId}.yaml`);
    const current = await readFile(file, 'utf8');
    rows.push({
      review_id: review.id,
      ordinal,
      job_id: jobId,
      category: 'reliability',
      severity: 'medium',
      severity_rank: severityRank('medium'),
      title: 'Retry transient upload failures',
      description: 'every other run failed on a reset connection',
      suggested_change: 'add retry with 3 attempts',
      target_file: file,
      proposed_content: withRetry(current),
      current_content: current,
      current_sha256: sha256(current),
      fingerprint: `bench-${jobId}`,
      affected_files: JSON.stringify([file]),
    });
  }
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const inserted = (await db('healing_suggestions').insert(rows.slice(i, i + 500)).returning('id')) as { id: number }[];
    ids.push(...inserted.map((r) => r.id));
  }
  await db('healing_suggestions').whereIn('id', ids).update({ workflow_id: db.raw("'healing-suggestion/' || id") });
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map((id, k) =>
        client.workflow.start('suggestionWorkflow', {
          workflowId: suggestionWorkflowId(id),
          taskQueue: TASK_QUEUE,
          args: [{ suggestionId: id, jobId: jobIds[i + k]!, autoApply: false, ttlMs: 3_600_000, rollbackWindowMs: 3_600_000, requiredApprovals: 1 } satisfies SuggestionInput],
        }),
      ),
    );
  }
  return ids;
}
