// The dashboard live and linkable (issue 15), in a real browser against the demo stack: what
// changes in Postgres shows without pressing r (counts, list, an open modal), and with the stream
// down it still shows by polling; every suggestion, review, action and job has a URL that opens it,
// through a reload and Back; a review links to its own Temporal run; the list puts what needs a
// decision first and sorts on request; the cards add up; a page past the end shows the last; the
// search finds suggestions on any page.
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { eventually, http } from '../helpers/stack.js';
import { browserSession, insertSuggestions, startDemoStack, waitForText } from './support.js';

const session = browserSession(() => startDemoStack(['nightly-backup', 'report-sync']));
const { open } = session;

/** Opens the page and waits until its live updates stream is connected. */
async function openLive(hash = ''): Promise<Page> {
  const page = await open(hash);
  await eventually(async () => (await page.getByTestId('live-state').getAttribute('data-state')) === 'live' || undefined, 10_000, 'the live stream');
  return page;
}

const hashOf = (page: Page) => page.evaluate(() => location.hash);
const cardIds = (page: Page) =>
  page.locator('[data-testid=suggestion-list] article').evaluateAll((cards) => cards.map((c) => Number(c.getAttribute('data-testid')!.replace('suggestion-', ''))));
const count = async (page: Page, status: string) => Number(await page.getByTestId(`overview-${status}-count`).textContent());
const api = async (url: string) => (await http(session.stack.api, 'GET', `/api/v1${url}`)).body;

describe('live updates', () => {
  test('a review finishing elsewhere shows its suggestions and the new counts within a second or two, without pressing r', async () => {
    const page = await openLive('#/suggestions?job_id=idea-hunter');
    await page.getByTestId('state-empty').waitFor();
    // the counts load beside the list: read them once they are there
    const pendingBefore = await eventually(async () => { const n = await count(page, 'pending'); return Number.isFinite(n) ? n : undefined; }, 10_000, 'the counts');
    const started = await http(session.stack.api, 'POST', '/api/v1/healing/reviews/idea-hunter/trigger', {});
    expect(started.status).toBe(202);
    const stored = await eventually(async () => {
      const list = await api('/healing/suggestions?job_id=idea-hunter');
      return list.total > 0 ? list : undefined;
    }, 60_000, 'the review to store its suggestions');
    const shown = Date.now();
    await eventually(async () => ((await cardIds(page)).length === stored.total ? true : undefined), 5_000, 'the new cards', 50);
    await eventually(async () => ((await count(page, 'pending')) === pendingBefore + stored.total) || undefined, 5_000, 'the pending count', 50);
    expect(Date.now() - shown).toBeLessThan(2_000);
    expect((await cardIds(page)).sort()).toEqual(stored.suggestions.map((s: { id: number }) => s.id).sort());
  });

  test('an open suggestion decided by someone else shows the decision by itself, and the header and list agree with it', async () => {
    const [id] = await insertSuggestions(session.stack, [{ job_id: 'report-sync', title: 'Decided elsewhere', severity: 'high' }]);
    const page = await openLive(`#/suggestions/${id}`);
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal, 'Decided elsewhere');
    const pending = await count(page, 'pending');
    // another person's decision: the suggestion's own workflow is not running for a row made here, so the row is written as it would
    await session.stack.db('healing_suggestions').where({ id }).update({ status: 'rejected', reviewed_by: 'alice', reviewed_at: new Date(), rejection_reason: 'not now' });
    await waitForText(modal.getByTestId('decision'), 'Rejected by alice', 3_000);
    await eventually(async () => ((await count(page, 'pending')) === pending - 1) || undefined, 3_000, 'the pending card');
    await waitForText(page.getByTestId('header-pending'), `${pending - 1} pending`, 3_000);
    await page.keyboard.press('Escape');
    await page.getByTestId('suggestion-modal').waitFor({ state: 'detached' });
    expect(await page.getByTestId(`suggestion-${id}`).getAttribute('data-status')).toBe('rejected');
  });

  test('with the stream down (a proxy refusing it), the page says it polls and still shows a new suggestion', async () => {
    const page = await open('#/suggestions?job_id=healthy-cleanup', {
      setup: async (p) => {
        await p.route('**/api/v1/events', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"success":false,"error":"no streams here","detail":null}' }));
      },
    });
    await eventually(async () => (await page.getByTestId('live-state').getAttribute('data-state')) === 'polling' || undefined, 10_000, 'polling');
    await page.getByTestId('state-empty').waitFor();
    const [id] = await insertSuggestions(session.stack, [{ job_id: 'healthy-cleanup', title: 'Seen by polling' }]);
    await page.getByTestId(`suggestion-${id}`).waitFor({ timeout: 15_000 });
  });
});

