// The dashboard in a real browser (Debian's chromium through playwright-core) against the real
// API, Postgres, Temporal and worker, on the demo workspace with real reviews. Each test checks
// what the page shows, and what changed on disk or in the database.
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { eventually, http } from '../helpers/stack.js';
import { createSuggestion } from '../helpers/suggestions.js';
import { browserSession, demoLookups, insertSuggestions, startDemoStack, waitForText } from './support.js';

const session = browserSession(() => startDemoStack());
const { open } = session;

const { suggestionId, getSuggestion, jobFile } = demoLookups(session);

describe('overview', () => {
  test('the cards count suggestions by state, the pending count is in the title and tab, and a card click filters the list', async () => {
    const pending = (await http(session.stack.api, 'GET', '/api/v1/healing/suggestions/pending/count')).body.count as number;
    expect(pending).toBeGreaterThan(0);
    const page = await open();
    await waitForText(page.getByTestId('overview-pending-count'), String(pending));
    await eventually(async () => (await page.title()).startsWith(`(${pending}) `) || undefined, 10_000, 'the pending count in the title');
    expect(await page.getByTestId('tab-pending-badge').textContent()).toBe(String(pending));

    await page.getByTestId('overview-pending').click();
    await eventually(async () => (await page.evaluate(() => location.hash)).includes('status=pending') || undefined, 5000, 'the status filter in the URL');
    await waitForText(page.getByTestId('page-range'), `of ${pending}`);
    const statuses = await page.locator('[data-testid=suggestion-list] article').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['pending']));
    expect(await page.getByTestId('filter-status').inputValue()).toBe('pending');
  });

  test('every suggestion and review links to its workflow in the Temporal UI', async () => {
    const id = suggestionId('nightly-backup:Run duration near or over the SLA limit');
    const page = await open();
    const link = page.getByTestId(`suggestion-${id}`).getByTestId('temporal-link');
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(`http://temporal-ui.test/namespaces/${session.stack.env.namespace ?? 'default'}/workflows/healing-suggestion%2F${id}`);

    await page.getByTestId('tab-reviews').click();
    const firstReview = page.locator('[data-testid=review-list] article').first();
    const reviewLink = firstReview.getByTestId('temporal-link');
    await reviewLink.waitFor();
    // the exact run: every review of a job shares its workflow id
    const reviewId = Number((await firstReview.getAttribute('data-testid'))!.replace('review-', ''));
    const review = (await http(session.stack.api, 'GET', `/api/v1/healing/reviews/${reviewId}`)).body;
    expect(await reviewLink.getAttribute('href')).toBe(
      `http://temporal-ui.test/namespaces/${session.stack.env.namespace ?? 'default'}/workflows/${encodeURIComponent(review.workflow_id)}/${review.workflow_run_id}/history`,
    );
  });
});

describe('reviews and stats', () => {
  test('the Reviews tab shows each review with its counts, and its suggestions open from it', async () => {
    const page = await open('#/reviews?job_id=report-sync');
    const review = page.locator('[data-testid=review-list] article').first();
    await waitForText(review, 'report-sync');
    expect(await review.getAttribute('data-status')).toBe('completed');
    const text = await review.textContent();
    expect(text).toMatch(/Runs\s*12/);
    expect(text).toMatch(/Suggestions\s*[1-9]/);
    expect(text).toContain('rules');
    await review.getByRole('button', { name: /suggestions?$/ }).click();
    await review.getByText('Retry transient failures').click();
    await waitForText(page.getByTestId('suggestion-modal'), 'Retry transient failures');
  });

  test('the Stats tab shows the metrics and the category and severity charts', async () => {
    const stats = (await http(session.stack.api, 'GET', '/api/v1/healing/stats')).body;
    const page = await open('#/stats');
    const acceptance = page.getByTestId('metric-acceptance');
    await acceptance.waitFor();
    if (stats?.suggestions) {
      // the API has stats: real figures, not "not available"
      await waitForText(acceptance, /%|-/);
      expect(await acceptance.textContent()).not.toContain('not available');
    } else {
      await page.getByTestId('stats-unavailable').waitFor();
    }
    const categories = await page.getByTestId('chart-category').locator('li').allTextContents();
    expect(categories).toHaveLength(7);
    const severities = await page.getByTestId('chart-severity').locator('li').allTextContents();
    expect(severities.map((t) => t.split(/\d/)[0]!.trim().toLowerCase())).toEqual(['critical', 'high', 'medium', 'low']);
    const total = (await http(session.stack.api, 'GET', '/api/v1/healing/suggestions?limit=1')).body.total as number;
    const counted = categories.reduce((n, t) => n + Number(/(\d+) ·/.exec(t)?.[1] ?? 0), 0);
    expect(counted).toBe(total);
  });
});

