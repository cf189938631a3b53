// Bulk decisions (issue 19) through the real stack: a batch of 200 approvals with mixed outcomes
// answers exactly what became of each suggestion and changes exactly the right files; the
// two-person rule holds in bulk (a bulk approval is one approver's); viewers cannot run a batch;
// a rejection needs its reason; bad bodies are 400s; a dry run counts only what will be decided
// (not the missing ids or those whose state refuses the decision), and a filter selects only those;
// an approval waiting for the job's apply window says when it applies; two batches on the same
// suggestions at once decide each once, the loser told the state, never "busy".
// alice and bob approve, carol only reads.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStackWithNamedTokens, TOKENS } from './helpers/named-tokens.js';
import { createSuggestion, etlJobYaml } from './helpers/suggestions.js';
import { eventually, http, type Stack } from './helpers/stack.js';

let stack: Stack;

const JOB_YAML = etlJobYaml();
const PROPOSED = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:');
const CHANGED = `${JOB_YAML}# edited by hand after the review\n`;

beforeAll(async () => {
  stack = await startStackWithNamedTokens('healing-batches-', { commandRateLimit: 1_000_000 });
  await mkdir(stack.jobsDir, { recursive: true });
});
afterAll(async () => stack?.stop());

const post = (body: unknown, token = TOKENS.alice) => http(stack.api, 'POST', '/api/v1/healing/batches', body, token);
const getBatch = async (id: number, query = '') => (await http(stack.api, 'GET', `/api/v1/healing/batches/${id}${query}`, undefined, TOKENS.carol)).body;
const finished = (id: number) => eventually(async () => {
  const batch = await getBatch(id, '?limit=500');
  return batch.status === 'running' ? undefined : batch;
}, 180_000, `batch ${id} to finish`, 250);

/** A job of its own (one file each, so each apply is independent) with one pending suggestion editing it. */
async function jobWithSuggestion(jobId: string, opts: { title?: string; requiredApprovals?: number; yaml?: string } = {}) {
  const file = path.join(stack.jobsDir, `${jobId}.yaml`);
  const yaml = opts.yaml ?? JOB_YAML;
  await writeFile(file, yaml);
  const proposed = yaml.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:');
  const id = await createSuggestion(stack, { jobId, targetFile: file, proposed, title: opts.title, input: { requiredApprovals: opts.requiredApprovals ?? 1 } });
  return { id, file };
}