describe('links', () => {
  test('a card opens its suggestion at #/suggestions/<id>: reload keeps it open, Back closes it, Forward opens it again, closing goes back to the list', async () => {
    const page = await open('#/suggestions?status=pending');
    const card = page.locator('[data-testid=suggestion-list] article').first();
    const id = Number((await card.getAttribute('data-testid'))!.replace('suggestion-', ''));
    const title = (await api(`/healing/suggestions/${id}`)).title as string;
    await card.getByTestId('view').click();
    await waitForText(page.getByTestId('suggestion-modal'), title);
    expect(await hashOf(page)).toBe(`#/suggestions/${id}`);

    await page.reload();
    await waitForText(page.getByTestId('suggestion-modal'), title);
    await page.goBack();
    await page.getByTestId('suggestion-modal').waitFor({ state: 'detached' });
    expect(await hashOf(page)).toBe('#/suggestions?status=pending');
    expect(await page.getByTestId('filter-status').inputValue()).toBe('pending');
    await page.goForward();
    await waitForText(page.getByTestId('suggestion-modal'), title);
    await page.keyboard.press('Escape');
    await page.getByTestId('suggestion-modal').waitFor({ state: 'detached' });
    expect(await hashOf(page)).toBe('#/suggestions?status=pending');
  });

  test('a link from a notification opens its suggestion, review, action or job; closing a linked modal shows its tab', async () => {
    const review = (await api('/healing/reviews?job_id=report-sync&status=completed')).reviews.find((r: { suggestions_count: number }) => r.suggestions_count > 0);
    const suggestions = (await api(`/healing/reviews/${review.id}`)).suggestions as { id: number; title: string }[];
    expect(suggestions.length).toBeGreaterThan(0);

    const page = await open(`#/reviews/${review.id}`);
    const item = page.getByTestId(`review-${review.id}`);
    await waitForText(item, 'report-sync');
    expect(await page.getByTestId('tab-reviews').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('[data-testid=review-list] article').count()).toBe(1);
    // its suggestions are listed, and one opens over it; Back returns to the review
    await waitForText(item, suggestions[0]!.title);
    await item.getByText(suggestions[0]!.title).click();
    await page.getByTestId('suggestion-modal').waitFor();
    expect(await hashOf(page)).toBe(`#/suggestions/${suggestions[0]!.id}`);
    await page.goBack();
    await page.getByTestId('suggestion-modal').waitFor({ state: 'detached' });
    expect(await hashOf(page)).toBe(`#/reviews/${review.id}`);
    await page.getByTestId(`review-${review.id}`).waitFor();
    await page.getByTestId('all-reviews').click();
    await eventually(async () => ((await page.locator('[data-testid=review-list] article').count()) > 1) || undefined, 5_000, 'every review');

    const linked = await open(`#/suggestions/${suggestions[0]!.id}`);
    await waitForText(linked.getByTestId('suggestion-modal'), suggestions[0]!.title);
    await linked.keyboard.press('Escape');
    await linked.getByTestId('suggestion-modal').waitFor({ state: 'detached' });
    expect(await hashOf(linked)).toBe('#/suggestions');
    await linked.locator('[data-testid=suggestion-list] article').first().waitFor();

    const job = await open('#/jobs/report-sync');
    await job.getByTestId('job-modal').waitFor();
    expect(await job.getByTestId('tab-jobs').getAttribute('aria-selected')).toBe('true');

    const missing = await open('#/reviews/999999');
    await waitForText(missing.getByTestId('review-error'), 'Review #999999 does not exist');
  });

  test('an action\'s link opens its modal over the Actions tab', async () => {
    const [id] = await insertSuggestions(session.stack, [{ job_id: 'report-sync', title: 'Applied for the action link', status: 'applied' }]);
    const [action] = await session.stack.db('healing_actions')
      .insert({ suggestion_id: id, attempt: 1, job_id: 'report-sync', action_type: 'edit_config', file_path: '/tmp/x.yaml', status: 'success', can_rollback: false })
      .returning('id');
    const page = await open(`#/actions/${action.id}`);
    await waitForText(page.getByTestId('action-modal'), `#${id}`);
    expect(await page.getByTestId('tab-actions').getAttribute('aria-selected')).toBe('true');
  });

  test('a review\'s Temporal link opens its own run, not the latest review of the job', async () => {
    const page = await open('#/reviews?job_id=nightly-backup');
    const article = page.locator('[data-testid=review-list] article').first();
    const link = article.getByTestId('temporal-link');
    await link.waitFor();
    const id = Number((await article.getAttribute('data-testid'))!.replace('review-', ''));
    const review = await api(`/healing/reviews/${id}`);
    expect(await link.getAttribute('href')).toBe(
      `http://temporal-ui.test/namespaces/${session.stack.env.namespace ?? 'default'}/workflows/${encodeURIComponent(review.workflow_id)}/${encodeURIComponent(review.workflow_run_id)}/history`,
    );
  });
});

