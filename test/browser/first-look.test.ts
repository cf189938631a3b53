// What a DevOps user meets first, in a real browser on the real stack: a fresh demo workspace
// after its first reviews (cli/demo.ts runFirstReviews, as `npm start` runs them); "Run review
// now" that says how the review ended; modals that hold the focus and never drop typed text
// without asking; errors a person can act on; the job form's notification check; tabs whose key
// hints do not read as counts; contrast; a modal body that never hides under its footer; a phone's
// Reviews tab; and a refresh that keeps the cards on screen.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runFirstReviews, seedDemoRuns, writeDemoWorkspace } from '../../cli/demo.js';
import { eventually, http, startStack } from '../helpers/stack.js';
import { contrastOffenders } from './contrast.js';
import { browserSession, ensureWebBuilt, waitForText } from './support.js';

let hook: Server;
let hookUrl: string;
const hookCalls: { path: string; body: any }[] = [];

// a fresh demo after its first reviews, as `npm start` leaves it (not startDemoStack's one review per job)
const session = browserSession(async () => {
  const stack = await startStack({ webDist: await ensureWebBuilt() });
  await writeDemoWorkspace(stack.workDir);
  await seedDemoRuns(stack.db, stack.workDir);
  await runFirstReviews({ client: stack.env.client, db: stack.db, root: stack.workDir, jobsSource: stack.jobsDir, log: pino({ level: 'silent' }) });
  return stack;
}, 240_000);
const { open } = session;

// a webhook receiver for the job form's notification check
beforeAll(async () => {
  hook = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      hookCalls.push({ path: req.url ?? '', body: JSON.parse(text || 'null') });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
});

const cards = (page: Page) => page.locator('[data-testid=suggestion-list] article');

const suggestionCount = async (status: string) => (await http(session.stack.api, 'GET', `/api/v1/healing/suggestions?status=${status}&limit=1`)).body.total as number;

describe('the first look', () => {
  test('a fresh demo opens on real suggestions in every state, reviews with a skip among them, and stats with figures', async () => {
    const page = await open();
    // nothing clicked: the demo's first reviews left suggestions to decide, and decided some
    await eventually(async () => ((await cards(page).count()) > 0) || undefined, 15_000, 'suggestion cards');
    for (const status of ['pending', 'applied', 'rejected', 'rolled_back']) {
      const expected = await suggestionCount(status);
      expect(expected, status).toBeGreaterThan(0);
      await waitForText(page.getByTestId(`overview-${status}-count`), String(expected));
    }
    await page.getByTestId('tab-reviews').click();
    const skipped = page.locator('[data-testid=review-list] article[data-status=skipped]');
    await waitForText(skipped.first(), /Skipped.*min_runs is \d+/);
    expect(await page.locator('[data-testid=review-list] article[data-status=completed]').count()).toBeGreaterThanOrEqual(5);
    await page.getByTestId('tab-stats').click();
    await waitForText(page.getByTestId('metric-acceptance'), /\d+(\.\d+)? ?%/);
    await waitForText(page.getByTestId('metric-rollback'), /\d+(\.\d+)? ?%/);
  });
});