describe('a bulk approval of 200 suggestions with mixed outcomes', () => {
  it('answers 202 at once, then each item: applied, waiting for a second approver, refused (rejected before, file changed since the review), and changes exactly the applied files', async () => {
    const applying = await Promise.all(Array.from({ length: 170 }, (_, i) => jobWithSuggestion(`bulk-apply-${i}`)));
    const twoPerson = await Promise.all(Array.from({ length: 10 }, (_, i) => jobWithSuggestion(`bulk-two-${i}`, { requiredApprovals: 2 })));
    const rejected = await Promise.all(Array.from({ length: 10 }, (_, i) => jobWithSuggestion(`bulk-rejected-${i}`)));
    const stale = await Promise.all(Array.from({ length: 10 }, (_, i) => jobWithSuggestion(`bulk-stale-${i}`)));
    for (const s of rejected) {
      expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${s.id}/reject`, { reason: 'not this one' }, TOKENS.bob)).status).toBe(200);
    }
    for (const s of stale) await writeFile(s.file, CHANGED);
    const all = [...applying, ...twoPerson, ...rejected, ...stale];

    const started = await post({ decision: 'approve', ids: all.map((s) => s.id), comment: 'bulk' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ success: true, status: 'running', total: 200 });

    const batch = await finished(started.body.batch_id);
    expect(batch).toMatchObject({
      status: 'finished',
      decision: 'approve',
      created_by: 'alice',
      created_role: 'approver',
      total: 200,
      done: 200,
      counts: { decided: 170, waiting_approver: 10, refused: 20, failed: 0 },
      items_total: 200,
    });
    expect(batch.peak_concurrency).toBeGreaterThan(1);
    expect(batch.peak_concurrency).toBeLessThanOrEqual(8);
    const items = new Map<number, { outcome: string; status_after: string; code: string | null; approvals_needed: number | null; message: string | null }>(
      batch.items.map((item: { suggestion_id: number }) => [item.suggestion_id, item]),
    );
    for (const s of applying) expect(items.get(s.id)).toMatchObject({ outcome: 'decided', status_after: 'applied', code: null });
    for (const s of twoPerson) expect(items.get(s.id)).toMatchObject({ outcome: 'waiting_approver', status_after: 'pending', approvals_needed: 1 });
    for (const s of rejected) expect(items.get(s.id)).toMatchObject({ outcome: 'refused', status_after: 'rejected', code: 'wrong_state', message: expect.stringMatching(/rejected/) });
    for (const s of stale) expect(items.get(s.id)).toMatchObject({ outcome: 'refused', code: 'stale_file', message: expect.stringMatching(/changed/) });

    for (const s of applying) expect(await readFile(s.file, 'utf8')).toBe(PROPOSED);
    for (const s of [...twoPerson, ...rejected]) expect(await readFile(s.file, 'utf8')).toBe(JOB_YAML);
    for (const s of stale) expect(await readFile(s.file, 'utf8')).toBe(CHANGED);
    const statuses = await stack.db('healing_suggestions').whereIn('id', all.map((s) => s.id)).select('id', 'status', 'reviewed_by');
    expect(statuses.filter((r) => r.status === 'applied')).toHaveLength(170);
    expect(statuses.filter((r) => r.status === 'applied').every((r) => r.reviewed_by === 'alice')).toBe(true);

    // The bulk approval was alice's one approval: bob's makes two, and it applies; alice again is refused.
    const second = twoPerson[0]!;
    const again = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${second.id}/approve`, {}, TOKENS.alice);
    expect(again.status).toBe(409);
    const bob = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${second.id}/approve`, {}, TOKENS.bob);
    expect(bob.body).toMatchObject({ status: 'applied' });
    expect(await readFile(second.file, 'utf8')).toBe(PROPOSED);

    // Paged, and one outcome at a time.
    const refusedPage = await getBatch(started.body.batch_id, '?outcome=refused&limit=5&offset=5');
    expect(refusedPage.items_total).toBe(20);
    expect(refusedPage.items).toHaveLength(5);
    const list = (await http(stack.api, 'GET', '/api/v1/healing/batches', undefined, TOKENS.carol)).body;
    expect(list.batches[0]).toMatchObject({ id: started.body.batch_id, status: 'finished' });
  }, 300_000);

  it('a repeat of the same bulk approval refuses each item with the state, and writes nothing', async () => {
    const s = await jobWithSuggestion('bulk-repeat');
    const first = await finished((await post({ decision: 'approve', ids: [s.id] })).body.batch_id);
    expect(first.counts).toEqual({ decided: 1, waiting_approver: 0, refused: 0, failed: 0 });
    const second = await finished((await post({ decision: 'approve', ids: [s.id, 999_999_999] })).body.batch_id);
    expect(second.items).toMatchObject([
      { suggestion_id: s.id, outcome: 'refused', code: 'wrong_state', status_after: 'applied' },
      { suggestion_id: 999_999_999, outcome: 'refused', code: 'not_found' },
    ]);
  }, 60_000);
});

describe('live updates', () => {
  it('GET /events tells a batch as it goes: inserted running, then its progress, then finished', async () => {
    await eventually(async () => stack.changes.live || undefined, 10_000, 'the change feed to listen');
    const controller = new AbortController();
    const response = await fetch(`${stack.api}/api/v1/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKENS.carol}` }, signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const seen = (pattern: RegExp) => eventually(async () => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        text += value;
      }
      return true;
    }, 30_000, `an event matching ${pattern}`);
    try {
      await seen(/event: ready/);
      const s = await jobWithSuggestion('bulk-live');
      const id = (await post({ decision: 'approve', ids: [s.id] })).body.batch_id as number;
      await seen(new RegExp(`"table":"batches","op":"insert","id":${id},"job_id":null,"status":"running"`));
      await seen(new RegExp(`"table":"batches","op":"update","id":${id},"job_id":null,"status":"finished"`));
    } finally {
      controller.abort();
    }
  }, 60_000);
});

describe('the two-person rule in bulk', () => {
  it('the same approver in a second batch is refused (needs a second approver) and the suggestion stays pending with one approval', async () => {
    const s = await jobWithSuggestion('bulk-twice', { requiredApprovals: 2 });
    const first = await finished((await post({ decision: 'approve', ids: [s.id] })).body.batch_id);
    expect(first.items[0]).toMatchObject({ outcome: 'waiting_approver', approvals_needed: 1, message: 'approval recorded; 1 more approver needed before it applies' });
    const second = await finished((await post({ decision: 'approve', ids: [s.id] })).body.batch_id);
    expect(second.items[0]).toMatchObject({ outcome: 'refused', code: 'needs_second_approver', status_after: 'pending', message: 'alice has already approved; a second approver is needed' });
    expect(await stack.db('healing_suggestions').where({ id: s.id }).first('status', 'approvals')).toMatchObject({ status: 'pending', approvals: [expect.objectContaining({ by: 'alice' })] });
    expect(await readFile(s.file, 'utf8')).toBe(JOB_YAML);
  }, 60_000);
});

describe('reject and apply in bulk, by filter', () => {
  it('a dry run counts what the filter selects and decides nothing; the rejection then records the one reason on each', async () => {
    const made = await Promise.all(Array.from({ length: 3 }, (_, i) => jobWithSuggestion(`bulk-reject-${i}`, { title: `bulkreject candidate ${i}` })));
    const filter = { q: 'bulkreject candidate', status: 'pending' };
    const dry = await post({ decision: 'reject', filter, reason: 'we do not retry ETL', dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, decision: 'reject', count: 3, ids: made.map((s) => s.id).sort((a, b) => a - b), skipped: { not_found: 0, wrong_state: 0 } });
    expect((await stack.db('healing_suggestions').whereIn('id', dry.body.ids).pluck('status')).every((s: string) => s === 'pending')).toBe(true);

    const started = await post({ decision: 'reject', filter, reason: 'we do not retry ETL' });
    expect(started.status).toBe(202);
    const batch = await finished(started.body.batch_id);
    expect(batch).toMatchObject({ status: 'finished', filter: { q: 'bulkreject candidate', status: 'pending' }, ids: null, reason: 'we do not retry ETL', counts: { decided: 3 } });
    const rows = await stack.db('healing_suggestions').whereIn('id', made.map((s) => s.id)).select('status', 'rejection_reason', 'reviewed_by');
    expect(rows).toEqual(made.map(() => ({ status: 'rejected', rejection_reason: 'we do not retry ETL', reviewed_by: 'alice' })));
  }, 60_000);

  it('apply in bulk applies the approved ones and refuses the pending one (approve it first)', async () => {
    const approved = await jobWithSuggestion('bulk-applies');
    const pending = await jobWithSuggestion('bulk-applies-pending');
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${approved.id}/approve`, { apply: false }, TOKENS.bob)).body.status).toBe('approved');
    const batch = await finished((await post({ decision: 'apply', ids: [approved.id, pending.id] })).body.batch_id);
    expect(batch.items).toMatchObject([
      { suggestion_id: approved.id, outcome: 'decided', status_after: 'applied' },
      { suggestion_id: pending.id, outcome: 'refused', code: 'wrong_state', message: expect.stringMatching(/Approve it first/) },
    ]);
    expect(await readFile(approved.file, 'utf8')).toBe(PROPOSED);
    expect(await readFile(pending.file, 'utf8')).toBe(JOB_YAML);
  }, 60_000);
});

