import { describe, expect, it } from 'vitest';
import { normaliseTitle, suggestionFingerprint } from '../../core/fingerprint.js';

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
