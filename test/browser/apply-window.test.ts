// An apply waiting for its job's apply window, in a real browser (an open API: the one loopback
// user is an admin): the card and the suggestion say when it applies and why, and "Apply now…"
// asks before it writes, then applies and says who did it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { eventually, http, startStack } from '../helpers/stack.js';
import { createSuggestion, etlJobYaml } from '../helpers/suggestions.js';
import { browserSession, ensureWebBuilt, waitForText } from './support.js';

const session = browserSession(async () => startStack({ webDist: await ensureWebBuilt() }));

describe('an apply waiting for the apply window', () => {
  test('the card shows "applies at" with the window; the modal\'s "Apply now…" confirms, then applies and says who', async () => {
    const { stack } = session;
    const later = Date.now() + 3 * 3_600_000;
    const hours = `${new Date(later).toISOString().slice(11, 16)}-${new Date(later + 3_600_000).toISOString().slice(11, 16)}`;
    const yaml = etlJobYaml(`  suggestions:\n    two_person_rule: false\n  apply_window:\n    hours: ["${hours}"]\n`).replace('type: scheduled\n', 'type: scheduled\ntimezone: UTC\n');
    await mkdir(stack.jobsDir, { recursive: true });
    const file = path.join(stack.jobsDir, 'etl-window.yaml');
    await writeFile(file, yaml);
    const proposed = yaml.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:');
    const id = await createSuggestion(stack, { jobId: 'etl-window', targetFile: file, proposed, title: 'Retry the ETL' });
    expect((await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {})).body).toMatchObject({ applying: 'window' });

    const page = await open();
    const card = page.getByTestId(`suggestion-${id}`);
    await waitForText(card.getByTestId('applies-at'), `(outside the job's apply window (${hours} (UTC), self_healing.apply_window))`);
    expect(await card.getByTestId('applying').textContent()).toContain('Applies at');

    await card.getByTestId('view').click();
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal.getByTestId('applies-at'), /^applies at .+\(outside the job's apply window/);
    await modal.getByTestId('apply-now').click();
    expect(await readFile(file, 'utf8')).toBe(yaml); // asked first, nothing sent
    await modal.getByTestId('confirm-apply-now').click();
    await waitForText(modal.getByTestId('decision'), /Applied .*outside the apply window: human said "apply now"/);
    expect(await readFile(file, 'utf8')).toBe(proposed);
    await eventually(async () => (await card.getAttribute('data-status')) === 'applied' || undefined, 10_000, 'the card to show applied');
  });
});

const open = (hash = '#/suggestions?job_id=etl-window') => session.open(hash);
