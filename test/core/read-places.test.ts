import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { checkInPlaces, jobReadPlaces, parseLogRoots, tooBroad, usablePlaces } from '../../core/read-places.js';

const HOME = '/home/ops';
const ENV = { home: HOME, procclawHome: `${HOME}/.procclaw` };
const job = (cwd?: string, file = '/srv/jobs/backup/backup.yaml') => ({ id: 'backup', file, config: { cwd } });

describe('jobReadPlaces', () => {
  it('lists the cwd (resolved from the YAML folder or ~), the YAML folder, ProcClaw logs, healing run logs and the operator roots', () => {
    const places = jobReadPlaces(job('./scripts'), { ...ENV, dataDir: '/var/healing', logRoots: ['/data/logs'] });
    expect(places.map((p) => p.dir)).toEqual([
      '/srv/jobs/backup/scripts',
      '/srv/jobs/backup',
      `${HOME}/.procclaw/logs`,
      '/var/healing/runs/backup',
      '/data/logs',
    ]);
    expect(jobReadPlaces(job('~/work'), ENV)[0]).toEqual({ dir: `${HOME}/work`, what: 'its cwd' });
  });

  it('without a cwd the job runs in its YAML folder, which is listed once', () => {
    expect(usablePlaces(jobReadPlaces(job(), ENV), HOME).map((p) => p.dir)).toEqual(['/srv/jobs/backup', `${HOME}/.procclaw/logs`]);
  });
});

describe('usablePlaces', () => {
  it('drops "/" and the home folder itself (too broad) but keeps folders below them', () => {
    const places = jobReadPlaces(job('~', `${HOME}/jobs.yaml`), { ...ENV, logRoots: ['/'] });
    expect(usablePlaces(places, HOME).map((p) => p.dir)).toEqual([`${HOME}/.procclaw/logs`]);
    expect(usablePlaces(jobReadPlaces(job('/'), ENV), HOME).map((p) => p.dir)).toEqual(['/srv/jobs/backup', `${HOME}/.procclaw/logs`]);
  });

  it.each([
    ['/', true],
    [HOME, true],
    [`${HOME}/`, true],
    [`${HOME}/.procclaw`, false],
    ['/srv', false],
  ])('tooBroad(%s) is %s', (dir, broad) => {
    expect(tooBroad(dir, HOME)).toBe(broad);
  });
});

describe('checkInPlaces', () => {
  const places = usablePlaces(jobReadPlaces(job('./scripts'), ENV), HOME);

  it('accepts a file inside a place and names the place', () => {
    expect(checkInPlaces('/srv/jobs/backup/scripts/run.log', places)).toEqual({ ok: true, place: { dir: '/srv/jobs/backup/scripts', what: 'its cwd' } });
    expect(checkInPlaces(`${HOME}/.procclaw/logs/backup.log`, places)).toMatchObject({ ok: true, place: { what: 'the ProcClaw logs folder' } });
  });

  it('refuses a file outside every place, a sibling folder sharing a prefix, and the place folder itself', () => {
    for (const file of ['/etc/shadow', '/root/secret.txt', '/srv/jobs/backup-other/x.log', '/srv/jobs/backup', `${HOME}/.bash_history`]) {
      const verdict = checkInPlaces(file, places);
      expect(verdict.ok, file).toBe(false);
      expect(!verdict.ok && verdict.reason, file).toMatch(/^resolves \(through symlinks\) to a place outside the job's folders; a log must lie inside one of: \/srv\/jobs\/backup\/scripts \(its cwd\), /);
    }
  });

  it('refuses a path that is relative or not normalised', () => {
    expect(checkInPlaces('logs/run.log', places)).toEqual({ ok: false, reason: 'must be an absolute path without "..", "." or "//"' });
    expect(checkInPlaces('/srv/jobs/backup/scripts/../../../etc/passwd', places)).toEqual({ ok: false, reason: 'must be an absolute path without "..", "." or "//"' });
  });
});

describe('parseLogRoots (HEALING_LOG_ROOTS)', () => {
  it('reads absolute folders separated by ":", ignoring empty entries and repeats', () => {
    expect(parseLogRoots('/var/log/jobs::/data/logs/:/var/log/jobs', HOME)).toEqual({ roots: ['/var/log/jobs', '/data/logs'] });
    expect(parseLogRoots(undefined, HOME)).toEqual({ roots: [] });
  });

  it('refuses a relative folder, "/" and the home folder, naming the entry', () => {
    expect(parseLogRoots('/data:logs', HOME)).toEqual({ problem: '"logs" is not an absolute folder (list absolute folders separated by ":")' });
    expect(parseLogRoots('/', HOME)).toMatchObject({ problem: expect.stringMatching(/^"\/" is too broad/) });
    expect(parseLogRoots(`${HOME}/`, HOME)).toMatchObject({ problem: expect.stringMatching(/^"\/home\/ops\/" is too broad/) });
  });
});

describe('HEALING_LOG_ROOTS in the service configuration', () => {
  it('is read into logRoots; a bad entry stops start-up with a message naming the variable', () => {
    expect(loadConfig({ HEALING_LOG_ROOTS: '/var/log/jobs:/data/logs' }, '/srv', HOME).logRoots).toEqual(['/var/log/jobs', '/data/logs']);
    expect(loadConfig({}, '/srv', HOME).logRoots).toEqual([]);
    expect(() => loadConfig({ HEALING_LOG_ROOTS: 'logs' }, '/srv', HOME)).toThrow(
      'invalid configuration:\n  HEALING_LOG_ROOTS: "logs" is not an absolute folder (list absolute folders separated by ":")',
    );
    expect(() => loadConfig({ HEALING_LOG_ROOTS: HOME }, '/srv', HOME)).toThrow(/HEALING_LOG_ROOTS: "\/home\/ops" is too broad/);
  });
});
