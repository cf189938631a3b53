// healing_actions: one row per apply attempt of a suggestion.
import type { Db } from './knex.js';
import { fetchPage, type Page, type Paged } from './paging.js';
import type { Verdict } from '../core/regression.js';
import type { ActionStatus } from '../core/suggestion-state.js';

/**
 * How the written file was checked after an apply: the check that passed (`bash -n`, `job schema`),
 * why none ran (its checker is not installed, the file type has none), or what it rejected.
 */
export type ActionVerification =
  | { status: 'verified'; check: string }
  | { status: 'skipped'; check: string | null; reason: string }
  | { status: 'failed'; check: string; reason: string };

export interface ActionRecord {
  id: number;
  suggestion_id: number;
  attempt: number;
  job_id: string;
  action_type: 'edit_script' | 'edit_prompt' | 'edit_config';
  file_path: string | null;
  original_content: string | null;
  new_content: string | null;
  original_sha256: string | null;
  new_sha256: string | null;
  backup_path: string | null;
  command_executed: string | null;
  status: ActionStatus | 'running';
  error_message: string | null;
  can_rollback: boolean;
  rolled_back_at: Date | null;
  rolled_back_by: string | null;
  execution_duration_ms: number | null;
  ai_session_key: string | null;
  /** null while the apply runs, and for actions applied before verification was recorded */
  verification: ActionVerification | null;
  /** the mode of the file the apply replaced, so a forced rollback recreates a deleted one as it was */
  file_mode: number | null;
  /** the regression watch after the apply (migrations/013): null (not watched), 'watching', 'done' */
  watch_status: WatchStatus | null;
  /** null while watching, and for a watch a rollback ended first */
  verdict: Verdict | null;
  /** the figures behind the verdict (core/regression.ts Judgement), or how far the watch has got */
  verdict_details: unknown;
  verdict_at: Date | null;
  /** rolled back by the watch itself */
  auto_reverted: boolean;
  created_at: Date;
}

export type WatchStatus = 'watching' | 'done';

export type NewAction = Pick<
  ActionRecord,
  'suggestion_id' | 'attempt' | 'job_id' | 'action_type' | 'file_path' | 'original_content' | 'new_content' |
  'original_sha256' | 'new_sha256' | 'backup_path' | 'ai_session_key' | 'file_mode'
>;

/** Opens the action row of an apply attempt; a retried activity gets the same row back. */
export async function openAction(db: Db, action: NewAction): Promise<ActionRecord> {
  const inserted = await db('healing_actions')
    .insert({ ...action, status: 'running', can_rollback: false })
    .onConflict(['suggestion_id', 'attempt'])
    .ignore()
    .returning('*');
  if (inserted.length > 0) return inserted[0] as ActionRecord;
  return db('healing_actions').where({ suggestion_id: action.suggestion_id, attempt: action.attempt }).first() as Promise<ActionRecord>;
}

export type ActionPatch = Partial<
  Pick<ActionRecord, 'status' | 'error_message' | 'can_rollback' | 'rolled_back_at' | 'rolled_back_by' | 'execution_duration_ms' | 'backup_path' | 'verification'>
>;

export async function updateAction(db: Db, id: number, patch: ActionPatch): Promise<ActionRecord> {
  const [row] = await db('healing_actions').where({ id }).update(patch).returning('*');
  return row as ActionRecord;
}

export async function getAction(db: Db, id: number): Promise<ActionRecord | undefined> {
  return db('healing_actions').where({ id }).first();
}

export async function listActions(
  db: Db,
  filters: { job_id?: string; status?: string; suggestion_id?: number; can_rollback?: boolean },
  page: Page,
): Promise<Paged<ActionRecord>> {
  const query = db('healing_actions').select(
    'id', 'suggestion_id', 'attempt', 'job_id', 'action_type', 'file_path', 'original_sha256', 'new_sha256',
    'status', 'error_message', 'can_rollback', 'rolled_back_at', 'rolled_back_by', 'execution_duration_ms',
    'ai_session_key', 'verification', 'watch_status', 'verdict', 'verdict_details', 'verdict_at', 'auto_reverted', 'created_at',
  );
  if (filters.job_id) query.where('job_id', filters.job_id);
  if (filters.status) query.where('status', filters.status);
  if (filters.suggestion_id) query.where('suggestion_id', filters.suggestion_id);
  if (filters.can_rollback !== undefined) query.where('can_rollback', filters.can_rollback);
  return fetchPage<ActionRecord>(query, page);
}