describe('what a batch selects: only what takes the decision', () => {
  it('a dry run of ids counts only those that will be decided, and says how many are missing or in another state; the real batch still answers for each id', async () => {
    const [pending, rejected, applied] = await Promise.all(['pending', 'rejected', 'applied'].map((state) => jobWithSuggestion(`bulk-state-${state}`, { title: `bulkstate ${state}` })));
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${rejected!.id}/reject`, { reason: 'no' }, TOKENS.bob)).status).toBe(200);
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${applied!.id}/approve`, {}, TOKENS.bob)).body.status).toBe('applied');
    const ids = [pending!.id, rejected!.id, applied!.id, 1_000_000];

    const dry = await post({ decision: 'approve', ids, dry_run: true });
    expect(dry.body).toMatchObject({ count: 1, ids: [pending!.id], skipped: { not_found: 1, wrong_state: 2 }, missing: [1_000_000] });
    // a rejection takes a pending suggestion, not a rejected or applied one
    expect((await post({ decision: 'reject', ids, dry_run: true })).body).toMatchObject({ count: 1, skipped: { not_found: 1, wrong_state: 2 } });

    // The filter without a status: the dry run and the batch take only the pending one.
    const byFilter = await post({ decision: 'approve', filter: { q: 'bulkstate' }, dry_run: true });
    expect(byFilter.body).toMatchObject({ count: 1, ids: [pending!.id], skipped: { not_found: 0, wrong_state: 2 } });
    // An empty filter counts every pending suggestion, not every suggestion.
    const everything = await post({ decision: 'approve', filter: {}, dry_run: true });
    const [counts] = await stack.db('healing_suggestions').select(stack.db.raw('count(*)::int as total'), stack.db.raw("(count(*) filter (where status = 'pending'))::int as pending"));
    expect(everything.body).toMatchObject({ count: counts.pending, skipped: { not_found: 0, wrong_state: counts.total - counts.pending } });
    expect(everything.body.count).toBeLessThan(counts.total);
    expect((await post({ decision: 'apply', filter: { q: 'bulkstate', status: 'rejected' } })).body.error).toBe('the filter selects no suggestion to apply: the 1 it matches are in a state that does not take apply');

    const started = await post({ decision: 'approve', filter: { q: 'bulkstate' } });
    expect(started.body).toMatchObject({ status: 'running', total: 1 });
    const batch = await finished(started.body.batch_id);
    expect(batch.items).toMatchObject([{ suggestion_id: pending!.id, outcome: 'decided', status_after: 'applied' }]);

    // An ids batch answers for every id given, as the dry run said it would skip them.
    const byIds = await finished((await post({ decision: 'approve', ids: [rejected!.id, 1_000_000] })).body.batch_id);
    expect(byIds.items).toMatchObject([
      { suggestion_id: rejected!.id, outcome: 'refused', code: 'wrong_state' },
      { suggestion_id: 1_000_000, outcome: 'refused', code: 'not_found' },
    ]);
  }, 60_000);
});

