// Secrets in the dashboard, in a real browser (Debian's chromium) against the real stack with the
// demo workspace: its report-sync script holds a hard-coded Stripe key. Whatever the page shows or
// receives from the API holds the mask, never the key.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { mask } from '../../core/secrets.js';
import { eventually } from '../helpers/stack.js';
import { createSuggestion } from '../helpers/suggestions.js';
import { browserSession, startDemoStack } from './support.js';

/** The key in the demo's scripts/sync_report.py (cli/demo.ts). */
const KEY = 'sk_live_51HxQdemoSecretToken1234567890';

const session = browserSession(() => startDemoStack(['report-sync']));

/** The dashboard, with every API answer the page receives kept as text. */
async function open(): Promise<{ page: Page; answers: string[] }> {
  const answers: string[] = [];
  const page = await session.open('', {
    setup: async (p) => {
      p.on('response', async (response) => {
        if (new URL(response.url()).pathname.startsWith('/api/')) answers.push(await response.text().catch(() => ''));
      });
    },
  });
  return { page, answers };
}

/** Neither the page (text, attributes, form values) nor any API answer it received holds the key. */
async function expectKeyNowhere(page: Page, answers: string[]): Promise<void> {
  expect(await page.content()).not.toContain(KEY);
  expect(await page.evaluate(() => document.body.innerText)).not.toContain(KEY);
  expect(answers.length).toBeGreaterThan(0);
  for (const answer of answers) expect(answer).not.toContain(KEY);
}

async function waitForText(page: Page, testId: string, text: string, within = page.getByTestId('suggestion-modal')): Promise<void> {
  await eventually(async () => ((await within.getByTestId(testId).first().textContent({ timeout: 1000 })) ?? '').includes(text) || undefined, 15_000, `"${text}" in ${testId}`);
}

describe('secrets in the dashboard', () => {
  test('the suggestion modal of a hard-coded secret shows the mask in its text and in both diff layouts, says the secret is hidden, and holds the key nowhere', async () => {
    const id = session.stack.suggestionIds.get('report-sync:Hard-coded secret in script');
    expect(id, `the demo review proposed ${[...session.stack.suggestionIds.keys()].join(', ')}`).toBeDefined();
    const { page, answers } = await open();
    await page.getByTestId(`suggestion-${id}`).getByTestId('view').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(page, 'description', mask(KEY));
    await waitForText(page, 'diff', `API_TOKEN = "${mask(KEY)}"`);
    await waitForText(page, 'secrets-hidden', '1 secret hidden');
    // the line that held the key shows as removed, without it
    expect(await modal.locator('td.code.del').allTextContents()).toContain(`API_TOKEN = "${mask(KEY)}"`);
    await expectKeyNowhere(page, answers);

    await modal.getByRole('button', { name: 'Unified' }).click();
    expect(await modal.getByTestId('diff').getAttribute('data-layout')).toBe('unified');
    await waitForText(page, 'diff', `API_TOKEN = "${mask(KEY)}"`);
    await expectKeyNowhere(page, answers);
  });

  test('an applied change that keeps the key shows it masked in the action modal, while the file holds the real key', async () => {
    const file = path.join(session.stack.jobsDir, 'scripts', 'sync_report.py');
    const before = await readFile(file, 'utf8');
    const proposed = before.replace('import os\n', 'import os\nimport sys\n');
    const id = await createSuggestion(session.stack, { jobId: 'report-sync', targetFile: file, proposed, title: 'Import sys for exit codes', severity: 'low' });
    const { page, answers } = await open();
    await page.getByTestId(`suggestion-${id}`).getByTestId('view').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(page, 'diff', 'import sys');
    await modal.getByTestId('modal-approve').click();
    await waitForText(page, 'decision', 'Applied');
    expect(await readFile(file, 'utf8')).toBe(proposed);
    expect(proposed).toContain(KEY);

    await modal.getByTestId('open-action').click();
    const actionModal = page.getByTestId('action-modal');
    await waitForText(page, 'diff', 'import sys', actionModal);
    await waitForText(page, 'secrets-hidden', '1 secret hidden', actionModal);
    await expectKeyNowhere(page, answers);
  });
});