describe('order, cards, pages and search', () => {
  test('by default pending comes first, most severe first; the order control sorts by age; a Rolled back card makes the cards add up', async () => {
    const now = Date.now();
    await insertSuggestions(session.stack, [
      { job_id: 'deploy-hook', title: 'Old critical, rolled back', severity: 'critical', status: 'rolled_back', created_at: new Date(now - 9 * 3_600_000) },
      { job_id: 'deploy-hook', title: 'New low, pending', severity: 'low', created_at: new Date(now - 1_000) },
      { job_id: 'deploy-hook', title: 'Old high, pending', severity: 'high', created_at: new Date(now - 5 * 3_600_000) },
      { job_id: 'deploy-hook', title: 'New medium, rejected', severity: 'medium', status: 'rejected', created_at: new Date(now - 2_000) },
    ]);
    const page = await open('#/suggestions?job_id=deploy-hook');
    const titles = () => page.locator('[data-testid=suggestion-list] h3').allTextContents();
    await eventually(async () => ((await titles()).length === 4) || undefined, 10_000, 'four cards');
    expect(await titles()).toEqual(['Old high, pending', 'New low, pending', 'Old critical, rolled back', 'New medium, rejected']);

    await page.getByTestId('sort').selectOption('newest');
    await eventually(async () => ((await titles())[0] === 'New low, pending') || undefined, 5_000, 'newest first');
    expect(await titles()).toEqual(['New low, pending', 'New medium, rejected', 'Old high, pending', 'Old critical, rolled back']);
    expect(await hashOf(page)).toContain('sort=newest');
    await page.reload();
    await eventually(async () => ((await titles())[0] === 'New low, pending') || undefined, 10_000, 'the order after a reload');
    expect(await page.getByTestId('sort').inputValue()).toBe('newest');

    // the cards: one per state, rolled back included, summing to every suggestion
    const stats = await api('/healing/stats');
    expect(stats.suggestions.by_status.rolled_back).toBeGreaterThan(0);
    await waitForText(page.getByTestId('overview-rolled_back-count'), String(stats.suggestions.by_status.rolled_back));
    const cards = await page.locator('[data-testid^=overview-][data-testid$=-count]').allTextContents();
    const total = (await api('/healing/suggestions?limit=1')).total as number;
    expect(cards.reduce((sum, n) => sum + Number(n), 0)).toBe(total);
    expect(await page.getByTestId('overview-rolled_back').textContent()).toMatch(/^rolled back/i);
  });

  test('a page past the end shows the last page: "1–N of N", never "Page 21 / 1"', async () => {
    const total = (await api('/healing/suggestions?job_id=report-sync&limit=1')).total as number;
    const page = await open('#/suggestions?job_id=report-sync&offset=500');
    await waitForText(page.getByTestId('page-range'), `1–${total} of ${total}`);
    expect(await page.getByTestId('pagination').textContent()).toContain('Page 1 / 1');
    expect(await hashOf(page)).not.toContain('offset=');
    expect((await cardIds(page)).length).toBe(total);
    // Back does not return to the page that did not exist
    await page.goBack().catch(() => undefined);
    expect(await hashOf(page)).not.toContain('offset=500');
  });

  test('the search finds a suggestion that is not on the page shown, and keeps the search in the URL', async () => {
    const now = Date.now();
    const rows = Array.from({ length: 30 }, (_, i) => ({ job_id: 'healthy-cleanup', title: `Filler ${i}`, status: 'rejected', created_at: new Date(now - i * 60_000) }));
    rows.push({ job_id: 'healthy-cleanup', title: 'The haystack needle', status: 'expired', created_at: new Date(now - 3 * 86_400_000) });
    const ids = await insertSuggestions(session.stack, rows);
    const needle = ids.at(-1)!;
    const page = await open('#/suggestions?limit=10');
    await page.locator('[data-testid=suggestion-list] article').first().waitFor();
    expect(await cardIds(page)).not.toContain(needle);
    await page.getByTestId('search').fill('HAYSTACK');
    await page.getByTestId(`suggestion-${needle}`).waitFor({ timeout: 5_000 });
    await waitForText(page.getByTestId('page-range'), '1–1 of 1');
    expect(await hashOf(page)).toContain('q=HAYSTACK');
    await page.reload();
    await page.getByTestId(`suggestion-${needle}`).waitFor();
    expect(await page.getByTestId('search').inputValue()).toBe('HAYSTACK');
    await page.getByTestId('search').fill('no such words anywhere');
    await waitForText(page.getByTestId('state-empty'), 'No suggestion matches “no such words anywhere”');
  });
});
