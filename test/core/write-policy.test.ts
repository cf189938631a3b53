// The write policy on its own: shared code, the job's forbidden_paths and allowed_actions, files
// other jobs use, and a shared jobs.yaml whose other entries must stay as they are.
import { describe, expect, it } from 'vitest';
import { ALLOWING, changedOutsideEntry, writeRefusal, type FileRole, type OtherJobFile, type WritePolicyInput } from '../../core/write-policy.js';

const HOME = '/home/ops';
const JOBS = `${HOME}/.procclaw/jobs`;

function input(over: Partial<WritePolicyInput> = {}): WritePolicyInput {
  const path = over.path ?? `${JOBS}/etl.sh`;
  return { job_id: 'etl', role: 'script', path, real: over.real ?? path, home: HOME, remediation: undefined, others: [], ...over };
}

describe('ProcClaw\'s built-in forbidden list (HEALING_FORBIDDEN_PATHS_ALWAYS) is covered', () => {
  // Each pattern of ProcClaw's list (src/procclaw/models.py), with a file it covers.
  it.each([
    ['~/.openclaw/workspace/projects/procclaw/', `${HOME}/.openclaw/workspace/projects/procclaw/src/procclaw/cli.py`],
    ['**/projects/procclaw/**', '/srv/code/projects/procclaw/README.md'],
    ['**/node_modules/openclaw/**', `${HOME}/app/node_modules/openclaw/dist/index.js`],
    ['/opt/homebrew/lib/node_modules/openclaw/', '/opt/homebrew/lib/node_modules/openclaw/scripts/run.sh'],
    ['/usr/local/lib/node_modules/openclaw/', '/usr/local/lib/node_modules/openclaw/scripts/run.sh'],
    ['~/.procclaw/scripts/oc-runner*.py', `${HOME}/.procclaw/scripts/oc-runner-v2.py`],
    ['~/.procclaw/scripts/oc-runner.py', `${HOME}/.procclaw/scripts/oc-runner.py`],
    ['~/.procclaw/scripts/oc-runner-v3.py', `${HOME}/.procclaw/scripts/oc-runner-v3.py`],
    ['~/.ssh/', `${HOME}/.ssh/config`],
    ['~/.gnupg/', `${HOME}/.gnupg/gpg.conf`],
    ['~/.openclaw/openclaw.json', `${HOME}/.openclaw/openclaw.json`],
    ['/etc/', '/etc/crontab'],
    ['/usr/', '/usr/bin/python3'],
    ['/bin/', '/bin/bash'],
    ['/sbin/', '/sbin/reboot'],
  ])('%s: %s is refused even as the job\'s own script', (_pattern, file) => {
    expect(writeRefusal(input({ path: file }))).toEqual(expect.any(String));
  });

  it('refuses any node_modules folder, OpenClaw\'s credentials and an agent\'s auth profiles, but not OpenClaw\'s workspace', () => {
    expect(writeRefusal(input({ path: '/srv/app/node_modules/left-pad/index.js' }))).toMatch(/node_modules holds installed packages/);
    expect(writeRefusal(input({ path: `${HOME}/.openclaw/credentials/whatsapp.json` }))).toMatch(/credentials/);
    expect(writeRefusal(input({ path: `${HOME}/.openclaw-work/agents/main/agent/auth-profiles.json` }))).toMatch(/auth-profiles.json holds credentials/);
    expect(writeRefusal(input({ path: `${HOME}/.openclaw/workspace/scripts/etl.sh` }))).toBeNull();
  });

  it('refuses a symlink whose real path is shared code, and one named as shared code that resolves elsewhere', () => {
    expect(writeRefusal(input({ path: `${JOBS}/etl.sh`, real: `${HOME}/.procclaw/scripts/oc-runner.py` }))).toMatch(/oc-runner scripts/);
    expect(writeRefusal(input({ path: '/srv/app/node_modules/tool/run.sh', real: `${JOBS}/run.sh` }))).toMatch(/node_modules/);
  });
});