describe('an approval that waits for the job\'s apply window', () => {
  it('the item is decided, says when it applies (the window, not a run) and carries apply_at; the file waits', async () => {
    const opens = (new Date().getUTCHours() + 6) % 24;
    const hours = `${String(opens).padStart(2, '0')}:00-${String((opens + 1) % 24).padStart(2, '0')}:00`;
    const yaml = etlJobYaml(`  suggestions:\n    two_person_rule: false\n  apply_window:\n    hours: ["${hours}"]\n`).replace('type: scheduled\n', 'type: scheduled\ntimezone: UTC\n');
    const s = await jobWithSuggestion('bulk-window', { yaml });
    const batch = await finished((await post({ decision: 'approve', ids: [s.id] })).body.batch_id);
    const row = await stack.db('healing_suggestions').where({ id: s.id }).first('status', 'applying_step', 'apply_at');
    expect(row).toMatchObject({ status: 'approved', applying_step: 'window' });
    const at = (row.apply_at as Date).toISOString();
    expect(batch.items[0]).toMatchObject({ outcome: 'decided', status_after: 'approved', apply_at: at });
    const said = /^applies at (\S+) when the job's apply window opens/.exec(batch.items[0].message);
    expect(Date.parse(said?.[1] ?? ''), batch.items[0].message).toBe(Date.parse(at));
    expect(batch.items[0].message).not.toMatch(/run/);
    expect(await readFile(s.file, 'utf8')).toBe(yaml);
  }, 60_000);
});

