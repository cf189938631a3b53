// Not a test: `node scripts/screenshots.mjs` runs this through vitest (for the shared Postgres and
// Temporal setup) to save screenshots of every tab at 1280 and 390 px into docs/screenshots/.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'vitest';
import { eventually, http } from '../helpers/stack.js';
import { ROOT, launchChromium, startDemoStack } from './support.js';

const OUT = path.join(ROOT, 'docs', 'screenshots');
const TABS = ['suggestions', 'reviews', 'actions', 'jobs', 'stats'] as const;

test('screenshots', async () => {
  await mkdir(OUT, { recursive: true });
  const [stack, browser] = await Promise.all([startDemoStack(['nightly-backup', 'report-sync', 'idea-hunter', 'healthy-cleanup']), launchChromium()]);
  try {
    // some history: one change applied, one rejected
    const applied = stack.suggestionIds.get('nightly-backup:Retry transient failures');
    const rejected = stack.suggestionIds.get('idea-hunter:Prompt is longer than it needs to be');
    let actionId: number | null = null;
    if (applied) actionId = (await http(stack.api, 'POST', `/api/v1/healing/suggestions/${applied}/approve`, {})).body.action_id ?? null;
    if (rejected) await http(stack.api, 'POST', `/api/v1/healing/suggestions/${rejected}/reject`, { reason: 'The long prompt is deliberate.' });
    // the review schedules, as the worker's reconciler keeps them (an edit reconciles its job's schedule)
    for (const job of ['nightly-backup', 'report-sync', 'idea-hunter', 'healthy-cleanup']) {
      await http(stack.api, 'PUT', `/api/v1/jobs/${job}/self-healing`, { enabled: true });
    }

    // whole pages for the tabs; the viewport for a modal (it scrolls inside itself)
    const shoot = async (page: Page, name: string, fullPage = true) => {
      await page.waitForTimeout(400); // let the last answers render
      await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage });
      console.log(`saved docs/screenshots/${name}.png`);
    };

    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: width > 600 ? 860 : 844 }, colorScheme: 'light', deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${stack.api}/#/suggestions`);
      for (const tab of TABS) {
        await page.getByTestId(`tab-${tab}`).click();
        await page.getByTestId(`${tab}-tab`).waitFor();
        if (tab !== 'stats') await eventually(async () => (await page.locator('[aria-busy=true]').count()) === 0 || undefined, 15_000, 'the list');
        await shoot(page, `${tab}-${width}`);
      }
      // the suggestion modal with its diff, the action modal, the job editor
      await page.getByTestId('tab-suggestions').click();
      const withFile = stack.suggestionIds.get('report-sync:Retry transient failures');
      if (withFile) {
        await page.getByTestId(`suggestion-${withFile}`).getByTestId('view').click();
        await page.getByTestId('suggestion-modal').getByTestId('diff').waitFor();
        await shoot(page, `suggestion-modal-${width}`, false);
        await page.keyboard.press('Escape');
      }
      if (actionId) {
        await page.getByTestId('tab-actions').click();
        await page.getByTestId(`action-${actionId}`).click();
        await page.getByTestId('action-modal').getByTestId('diff').waitFor();
        await shoot(page, `action-modal-${width}`, false);
        await page.keyboard.press('Escape');
      }
      await page.getByTestId('tab-jobs').click();
      await page.getByTestId('edit-nightly-backup').click();
      await page.getByTestId('f-frequency').waitFor();
      await shoot(page, `job-modal-${width}`, false);
      await page.keyboard.press('Escape');
      await context.close();
    }

    // dark mode, both widths
    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: width > 600 ? 860 : 844 }, colorScheme: 'dark' });
      const page = await context.newPage();
      await page.goto(`${stack.api}/#/suggestions`);
      await page.locator('[data-testid=suggestion-list] article').first().waitFor();
      await shoot(page, `suggestions-dark-${width}`);
      await context.close();
    }
  } finally {
    await browser.close();
    await stack.stop();
  }
});