describe('the job\'s own forbidden_paths', () => {
  const refusedBy = (patterns: string[], path: string, real = path) => writeRefusal(input({ path, real, remediation: { forbidden_paths: patterns } }));

  it('refuses a file a ~ glob matches, naming the pattern as the job wrote it', () => {
    expect(refusedBy(['~/.procclaw/jobs/*.sh'], `${JOBS}/etl.sh`)).toBe('it matches "~/.procclaw/jobs/*.sh" in the job\'s self_healing.remediation.forbidden_paths');
  });

  it('takes "*" across folders as fnmatch does, and a trailing "/" as the whole folder', () => {
    expect(refusedBy(['~/*.sh'], `${JOBS}/etl.sh`)).toMatch(/forbidden_paths/);
    expect(refusedBy(['~/.procclaw/'], `${JOBS}/etl.sh`)).toMatch(/"~\/.procclaw\/"/);
    expect(refusedBy(['~/.procclaw/jobs/'], `${HOME}/.procclaw/jobs-old/etl.sh`)).toBeNull();
  });

  it('matches a relative pattern at the end of the path, and [!..] and ? as fnmatch does', () => {
    expect(refusedBy(['jobs/etl.sh'], `${JOBS}/etl.sh`)).toMatch(/"jobs\/etl.sh"/);
    expect(refusedBy(['*.pem'], `${JOBS}/etl.sh`)).toBeNull();
    expect(refusedBy(['/home/ops/.procclaw/jobs/et?.[!x]h'], `${JOBS}/etl.sh`)).toMatch(/forbidden_paths/);
    expect(refusedBy(['/home/ops/.procclaw/jobs/et?.[!s]h'], `${JOBS}/etl.sh`)).toBeNull();
  });

  it('reads "./", "//" and ".." in a pattern as the place they name', () => {
    expect(refusedBy(['./jobs/etl.sh'], `${JOBS}/etl.sh`)).toBe('it matches "./jobs/etl.sh" in the job\'s self_healing.remediation.forbidden_paths');
    expect(refusedBy(['/home/ops/.procclaw//jobs/etl.sh'], `${JOBS}/etl.sh`)).toMatch(/forbidden_paths/);
    expect(refusedBy(['/home/ops/.procclaw/jobs/../jobs/etl.sh'], `${JOBS}/etl.sh`)).toMatch(/forbidden_paths/);
    expect(refusedBy(['~/.procclaw/./jobs/'], `${JOBS}/etl.sh`)).toMatch(/forbidden_paths/);
    expect(refusedBy(['../elsewhere.sh'], `${JOBS}/etl.sh`)).toBeNull();
  });

  it('checks the path as the job names it and as it resolves', () => {
    expect(refusedBy(['/data/private/'], `${JOBS}/etl.sh`, '/data/private/etl.sh')).toMatch(/"\/data\/private\/"/);
    expect(refusedBy(['/data/private/'], '/data/private/etl.sh', `${JOBS}/etl.sh`)).toMatch(/"\/data\/private\/"/);
  });
});

describe('allowed_actions', () => {
  const roles: FileRole[] = ['config', 'script', 'prompt'];

  it('without allowed_actions every edit of the job\'s own files is allowed, as before', () => {
    for (const role of roles) expect(writeRefusal(input({ role }))).toBeNull();
    for (const role of roles) expect(writeRefusal(input({ role, remediation: { forbidden_paths: [] } }))).toBeNull();
  });

  it('[restart_job] refuses a script edit and says which action it needs', () => {
    expect(writeRefusal(input({ remediation: { allowed_actions: ['restart_job'] } }))).toBe(
      "the job's self_healing.remediation.allowed_actions is [restart_job]; this script edit (edit_script) needs edit_script or edit_file there",
    );
  });

  it('an empty list allows no edit', () => {
    for (const role of roles) expect(writeRefusal(input({ role, remediation: { allowed_actions: [] } }))).toMatch(/allowed_actions is \[\]/);
  });

  // Every name against every role: the map is the documented one and nothing else allows.
  const names = ['restart_job', 'edit_script', 'edit_prompt', 'edit_config', 'edit_file', 'modify_config', 'modify_env', 'run_command', 'analyze_only', 'edit_openclaw_cron', 'restart_service'];
  const expected: Record<FileRole, string[]> = {
    script: ['edit_script', 'edit_file'],
    prompt: ['edit_script', 'edit_prompt', 'edit_file'],
    config: ['edit_config', 'modify_config'],
  };
  for (const role of roles) {
    it(`a ${role} edit is allowed by exactly ${expected[role].join(', ')}`, () => {
      const allowing = names.filter((name) => writeRefusal(input({ role, remediation: { allowed_actions: [name] } })) === null);
      expect(allowing.sort()).toEqual([...expected[role]].sort());
      expect([...ALLOWING[role === 'config' ? 'edit_config' : role === 'script' ? 'edit_script' : 'edit_prompt']].sort()).toEqual([...expected[role]].sort());
    });
  }
});

