// Builds a suggestion the way a review would (rows + its workflow), with whatever content a test
// needs, so the guard and saga can be driven precisely.
import { readFile } from 'node:fs/promises';
import { sha256 } from '../../core/hash.js';
import { severityRank } from '../../core/policy.js';
import { suggestionWorkflowId, TASK_QUEUE, type SuggestionInput } from '../../core/temporal.js';
import type { Stack } from './stack.js';

let counter = 0;

export async function createSuggestion(
  stack: Stack,
  opts: {
    jobId: string;
    targetFile: string | null;
    proposed: string | null;
    /** defaults to the file as it is now */
    current?: string | null;
    category?: string;
    severity?: 'low' | 'medium' | 'high' | 'critical';
    title?: string;
    suggestedChange?: string;
    input?: Partial<SuggestionInput>;
  },
): Promise<number> {
  const current = opts.current !== undefined ? opts.current : opts.targetFile ? await readFile(opts.targetFile, 'utf8').catch(() => null) : null;
  counter += 1;
  const [review] = await stack.db('healing_reviews')
    .insert({ job_id: opts.jobId, trigger: 'manual', status: 'completed', workflow_id: 'test', workflow_run_id: `test-${Date.now()}-${counter}` })
    .returning('id');
  const severity = opts.severity ?? 'medium';
  const [row] = await stack.db('healing_suggestions')
    .insert({
      review_id: review.id,
      ordinal: 0,
      job_id: opts.jobId,
      category: opts.category ?? 'config',
      severity,
      severity_rank: severityRank(severity),
      title: opts.title ?? `test suggestion ${counter}`,
      description: 'made by a test',
      suggested_change: opts.suggestedChange ?? null,
      target_file: opts.targetFile,
      proposed_content: opts.proposed,
      current_content: current,
      current_sha256: current === null ? null : sha256(current),
      fingerprint: `test-${counter}-${Date.now()}`,
      affected_files: JSON.stringify(opts.targetFile ? [opts.targetFile] : []),
    })
    .returning('id');
  const id = row.id as number;
  await stack.db('healing_suggestions').where({ id }).update({ workflow_id: suggestionWorkflowId(id) });
  const input: SuggestionInput = {
    suggestionId: id,
    jobId: opts.jobId,
    autoApply: false,
    ttlMs: 3_600_000,
    rollbackWindowMs: 3_600_000,
    requiredApprovals: 1,
    ...opts.input,
  };
  await stack.env.client.workflow.start('suggestionWorkflow', { workflowId: suggestionWorkflowId(id), taskQueue: TASK_QUEUE, args: [input] });
  return id;
}

/** The ETL job the apply tests edit: scheduled, proactive, its `cmd` runs ./etl.sh; `selfHealing` lines go under its self_healing block. */
export function etlJobYaml(selfHealing = ''): string {
  return `# ETL job: loads the warehouse.\nname: ETL\ncmd: ./etl.sh\ntype: scheduled\nschedule: "0 * * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n${selfHealing}`;
}
