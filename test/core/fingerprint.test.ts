import { describe, expect, it } from 'vitest';
import { countBand, evidenceFingerprint, magnitudeBand, normaliseTitle, percentBand, suggestionFingerprint } from '../../core/fingerprint.js';

describe('normaliseTitle', () => {
  it('lowercases and strips digits, punctuation and extra spaces', () => {
    expect(normaliseTitle('  Retry 3 transient   failures (runs #12, #15)!  ')).toBe('retry transient failures runs');
  });

  it('keeps letters of other scripts', () => {
    expect(normaliseTitle('Réessayer les échecs')).toBe('réessayer les échecs');
  });
});

describe('suggestionFingerprint', () => {
  const base = { category: 'reliability', target_file: '/srv/jobs/backup/job.yaml', title: 'Retry transient failures' };

  it('is the same for titles that differ only in case, numbers and punctuation', () => {
    expect(suggestionFingerprint('backup', base)).toBe(suggestionFingerprint('backup', { ...base, title: 'retry 5 transient failures.' }));
  });

  it('differs by job, category, target file and wording', () => {
    const fp = suggestionFingerprint('backup', base);
    expect(suggestionFingerprint('other', base)).not.toBe(fp);
    expect(suggestionFingerprint('backup', { ...base, category: 'config' })).not.toBe(fp);
    expect(suggestionFingerprint('backup', { ...base, target_file: null })).not.toBe(fp);
    expect(suggestionFingerprint('backup', { ...base, title: 'Retry all failures' })).not.toBe(fp);
  });

  it('is a sha256 hex digest', () => {
    expect(suggestionFingerprint('backup', base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('evidence bands', () => {
  it('counts: small counts as they are, then bands that widen, so one more failure among many is the same evidence', () => {
    expect([0, 1, 2, 3, 4, 5, 9, 10, 19, 20, 49, 50, 1000, 5000].map(countBand)).toEqual(['0', '1', '2', '3-4', '3-4', '5-9', '5-9', '10-19', '10-19', '20-49', '20-49', '50-99', '1000+', '1000+']);
  });

  it('percentages: 10-point bands, 100% on its own, 300%+ above', () => {
    expect([0, 9.9, 10, 85, 99.9, 100, 100.1, 250, 300, 900].map(percentBand)).toEqual(['0-9%', '0-9%', '10-19%', '80-89%', '90-99%', '100%', '100-109%', '250-259%', '300%+', '300%+']);
  });

  it('magnitudes: a p95 a few seconds longer is the same band, twice as long is not', () => {
    expect(magnitudeBand(620_000)).toBe(magnitudeBand(640_000));
    expect(magnitudeBand(1_280_000)).not.toBe(magnitudeBand(640_000));
    expect(magnitudeBand(0)).toBe('0');
  });

  it('the evidence fingerprint ignores key order, changes with any figure, and is null without figures', () => {
    const fp = evidenceFingerprint({ failures: '3-4', kinds: 'connection refused' });
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(evidenceFingerprint({ kinds: 'connection refused', failures: '3-4' })).toBe(fp);
    expect(evidenceFingerprint({ failures: '5-9', kinds: 'connection refused' })).not.toBe(fp);
    expect(evidenceFingerprint(null)).toBeNull();
    expect(evidenceFingerprint({})).toBeNull();
  });
});
