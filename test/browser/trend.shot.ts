// Not a test: `node scripts/screenshots.mjs` runs this (with the other *.shot.ts files) to save the
// job modal's trend chart at 1280 px into docs/screenshots/job-trend-1280.png, over the history of
// test/browser/trend-history.ts.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'vitest';
import { ROOT, launchChromium, startDemoStack } from './support.js';
import { seedTrendHistory, TREND_JOB } from './trend-history.js';

test('trend screenshot', async () => {
  const out = path.join(ROOT, 'docs', 'screenshots');
  await mkdir(out, { recursive: true });
  const [stack, browser] = await Promise.all([startDemoStack([TREND_JOB]), launchChromium()]);
  try {
    const id = stack.suggestionIds.get(`${TREND_JOB}:Retry transient failures`);
    if (!id) throw new Error(`the demo review did not propose the retry; it proposed ${[...stack.suggestionIds.keys()].join(', ')}`);
    await seedTrendHistory(stack, id);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light', deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${stack.api}/#/jobs`);
    await page.getByTestId(`edit-${TREND_JOB}`).click();
    const trend = page.getByTestId('job-modal').getByTestId('job-trend');
    await trend.getByTestId('trend-chart').waitFor();
    await trend.evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await page.waitForTimeout(400); // let the last answers render
    await page.screenshot({ path: path.join(out, 'job-trend-1280.png') });
    console.log('saved docs/screenshots/job-trend-1280.png');
    await context.close();
  } finally {
    await browser.close();
    await stack.stop();
  }
});
