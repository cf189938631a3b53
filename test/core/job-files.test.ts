// Which script a job's command runs, and every file a command names, however it is spelled.
import { describe, expect, it } from 'vitest';
import { pathsInCmd, scriptPathFromCmd } from '../../core/job-files.js';

const BASE = '/srv/jobs';
const HOME = '/home/ops';

describe('scriptPathFromCmd', () => {
  it.each([
    ['python3 /opt/run/runner.py', '/opt/run/runner.py'],
    ['python3.11 /opt/run/runner.py --fast', '/opt/run/runner.py'],
    ['env FOO=1 python3 runner.py', `${BASE}/runner.py`],
    ['/usr/bin/env python3 ~/bin/runner.py', `${HOME}/bin/runner.py`],
    ['timeout 60 python3 -u runner.py', `${BASE}/runner.py`],
    ['timeout -k 5 60 nice -n 10 ./etl.sh', `${BASE}/etl.sh`],
    ['bash -c "python3 /opt/run/runner.py arg"', '/opt/run/runner.py'],
    ["nohup bash -c 'cd /x && ./y.sh'", null],
    ['A=1 B=2 ./etl.sh | tee out.log', `${BASE}/etl.sh`],
    ['uv run sync.py', `${BASE}/sync.py`],
    ['pg_dump mydb', null],
  ])('%s runs %s', (cmd, script) => {
    expect(scriptPathFromCmd(cmd, BASE, HOME)).toBe(script);
  });
});

describe('pathsInCmd', () => {
  it('finds every file named, past pipes, inside bash -c and after --opt=', () => {
    expect(pathsInCmd('bash -c "python3 ~/.procclaw/scripts/oc-runner.py job-1" | tee logs/out.log; ./after.sh --prompt=~/p/x.md', BASE, HOME).sort()).toEqual(
      [`${BASE}/after.sh`, `${BASE}/logs/out.log`, `${HOME}/.procclaw/scripts/oc-runner.py`, `${HOME}/p/x.md`].sort(),
    );
  });

  it('ignores flags, globs and variables', () => {
    expect(pathsInCmd('rsync -av --delete $SRC/* /backup/', BASE, HOME)).toEqual(['/backup']);
  });
});