describe('Run review now says how the review ended', () => {
  test('below min_runs it says skipped and why, offers Review anyway, and the forced review says completed', async () => {
    const page = await open('#/jobs');
    await page.getByTestId('run-review-healthy-cleanup').click();
    const toast = page.getByTestId('toast').filter({ hasText: 'was skipped' });
    await waitForText(toast, /^Review #\d+ of healthy-cleanup was skipped: only 0 run\(s\) since \S+; min_runs is 3 \(trigger with force to review anyway\)\./, 30_000);
    await toast.getByTestId('toast-action').click();
    expect(await page.getByTestId('toast').filter({ hasText: 'was skipped' }).count()).toBe(0);
    const done = page.getByTestId('toast').filter({ hasText: 'completed' });
    await waitForText(done, /^Review #\d+ of healthy-cleanup completed: (no new suggestions|\d+ new suggestions?)\./, 30_000);
    const latest = (await http(session.stack.api, 'GET', '/api/v1/healing/reviews?job_id=healthy-cleanup&limit=1')).body.reviews[0];
    expect(latest).toMatchObject({ status: 'completed', trigger: 'manual' });
    expect(await done.textContent()).toContain(`Review #${latest.id} `);
  });

  test('when the analysis fails it says failed with the reason, and offers to try again', async () => {
    session.stack.analyzer.mode = 'openclaw';
    process.env.FAKE_OPENCLAW_MODE = 'failing';
    try {
      const page = await open('#/jobs');
      await page.getByTestId('run-review-idea-hunter').click();
      const skipped = page.getByTestId('toast').filter({ hasText: 'was skipped' });
      await skipped.getByTestId('toast-action').click({ timeout: 30_000 });
      const failed = page.getByTestId('toast').filter({ hasText: 'failed' });
      await waitForText(failed, /^Review #\d+ of idea-hunter failed: .*invalid api key/, 90_000);
      expect(await failed.getByTestId('toast-action').textContent()).toBe('Try again');
      const latest = (await http(session.stack.api, 'GET', '/api/v1/healing/reviews?job_id=idea-hunter&limit=1')).body.reviews[0];
      expect(latest.status).toBe('failed');
    } finally {
      session.stack.analyzer.mode = 'rules';
      delete process.env.FAKE_OPENCLAW_MODE;
    }
  });
});

describe('modals', () => {
  test('Tab and Shift+Tab stay inside an open modal', async () => {
    const page = await open('#/jobs');
    await page.getByTestId('edit-nightly-backup').click();
    const modal = page.getByTestId('job-modal');
    await modal.getByTestId('f-min-runs').waitFor();
    const inside = () => page.evaluate(() => Boolean(document.activeElement?.closest('[data-testid=job-modal]')));
    for (let i = 0; i < 45; i++) {
      await page.keyboard.press('Tab');
      expect(await inside(), `after ${i + 1} Tab`).toBe(true);
    }
    for (let i = 0; i < 45; i++) {
      await page.keyboard.press('Shift+Tab');
      expect(await inside(), `after ${i + 1} Shift+Tab`).toBe(true);
    }
    // focus cannot be put behind the modal either
    await page.evaluate(() => document.querySelector<HTMLElement>('[data-testid=tab-reviews]')?.focus());
    expect(await inside()).toBe(true);
  });

  test('with an unsaved job edit, Esc, a click outside and ✕ ask before discarding; Keep editing keeps the text', async () => {
    const file = path.join(session.stack.jobsDir, 'nightly-backup.yaml');
    const before = await readFile(file, 'utf8');
    const page = await open('#/jobs');
    await page.getByTestId('edit-nightly-backup').click();
    const modal = page.getByTestId('job-modal');
    const minRuns = modal.getByTestId('f-min-runs');
    await minRuns.fill('7');

    await page.keyboard.press('Escape');
    await modal.getByTestId('discard-confirm').waitFor();
    expect(await minRuns.inputValue()).toBe('7');
    await page.keyboard.press('Escape'); // a second Esc keeps editing
    await modal.getByTestId('discard-confirm').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('f-min-runs');

    await page.mouse.click(4, 4); // the backdrop
    await modal.getByTestId('discard-confirm').waitFor();
    await modal.getByTestId('keep-editing').click();
    expect(await minRuns.inputValue()).toBe('7');

    await modal.getByRole('button', { name: 'Close (Esc)' }).click();
    await modal.getByTestId('discard').click();
    await modal.waitFor({ state: 'detached' });
    expect(await readFile(file, 'utf8')).toBe(before);

    // nothing typed: Esc closes at once
    await page.getByTestId('edit-nightly-backup').click();
    await modal.getByTestId('f-min-runs').waitFor();
    await page.keyboard.press('Escape');
    await modal.waitFor({ state: 'detached' });
  });

  test('a rejection reason typed in is not lost to a click outside', async () => {
    const page = await open('#/suggestions?status=pending');
    const card = cards(page).filter({ has: page.getByTestId('reject') }).first();
    await card.getByTestId('reject').click();
    const modal = page.getByTestId('suggestion-modal');
    const reason = modal.getByTestId('reject-reason');
    await reason.fill('Not for this job: it runs on a spare host.');
    await page.mouse.click(4, 4);
    await modal.getByTestId('discard-confirm').waitFor();
    await modal.getByTestId('keep-editing').click();
    expect(await reason.inputValue()).toBe('Not for this job: it runs on a spare host.');
  });

  test('the modal body scrolls between the header and the footer: nothing of it hides under the footer, on a desktop and a phone', async () => {
    const critical = (await http(session.stack.api, 'GET', '/api/v1/healing/suggestions?severity=critical&limit=1')).body.suggestions[0];
    for (const viewport of [{ width: 1280, height: 600 }, { width: 390, height: 700 }]) {
      const page = await open(`#/suggestions/${critical.id}`, { viewport });
      const modal = page.getByTestId('suggestion-modal');
      const body = modal.getByTestId('modal-body');
      const foot = modal.getByTestId('modal-foot');
      await waitForText(modal, critical.title);
      await foot.waitFor();
      expect(await body.evaluate((el) => el.scrollHeight > el.clientHeight), 'the body is longer than the screen').toBe(true);
      for (const at of ['top', 'bottom'] as const) {
        await body.evaluate((el, where) => (el.scrollTop = where === 'top' ? 0 : el.scrollHeight), at);
        const b = (await body.boundingBox())!;
        const f = (await foot.boundingBox())!;
        expect(b.y + b.height, `${viewport.width} px, scrolled to the ${at}: the body ends where the footer begins`).toBeLessThanOrEqual(f.y + 0.5);
        expect(f.y + f.height, 'the footer is on screen').toBeLessThanOrEqual(viewport.height + 0.5);
      }
      // at the bottom, the last thing in the body is wholly in view, above the footer
      const last = await body.evaluate((el) => {
        const box = el.getBoundingClientRect();
        const children = [...el.querySelectorAll('*')].filter((c) => c.getBoundingClientRect().height > 0);
        const r = children[children.length - 1]!.getBoundingClientRect();
        return { bottom: r.bottom, limit: box.bottom };
      });
      expect(last.bottom).toBeLessThanOrEqual(last.limit + 0.5);
    }
  });
});

describe('errors a person can act on', () => {
  test('a status in the link that is not a status resets the filter with a note, and the list shows', async () => {
    const page = await open('#/suggestions?status=bogus');
    await waitForText(page.getByTestId('filter-note'), /^Status “bogus” in the link is not one of the choices \(pending, approved, .*rolled back.*\); showing every status instead\./);
    await eventually(async () => ((await cards(page).count()) > 0) || undefined, 15_000, 'cards');
    expect(await page.evaluate(() => location.hash)).toBe('#/suggestions');
    expect(await page.getByTestId('state-error').count()).toBe(0);
    expect(await page.getByTestId('filter-status').inputValue()).toBe('');
  });

  test("a proxy's HTML 500 page reads as the service's error with a retry, and the retry loads the list", async () => {
    const nginx = '<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n';
    let failing = true;
    const page = await open('#/suggestions', {
      setup: (p) =>
        p.route(/\/api\/v1\/healing\/suggestions\?/, (route) => (failing ? route.fulfill({ status: 500, contentType: 'text/html', body: nginx }) : route.continue())),
    });
    const error = page.getByTestId('state-error');
    const text = await waitForText(error, 'the service answered with an error (HTTP 500');
    expect(text).toContain('retry');
    expect(text).not.toMatch(/<|nginx|center/);
    failing = false;
    await error.getByRole('button', { name: 'Try again' }).click();
    await eventually(async () => ((await cards(page).count()) > 0) || undefined, 15_000, 'cards after the retry');
  });

  test('a job form with four mistakes names all four in one round, and sends nothing', async () => {
    const file = path.join(session.stack.jobsDir, 'nightly-backup.yaml');
    const before = await readFile(file, 'utf8');
    let puts = 0;
    const page = await open('#/jobs', { setup: (p) => p.route(/\/self-healing$/, (route) => (puts++, route.continue())) });
    await page.getByTestId('edit-nightly-backup').click();
    const modal = page.getByTestId('job-modal');
    await modal.getByTestId('f-time').fill('25:00');
    await modal.getByTestId('f-min-runs').fill('-1');
    await modal.getByTestId('f-lookback').fill('0');
    await modal.getByTestId('f-timezone').fill('Mars/Olympus');
    await modal.getByTestId('save-job').click();
    await waitForText(modal.getByTestId('save-error'), 'Not saved: fix the 4 fields marked below.');
    const shown = await modal.locator('small.field-error').allTextContents();
    expect(shown).toEqual(['must be HH:MM (24-hour), e.g. "03:00"', 'must be 0 or more', 'must be 1 or more', 'unknown IANA time zone, e.g. "Europe/Berlin"']);
    expect(puts).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(before);
    await modal.getByRole('button', { name: 'Cancel' }).click(); // Cancel drops the edit without asking
    await modal.waitFor({ state: 'detached' });
  });
});

describe('the job form and notifications', () => {
  test('notifications on without a target warn; a test notification goes to the target being edited, before saving', async () => {
    const file = path.join(session.stack.jobsDir, 'report-sync.yaml');
    const before = await readFile(file, 'utf8');
    const page = await open('#/jobs');
    await page.getByTestId('edit-report-sync').click();
    const modal = page.getByTestId('job-modal');
    await waitForText(modal.getByTestId('notify-target-warning'), "Notifications are on, but no target is set: a review's notification would go nowhere.");
    expect(await modal.getByTestId('notify-test').isDisabled()).toBe(true);

    await modal.getByTestId('f-notify-on').uncheck();
    await modal.getByTestId('notify-target-warning').waitFor({ state: 'detached' });
    await modal.getByTestId('f-notify-on').check();
    await modal.getByTestId('f-notify-channel').fill('webhook');
    await modal.getByTestId('f-notify-target').fill(`${hookUrl}/from-the-form`);
    await modal.getByTestId('notify-target-warning').waitFor({ state: 'detached' });
    await modal.getByTestId('notify-test').click();
    await waitForText(modal.getByTestId('notify-test-result'), `Sent to webhook ${hookUrl}/from-the-form: check that it arrived.`);
    expect(hookCalls.find((c) => c.path === '/from-the-form')?.body).toMatchObject({ test: true, job_id: 'report-sync' });
    expect(await readFile(file, 'utf8')).toBe(before); // tested, not saved
  });
});

describe('tabs', () => {
  test('screen readers hear each tab by its name (and the pending count); the key hints show only as key caps on pointing', async () => {
    const pending = await suggestionCount('pending');
    const page = await open();
    await page.getByRole('tab', { name: `Suggestions, ${pending} pending`, exact: true }).waitFor();
    for (const name of ['Reviews', 'Actions', 'Jobs', 'Stats']) {
      expect(await page.getByRole('tab', { name, exact: true }).count(), name).toBe(1);
    }
    const jobs = page.getByRole('tab', { name: 'Jobs', exact: true });
    expect(await jobs.getAttribute('aria-keyshortcuts')).toBe('4');
    const key = page.getByTestId('tab-key-jobs');
    expect(await key.getAttribute('aria-hidden')).toBe('true');
    await page.mouse.move(640, 880);
    expect(await key.evaluate((el) => getComputedStyle(el).opacity)).toBe('0');
    await jobs.hover();
    await eventually(async () => (await key.evaluate((el) => getComputedStyle(el).opacity)) === '1' || undefined, 3000, 'the key cap on hover');
    expect(await key.evaluate((el) => getComputedStyle(el).borderBottomWidth)).toBe('2px');
  });
});

describe('contrast', () => {
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`every visible text is 4.5:1 or more against its background, ${colorScheme}`, async () => {
      const offenders: string[] = [];
      const check = async (page: Page, where: string) => {
        for (const o of await contrastOffenders(page)) offenders.push(`${where}: "${o.text}" ${o.ratio}:1 (${o.color} on ${o.background}) at ${o.where}`);
      };
      const idle = (page: Page) => page.waitForFunction(() => !document.querySelector('[aria-busy=true], [data-testid=state-loading]'), undefined, { timeout: 15_000 });
      const page = await open('', { colorScheme });
      for (const tab of ['suggestions', 'reviews', 'actions', 'jobs', 'stats']) {
        await page.getByTestId(`tab-${tab}`).click();
        await page.mouse.move(1, 600); // off the tab bar: its key caps fade out
        await idle(page);
        await page.waitForTimeout(400);
        await check(page, tab);
      }
      const critical = (await http(session.stack.api, 'GET', '/api/v1/healing/suggestions?severity=critical&limit=1')).body.suggestions[0];
      await page.goto(`${session.stack.api}/#/suggestions/${critical.id}`);
      await waitForText(page.getByTestId('suggestion-modal'), critical.title);
      await page.waitForTimeout(300);
      await check(page, 'suggestion modal');
      await page.goto(`${session.stack.api}/#/jobs/report-sync`);
      await page.getByTestId('job-modal').getByTestId('f-min-runs').waitFor();
      await check(page, 'job modal');
      expect(offenders).toEqual([]);
    });
  }
});

describe('on a phone', () => {
  test('the Reviews tab shows Run review now once per job, and a review takes a few lines', async () => {
    const page = await open('#/reviews', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const reviews = page.locator('[data-testid=review-list] article');
    await eventually(async () => ((await reviews.count()) >= 6) || undefined, 15_000, 'the reviews');
    const jobs = new Set(await reviews.locator('strong.mono').allTextContents());
    const buttons = await page.locator('[data-testid=review-list] [data-testid^=run-review-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    expect(buttons.sort()).toEqual([...jobs].map((j) => `run-review-${j}`).sort());
    const heights = await reviews.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    // before: about 240 px each on average (the counts two to a row, a button on each), 25 to a page: 5,000 px
    expect(heights.reduce((a, b) => a + b, 0) / heights.length).toBeLessThan(200);
  });
});

describe('refresh', () => {
  test('a refresh keeps the cards on screen while it loads, and when it fails, says so above them', async () => {
    let mode: 'pass' | 'slow' | 'down' = 'pass';
    const page = await open('#/suggestions', {
      setup: (p) =>
        p.route(/\/api\/v1\/healing\/suggestions\?/, async (route) => {
          if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 2500));
          if (mode === 'down') return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ success: false, error: 'Postgres is unreachable', detail: null }) });
          return route.continue();
        }),
    });
    await eventually(async () => ((await cards(page).count()) > 0) || undefined, 15_000, 'cards');
    const before = await cards(page).count();
    // the cards that were there, counted on every change of the page while it refreshes
    await page.evaluate(() => {
      (window as unknown as { fewest: number }).fewest = Infinity;
      new MutationObserver(() => {
        const w = window as unknown as { fewest: number };
        w.fewest = Math.min(w.fewest, document.querySelectorAll('[data-testid=suggestion-list] article').length);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    mode = 'slow';
    await page.keyboard.press('r');
    await page.locator('[data-testid=state-list][aria-busy=true]').waitFor({ timeout: 5000 });
    expect(await cards(page).count()).toBe(before);
    await page.locator('[data-testid=state-list][aria-busy=false]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { fewest: number }).fewest)).toBe(before);

    mode = 'down';
    await page.keyboard.press('r');
    const stale = page.getByTestId('state-error');
    await waitForText(stale, /Could not refresh this list.*these rows are from the last load\. Postgres is unreachable/);
    expect(await cards(page).count()).toBe(before);
    mode = 'pass';
    await stale.getByRole('button', { name: 'Try again' }).click();
    await stale.waitFor({ state: 'detached' });
    expect(await cards(page).count()).toBe(before);
  });
});
