// May this job's suggestion write this file? Beyond "one of the job's own files" (path-guard's
// checkWriteTarget): never code shared beyond the job (node_modules, ProcClaw's runner), never a
// path the job's own `forbidden_paths` names, only an edit its `allowed_actions` lists, and never
// a file other jobs use too, except a shared jobs.yaml whose other entries the edit leaves as
// they are. Pure: the caller loads the catalog, resolves real paths and reads the file.
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import type { Remediation } from './job.js';
import { forbiddenReason, matchForbiddenPattern, sharedCodeReason } from './path-guard.js';

export type FileRole = 'config' | 'script' | 'prompt';
export type EditAction = 'edit_config' | 'edit_script' | 'edit_prompt';

export const EDIT_ACTIONS: Record<FileRole, EditAction> = { config: 'edit_config', script: 'edit_script', prompt: 'edit_prompt' };

/**
 * The `allowed_actions` names that allow each edit. ProcClaw's own names are edit_script and
 * edit_config; its README also shows edit_file ("modify files") and modify_config. A prompt edit
 * is allowed by edit_script too: ProcClaw's list has no edit_prompt, and an OpenClaw job's prompt
 * is what it runs. edit_file does not cover the job's YAML (the README lists config separately),
 * and neither does modify_env: a config edit may change any field, not only `env`.
 */
export const ALLOWING: Record<EditAction, readonly string[]> = {
  edit_script: ['edit_script', 'edit_file'],
  edit_prompt: ['edit_prompt', 'edit_script', 'edit_file'],
  edit_config: ['edit_config', 'modify_config'],
};

export interface OtherJobFile {
  job_id: string;
  role: FileRole;
  /** real path */
  file: string;
}

export interface WritePolicyInput {
  job_id: string;
  role: FileRole;
  /** the file as the job names it, and as it resolves (both are matched against patterns) */
  path: string;
  real: string;
  home: string;
  remediation: Remediation | undefined;
  /** every file of every other job in the catalog, real paths */
  others: readonly OtherJobFile[];
  /**
   * A config edit: the file's content now and as proposed. `proposed` null: not known yet (the AI
   * writes it later); checked again then.
   */
  config_change?: { current: string; proposed: string | null };
}

/** Why this write is refused, for the person deciding (no "refusing to write <path>" prefix), or null. */
export function writeRefusal(input: WritePolicyInput): string | null {
  const fixed = forbiddenReason(input.real, input.home) ?? sharedCodeReason(input.real) ?? sharedCodeReason(input.path);
  if (fixed) return fixed;
  const patterns = input.remediation?.forbidden_paths ?? [];
  const matched = matchForbiddenPattern(input.real, patterns, input.home) ?? matchForbiddenPattern(input.path, patterns, input.home);
  if (matched) return `it matches "${matched}" in the job's self_healing.remediation.forbidden_paths`;
  const action = EDIT_ACTIONS[input.role];
  const allowed = input.remediation?.allowed_actions;
  if (allowed && !ALLOWING[action].some((a) => allowed.includes(a))) {
    return `the job's self_healing.remediation.allowed_actions is [${allowed.join(', ')}]; this ${input.role} edit (${action}) needs ${orList(ALLOWING[action])} there`;
  }
  return sharedReason(input) ?? guardsReason(input);
}

/** The parts of a job's self_healing block that guard what its suggestions may do. */
const GUARD_FIELDS = ['remediation', 'suggestions'] as const;

/**
 * A suggestion may not loosen the rules it is judged by: an edit of the job's own
 * `self_healing.remediation` (allowed_actions, forbidden_paths) or `self_healing.suggestions`
 * (auto-apply, approvals, notifications) is for a person to make, by hand or through
 * PUT /jobs/{id}/self-healing.
 */
