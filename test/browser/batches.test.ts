// Bulk decisions in the dashboard (issue 19), in a real browser against the real stack (an open
// API): tick cards, or select all that match the filter; the dialog shows how many will be decided
// (and how many are skipped, their state not taking it) before anything is sent, a rejection asks
// one reason; then the batch's progress is followed to the end, refused items with their reasons.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { eventually, http, startStack } from '../helpers/stack.js';
import { createSuggestion, etlJobYaml } from '../helpers/suggestions.js';
import { browserSession, ensureWebBuilt, waitForText } from './support.js';

const session = browserSession(async () => {
  const stack = await startStack({ webDist: await ensureWebBuilt() });
  await mkdir(stack.jobsDir, { recursive: true });
  return stack;
});

const JOB_YAML = etlJobYaml();
const PROPOSED = JOB_YAML.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:');

async function suggestionFor(jobId: string, title: string) {
  const file = path.join(session.stack.jobsDir, `${jobId}.yaml`);
  await writeFile(file, JOB_YAML);
  return { id: await createSuggestion(session.stack, { jobId, targetFile: file, proposed: PROPOSED, title }), file };
}

describe('bulk decisions', () => {
  test('ticked cards are approved after a confirmation that shows the count; the progress ends with each result, the refused one with its reason', async () => {
    const a = await suggestionFor('ui-bulk-a', 'uibulk tighten the timeout');
    const b = await suggestionFor('ui-bulk-b', 'uibulk retry the upload');
    const rejected = await suggestionFor('ui-bulk-c', 'uibulk already rejected');
    expect((await http(session.stack.api, 'POST', `/api/v1/healing/suggestions/${rejected.id}/reject`, { reason: 'no' })).status).toBe(200);

    const page = await session.open('#/suggestions?q=uibulk');
    for (const s of [a, b, rejected]) await page.getByTestId(`suggestion-${s.id}`).getByTestId('select').check();
    await waitForText(page.getByTestId('selected-count'), '3 selected');
    expect(await readFile(a.file, 'utf8')).toBe(JOB_YAML);

    await page.getByTestId('batch-approve').click();
    const dialog = page.getByTestId('batch-dialog');
    // the rejected one is not counted as one that will be approved: it is told apart as skipped
    await waitForText(dialog.getByTestId('batch-confirm-count'), /^\s*2 suggestions will be approved \(and applied\)\./);
    await waitForText(dialog.getByTestId('batch-skipped'), '1 skipped: 1 whose state does not allow it.');
    expect(await readFile(a.file, 'utf8')).toBe(JOB_YAML); // nothing sent before the confirmation
    await dialog.getByTestId('batch-confirm').click();

    const progress = dialog.getByTestId('batch-progress');
    await eventually(async () => (await progress.getAttribute('data-status')) === 'finished' || undefined, 60_000, 'the batch to finish');
    await waitForText(dialog.getByTestId('batch-summary'), 'Done: 3 of 3');
    await waitForText(dialog.getByTestId('count-decided'), '2 decided');
    await waitForText(dialog.getByTestId('count-refused'), '1 refused');
    expect(await progress.getByTestId(`batch-item-${rejected.id}`).getAttribute('data-outcome')).toBe('refused');
    await waitForText(progress.getByTestId(`batch-item-${rejected.id}`), /rejected and no longer takes commands/);
    expect(await progress.getByTestId(`batch-item-${a.id}`).getAttribute('data-outcome')).toBe('decided');
    await waitForText(progress.getByTestId(`batch-item-${a.id}`), 'now applied');
    expect(await readFile(a.file, 'utf8')).toBe(PROPOSED);
    expect(await readFile(b.file, 'utf8')).toBe(PROPOSED);
    await dialog.getByTestId('batch-close').click();
    await eventually(async () => (await page.getByTestId(`suggestion-${a.id}`).getAttribute('data-status')) === 'applied' || undefined, 10_000, 'the card to show applied');
  });

  test('an approval that waits for the job\'s apply window shows when it applies, not a run', async () => {
    const opens = (new Date().getUTCHours() + 6) % 24;
    const hours = `${String(opens).padStart(2, '0')}:00-${String((opens + 1) % 24).padStart(2, '0')}:00`;
    const yaml = etlJobYaml(`  suggestions:\n    two_person_rule: false\n  apply_window:\n    hours: ["${hours}"]\n`).replace('type: scheduled\n', 'type: scheduled\ntimezone: UTC\n');
    const file = path.join(session.stack.jobsDir, 'ui-bulk-window.yaml');
    await writeFile(file, yaml);
    const id = await createSuggestion(session.stack, { jobId: 'ui-bulk-window', targetFile: file, proposed: yaml.replace('self_healing:', 'retry:\n  enabled: true\nself_healing:'), title: 'uiwindow later' });

    const page = await session.open('#/suggestions?q=uiwindow');
    await page.getByTestId(`suggestion-${id}`).getByTestId('select').check();
    await page.getByTestId('batch-approve').click();
    const dialog = page.getByTestId('batch-dialog');
    await waitForText(dialog.getByTestId('batch-confirm-count'), /^\s*1 suggestion will be approved/);
    await dialog.getByTestId('batch-confirm').click();
    const item = dialog.getByTestId(`batch-item-${id}`);
    await eventually(async () => (await dialog.getByTestId('batch-progress').getAttribute('data-status')) === 'finished' || undefined, 60_000, 'the batch to finish');
    await waitForText(item.getByTestId('applies-at'), /^applies at \S/);
    await waitForText(item, /when the job's apply window opens/);
    expect(await item.textContent()).not.toMatch(/run to end/);
    expect(await readFile(file, 'utf8')).toBe(yaml);
  });

  test('"select all N matching this filter" rejects every match (beyond the page shown) with the one reason asked', async () => {
    const made = [];
    for (let i = 0; i < 12; i++) made.push(await suggestionFor(`ui-all-${i}`, `uiall finding ${i}`));
    const page = await session.open('#/suggestions?q=uiall&limit=10');
    await page.getByTestId(`suggestion-${made[11]!.id}`).getByTestId('select').check();
    await page.getByTestId('select-all-matching').click();
    await waitForText(page.getByTestId('selected-count'), '12 selected');

    await page.getByTestId('batch-reject').click();
    const dialog = page.getByTestId('batch-dialog');
    await waitForText(dialog.getByTestId('batch-confirm-count'), /^\s*12 suggestions will be rejected\./);
    await dialog.getByTestId('batch-confirm').click();
    await waitForText(dialog.getByTestId('batch-problem'), 'one reason for all');
    await dialog.getByTestId('batch-reason').fill('these jobs are being retired');
    await dialog.getByTestId('batch-confirm').click();

    await eventually(async () => (await dialog.getByTestId('batch-progress').getAttribute('data-status')) === 'finished' || undefined, 60_000, 'the batch to finish');
    await waitForText(dialog.getByTestId('count-decided'), '12 decided');
    const rows = await session.stack.db('healing_suggestions').whereIn('id', made.map((s) => s.id)).select('status', 'rejection_reason');
    expect(rows).toEqual(made.map(() => ({ status: 'rejected', rejection_reason: 'these jobs are being retired' })));
  });
});
