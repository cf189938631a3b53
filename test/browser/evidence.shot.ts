// Not a test: `node scripts/screenshots.mjs` runs this (with screenshots.shot.ts) to save the
// evidence view of a suggestion, at 1280 px, into docs/screenshots/evidence-1280.png: the runs it
// cites (one opened), the log lines it quotes with their numbers, and the missing-context warning.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'vitest';
import { ROOT, launchChromium, startDemoStack } from './support.js';

test('evidence screenshot', async () => {
  const out = path.join(ROOT, 'docs', 'screenshots');
  await mkdir(out, { recursive: true });
  const [stack, browser] = await Promise.all([startDemoStack(['report-sync']), launchChromium()]);
  try {
    const id = stack.suggestionIds.get('report-sync:Retry transient failures');
    if (!id) throw new Error(`the demo review did not propose the retry; it proposed ${[...stack.suggestionIds.keys()].join(', ')}`);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light', deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${stack.api}/#/suggestions/${id}`);
    const evidence = page.getByTestId('suggestion-modal').getByTestId('evidence');
    await evidence.getByTestId('evidence-log-0').waitFor();
    await evidence.locator('[data-testid^=evidence-run-]').first().click();
    await evidence.getByTestId('run-detail').locator('dd').first().waitFor();
    await evidence.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(400); // let the last answers render
    await page.screenshot({ path: path.join(out, 'evidence-1280.png') });
    console.log('saved docs/screenshots/evidence-1280.png');
    await context.close();
  } finally {
    await browser.close();
    await stack.stop();
  }
});
