// healing_suggestions. Only the suggestion's own workflow (through activities) changes status.
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { fetchPage, newestFirst, type Order, type Page, type Paged } from './paging.js';
import type { Category, Severity } from '../core/job.js';
import type { ApplyingStep, SuggestionStatus } from '../core/suggestion-state.js';
import type { Evidence, MissingContext, Trigger } from '../core/review.js';

export interface SuggestionRecord {
  id: number;
  review_id: number;
  ordinal: number;
  job_id: string;
  category: Category;
  severity: Severity;
  severity_rank: number;
  title: string;
  description: string;
  current_state: string | null;
  suggested_change: string | null;
  expected_impact: string | null;
  affected_files: string[];
  target_file: string | null;
  proposed_content: string | null;
  current_content: string | null;
  current_sha256: string | null;
  fingerprint: string;
  /** what a rules finding stood on (its bucketed figures, core/fingerprint.ts); null for an AI finding */
  evidence_fingerprint: string | null;
  /** what it cites, checked against what its review had (absent from rows stored before migration 013) */
  evidence?: Evidence | null;
  /** what its review could not see (truncated logs, a missing script, secrets redacted...) */
  missing_context?: MissingContext[] | null;
  analyzer_auto_apply: boolean | null;
  /** why its file edit cannot be applied under the job's policy (allowed_actions, a forbidden or shared file); null when it can */
  advisory_reason: string | null;
  /** the severity the analyzer wrote when it was none of the four (stored as medium) */
  severity_reported: string | null;
  /** the AI session that wrote proposed_content, when it was written at apply time */
  ai_session_key: string | null;
  status: SuggestionStatus;
  /** an apply going on after its command answered, and since when (null when none is) */
  applying_step: ApplyingStep | null;
  applying_since: Date | null;
  /** with applying_step `window`: when the apply is due (its job's apply window opens) and the window in words (core/apply-window.ts) */
  apply_at: Date | null;
  apply_wait_reason: string | null;
  /** an admin who ended the window wait with "apply now", and when */
  applied_now_by: string | null;
  applied_now_at: Date | null;
  workflow_id: string | null;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  review_comment: string | null;
  rejection_reason: string | null;
  error_message: string | null;
  approvals: { by: string; at: string; comment?: string | null }[];
  applied_at: Date | null;
  action_id: number | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type NewSuggestion = Omit<
  SuggestionRecord,
  | 'id' | 'status' | 'applying_step' | 'applying_since' | 'apply_at' | 'apply_wait_reason' | 'applied_now_by' | 'applied_now_at' | 'workflow_id' | 'reviewed_at' | 'reviewed_by' | 'review_comment' | 'rejection_reason' | 'error_message'
  | 'approvals' | 'applied_at' | 'action_id' | 'created_at' | 'updated_at' | 'ai_session_key'
>;

export interface SuggestionFilters {
  job_id?: string;
  status?: SuggestionStatus;
  category?: Category;
  severity?: Severity;
  trigger?: Trigger;
  review_id?: number;
  /** words in the title, the description or the job id, any case */
  q?: string;
}

/**
 * How the list is ordered. `priority` (the default): what needs a decision first (pending), then
 * the most severe, newest first within; `newest`/`oldest` by creation; `severity`: most severe
 * first whatever the state, newest first within.
 */
export const SUGGESTION_SORTS = ['priority', 'newest', 'oldest', 'severity'] as const;
export type SuggestionSort = (typeof SUGGESTION_SORTS)[number];

const CREATED = { sql: 'healing_suggestions.created_at', type: 'timestamptz' } as const;
const SEVERITY = { sql: 'healing_suggestions.severity_rank', type: 'integer' } as const;

/**
 * The keys of a sort (migration 009 indexes the priority order). Filtered by status, "pending
 * first" orders nothing, and leaving it out lets the (status, severity, created) index serve.
 */
export function suggestionOrder(sort: SuggestionSort = 'priority', filters: Pick<SuggestionFilters, 'status'> = {}): Order {
  if (sort === 'newest') return newestFirst(CREATED.sql); // the cursors given out before sorts existed stay valid
  if (sort === 'oldest') return { name: 'oldest', keys: [CREATED], direction: 'asc' };
  if (sort === 'severity' || filters.status) return { name: sort === 'severity' ? 'severity' : 'priority-status', keys: [SEVERITY, CREATED], direction: 'desc' };
  return { name: 'priority', keys: [{ sql: "(healing_suggestions.status = 'pending')", type: 'boolean' }, SEVERITY, CREATED], direction: 'desc' };
}

/** A search as a LIKE pattern: a %, _ or \ in it matches itself. */
export function likePattern(words: string): string {
  return `%${words.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Days during which a rejected suggestion whose evidence is unknown (an AI one) is not proposed again. */
export const REJECTED_MEMORY_DAYS = 30;

/**
 * Stores a review's suggestions once. For the same job, a suggestion with the fingerprint of one
 * still pending (or approved) is a duplicate and is not stored; so is one a person rejected:
 * - a rules finding (evidence_fingerprint set) rejected with the same evidence, however long ago
 *   (until retention deletes the rejected row); with other evidence it is stored again;
 * - otherwise (an AI finding, or a rejected row stored before evidence was kept) one rejected in
 *   the last REJECTED_MEMORY_DAYS days.
 * The fingerprint names the finding without its figures, so pending rows stored before evidence
 * was kept still match. Retrying returns the same rows.
 */
export async function storeSuggestions(
  db: Db,
  reviewId: number,
  drafts: NewSuggestion[],
): Promise<{ stored: SuggestionRecord[]; duplicates: number }> {
  return db.transaction(async (trx) => {
    const already = (await trx('healing_suggestions').where({ review_id: reviewId }).orderBy('ordinal')) as SuggestionRecord[];
    if (already.length > 0 || drafts.length === 0) {
      return { stored: already, duplicates: drafts.length - already.length };
    }
    const jobId = drafts[0]!.job_id;
    // One review per job runs at a time, but a lock keeps this correct even if that ever changes.
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`healing-suggestions:${jobId}`]);
    const fingerprints = drafts.map((d) => d.fingerprint);
    const existing = await trx('healing_suggestions')
      .where('job_id', jobId)
      .whereIn('fingerprint', fingerprints)
      .whereIn('status', ['pending', 'approved', 'rejected'])
      .select('fingerprint', 'status', 'current_sha256', 'evidence_fingerprint', trx.raw(`reviewed_at > now() - interval '${REJECTED_MEMORY_DAYS} days' as recent`)) as {
      fingerprint: string;
      status: string;
      current_sha256: string | null;
      evidence_fingerprint: string | null;
      recent: boolean | null;
    }[];
    // An open suggestion made against another version of its file (stale: the file changed since)
    // no longer stands for this finding: the one made against the file as it is now is stored, so
    // a re-review after an edit offers something that can be applied.
    const current = new Map(drafts.map((d) => [d.fingerprint, d.current_sha256]));
    const stale = (e: (typeof existing)[number]) =>
      e.status !== 'rejected' && e.current_sha256 !== null && current.get(e.fingerprint) != null && current.get(e.fingerprint) !== e.current_sha256;
    const open = new Set<string>(existing.filter((e) => e.status !== 'rejected' && !stale(e)).map((e) => e.fingerprint));
    const rejected = existing.filter((e) => e.status === 'rejected');
    const rejectedBefore = (d: NewSuggestion) =>
      rejected.some((e) =>
        e.fingerprint === d.fingerprint &&
        (e.evidence_fingerprint !== null && d.evidence_fingerprint !== null ? e.evidence_fingerprint === d.evidence_fingerprint : e.recent === true),
      );
    const seen = new Set<string>();
    const fresh: NewSuggestion[] = [];
    for (const draft of drafts) {
      if (open.has(draft.fingerprint) || seen.has(draft.fingerprint) || rejectedBefore(draft)) continue;
      seen.add(draft.fingerprint); // the same answer twice in one review counts as a duplicate too
      fresh.push(draft);
    }
    // jsonb: an array would otherwise be sent as a Postgres array
    const rows = fresh.map((d) => ({
      ...d,
      affected_files: JSON.stringify(d.affected_files),
      ...(d.evidence !== undefined ? { evidence: d.evidence === null ? null : JSON.stringify(d.evidence) } : {}),
      ...(d.missing_context !== undefined ? { missing_context: d.missing_context === null ? null : JSON.stringify(d.missing_context) } : {}),
    }));
    const inserted = rows.length > 0 ? ((await trx('healing_suggestions').insert(rows).returning('id')) as { id: number }[]) : [];
    // The workflow id is a function of the row id, stored so the dashboard can link to it.
    const ids = inserted.map((r) => r.id);
    if (ids.length > 0) await trx('healing_suggestions').whereIn('id', ids).update({ workflow_id: trx.raw("'healing-suggestion/' || id") });
    const stored = ids.length > 0 ? ((await trx('healing_suggestions').whereIn('id', ids).orderBy('ordinal')) as SuggestionRecord[]) : [];
    return { stored, duplicates: drafts.length - stored.length };
  });
}

export async function getSuggestion(db: Db, id: number): Promise<SuggestionRecord | undefined> {
  return db('healing_suggestions').where({ id }).first();
}

export type SuggestionPatch = Partial<
  Pick<
    SuggestionRecord,
    | 'status' | 'applying_step' | 'applying_since' | 'apply_at' | 'apply_wait_reason' | 'applied_now_by' | 'applied_now_at' | 'workflow_id' | 'reviewed_at' | 'reviewed_by' | 'review_comment' | 'rejection_reason'
    | 'error_message' | 'applied_at' | 'action_id' | 'proposed_content' | 'ai_session_key'
  >
> & { approvals?: SuggestionRecord['approvals'] };

export async function updateSuggestion(db: Db, id: number, patch: SuggestionPatch): Promise<SuggestionRecord> {
  const row: Record<string, unknown> = { ...patch, updated_at: db.fn.now() };
  // A status written ends any apply in progress (applied, failed, expired...) unless it starts
  // one: the mark never outlives the phase it describes, whichever step ends it.
  if (patch.status !== undefined && patch.applying_step === undefined) Object.assign(row, { applying_step: null, applying_since: null, apply_at: null, apply_wait_reason: null });
  if (patch.approvals) row.approvals = JSON.stringify(patch.approvals);
  const [updated] = await db('healing_suggestions').where({ id }).update(row).returning('*');
  return updated as SuggestionRecord;
}

/** What a list answers: `slim` (the default) leaves out the long texts a list of cards does not show; `full` has them. */
export const LIST_FIELDS = ['slim', 'full'] as const;
export type ListFields = (typeof LIST_FIELDS)[number];

/** The long texts only `fields=full` lists (and the detail) carry: most of a full page's bytes. */
export const LONG_TEXTS = ['description', 'current_state', 'suggested_change', 'expected_impact'] as const;
export type SuggestionListItem = Omit<SuggestionRecord, (typeof LONG_TEXTS)[number]> & Partial<Pick<SuggestionRecord, (typeof LONG_TEXTS)[number]>>;

const FULL_COLUMNS = [
  'healing_suggestions.id', 'review_id', 'healing_suggestions.job_id', 'category', 'severity', 'severity_reported', 'advisory_reason', 'title', 'description',
  'current_state', 'suggested_change', 'expected_impact', 'affected_files', 'target_file', 'healing_suggestions.status', 'applying_step', 'applying_since', 'apply_at', 'apply_wait_reason',
  'healing_suggestions.workflow_id', 'reviewed_at', 'reviewed_by', 'review_comment', 'rejection_reason', 'healing_suggestions.error_message', 'approvals',
  'applied_at', 'action_id', 'expires_at', 'healing_suggestions.created_at', 'healing_suggestions.updated_at',
];
const LIST_COLUMNS: Record<ListFields, string[]> = {
  full: FULL_COLUMNS,
  slim: FULL_COLUMNS.filter((c) => !(LONG_TEXTS as readonly string[]).includes(c)),
};

const ROW_VERSION = '__row_version';

/**
 * A list page, and for each row its version: the row's xmin, which every write of the row
 * changes (whether or not it sets updated_at), so a page's ETag can be made from ids and versions.
 */
export async function listSuggestions(
  db: Db,
  filters: SuggestionFilters,
  page: Page,
  sort: SuggestionSort = 'priority',
  fields: ListFields = 'full',
): Promise<Paged<SuggestionListItem> & { versions: string[] }> {
  const query = whereSuggestions(db('healing_suggestions').select(LIST_COLUMNS[fields]).select(db.raw('healing_suggestions.xmin::text as ??', [ROW_VERSION])), filters);
  // Filtered by job or review the count reads few rows through an index; otherwise (but for a
  // search) it comes from the counters, not from a scan of the whole table.
  const counted = !filters.job_id && !filters.review_id && !filters.q;
  const listed = await fetchPage<SuggestionListItem & { [ROW_VERSION]?: string }>(query, page, suggestionOrder(sort, filters), {
    total: counted ? () => countedSuggestions(db, filters) : undefined,
  });
  const versions = listed.rows.map((row) => {
    const version = row[ROW_VERSION]!;
    delete row[ROW_VERSION];
    return version;
  });
  return { ...listed, versions };
}

/** The list's filters on a query of healing_suggestions: the list and a bulk decision (db/batches.ts) select alike. */
export function whereSuggestions(query: Knex.QueryBuilder, filters: SuggestionFilters): Knex.QueryBuilder {
  if (filters.job_id) query.where('healing_suggestions.job_id', filters.job_id);
  if (filters.status) query.where('healing_suggestions.status', filters.status);
  if (filters.category) query.where('category', filters.category);
  if (filters.severity) query.where('severity', filters.severity);
  if (filters.review_id) query.where('review_id', filters.review_id);
  if (filters.trigger) query.where('healing_suggestions.trigger', filters.trigger); // the review's, copied on insert
  if (filters.q) {
    const pattern = likePattern(filters.q);
    query.where((w) => w.whereILike('title', pattern).orWhereILike('description', pattern).orWhereILike('healing_suggestions.job_id', pattern));
  }
  return query;
}

/** How many suggestions have this status, category, severity and trigger, from healing_suggestion_counts. */
async function countedSuggestions(db: Db, filters: Pick<SuggestionFilters, 'status' | 'category' | 'severity' | 'trigger'>): Promise<number> {
  const query = db('healing_suggestion_counts');
  if (filters.status) query.where('status', filters.status);
  if (filters.category) query.where('category', filters.category);
  if (filters.severity) query.where('severity', filters.severity);
  if (filters.trigger) query.where('trigger', filters.trigger);
  const [row] = await query.sum<{ n: number | null }[]>({ n: 'n' });
  return Number(row?.n ?? 0);
}

export async function countByStatus(db: Db, status: SuggestionStatus, jobId?: string): Promise<number> {
  if (!jobId) return countedSuggestions(db, { status });
  const [row] = await db('healing_suggestions').where({ status, job_id: jobId }).count<{ count: number }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}

/** The files a review's suggestions read (path and content then): whose secrets its answer must not show. */
export async function reviewFiles(db: Db, reviewId: number): Promise<{ path: string; content: string }[]> {
  return db('healing_suggestions')
    .where({ review_id: reviewId })
    .whereNotNull('target_file')
    .whereNotNull('current_content')
    .distinct<{ path: string; content: string }[]>({ path: 'target_file', content: 'current_content' });
}