function guardsReason(input: WritePolicyInput): string | null {
  if (input.role !== 'config' || !input.config_change || input.config_change.proposed === null) return null;
  const before = jobEntry(input.config_change.current, input.job_id);
  const after = jobEntry(input.config_change.proposed, input.job_id);
  if (before === undefined || after === undefined) return null; // a file that does not parse fails its own checks
  const guards = (entry: unknown) => (isRecord(entry) && isRecord(entry.self_healing) ? entry.self_healing : {});
  const changed = GUARD_FIELDS.filter((field) => !isDeepStrictEqual(guards(before)[field], guards(after)[field]));
  if (changed.length === 0) return null;
  return `it changes the job's own ${changed.map((f) => `self_healing.${f}`).join(' and ')}, the rules its suggestions are held to; change those by hand or through PUT /api/v1/jobs/${input.job_id}/self-healing`;
}

/** The job's entry in a config: the whole document, or `jobs.<id>` of a jobs.yaml; undefined when it does not parse. */
function jobEntry(text: string, jobId: string): unknown {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch {
    return undefined;
  }
  if (isRecord(doc) && isRecord(doc.jobs) && !('cmd' in doc)) return doc.jobs[jobId] ?? null;
  return doc ?? null;
}

function sharedReason(input: WritePolicyInput): string | null {
  const users = input.others.filter((o) => o.file === input.real && o.job_id !== input.job_id);
  if (users.length === 0) return null;
  const usedOtherwise = users.filter((u) => u.role !== 'config' || input.role !== 'config');
  if (usedOtherwise.length > 0) {
    return `the file is also ${usedBy(usedOtherwise)}; a file other jobs use is not this job's own to change`;
  }
  // Other jobs are defined in the same YAML: only this job's entry may change.
  if (!input.config_change || input.config_change.proposed === null) return null;
  const changed = changedOutsideEntry(input.config_change.current, input.config_change.proposed, input.job_id);
  if (changed === null) return null;
  return `${input.path} also defines ${jobList(users.map((u) => u.job_id))}, and the proposed file changes ${changed}; only this job's entry may change`;
}

/** What a proposed jobs.yaml changes besides `jobs.<jobId>`: a description naming it, or null when nothing. */
export function changedOutsideEntry(current: string, proposed: string, jobId: string): string | null {
  let before: unknown;
  let after: unknown;
  try {
    before = parse(current, { maxAliasCount: 100 });
    after = parse(proposed, { maxAliasCount: 100 });
  } catch {
    return 'a file that does not parse as YAML';
  }
  if (!isRecord(before) || !isRecord(after) || !isRecord(before.jobs) || !isRecord(after.jobs)) return 'its top-level "jobs:" map';
  const jobs = new Set([...Object.keys(before.jobs), ...Object.keys(after.jobs)]);
  jobs.delete(jobId);
  const touched = [...jobs].filter((id) => !isDeepStrictEqual((before.jobs as Record<string, unknown>)[id], (after.jobs as Record<string, unknown>)[id]));
  if (touched.length > 0) return `the entry of ${jobList(touched)}`;
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete('jobs');
  const top = [...keys].filter((k) => !isDeepStrictEqual(before[k], after[k]));
  if (top.length > 0) return `its top-level ${top.map((k) => `"${k}"`).join(', ')}`;
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ROLE_TEXT: Record<FileRole, string> = { config: 'config', script: 'script (its cmd runs it)', prompt: 'prompt' };

/** `used by job "a" (its script …) and job "b" (its prompt)`, a few named and the rest counted. */
function usedBy(users: readonly OtherJobFile[]): string {
  const shown = users.slice(0, 5).map((u) => `job "${u.job_id}" (its ${ROLE_TEXT[u.role]})`);
  const more = users.length - shown.length;
  return `used by ${shown.join(', ')}${more > 0 ? ` and ${more} more job(s)` : ''}`;
}

function jobList(ids: readonly string[]): string {
  const unique = [...new Set(ids)];
  const shown = unique.slice(0, 5).map((id) => `"${id}"`);
  const more = unique.length - shown.length;
  return `job${unique.length > 1 ? 's' : ''} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
