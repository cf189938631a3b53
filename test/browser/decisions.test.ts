// What a click on a decision does, said before it is made (issue 15), in a real browser against the
// demo stack (an open API: no tokens): a card's Approve shows the diff before anything is written,
// advice is acknowledged (never "applied"), the two-person rule is explained up front, a suggestion
// whose file changed since the review is marked stale with a re-review, and every card button is
// named with its suggestion for screen readers.
import { readFile, writeFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { eventually, http } from '../helpers/stack.js';
import { createSuggestion } from '../helpers/suggestions.js';
import { browserSession, demoLookups, startDemoStack, waitForText } from './support.js';

const session = browserSession(() => startDemoStack(['nightly-backup', 'report-sync']));
const { open } = session;

const { suggestionId, getSuggestion, jobFile } = demoLookups(session);
const toasts = (page: Page) => page.getByTestId('toast').allTextContents();

describe('a card\'s Approve', () => {
  test('sends nothing: it opens the suggestion with the diff of the file it changes and the confirm button focused; "Approve, apply later" approves without writing', async () => {
    const id = suggestionId('nightly-backup:Retry transient failures');
    const file = jobFile('nightly-backup.yaml');
    const before = await readFile(file, 'utf8');
    const page = await open();
    const card = page.getByTestId(`suggestion-${id}`);
    await waitForText(card.getByTestId('card-file'), /^\s*changes \S*nightly-backup\.yaml\s*$/);
    expect(await card.getByTestId('card-file').getAttribute('title')).toBe(file);

    await card.getByTestId('approve').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal.getByTestId('diff'), 'max_attempts: 3');
    await eventually(async () => (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'modal-approve' || undefined, 5000, 'the confirm button focused');
    expect(await modal.getByTestId('modal-approve').textContent()).toContain('Approve & Apply');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect((await getSuggestion(id)).status).toBe('pending');

    await modal.getByTestId('modal-approve-only').click();
    await waitForText(modal.getByTestId('decision'), 'not applied yet');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect((await getSuggestion(id)).status).toBe('approved');
    await waitForText(page.getByTestId('toast').last(), 'nothing is written until someone applies it');
  });

  test('every card button is named with its suggestion for screen readers', async () => {
    const id = suggestionId('report-sync:Retry transient failures');
    const page = await open('#/suggestions?job_id=report-sync');
    const card = page.getByTestId(`suggestion-${id}`);
    await card.waitFor();
    for (const name of ['View: Retry transient failures', 'Reject: Retry transient failures', 'Approve: Retry transient failures']) {
      expect(await card.getByRole('button', { name, exact: true }).count(), name).toBe(1);
    }
  });
});

describe('advice', () => {
  test('a suggestion with no file edit is acknowledged, shown as Acknowledged, and the Applied count does not move', async () => {
    const id = await createSuggestion(session.stack, { jobId: 'report-sync', targetFile: null, proposed: null, severity: 'low', title: 'Tell the partner about the 429s' });
    const applied = (await http(session.stack.api, 'GET', '/api/v1/healing/stats')).body.suggestions.by_status.applied as number;
    const page = await open('#/suggestions?job_id=report-sync');
    const card = page.getByTestId(`suggestion-${id}`);
    await card.getByTestId('advice-only').waitFor();
    expect((await card.getByTestId('approve').textContent())?.trim()).toBe('Acknowledge…');
    await waitForText(page.getByTestId('overview-applied-count'), String(applied));

    await card.getByTestId('approve').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal.getByTestId('advice-note'), 'approving acknowledges it. Nothing is written');
    await modal.getByTestId('modal-acknowledge').click();
    await waitForText(modal.getByTestId('decision'), /^\s*Acknowledged by human .*it is advice, so nothing was written/);
    await waitForText(page.getByTestId('toast').last(), `Suggestion #${id} acknowledged: it is advice, so nothing was changed.`);
    await eventually(async () => (await card.getAttribute('data-status')) === 'acknowledged' || undefined, 10_000, 'the card to show acknowledged');
    expect((await card.textContent())?.toLowerCase()).not.toContain('applied');
    expect((await toasts(page)).join(' ')).not.toMatch(/applied/i);

    expect((await getSuggestion(id)).status).toBe('acknowledged');
    const stats = (await http(session.stack.api, 'GET', '/api/v1/healing/stats')).body;
    expect(stats.suggestions.by_status.applied).toBe(applied);
    await page.keyboard.press('Escape');
    await page.keyboard.press('r');
    await waitForText(page.getByTestId('overview-applied-count'), String(applied));
    // advice has its own card, so the cards add up
    await waitForText(page.getByTestId('overview-acknowledged-count'), String(stats.suggestions.by_status.acknowledged));
    expect(stats.suggestions.by_status.acknowledged).toBeGreaterThan(0);
  });

  test('an edit the job may not make (advice only) is acknowledged with its file untouched, not refused with an error', async () => {
    const file = jobFile('report-sync.yaml');
    const before = await readFile(file, 'utf8');
    const id = await createSuggestion(session.stack, { jobId: 'report-sync', targetFile: file, proposed: `${before}# edited\n`, severity: 'low', title: 'Edit a file the job may not edit' });
    await session.stack.db('healing_suggestions').where({ id }).update({ advisory_reason: "the job's self_healing.remediation.allowed_actions is [restart_job]" });
    const page = await open('#/suggestions?job_id=report-sync');
    const card = page.getByTestId(`suggestion-${id}`);
    await waitForText(card.getByTestId('card-file'), /^\s*about \S*report-sync\.yaml\s*$/);
    await card.getByTestId('approve').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal.getByTestId('advisory-reason'), 'allowed_actions');
    await modal.getByTestId('modal-acknowledge').click();
    await waitForText(modal.getByTestId('decision'), 'Acknowledged');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect((await toasts(page)).join(' ')).not.toMatch(/Could not|failed/);
    expect((await getSuggestion(id)).status).toBe('acknowledged');
  });
});

