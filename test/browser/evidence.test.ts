// Evidence on every suggestion, in a real browser against the demo stack: a suggestion opened from
// its card shows the runs it cites (each opens the run's detail), the log lines it quotes with
// their line numbers, the file lines and SLA figures, the analyzer's dropped citations, and what
// the review could not see as a visible warning. The demo's report-sync has 12 runs with logs:
// its review reads 5 of them, and says so on every suggestion.
import { describe, expect, test } from 'vitest';
import { http } from '../helpers/stack.js';
import { browserSession, demoLookups, startDemoStack, waitForText } from './support.js';

const session = browserSession(() => startDemoStack(['nightly-backup', 'report-sync']));
const { open } = session;
const { suggestionId, getSuggestion } = demoLookups(session);

describe('the evidence of a suggestion', () => {
  test('when a suggestion cites runs and log lines, its modal shows each run with its external id, opens a run\'s detail on a click, shows the quoted lines with their line numbers, and warns of the logs the review did not read', async () => {
    const id = suggestionId('report-sync:Retry transient failures');
    const stored = await getSuggestion(id);
    expect(stored.evidence.runs.length).toBeGreaterThan(0);
    expect(stored.evidence.log_lines.length).toBeGreaterThan(0);
    const [run] = stored.evidence.runs;
    const [range] = stored.evidence.log_lines;

    const page = await open('#/suggestions?job_id=report-sync');
    await page.getByTestId(`suggestion-${id}`).getByTestId('view').click();
    const modal = page.getByTestId('suggestion-modal');
    const evidence = modal.getByTestId('evidence');
    await waitForText(evidence.getByTestId(`evidence-run-${run.id}`), `#${run.id}${run.external_id}`);

    // the first quoted range: its line number next to the line as the review read it
    const excerpt = evidence.getByTestId('evidence-log-0');
    await waitForText(excerpt, `run #${range.run_id}`);
    expect(await excerpt.locator('.line').first().textContent()).toBe(`${range.from}${range.lines[0]}`);
    expect(await excerpt.locator('.no').first().textContent()).toBe(String(range.from));

    await evidence.getByTestId(`evidence-run-${run.id}`).click();
    const detail = evidence.getByTestId('run-detail');
    await waitForText(detail, `#${run.id} · ${run.external_id}`);
    await waitForText(detail, /Exit code\s*1/);

    const warning = modal.getByTestId('missing-context');
    expect(await warning.getAttribute('role')).toBe('alert');
    await waitForText(warning, 'Made without part of the context.');
    await waitForText(warning, 'the logs of 7 more run(s) were not read: a review reads the logs of 5 runs');
    expect(await warning.isVisible()).toBe(true);
  });

  test('when the analyzer cited runs or lines it was never sent, the modal counts the dropped citations next to the evidence that was kept', async () => {
    const id = suggestionId('nightly-backup:Retry transient failures');
    // As an openclaw review stores an answer with two such citations (test/evidence.test.ts makes one for real).
    await session.stack.db('healing_suggestions').where({ id }).update({ evidence: session.stack.db.raw("jsonb_set(evidence, '{dropped_citations}', '2')") });
    const answer = await http(session.stack.api, 'GET', `/api/v1/healing/suggestions/${id}`);
    expect(answer.body.evidence.dropped_citations).toBe(2);

    const page = await open(`#/suggestions/${id}`);
    const modal = page.getByTestId('suggestion-modal');
    await waitForText(modal.getByTestId('dropped-citations'), '2 citations by the analyzer named runs, lines or files the review never sent it');
    expect(await modal.getByTestId('evidence').getByTestId('evidence-log-0').count()).toBe(1);
  });
});