describe('decisions', () => {
  test('Approve & Apply in the suggestion modal shows the real diff and changes the job file; Rollback in the action modal restores it', async () => {
    const id = suggestionId('nightly-backup:Retry transient failures');
    const file = jobFile('nightly-backup.yaml');
    const before = await readFile(file, 'utf8');
    expect(before).not.toMatch(/^retry:/m);

    const page = await open();
    await page.getByTestId(`suggestion-${id}`).getByTestId('view').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal.getByTestId('diff'), 'max_attempts: 3');
    // side by side at 1280 px: the proposed column holds the new lines
    expect(await modal.getByTestId('diff').getAttribute('data-layout')).toBe('split');
    expect(await modal.locator('td.code.add').count()).toBeGreaterThan(0);

    await modal.getByTestId('modal-approve').click();
    await waitForText(modal.getByTestId('decision'), /Applied/, 30_000);

    const after = await readFile(file, 'utf8');
    expect(after).toMatch(/^retry:\n {2}enabled: true\n {2}max_attempts: 3/m);
    expect(after).toContain('# Nightly backup of the app database'); // comments kept
    expect((await getSuggestion(id)).status).toBe('applied');
    await waitForText(page.getByTestId('overview-applied-count'), /[1-9]/);

    // from the suggestion to its action, and back
    await modal.getByTestId('open-action').click();
    const actionModal = page.getByTestId('action-modal');
    await waitForText(actionModal.getByTestId('action-file'), 'nightly-backup.yaml');
    await waitForText(actionModal.getByTestId('action-verification'), 'verified: job schema');
    await waitForText(actionModal.getByTestId('diff'), 'max_attempts: 3');
    await actionModal.getByTestId('rollback').click();
    await actionModal.getByTestId('confirm-rollback').click();
    await waitForText(actionModal.getByTestId('action-status'), 'rolled back', 30_000);

    expect(await readFile(file, 'utf8')).toBe(before);
    expect((await getSuggestion(id)).status).toBe('rolled_back');
  });

  test('Reject asks for a reason and the reason is stored', async () => {
    const id = suggestionId('idea-hunter:Prompt is longer than it needs to be');
    const page = await open();
    await page.getByTestId(`suggestion-${id}`).getByTestId('reject').click();
    const modal = page.getByTestId('suggestion-modal');
    const reason = modal.getByTestId('reject-reason');
    await reason.waitFor();

    // no reason: refused in the page, nothing sent
    await modal.getByTestId('confirm-reject').click();
    await waitForText(modal.locator('[role=alert]'), /Say why/);
    expect((await getSuggestion(id)).status).toBe('pending');

    await reason.fill('The long prompt is deliberate: the feeds need the full style guide.');
    await modal.getByTestId('confirm-reject').click();
    await waitForText(modal.getByTestId('rejection-reason'), 'deliberate');

    const stored = await getSuggestion(id);
    expect(stored.status).toBe('rejected');
    expect(stored.rejection_reason).toBe('The long prompt is deliberate: the feeds need the full style guide.');
  });

  test('a rollback refused because the file changed since shows what changed, and Force rollback restores it', async () => {
    const id = suggestionId('report-sync:Retry transient failures');
    const file = jobFile('report-sync.yaml');
    const original = await readFile(file, 'utf8');
    const approved = await http(session.stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
    expect(approved.body, JSON.stringify(approved.body)).toMatchObject({ success: true, status: 'applied' });
    await writeFile(file, `${await readFile(file, 'utf8')}# hotfix made by hand after the apply\n`);

    const page = await open('#/actions');
    await page.getByTestId(`action-${approved.body.action_id}`).click();
    const modal = page.getByTestId('action-modal');
    await modal.getByTestId('rollback').click();
    await modal.getByTestId('confirm-rollback').click();
    const conflict = modal.getByTestId('rollback-conflict');
    await waitForText(conflict, 'hotfix made by hand', 30_000);
    expect(await readFile(file, 'utf8')).toContain('hotfix made by hand'); // nothing overwritten yet

    await modal.getByTestId('force-rollback').click();
    await waitForText(modal.getByTestId('action-status'), 'rolled back', 30_000);
    expect(await readFile(file, 'utf8')).toBe(original);
  });

  test('Approve from a card, confirmed in its modal, of a suggestion whose new file the AI must write shows it applying while the AI works, then applied', async () => {
    const file = jobFile('healthy-cleanup.yaml');
    const before = await readFile(file, 'utf8');
    const id = await createSuggestion(session.stack, { jobId: 'healthy-cleanup', targetFile: file, proposed: null, suggestedChange: 'Mark the file as reviewed.' });
    session.stack.analyzer.mode = 'openclaw'; // the fake openclaw CLI, slow enough to watch
    process.env.FAKE_OPENCLAW_DELAY_MS = '6000';
    try {
      const page = await open();
      const card = page.getByTestId(`suggestion-${id}`);
      await card.getByTestId('approve').click(); // opens the suggestion with its confirm button
      await page.getByTestId('suggestion-modal').getByTestId('modal-approve').click();
      await waitForText(card.getByTestId('applying'), 'Applying: asking the AI for the new file');
      expect(await readFile(file, 'utf8')).toBe(before);
      // the list follows the apply by itself until it ends
      await eventually(async () => (await card.getAttribute('data-status')) === 'applied', 60_000, 'the card to show applied');
      expect(await card.getByTestId('applying').count()).toBe(0);
      expect(await readFile(file, 'utf8')).toBe(`${before}# reviewed by fake openclaw\n`);
    } finally {
      session.stack.analyzer.mode = 'rules';
      delete process.env.FAKE_OPENCLAW_DELAY_MS;
    }
  });
});