describe('what a suggestion says', () => {
  test('a script excerpt in Current state is shown as written: a "# comment" is no heading, "*" and "_" stay', async () => {
    const excerpt = '#!/bin/bash\n# ETL\ncurl -s "$URL" | jq \'.items[]\' > out_*.json';
    const id = await createSuggestion(session.stack, { jobId: 'report-sync', targetFile: null, proposed: null, title: 'Quote the URL' });
    await session.stack.db('healing_suggestions').where({ id }).update({ current_state: excerpt });
    const page = await open(`#/suggestions/${id}`);
    const shown = page.getByTestId('suggestion-modal').getByTestId('current-state');
    await waitForText(shown, 'out_*.json');
    expect(await shown.textContent()).toBe(excerpt);
    expect(await page.getByTestId('suggestion-modal').locator('h1, h2').filter({ hasText: /^ETL$/ }).count()).toBe(0);
  });
});

describe('the two-person rule, up front', () => {
  test('with no tokens, a critical suggestion says it needs two approvers and why it cannot be approved here: no approve button, no error', async () => {
    const file = jobFile('nightly-backup.yaml');
    const id = await createSuggestion(session.stack, {
      jobId: 'nightly-backup',
      targetFile: file,
      proposed: `${await readFile(file, 'utf8')}# critical\n`,
      severity: 'critical',
      title: 'Critical change to the backup',
      input: { requiredApprovals: 2 },
    });
    const page = await open('#/suggestions?job_id=nightly-backup');
    await page.getByTestId(`suggestion-${id}`).getByTestId('approve').click();
    const note = page.getByTestId('suggestion-modal').getByTestId('two-person');
    const text = await waitForText(note, 'cannot be approved here');
    expect(text).toContain('It needs 2 different approvers (two_person_rule: critical and security suggestions). Nobody has approved it yet.');
    expect(text).toContain('This API has no tokens, so everyone using it is the same anonymous person');
    expect(text).toContain('HEALING_TOKENS_FILE');
    expect(text).toContain('two_person_rule: false for nightly-backup');
    expect(await page.getByTestId('suggestion-modal').getByTestId('modal-approve').count()).toBe(0);
    expect(await page.getByTestId('suggestion-modal').getByTestId('modal-reject').count()).toBe(1);
    expect(await toasts(page)).toEqual([]);
    expect((await getSuggestion(id)).status).toBe('pending');
  });

  test('with tokens, the approver who approved sees what the second one must do, and the second sees their approval applies it', async () => {
    const file = jobFile('nightly-backup.yaml');
    const id = await createSuggestion(session.stack, { jobId: 'nightly-backup', targetFile: file, proposed: `${await readFile(file, 'utf8')}# two\n`, severity: 'critical', input: { requiredApprovals: 2 } });
    // The API as a token holder sees it (the demo stack is open): alice approved; who asks is set per page.
    const as = (name: string) => async (page: Page) => {
      await page.route(new RegExp(`/api/v1/healing/suggestions/${id}$`), async (route) => {
        const response = await route.fetch();
        const body = await response.json();
        Object.assign(body, { api_open: false, viewer: { name, role: 'approver' }, approvals: [{ by: 'alice', at: new Date().toISOString() }] });
        await route.fulfill({ response, json: body });
      });
    };
    const alice = await open(`#/suggestions?job_id=nightly-backup`, { setup: as('alice') });
    await alice.getByTestId(`suggestion-${id}`).getByTestId('approve').click();
    const aliceNote = await waitForText(alice.getByTestId('two-person'), 'Approved so far by alice.');
    expect(aliceNote).toContain(`You (alice) approved it. Another approver must open suggestion #${id} with their own token and approve it; the last approval applies it.`);
    expect(await alice.getByTestId('modal-approve').count()).toBe(0);

    const bob = await open(`#/suggestions?job_id=nightly-backup`, { setup: as('bob') });
    await bob.getByTestId(`suggestion-${id}`).getByTestId('approve').click();
    await waitForText(bob.getByTestId('two-person'), 'Your approval is the last one needed and applies it.');
    expect((await bob.getByTestId('modal-approve').textContent())?.trim()).toBe('Approve (2nd of 2) & Apply');
  });
});

describe('a suggestion whose file changed since the review', () => {
  test('is marked stale: the old content is labelled "at review time", Approve & Apply is withheld, and "Re-review this job" starts a review', async () => {
    const file = jobFile('report-sync.yaml');
    const original = await readFile(file, 'utf8');
    const id = await createSuggestion(session.stack, { jobId: 'report-sync', targetFile: file, proposed: `${original}# proposed\n`, severity: 'low', title: 'Made against the old file' });
    await writeFile(file, `${original}# changed by hand after the review\n`);
    try {
      const page = await open('#/suggestions?job_id=report-sync');
      await page.getByTestId(`suggestion-${id}`).getByTestId('view').click();
      const modal = page.getByTestId('suggestion-modal');
      await waitForText(modal.getByTestId('stale'), `${file} changed since the review read it`);
      expect(await modal.getByTestId('diff').locator('thead th').first().textContent()).toBe('at review time');
      expect(await modal.getByTestId('modal-approve').count()).toBe(0);

      const triggered = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/healing/reviews/report-sync/trigger'), { timeout: 10_000 });
      await modal.getByRole('button', { name: 'Re-review this job: report-sync' }).click();
      expect([200, 202]).toContain((await triggered).status());
      expect((await getSuggestion(id)).status).toBe('pending');
    } finally {
      await writeFile(file, original);
    }
  });
});
