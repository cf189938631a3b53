// Apply and roll back, step by step. Each step is its own activity and idempotent: after a crash
// Temporal retries the step, which finds the work done or does it once.
import { lstat, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { createTwoFilesPatch } from 'diff';
import { sha256 } from '../core/hash.js';
import { jobFilePaths } from '../core/job-files.js';
import { checkShrink, checkWriteTarget } from '../core/path-guard.js';
import { ADVICE_STATUS } from '../core/suggestion-state.js';
import { ERROR_TYPES } from '../core/temporal.js';
import { getAction, openAction, updateAction, type ActionRecord, type ActionVerification } from '../db/actions.js';
import { findJob } from '../db/catalog.js';
import type { Db } from '../db/knex.js';
import { getSuggestion, updateSuggestion, type SuggestionRecord } from '../db/suggestions.js';
import type { ActivityDeps } from './deps.js';
import { withFileLock } from '../db/files.js';
import { removeStaleTemps, writeFileAtomic } from './files.js';
import { rewriteFileWithAi } from './rewrite.js';
import { verifyFileContent } from './verify.js';
import { loadWriteGuard, realJobFiles } from './write-guard.js';

type FileRole = 'config' | 'script' | 'prompt';

/**
 * What an apply prepared: the action (null: advice, nothing to write), and the file it writes and
 * where its backup is, for the suggestion's current details (absent from older workers' answers).
 */
export interface PreparedApply {
  actionId: number | null;
  needsRewrite?: boolean;
  file?: string | null;
  backupPath?: string | null;
}
const ACTION_TYPES: Record<FileRole, ActionRecord['action_type']> = { config: 'edit_config', script: 'edit_script', prompt: 'edit_prompt' };

function fail(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: details === undefined ? undefined : [details] });
}

/** Refuses a suggestion made against another version of its file than the one on disk now. */
function checkUnchangedSinceReview(suggestion: SuggestionRecord, current: string): void {
  if (suggestion.current_sha256 && sha256(current) !== suggestion.current_sha256) {
    throw fail(ERROR_TYPES.staleFile, `${suggestion.target_file} changed since the review read it; re-run the review to get a suggestion made against the file as it is now`);
  }
}

/** How long an action has taken since it was opened (null for an action that is gone). */
async function elapsedSinceOpened(db: Db, actionId: number): Promise<number | null> {
  const action = await getAction(db, actionId);
  return action ? Date.now() - new Date(action.created_at).getTime() : null;
}

/**
 * What the disk says no to, retrying cannot fix (a read-only mount, permissions, a full disk): the
 * step fails for good with the reason, so the saga restores and the suggestion is `failed`, instead
 * of Temporal retrying the write forever. Connection errors to Postgres stay retryable, including
 * those of a Unix socket, which carry the same codes (ENOENT, EACCES) from a `connect`: failing
 * for good there would end a suggestion's workflow in the middle of its life.
 */
const FILE_ERROR_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EISDIR', 'ENOTDIR', 'ENOENT', 'ELOOP', 'ENAMETOOLONG', 'EFBIG', 'EEXIST', 'EBUSY', 'ETXTBSY']);

function withFileFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await activity(...args);
      } catch (error) {
        const { code, syscall } = error as NodeJS.ErrnoException;
        if (code && FILE_ERROR_CODES.has(code) && syscall !== 'connect' && !(error instanceof ApplicationFailure)) {
          throw fail(ERROR_TYPES.fileError, `${(error as Error).message}; fix the file or its folder and apply again`);
        }
        throw error;
      }
    };
  }
  return wrapped as T;
}