describe('files other jobs use', () => {
  const runner = `${HOME}/.procclaw/scripts/team-runner.py`;
  const others = (...rows: [string, FileRole, string][]): OtherJobFile[] => rows.map(([job_id, role, file]) => ({ job_id, role, file }));

  it('refuses a script another job runs too, naming that job and how it uses the file', () => {
    expect(writeRefusal(input({ path: runner, others: others(['digest', 'script', runner], ['digest', 'config', `${JOBS}/digest.yaml`]) }))).toBe(
      'the file is also used by job "digest" (its script (its cmd runs it)); a file other jobs use is not this job\'s own to change',
    );
  });

  it('refuses this job\'s prompt when it is another job\'s prompt, and names at most five jobs', () => {
    const prompt = `${HOME}/.procclaw/prompts/shared.md`;
    const many = others(...Array.from({ length: 7 }, (_, i) => [`oc-${i}`, 'prompt', prompt] as [string, FileRole, string]));
    const reason = writeRefusal(input({ role: 'prompt', path: prompt, others: many }));
    expect(reason).toMatch(/^the file is also used by job "oc-0" \(its prompt\), .*job "oc-4" \(its prompt\) and 2 more job\(s\);/);
    expect(reason).not.toContain('"oc-5"');
  });

  it('allows the job\'s own file that no other job uses', () => {
    expect(writeRefusal(input({ path: `${JOBS}/etl.sh`, others: others(['digest', 'script', runner]) }))).toBeNull();
  });

  describe('a jobs.yaml other jobs are defined in', () => {
    const file = `${HOME}/.procclaw/jobs.yaml`;
    const current = 'jobs:\n  etl:\n    name: ETL\n    cmd: ./etl.sh\n  digest:\n    name: Digest\n    cmd: ./digest.sh\n';
    const shared = (proposed: string | null) =>
      writeRefusal(input({ role: 'config', path: file, others: others(['digest', 'config', file]), config_change: { current, proposed } }));

    it('allows an edit of this job\'s entry only, formatting and comments aside', () => {
      expect(shared(current.replace('name: ETL', 'name: ETL\n    retry:\n      max_attempts: 3').replace('jobs:', '# edited\njobs:'))).toBeNull();
    });

    it('refuses an edit that changes another job\'s entry, naming it', () => {
      expect(shared(current.replace('name: Digest', 'name: Digest v2'))).toBe(
        `${file} also defines job "digest", and the proposed file changes the entry of job "digest"; only this job's entry may change`,
      );
    });

    it('refuses an edit that adds or removes a job, or changes a top-level key', () => {
      expect(shared(`${current}  extra:\n    name: X\n    cmd: x\n`)).toMatch(/changes the entry of job "extra"/);
      expect(shared('jobs:\n  etl:\n    name: ETL\n    cmd: ./etl.sh\n')).toMatch(/changes the entry of job "digest"/);
      expect(shared(`_version: 2\n${current}`)).toMatch(/changes its top-level "_version"/);
    });

    it('waits for the content when it is not written yet, and refuses one that does not parse', () => {
      expect(shared(null)).toBeNull();
      expect(shared('jobs: [\n')).toMatch(/a file that does not parse as YAML/);
    });

    it('refuses the jobs.yaml when another job also runs it as its script', () => {
      expect(writeRefusal(input({ role: 'config', path: file, others: others(['odd', 'script', file]), config_change: { current, proposed: current } }))).toMatch(/used by job "odd"/);
    });
  });

  it('changedOutsideEntry says nothing changed for the same document written differently', () => {
    expect(changedOutsideEntry('jobs: {a: {cmd: x}, b: {cmd: y}}\n', 'jobs:\n  b:\n    cmd: y\n  a:\n    cmd: z\n', 'a')).toBeNull();
  });
});

describe('an edit of the job\'s own guards', () => {
  const yaml = 'name: ETL\ncmd: ./etl.sh\nself_healing:\n  enabled: true\n  remediation:\n    allowed_actions: [edit_config]\n  suggestions:\n    auto_apply: false\n';
  const change = (proposed: string, current = yaml, path = `${JOBS}/etl.yaml`) =>
    writeRefusal(input({ role: 'config', path, remediation: { allowed_actions: ['edit_config'] }, config_change: { current, proposed } }));

  it('refuses a config edit that widens allowed_actions, drops forbidden_paths or turns auto-apply on', () => {
    expect(change(yaml.replace('[edit_config]', '[edit_config, edit_script]'))).toBe(
      "it changes the job's own self_healing.remediation, the rules its suggestions are held to; change those by hand or through PUT /api/v1/jobs/etl/self-healing",
    );
    expect(change(yaml.replace('auto_apply: false', 'auto_apply: true'))).toMatch(/self_healing\.suggestions, the rules/);
    expect(change(yaml.replace(/  remediation:\n.*\n/, ''))).toMatch(/self_healing\.remediation/);
  });

  it('allows an edit elsewhere in the file, and checks only this job\'s entry of a jobs.yaml', () => {
    expect(change(yaml.replace('cmd: ./etl.sh', 'cmd: ./etl.sh\nretry: {enabled: true, max_attempts: 3}'))).toBeNull();
    const shared = 'jobs:\n  etl:\n    cmd: ./etl.sh\n    self_healing: {suggestions: {auto_apply: false}}\n';
    expect(change(shared.replace('auto_apply: false', 'auto_apply: true'), shared, `${JOBS}.yaml`)).toMatch(/self_healing\.suggestions/);
    expect(change(shared.replace('cmd: ./etl.sh', 'cmd: ./etl2.sh'), shared, `${JOBS}.yaml`)).toBeNull();
  });

  it('waits for the content when the AI has not written it yet', () => {
    expect(writeRefusal(input({ role: 'config', path: `${JOBS}/etl.yaml`, config_change: { current: yaml, proposed: null } }))).toBeNull();
  });
});
