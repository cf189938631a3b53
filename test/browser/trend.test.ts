// "Did healing help?" in a real browser (issue 18): the job modal's trend chart, with a marker at
// each applied change and rollback and each marker's verdict, readable in dark mode; and the stats
// tab's verdict totals. The history: test/browser/trend-history.ts.
import { expect, test } from 'vitest';
import { browserSession, demoLookups, startDemoStack, waitForText } from './support.js';
import { seedTrendHistory, TREND_JOB } from './trend-history.js';

let seeded: { improvedAction: number; revertedAction: number } | null = null;
const session = browserSession(async () => {
  const stack = await startDemoStack([TREND_JOB]);
  return stack;
});
const { open } = session;
const { suggestionId } = demoLookups(session);

async function history() {
  seeded ??= await seedTrendHistory(session.stack, suggestionId(`${TREND_JOB}:Retry transient failures`));
  return seeded;
}

async function openTrend(colorScheme: 'light' | 'dark' = 'light') {
  const page = await open('#/jobs', { colorScheme });
  await page.getByTestId(`edit-${TREND_JOB}`).click();
  const chart = page.getByTestId('job-modal').getByTestId('trend-chart');
  await chart.waitFor();
  return { page, chart, trend: page.getByTestId('job-modal').getByTestId('job-trend') };
}

test('when a job had changes applied and rolled back, its modal charts success rate and p95 per day with a marker per change coloured by its verdict', async () => {
  const { improvedAction, revertedAction } = await history();
  const { chart, trend } = await openTrend();
  expect(await chart.getAttribute('role')).toBe('img');
  expect(await chart.getAttribute('data-granularity')).toBe('day');
  const label = (await chart.getAttribute('aria-label')) ?? '';
  expect(label).toMatch(/^Success rate and p95 duration per day over the last 90 days: [\d.]+% of \d+ runs succeeded\. 2 changes applied \(1 improved, 1 regressed\), 1 rolled back\.$/);

  const markers = chart.getByTestId('trend-marker');
  expect(await markers.count()).toBe(3);
  const shown = await markers.evaluateAll((els) => els.map((el) => [el.getAttribute('data-kind'), el.getAttribute('data-verdict'), el.querySelector('title')?.textContent ?? '']));
  expect(shown.map(([kind, verdict]) => [kind, verdict])).toEqual([
    ['applied', 'improved'],
    ['applied', 'regressed'],
    ['rollback', 'regressed'],
  ]);
  expect(shown[0]![2]).toMatch(/^Applied .*: #\d+ Retry transient failures \(reliability\)\. Verdict: improved\. success rate 67% -> 100%/);
  expect(shown[1]![2]).toMatch(/Upload with 8 parallel streams \(performance\)\. Verdict: regressed, reverted automatically\./);
  expect(shown[2]![2]).toMatch(/^Rolled back .*Upload with 8 parallel streams, automatically by the regression watch\. Verdict: regressed$/);
  // the improved marker is green and the regressed ones red, from the theme
  const colours = await markers.evaluateAll((els) => els.map((el) => getComputedStyle(el.querySelector('.symbol')!).fill));
  expect(colours).toEqual(['rgb(22, 163, 74)', 'rgb(220, 38, 38)', 'rgb(220, 38, 38)']);
  // screen readers get the same list
  const listed = await trend.getByTestId('trend-marker-list').locator('li').allTextContents();
  expect(listed).toEqual(shown.map(([, , title]) => title));
  expect(improvedAction).not.toBe(revertedAction);
  // both lines drawn: about 60 days of points
  const dots = await chart.locator('circle.dot.rate').count();
  expect(dots).toBeGreaterThanOrEqual(60);
  expect(await chart.locator('path.line.p95').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){59,}/);
});

test('in dark mode the chart is drawn in the dark theme\'s colours', async () => {
  await history();
  const { chart } = await openTrend('dark');
  const [line, regressed, tick] = await chart.evaluate((svg) => [
    getComputedStyle(svg.querySelector('path.line.rate')!).stroke,
    getComputedStyle(svg.querySelector('.marker.verdict-regressed .symbol')!).fill,
    getComputedStyle(svg.querySelector('text.tick')!).fill,
  ]);
  expect(line).toBe('rgb(45, 212, 191)');
  expect(regressed).toBe('rgb(248, 113, 113)');
  expect(tick).toBe('rgb(148, 163, 184)');
});

test('the stats tab shows the verdict totals, and per category which kinds of suggestions helped', async () => {
  await history();
  const page = await open('#/stats');
  const totals = page.getByTestId('verdict-totals');
  await totals.waitFor();
  const bars = await totals.getByTestId('chart-verdicts').locator('[role=img]').evaluateAll((els) => els.map((el) => el.getAttribute('aria-label')));
  expect(bars).toEqual(['improved: 1', 'no change: 0', 'regressed: 1', 'inconclusive: 0', 'watching: 0']);
  await waitForText(totals.getByTestId('verdicts-category-performance'), /performance\s*0\s*0\s*1\s*0\s*0/);
  await waitForText(totals.getByTestId('verdicts-category-reliability'), /reliability\s*1\s*0\s*0\s*0\s*0/);
  expect(await totals.getByTestId('verdicts-category-security').count()).toBe(0);
});
