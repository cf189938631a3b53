import { describe, expect, it } from 'vitest';
import { checkShrink, checkWriteTarget, fnmatchRegExp, forbiddenReason, normaliseTarget, sharedCodeReason } from '../../core/path-guard.js';

const JOB = '/srv/jobs/backup';
const OWN = [`${JOB}/job.yaml`, `${JOB}/backup.sh`, `${JOB}/prompt.md`];
const HOME = '/home/ops';

describe('checkWriteTarget', () => {
  it('allows exactly one of the job files', () => {
    expect(checkWriteTarget({ target: `${JOB}/backup.sh`, allowed: OWN })).toEqual({ ok: true });
  });

  it('refuses a file next to the job files that is not one of them', () => {
    const r = checkWriteTarget({ target: `${JOB}/other.sh`, allowed: OWN });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain("not one of the job's own files");
  });

  it.each([
    ['/etc/passwd', 'system folder'],
    ['/usr/local/bin/backup', 'system folder'],
    ['/bin/sh', 'system folder'],
    ['/sbin/init', 'system folder'],
    ['/boot/grub/grub.cfg', 'system folder'],
    ['/dev/sda', 'system folder'],
    ['/proc/self/mem', 'system folder'],
    ['/sys/kernel/x', 'system folder'],
    ['/var/lib/postgresql/data/pg_hba.conf', 'system folder'],
    [`${HOME}/.ssh/authorized_keys`, '.ssh'],
    [`${HOME}/.gnupg/pubring.kbx`, '.gnupg'],
    [`${HOME}/.aws/credentials`, '.aws'],
    [`${JOB}/.git/hooks/pre-commit`, '.git'],
    [`${JOB}/.env`, '.env'],
    [`${JOB}/.env.production`, '.env'],
    [`${HOME}/.bashrc`, 'login'],
  ])('refuses %s even when the job lists it', (target, reason) => {
    const r = checkWriteTarget({ target, allowed: [...OWN, target], home: HOME });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });

  it('refuses relative paths, NUL bytes and paths that are not normalised', () => {
    for (const target of ['job.yaml', `${JOB}/job.yaml\u0000`, `${JOB}/../backup/job.yaml`, `${JOB}//job.yaml`, `${JOB}/./job.yaml`]) {
      expect(checkWriteTarget({ target, allowed: [...OWN, target] }).ok).toBe(false);
    }
  });

  it('does not mistake a folder that merely starts like a system one for it', () => {
    const target = '/etcetera/jobs/job.yaml';
    expect(checkWriteTarget({ target, allowed: [target] })).toEqual({ ok: true });
  });
});

describe('checkShrink', () => {
  const original = 'x'.repeat(1000);

  it('refuses a rewrite to less than half of a non-trivial file', () => {
    const r = checkShrink(original, 'x'.repeat(499));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('less than half');
  });

  it('allows a rewrite that keeps half or more', () => {
    expect(checkShrink(original, 'x'.repeat(500))).toEqual({ ok: true });
    expect(checkShrink(original, 'x'.repeat(2000))).toEqual({ ok: true });
  });

  it('allows any rewrite of a small file', () => {
    expect(checkShrink('name: a\ncmd: b\n', 'x')).toEqual({ ok: true });
  });

  it('counts bytes, not characters', () => {
    // 300 bytes in 150 characters: 140 ASCII bytes is less than half of it.
    expect(checkShrink('é'.repeat(150), 'a'.repeat(140)).ok).toBe(false);
  });
});

describe('normaliseTarget', () => {
  it('resolves a relative target inside the job folder', () => {
    expect(normaliseTarget('job.yaml', JOB)).toBe(`${JOB}/job.yaml`);
    expect(normaliseTarget('./scripts/run.sh', JOB)).toBe(`${JOB}/scripts/run.sh`);
    expect(normaliseTarget(`${JOB}/job.yaml`, `${JOB}/`)).toBe(`${JOB}/job.yaml`);
  });

  it('returns null for targets that escape or smuggle', () => {
    for (const raw of ['../other/job.yaml', 'a/../../etc/passwd', '..\\..\\etc\\passwd', '~/.ssh/id_rsa', '~root/x', 'job.yaml\u0000.png', '/etc/passwd', '', '   ', '.']) {
      expect(normaliseTarget(raw, JOB), raw).toBeNull();
    }
  });

  it('returns null when the job folder itself is relative', () => {
    expect(normaliseTarget('job.yaml', 'jobs/backup')).toBeNull();
  });
});

describe('fnmatchRegExp (ProcClaw\'s forbidden_paths matching)', () => {
  it.each([
    ['*.py', '/a/b/c.py', true],
    ['/a/*', '/a/b/c', true],
    ['/a/?', '/a/bc', false],
    ['[!a]b', 'cb', true],
    ['[!a]b', 'ab', false],
    ['a[]]b', 'a]b', true],
    ['a[b', 'a[b', true],
    ['a.b', 'axb', false],
    ['(x)+', '(x)+', true],
  ])('%s against %s: %s', (pattern, path, expected) => {
    expect(fnmatchRegExp(pattern).test(path)).toBe(expected);
  });
});

describe('shared code', () => {
  it('is never written but stays readable for a review (forbiddenReason says nothing)', () => {
    for (const file of [`${HOME}/.procclaw/scripts/oc-runner.py`, '/opt/homebrew/lib/node_modules/openclaw/dist/x.js', '/srv/projects/procclaw/src/a.py']) {
      expect(sharedCodeReason(file)).toEqual(expect.any(String));
      expect(forbiddenReason(file, HOME)).toBeNull();
    }
    expect(sharedCodeReason('/srv/projects/procclaw')).toBeNull(); // the folder itself is no file
    expect(sharedCodeReason(`${HOME}/.procclaw/scripts/runner.py`)).toBeNull();
  });

  it('OpenClaw\'s config and credentials are forbidden outright; its workspace is not', () => {
    expect(forbiddenReason(`${HOME}/.openclaw/openclaw.json`, HOME)).toMatch(/model keys/);
    expect(forbiddenReason(`${HOME}/.openclaw/credentials/x.json`, HOME)).toMatch(/credentials/);
    expect(forbiddenReason(`${HOME}/.openclaw/workspace/openclaw.json`, HOME)).toBeNull();
  });
});