describe('jobs', () => {
  test('the Jobs modal edits the self_healing block: the YAML and the review schedule change, comments stay, field errors show', async () => {
    const file = jobFile('idea-hunter.yaml');
    const page = await open('#/jobs');
    await page.getByTestId('edit-idea-hunter').click();
    let modal = page.getByTestId('job-modal');
    await modal.getByTestId('f-frequency').selectOption('monthly');
    await modal.getByTestId('f-day-of-month').fill('15');
    await modal.getByTestId('f-time').fill('04:30');
    await modal.getByTestId('f-auto-apply').check();
    await modal.getByTestId('save-job').click();
    await modal.waitFor({ state: 'detached', timeout: 20_000 });

    const text = await readFile(file, 'utf8');
    const config = parseYaml(text);
    expect(config.self_healing.review_schedule).toMatchObject({ frequency: 'monthly', day_of_month: 15, time: '04:30', min_runs: 2 });
    expect(config.self_healing.suggestions.auto_apply).toBe(true);
    expect(text.startsWith('# An OpenClaw job: reads feeds and writes a digest.')).toBe(true);
    expect(config.prompt_file).toBe('prompts/idea-hunter.md');
    await waitForText(page.getByTestId('job-idea-hunter').getByTestId('job-frequency'), 'monthly on day 15 at 04:30');

    // the edit reached the job's Temporal schedule: the next review is the 15th at 04:30 (UTC)
    const next = await eventually(async () => (await http(session.stack.api, 'GET', '/api/v1/jobs/idea-hunter')).body.next_review_at as string | null, 20_000, 'the schedule');
    const at = new Date(next);
    expect([at.getUTCDate(), at.getUTCHours(), at.getUTCMinutes()]).toEqual([15, 4, 30]);
    await eventually(
      async () => {
        await page.keyboard.press('r');
        const cell = page.getByTestId('job-idea-hunter').getByTestId('job-next-review');
        return /^in /.test((await cell.textContent({ timeout: 2000 }))?.trim() ?? '') || undefined;
      },
      30_000,
      'the next review in the Jobs tab',
    );

    // an invalid value: the API's field error is shown under the field, the file is untouched
    await page.getByTestId('edit-idea-hunter').click();
    modal = page.getByTestId('job-modal');
    await modal.getByTestId('f-min-runs').fill('-1');
    await modal.getByTestId('save-job').click();
    await waitForText(modal.getByTestId('error-min-runs'), /\S/);
    await waitForText(modal.getByTestId('save-error'), /Not saved/);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  test('Run review now starts a review of that job and says how it ended', async () => {
    const before = (await http(session.stack.api, 'GET', '/api/v1/healing/reviews?job_id=healthy-cleanup')).body.total as number;
    const page = await open('#/jobs');
    await page.getByTestId('run-review-healthy-cleanup').click();
    // the start toast gives way to the outcome's (test/browser/first-look.test.ts covers each outcome)
    await waitForText(page.getByTestId('toast').filter({ hasText: /^Review #\d+ of healthy-cleanup/ }), /^Review #\d+ of healthy-cleanup (completed|was skipped)/, 30_000);
    await eventually(
      async () => ((await http(session.stack.api, 'GET', '/api/v1/healing/reviews?job_id=healthy-cleanup')).body.total as number) > before || undefined,
      20_000,
      'a new review of healthy-cleanup',
    );
  });
});

describe('untrusted text', () => {
  test('a suggestion whose text holds <script>, onerror images or javascript: links runs nothing', async () => {
    const description = [
      'Hello **bold** analysis.',
      '<script>window.__pwned = "script"; alert("script")</script>',
      '<img src=x onerror="window.__pwned = \'img\'; alert(\'img\')">',
      '[click me](javascript:window.__pwned=\'link\';alert(1))',
      '![pic](javascript:alert(2))',
      '<a href="javascript:window.__pwned=\'a\'">raw link</a>',
      '<svg onload="window.__pwned=\'svg\'"></svg><iframe src="javascript:window.__pwned=\'iframe\'"></iframe>',
      '<details open ontoggle="window.__pwned=\'details\'">x</details>',
    ].join('\n\n');
    const [id] = await insertSuggestions(session.stack, [
      { job_id: 'report-sync', title: '<img src=x onerror="window.__pwned=\'title\'"> Title with markup', description, severity: 'high', category: 'security' },
    ]);

    const dialogs: string[] = [];
    const page = await open('#/suggestions?job_id=report-sync');
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const card = page.getByTestId(`suggestion-${id}`);
    await waitForText(card, 'Title with markup'); // the title is text, markup and all
    await card.getByTestId('view').click();
    const body = page.getByTestId('suggestion-modal').getByTestId('description');
    await waitForText(body, 'bold analysis');

    expect(await body.locator('strong').first().textContent()).toBe('bold'); // markdown still renders
    // no active element, no event handler attribute, no javascript: URL anywhere in the page
    const unsafe = await page.evaluate(() =>
      [...document.querySelectorAll('*')].flatMap((el) => {
        const found: string[] = [];
        if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED'].includes(el.tagName) && !(el as HTMLScriptElement).src?.includes('/assets/')) found.push(el.tagName);
        if (el.closest('[data-testid=description]') && ['SVG', 'svg', 'DETAILS'].includes(el.tagName)) found.push(el.tagName);
        for (const attr of el.getAttributeNames()) {
          const value = el.getAttribute(attr) ?? '';
          if (/^on/i.test(attr)) found.push(`${el.tagName} ${attr}`);
          if (/^\s*javascript:/i.test(value)) found.push(`${el.tagName} ${attr}=${value}`);
        }
        return found;
      }),
    );
    expect(unsafe).toEqual([]);
    expect(await body.textContent()).toContain('<script>'); // shown as text, not run
    await body.getByText('click me').click();
    await page.waitForTimeout(300);

    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(page.url()).toContain(session.stack.api);
  });
});

describe('filters and pagination', () => {
  test('pages through a job\'s suggestions and filters by job, severity and trigger', async () => {
    const severities = ['low', 'medium', 'high', 'critical'];
    const now = Date.now();
    await insertSuggestions(
      session.stack,
      Array.from({ length: 30 }, (_, i) => ({
        job_id: 'deploy-hook',
        title: `Cleanup improvement ${String(i).padStart(2, '0')}`,
        severity: severities[i % 4],
        created_at: new Date(now - i * 60_000),
      })),
    );

    const page = await open('#/suggestions?job_id=deploy-hook&limit=10&sort=newest');
    await waitForText(page.getByTestId('page-range'), '1–10 of 30');
    const titles = () => page.locator('[data-testid=suggestion-list] h3').allTextContents();
    expect(await titles()).toEqual(Array.from({ length: 10 }, (_, i) => `Cleanup improvement ${String(i).padStart(2, '0')}`));

    await page.getByTestId('page-next').click();
    await waitForText(page.getByTestId('page-range'), '11–20 of 30');
    await eventually(async () => ((await titles())[0] === 'Cleanup improvement 10') || undefined, 5000, 'the second page');
    await page.getByTestId('page-next').click();
    await waitForText(page.getByTestId('page-range'), '21–30 of 30');
    expect(await page.getByTestId('page-next').isDisabled()).toBe(true);
    await page.getByTestId('page-prev').click();
    await waitForText(page.getByTestId('page-range'), '11–20 of 30');

    // a filter goes back to the first page and narrows the total
    await page.getByTestId('filter-severity').selectOption('critical');
    await waitForText(page.getByTestId('page-range'), '1–7 of 7');
    const classes = await page.locator('[data-testid=suggestion-list] article').evaluateAll((cards) => cards.map((c) => c.className));
    expect(classes).toHaveLength(7);
    for (const c of classes) expect(c).toContain('sev-critical');
    const hash = await page.evaluate(() => location.hash);
    expect(hash).toContain('severity=critical');
    expect(hash).not.toContain('offset=');

    // the job filter lists the jobs with healing enabled
    const jobOptions = await page.getByTestId('filter-job_id').locator('option').allTextContents();
    expect(jobOptions).toEqual(expect.arrayContaining(['Job: deploy-hook', 'Job: healthy-cleanup', 'Job: idea-hunter', 'Job: nightly-backup', 'Job: report-sync']));
    await page.getByTestId('filter-severity').selectOption('');
    await page.getByTestId('filter-job_id').selectOption('idea-hunter');
    await eventually(
      async () => {
        const jobs = await page.locator('[data-testid=suggestion-list] article .job').allTextContents();
        return jobs.length > 0 && jobs.every((j) => j === 'idea-hunter') ? jobs : undefined;
      },
      10_000,
      'only idea-hunter suggestions',
    );

    // a trigger nothing came from: the empty state, not a blank page
    await page.getByTestId('filter-trigger').selectOption('on_sla_breach');
    await waitForText(page.getByTestId('state-empty'), 'No suggestion matches these filters');
  });
});

describe('page behaviour', () => {
  test('keys: 1-5 switch tabs, / focuses the search, Esc closes a modal, r refreshes', async () => {
    const page = await open();
    await page.locator('[data-testid=suggestion-list] article').first().waitFor();
    await page.keyboard.press('2');
    expect(await page.getByTestId('tab-reviews').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('5');
    await page.getByTestId('stats-tab').waitFor();
    await page.keyboard.press('1');
    await page.locator('[data-testid=suggestion-list] article').first().waitFor();

    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-search'))).toBe(true);
    await page.keyboard.type('2'); // typing in the search does not switch tabs
    expect(await page.getByTestId('tab-suggestions').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Escape');
    await page.getByTestId('search').fill('');

    await page.locator('[data-testid=suggestion-list] article').first().getByTestId('view').click();
    await page.getByTestId('suggestion-modal').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('suggestion-modal').waitFor({ state: 'detached' });

    const reload = page.waitForRequest((r) => r.url().includes('/api/v1/healing/suggestions?'), { timeout: 5000 });
    await page.keyboard.press('r');
    await reload;
  });

  test('dark mode follows the system and the toggle overrides it, remembered across reloads', async () => {
    const page = await open('', { colorScheme: 'dark' });
    await page.getByTestId('theme-toggle').waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByTestId('theme-toggle').click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.reload();
    await page.getByTestId('theme-toggle').waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
  });

  test('at 390 px wide every tab and a modal fit the screen', async () => {
    const page = await open('', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    for (const tab of ['suggestions', 'reviews', 'actions', 'jobs', 'stats']) {
      await page.getByTestId(`tab-${tab}`).click();
      await page.getByTestId(`${tab}-tab`).waitFor();
      await page.waitForTimeout(300);
      expect(await overflow(), `horizontal overflow on ${tab}`).toBeLessThanOrEqual(0);
    }
    await page.getByTestId('tab-suggestions').click();
    await page.locator('[data-testid=suggestion-list] article [data-testid=view]').first().click();
    await page.getByTestId('suggestion-modal').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
  });

  test('when the API cannot be reached, a banner says so instead of a blank page', async () => {
    const page = await open('', {
      setup: async (p) => {
        await p.route(/\/(api\/v1\/|health)/, (route) => route.abort('connectionrefused'));
      },
    });
    await waitForText(page.getByTestId('banner-api-down'), 'cannot be reached');
    expect(await page.getByRole('heading', { name: 'ProcClaw Healing' }).isVisible()).toBe(true);
    await page.getByTestId('state-error').waitFor();
  });

  test('when OpenClaw is unavailable the page says the rules analyzer is active, and a missing worker is called out', async () => {
    const page = await open('', {
      setup: async (p) => {
        await p.route(/\/health$/, async (route) => {
          const response = await route.fetch();
          const body = await response.json();
          body.analyzer = { active: 'rules', openclaw: { available: false, version: null, problem: 'openclaw is not on PATH' } };
          body.status = 'degraded';
          body.worker = { ok: false, task_queues: {} };
          await route.fulfill({ response, status: 503, json: body });
        });
      },
    });
    await waitForText(page.getByTestId('banner-rules'), 'openclaw is not on PATH');
    expect(await page.getByTestId('banner-rules').textContent()).toContain('Rules analyzer active');
    await waitForText(page.getByTestId('banner-degraded'), 'No worker is polling');
    await waitForText(page.getByTestId('health-pill'), 'Degraded');
    await page.locator('[data-testid=suggestion-list] article').first().waitFor(); // the lists still load
  });

  test('an API that answers 401 gets a bearer token asked once, kept for the tab and sent on every request', async () => {
    const seen: (string | undefined)[] = [];
    const page = await open('', {
      setup: async (p) => {
        await p.route(/\/(api\/v1\/|health)/, async (route) => {
          const auth = route.request().headers().authorization;
          seen.push(auth);
          if (auth !== 'Bearer s3cret-token') {
            await route.fulfill({ status: 401, json: { success: false, error: 'a bearer token is required', detail: null } });
          } else {
            await route.continue();
          }
        });
      },
    });
    const dialog = page.getByTestId('token-dialog');
    await dialog.waitFor();
    await page.getByTestId('token-input').fill('s3cret-token');
    await page.getByTestId('token-input').press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await page.locator('[data-testid=suggestion-list] article').first().waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('healing-api-token'))).toBe('s3cret-token');

    seen.length = 0;
    await page.reload();
    await page.locator('[data-testid=suggestion-list] article').first().waitFor();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((h) => h === 'Bearer s3cret-token')).toBe(true);
    expect(await dialog.count()).toBe(0);
  });

  test("before a token is entered, /health's answer to a caller without one (reachability only, no analyzer) shows Healthy, with no script error", async () => {
    const page = await open('', {
      setup: (p) =>
        p.route(/\/health$/, (route) => route.fulfill({ status: 200, json: { status: 'ok', postgres: { ok: true }, temporal: { ok: true }, worker: { ok: true } } })),
    });
    await waitForText(page.locator('header'), /Healthy(?! ·)/);
  });
});
