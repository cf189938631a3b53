// Edits a job's `self_healing` block inside its YAML text with the yaml Document API, so comments,
// key order and the fields this service does not model are kept. Pure: text in, text out.
import { isMap, isScalar, parseDocument, type Document } from 'yaml';
import { yamlStyle } from './yaml-style.js';
import {
  BusinessLogSchema,
  describeIssues,
  JobSchema,
  ReviewScheduleSchema,
  ReviewScopeSchema,
  SelfHealingSchema,
  SuggestionBehaviorSchema,
  type JobConfig,
} from './job.js';
import { humanError } from './messages.js';

/** The objects inside `self_healing` that are merged key by key rather than replaced. */
const NESTED: Record<string, readonly string[]> = {
  review_schedule: Object.keys(ReviewScheduleSchema.shape),
  review_scope: Object.keys(ReviewScopeSchema.shape),
  suggestions: Object.keys(SuggestionBehaviorSchema.shape),
  business_log: Object.keys(BusinessLogSchema.shape),
};
const TOP: readonly string[] = Object.keys(SelfHealingSchema.shape);

export interface FieldProblem {
  field: string;
  reason: string;
}

export type SelfHealingPatch = Record<string, unknown>;

/**
 * Checks a patch: only the fields the schema knows (a typo is refused, not written), each valid.
 * `null` removes a field, so it falls back to its default. Problems name the field.
 */
export function checkSelfHealingPatch(patch: unknown): FieldProblem[] {
  if (!isPlainObject(patch)) return [{ field: '(root)', reason: 'the body must be an object: the self_healing block' }];
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!TOP.includes(key)) {
      problems.push({ field: key, reason: `unknown field; self_healing has ${TOP.join(', ')}` });
      continue;
    }
    const nested = NESTED[key];
    if (nested && isPlainObject(value)) {
      for (const sub of Object.keys(value)) {
        if (!nested.includes(sub)) problems.push({ field: `${key}.${sub}`, reason: `unknown field; ${key} has ${nested.join(', ')}` });
      }
    }
  }
  // Every problem in one answer: the unknown fields and the invalid values of the known ones
  // (the schemas are loose, so the unknown fields do not stop the others being checked).
  const parsed = SelfHealingSchema.safeParse(withoutNulls(patch), { error: humanError });
  return parsed.success ? problems : [...problems, ...describeIssues(parsed.error)];
}

export type EditResult = { ok: true; text: string; config: JobConfig } | { ok: false; status: 400 | 409; problems: FieldProblem[] };

/**
 * Merges `patch` into the job's `self_healing` block: top-level fields and the fields of its
 * nested objects are set one by one (a `null` removes one); everything else in the file stays.
 * The job as edited must still validate, else nothing is returned to write.
 */
export function editSelfHealing(text: string, jobId: string, patch: SelfHealingPatch): EditResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, status: 409, problems: [{ field: '(yaml)', reason: `the job file is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}` }] };
  }
  const base = jobPath(doc, jobId);
  if (!base) return { ok: false, status: 409, problems: [{ field: '(file)', reason: `job "${jobId}" is not defined in its file` }] };
  const block = [...base, 'self_healing'];
  ensureMap(doc, block);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) {
      doc.deleteIn([...block, key]);
    } else if (NESTED[key] && isPlainObject(value)) {
      ensureMap(doc, [...block, key]);
      for (const [sub, subValue] of Object.entries(value)) {
        if (subValue === undefined) continue;
        if (subValue === null) doc.deleteIn([...block, key, sub]);
        else setValue(doc, [...block, key, sub], subValue);
      }
    } else {
      setValue(doc, [...block, key], value);
    }
  }
  const edited = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  const job = base.length === 0 ? edited : (edited.jobs as Record<string, unknown>)[jobId];
  const parsed = JobSchema.safeParse(job ?? {}, { error: humanError });
  if (!parsed.success) {
    return { ok: false, status: 400, problems: describeIssues(parsed.error) };
  }
  const style = yamlStyle(text);
  return { ok: true, text: doc.toString({ lineWidth: 0, flowCollectionPadding: false, indent: style.indent, indentSeq: style.indentSeq }), config: parsed.data };
}

/** [] for a one-job file, ['jobs', id] for a jobs.yaml map (the catalog's own rule). */
function jobPath(doc: Document, jobId: string): string[] | null {
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (!isPlainObject(value)) return null;
  if (isPlainObject(value.jobs) && !('cmd' in value)) return jobId in value.jobs ? ['jobs', jobId] : null;
  return [];
}

function ensureMap(doc: Document, at: string[]): void {
  const node = at.length === 0 ? doc.contents : doc.getIn(at, true);
  // Missing, empty (`self_healing:`) or not a map: the patch says what goes there.
  if (!isMap(node)) doc.setIn(at, doc.createNode({}));
}

function setValue(doc: Document, at: string[], value: unknown): void {
  const existing = doc.getIn(at, true);
  if (isScalar(existing) && (value === null || typeof value !== 'object')) {
    existing.value = value; // keeps the node, so its comment stays
    return;
  }
  doc.setIn(at, typeof value === 'object' ? doc.createNode(value) : value);
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    out[k] = isPlainObject(v) ? withoutNulls(v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