export function createApplyActivities(deps: ActivityDeps) {
  const { db } = deps;

  /**
   * Resolves the target through symlinks and checks it is one of the job's own files, then, for
   * an edit, the write policy against the catalog as it is now (core/write-policy.ts: shared
   * code, the job's forbidden_paths and allowed_actions, files other jobs use; `proposed` null
   * when the AI has not written the new file yet). A 'restore' (a rollback putting back what an
   * earlier apply replaced) skips the policy, so an edit applied before a rule existed can still
   * be undone.
   */
  async function guardedTarget(jobId: string, target: string, intent: { proposed: string | null } | 'restore' = { proposed: null }): Promise<{ real: string; role: FileRole }> {
    const job = await findJob(deps.jobsSource, jobId);
    if (!job) throw fail(ERROR_TYPES.guardRefusal, `job "${jobId}" is no longer in the catalog`);
    const env = { jobsSource: deps.jobsSource, home: deps.home, procclawHome: deps.procclawHome };
    const own = await realJobFiles(job, env);
    const real = await realpath(target).catch(() => null);
    if (!real) throw fail(ERROR_TYPES.guardRefusal, `${target} does not exist`);
    const verdict = checkWriteTarget({ target: real, allowed: own.map((o) => o.real), home: deps.home });
    if (!verdict.ok) throw fail(ERROR_TYPES.guardRefusal, `refusing to write ${target}: ${verdict.reason}`);
    const mine = own.find((o) => o.real === real)!;
    if (intent !== 'restore') {
      const refused = await (await loadWriteGuard(job, env)).refusal({ role: mine.role, path: target, real, proposed: intent.proposed });
      if (refused) throw fail(ERROR_TYPES.guardRefusal, `refusing to write ${target}: ${refused}`);
    }
    return mine;
  }

  /** The file an action writes, checked again: a symlink swapped in since the guard is refused. */
  async function actionTarget(action: ActionRecord): Promise<{ real: string; role: FileRole }> {
    const real = await realpath(action.file_path!).catch(() => null);
    if (real === null || real !== action.file_path) throw fail(ERROR_TYPES.guardRefusal, `${action.file_path} now resolves elsewhere (${real ?? 'missing'}); refusing to write it`);
    const role = (Object.keys(ACTION_TYPES) as FileRole[]).find((r) => ACTION_TYPES[r] === action.action_type)!;
    return { real, role };
  }

  async function loadAction(actionId: number): Promise<ActionRecord> {
    const action = await getAction(db, actionId);
    if (!action) throw fail(ERROR_TYPES.guardRefusal, `action ${actionId} does not exist`);
    return action;
  }

  /** The file an action wrote is no longer there (deleted, not replaced by a symlink or a folder). */
  async function deletedSinceApply(action: ActionRecord): Promise<boolean> {
    return (await lstat(action.file_path!).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)))) === null;
  }

  /**
   * A forced rollback of a file deleted after the apply writes the original back where it was, with
   * its mode: only when that place is still one of the job's own files (its folder resolved through
   * symlinks, so a folder swapped for a link elsewhere is refused) and never a forbidden path.
   */
  async function recreateDeleted(action: ActionRecord): Promise<void> {
    const job = await findJob(deps.jobsSource, action.job_id);
    if (!job) throw fail(ERROR_TYPES.guardRefusal, `job "${action.job_id}" is no longer in the catalog`);
    const paths = jobFilePaths(job, { home: deps.home, procclawHome: deps.procclawHome });
    const places = new Map<string, FileRole>();
    const add = async (p: string | null, role: FileRole) => {
      const dir = p ? await realpath(path.dirname(p)).catch(() => null) : null;
      if (p && dir) places.set(path.join(dir, path.basename(p)), role);
    };
    await add(paths.config, 'config');
    await add(paths.script, 'script');
    for (const candidate of paths.promptCandidates) await add(candidate, 'prompt');
    const role = places.get(action.file_path!);
    const verdict = checkWriteTarget({ target: action.file_path!, allowed: role ? [action.file_path!] : [], home: deps.home });
    if (!role || !verdict.ok) throw fail(ERROR_TYPES.guardRefusal, `refusing to recreate ${action.file_path}: ${verdict.ok ? "it is no longer one of the job's own files" : verdict.reason}`);
    await writeFileAtomic(action.file_path!, action.original_content!, { mode: action.file_mode ?? 0o644 });
    await checkRestored(action, action.file_path!, role);
  }

  /** The restored original is on disk; one that does not verify is kept as it was (it was the user's file). */
  async function checkRestored(action: ActionRecord, real: string, role: FileRole): Promise<void> {
    const written = await readFile(real, 'utf8');
    if (sha256(written) !== action.original_sha256) throw fail(ERROR_TYPES.verifyFailed, `${action.file_path} does not hold the original content after the rollback write`);
    const verification = await verifyFileContent(real, written, role, action.job_id);
    if (verification.status === 'failed') deps.log.warn({ actionId: action.id, problem: verification.reason }, 'the restored original does not verify; it was restored as it was');
  }

  return withFileFailures({
    /** Asks the AI for the complete new file of a suggestion that only describes its change. */
    async rewriteProposal(input: { suggestionId: number }): Promise<void> {
      const suggestion = await getSuggestion(db, input.suggestionId);
      if (!suggestion?.target_file || suggestion.proposed_content !== null || !suggestion.suggested_change) return;
      const { real, role } = await guardedTarget(suggestion.job_id, suggestion.target_file);
      const current = await readFile(real, 'utf8');
      checkUnchangedSinceReview(suggestion, current);
      const file = { role, path: suggestion.target_file, content: current, sha256: sha256(current), truncated: false };
      const rewritten = await rewriteFileWithAi(deps.analyzer, file, suggestion.suggested_change);
      await updateSuggestion(db, input.suggestionId, { proposed_content: rewritten.content, ai_session_key: rewritten.sessionKey });
    },

    /**
     * Guard, staleness check, backup and the action row. Null action: nothing to edit, the
     * suggestion is advice (no file, or an edit the job's policy does not allow: advisory_reason),
     * which completeApply records as acknowledged.
     */
    async prepareApply(input: { suggestionId: number; attempt: number; by: string }): Promise<PreparedApply> {
      const existing = await db('healing_actions').where({ suggestion_id: input.suggestionId, attempt: input.attempt }).first();
      if (existing) return { actionId: existing.id as number, file: existing.file_path, backupPath: existing.backup_path };
      const suggestion = await getSuggestion(db, input.suggestionId);
      if (!suggestion) throw fail(ERROR_TYPES.guardRefusal, `suggestion ${input.suggestionId} does not exist`);
      if (!suggestion.target_file || suggestion.advisory_reason) return { actionId: null };
      if (suggestion.proposed_content === null) {
        if (suggestion.suggested_change) return { actionId: null, needsRewrite: true };
        throw fail(ERROR_TYPES.guardRefusal, 'this suggestion names a file but neither the change nor its new content; apply it by hand');
      }
      const { real, role } = await guardedTarget(suggestion.job_id, suggestion.target_file, { proposed: suggestion.proposed_content });
      const current = await readFile(real, 'utf8');
      checkUnchangedSinceReview(suggestion, current);
      if (current === suggestion.proposed_content) {
        throw fail(ERROR_TYPES.noChange, `no change: ${suggestion.target_file} already holds the proposed content, so there is nothing to apply; reject the suggestion or let it expire`);
      }
      const currentSha = sha256(current);
      const shrink = checkShrink(current, suggestion.proposed_content);
      if (!shrink.ok) throw fail(ERROR_TYPES.guardRefusal, shrink.reason);
      const backupDir = path.join(deps.dataDir, 'backups', suggestion.job_id);
      await mkdir(backupDir, { recursive: true });
      const backupPath = path.join(backupDir, `${input.suggestionId}-${input.attempt}-${path.basename(real)}`);
      await writeFile(backupPath, current, 'utf8');
      const action = await openAction(db, {
        suggestion_id: input.suggestionId,
        attempt: input.attempt,
        job_id: suggestion.job_id,
        action_type: ACTION_TYPES[role],
        file_path: real,
        original_content: current,
        new_content: suggestion.proposed_content,
        original_sha256: currentSha,
        new_sha256: sha256(suggestion.proposed_content),
        backup_path: backupPath,
        ai_session_key: suggestion.ai_session_key,
        file_mode: (await stat(real)).mode & 0o7777,
      });
      return { actionId: action.id, file: real, backupPath };
    },

    async writeApplied(input: { actionId: number }): Promise<void> {
      const action = await loadAction(input.actionId);
      const { real } = await actionTarget(action);
      await withFileLock(db, real, async () => {
        const currentSha = sha256(await readFile(real, 'utf8'));
        if (currentSha === action.new_sha256) return removeStaleTemps(real); // written before a crash, or by a twin run of this step
        if (currentSha !== action.original_sha256) {
          throw fail(ERROR_TYPES.staleFile, `${action.file_path} changed while the change was being applied; re-run the review`);
        }
        await writeFileAtomic(real, action.new_content!);
      });
    },

    /** Answers the verification too, for the suggestion's current details in the Temporal UI. */
    async verifyApplied(input: { actionId: number }): Promise<{ verification: ActionVerification }> {
      const action = await loadAction(input.actionId);
      const { real, role } = await actionTarget(action);
      const content = await readFile(real, 'utf8');
      const verification: ActionVerification = sha256(content) === action.new_sha256
        ? await verifyFileContent(real, content, role, action.job_id)
        : { status: 'failed', check: 'sha256', reason: `${action.file_path} does not hold the new content after the write` };
      await updateAction(db, action.id, { verification });
      if (verification.status === 'failed') throw fail(ERROR_TYPES.verifyFailed, verification.reason);
      return { verification };
    },

    /** Compensation: put the original content back, unless someone else has written since. */
    async restoreBackup(input: { actionId: number }): Promise<void> {
      const action = await loadAction(input.actionId);
      const real = await realpath(action.file_path!);
      await withFileLock(db, real, async () => {
        const currentSha = sha256(await readFile(real, 'utf8'));
        if (currentSha === action.original_sha256) return removeStaleTemps(real); // never written, or a write killed before its rename
        if (currentSha !== action.new_sha256) {
          deps.log.warn({ actionId: action.id, file: real }, 'not restoring: the file was changed by someone else meanwhile');
          return;
        }
        await writeFileAtomic(real, action.original_content!);
      });
    },

    /** The end of an apply: the action succeeded and the suggestion is applied; without an action it was advice, acknowledged. */
    async completeApply(input: { suggestionId: number; actionId: number | null; by: string }): Promise<void> {
      if (input.actionId === null) {
        // Nothing was written: no applied_at, so no apply figure counts it (db/stats.ts).
        await updateSuggestion(db, input.suggestionId, { status: ADVICE_STATUS, action_id: null, error_message: null });
        return;
      }
      const actionId = input.actionId;
      await db.transaction(async (trx) => {
        const duration = await elapsedSinceOpened(trx, actionId);
        await updateAction(trx, actionId, { status: 'success', can_rollback: true, execution_duration_ms: duration, error_message: null });
        await updateSuggestion(trx, input.suggestionId, { status: 'applied', applied_at: new Date(), action_id: actionId, error_message: null });
      });
    },

    /** An apply refused before anything was written (no change): the reason, and no apply in progress. */
    async noteRefusedApply(input: { suggestionId: number; error: string }): Promise<void> {
      await updateSuggestion(db, input.suggestionId, { error_message: input.error, applying_step: null, applying_since: null });
    },

    async failApply(input: { suggestionId: number; actionId: number | null; error: string }): Promise<void> {
      await db.transaction(async (trx) => {
        if (input.actionId !== null) {
          const duration = await elapsedSinceOpened(trx, input.actionId);
          await updateAction(trx, input.actionId, { status: 'failed', can_rollback: false, error_message: input.error, execution_duration_ms: duration });
        }
        await updateSuggestion(trx, input.suggestionId, { status: 'failed', error_message: input.error, ...(input.actionId !== null ? { action_id: input.actionId } : {}) });
      });
    },

    async rollbackAction(input: { suggestionId: number; actionId: number; by: string; force: boolean }): Promise<void> {
      const action = await loadAction(input.actionId);
      if (action.status === 'rolled_back') return;
      if (await deletedSinceApply(action)) {
        if (!input.force) {
          throw fail(ERROR_TYPES.rollbackConflict, `${action.file_path} is gone: it was deleted after the apply; roll back with force to recreate it with its original content and mode`);
        }
        await recreateDeleted(action);
      } else {
        const { real, role } = await guardedTarget(action.job_id, action.file_path!, 'restore');
        await withFileLock(db, real, async () => {
          const current = await readFile(real, 'utf8');
          const currentSha = sha256(current);
          if (currentSha === action.original_sha256) return;
          if (currentSha !== action.new_sha256 && !input.force) {
            const diff = createTwoFilesPatch(`${action.file_path} (as applied)`, `${action.file_path} (now)`, action.new_content ?? '', current);
            throw fail(ERROR_TYPES.rollbackConflict, `${action.file_path} was changed after the apply; roll back with force to overwrite those changes`, { diff });
          }
          await writeFileAtomic(real, action.original_content!);
        });
        await checkRestored(action, real, role);
      }
      await db.transaction(async (trx) => {
        await updateAction(trx, action.id, { status: 'rolled_back', can_rollback: false, rolled_back_at: new Date(), rolled_back_by: input.by });
        await updateSuggestion(trx, input.suggestionId, { status: 'rolled_back' });
      });
    },

    async closeRollbackWindow(input: { actionId: number }): Promise<void> {
      await updateAction(db, input.actionId, { can_rollback: false });
    },
  });
}