describe('two batches on the same suggestions at once', () => {
  it('each suggestion is decided once; the other batch is told its state after retrying a busy one, never "busy with another command"', async () => {
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => jobWithSuggestion(`bulk-race-${i}`)));
    const ids = made.map((s) => s.id);
    const [a, b] = await Promise.all([post({ decision: 'approve', ids }), post({ decision: 'approve', ids: [...ids].reverse() })]);
    const batches = await Promise.all([finished(a.body.batch_id), finished(b.body.batch_id)]);
    for (const id of ids) {
      const items = batches.map((batch) => batch.items.find((item: { suggestion_id: number }) => item.suggestion_id === id));
      expect(items.filter((item) => item.outcome === 'decided'), `suggestion ${id}`).toHaveLength(1);
      expect(items.find((item) => item.outcome !== 'decided'), `suggestion ${id}`).toMatchObject({ outcome: 'refused', code: 'wrong_state', status_after: 'applied' });
    }
    for (const s of made) expect(await readFile(s.file, 'utf8')).toBe(PROPOSED);
  }, 120_000);
});

describe('who may run a batch, and what it takes', () => {
  it('"apply now" needs admin: a viewer and an approver are told so', async () => {
    for (const token of [TOKENS.carol, TOKENS.alice]) {
      const answer = await http(stack.api, 'POST', '/api/v1/healing/suggestions/1/apply-now', {}, token);
      expect(answer.status).toBe(403);
      expect(answer.body.error).toMatch(/has role (viewer|approver); this needs admin/);
    }
  });

  it('a viewer is refused with 403 and no batch is recorded', async () => {
    const before = await stack.db('healing_batches').count<{ n: number }[]>({ n: '*' });
    const answer = await post({ decision: 'approve', ids: [1] }, TOKENS.carol);
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatch(/viewer.*needs approver/);
    expect(await stack.db('healing_batches').count<{ n: number }[]>({ n: '*' })).toEqual(before);
  });

  it.each([
    ['a rejection without a reason', { decision: 'reject', ids: [1] }, /reason: a rejection needs a reason/],
    ['neither ids nor filter', { decision: 'approve' }, /either ids or filter/],
    ['both ids and filter', { decision: 'approve', ids: [1], filter: { status: 'pending' } }, /either ids or filter/],
    ['an unknown decision', { decision: 'rollback', ids: [1] }, /decision/],
    ['too many ids', { decision: 'approve', ids: Array.from({ length: 5_001 }, (_, i) => i + 1) }, /at most 5000/],
    ['a misspelt filter', { decision: 'approve', filter: { stauts: 'pending' } }, /filter\.stauts: unknown field/],
    ['an id that is no id', { decision: 'approve', ids: ['7'] }, /ids\.0/],
    ['an empty list', { decision: 'approve', ids: [] }, /at least one/],
    ['a reason on an approval', { decision: 'approve', ids: [1], reason: 'x' }, /only a rejection takes a reason/],
    ['no body', 'null', /body/],
  ])('%s is a 400 naming the field', async (_what, body, message) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
  });

  it('300 generated bodies (any JSON, and near-valid ones with hostile values) are never a 5xx, and only a valid one records a batch', async () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer({ min: -2, max: 3 })), fc.dictionary(fc.string(), fc.string()));
    const nearValid = fc.record(
      { decision: fc.oneof(fc.constantFrom('approve', 'reject', 'apply'), value), ids: value, filter: fc.oneof(value, fc.record({ status: value, q: value, review_id: value }, { requiredKeys: [] })), reason: value, dry_run: value },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), nearValid), async (body) => {
        const before = Number((await stack.db('healing_batches').count<{ n: number }[]>({ n: '*' }))[0]!.n);
        const answer = await post(body === undefined ? 'null' : JSON.stringify(body));
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
        const after = Number((await stack.db('healing_batches').count<{ n: number }[]>({ n: '*' }))[0]!.n);
        expect(after - before).toBe(answer.status === 202 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('a filter that selects nothing is a 400, and an unknown batch a 404', async () => {
    expect((await post({ decision: 'approve', filter: { q: 'no suggestion is called this' } })).body.error).toMatch(/selects no suggestion/);
    expect((await http(stack.api, 'GET', '/api/v1/healing/batches/999999', undefined, TOKENS.carol)).status).toBe(404);
    expect((await http(stack.api, 'GET', '/api/v1/healing/batches/1?outcome=maybe', undefined, TOKENS.carol)).status).toBe(400);
  });
});
