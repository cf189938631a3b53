// Where a suggestion may write (issue 14), through the API with the real stack: a file other jobs
// use, code shared beyond any job (node_modules, ProcClaw's runner), the job's own
// forbidden_paths, the edits its allowed_actions lists, an `oc-<stem>` job's prompts/<stem>.md,
// and a jobs.yaml shared by several jobs. A review keeps a refused edit as advice with the reason
// (the diff still shown), which approving acknowledges, writing nothing (issue 15); an apply of a
// row made past the review answers 409 with the reason.
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSuggestion } from './helpers/suggestions.js';
import { eventually, http, startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let tmp: string;
let replyNo = 0;
let runner: string;

const RUNNER = `#!/usr/bin/env python3\n# The team's runner: every job of the team runs it with its own name.\nimport sys\n${'print("running", sys.argv[1])\n'.repeat(10)}`;
const SCRIPT = `#!/bin/bash\n# A job's own script.\n${'echo "step"\n'.repeat(10)}`;

const job = (cmd: string, extra = '') =>
  `name: Job\ncmd: ${JSON.stringify(cmd)}\ntype: scheduled\nschedule: "0 * * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n  suggestions:\n    two_person_rule: false\n${extra}`;

beforeAll(async () => {
  stack = await startStack({ analyzer: { mode: 'openclaw', timeoutSeconds: 20 } });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'healing-write-guards-'));
  const { jobsDir, workDir } = stack;
  await mkdir(jobsDir, { recursive: true });
  await mkdir(path.join(workDir, '.procclaw', 'scripts'), { recursive: true });
  await mkdir(path.join(workDir, '.procclaw', 'prompts'), { recursive: true });
  runner = path.join(workDir, '.procclaw', 'scripts', 'team-runner.py');
  await writeFile(runner, RUNNER);
  // Two jobs run the same runner (home is the stack's work folder).
  await writeFile(path.join(jobsDir, 'alpha.yaml'), job('python3 ~/.procclaw/scripts/team-runner.py alpha'));
  await writeFile(path.join(jobsDir, 'beta.yaml'), job('python3 ~/.procclaw/scripts/team-runner.py beta'));
});

afterEach(() => {
  delete process.env.FAKE_OPENCLAW_MODE;
  delete process.env.FAKE_OPENCLAW_REPLY;
});

afterAll(async () => {
  await stack?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const getSuggestion = async (id: number) => (await http(stack.api, 'GET', `/api/v1/healing/suggestions/${id}`)).body;
const approve = (id: number) => http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/approve`, {});
const actionsOf = (id: number) => stack.db('healing_actions').where({ suggestion_id: id });

/** One edit of `target` as the analyzer would answer it. */
function edit(target: string, proposed: string): Record<string, unknown> {
  return {
    category: 'reliability',
    severity: 'low',
    title: `Harden ${path.basename(target)}`,
    description: 'Adds a line.',
    current_state: null,
    suggested_change: 'Add a line at the end.',
    expected_impact: 'None: a test.',
    affected_files: [target],
    target_file: target,
    proposed_content: proposed,
    auto_apply: null,
  };
}

/** Runs a review of `jobId` whose analyzer answers `suggestions`; answers its stored suggestions as the API shows them. */
async function review(jobId: string, suggestions: unknown[]): Promise<any[]> {
  const reply = path.join(tmp, `reply-${++replyNo}.json`);
  await writeFile(reply, JSON.stringify({ suggestions }));
  process.env.FAKE_OPENCLAW_MODE = 'reply-file';
  process.env.FAKE_OPENCLAW_REPLY = reply;
  const started = await http(stack.api, 'POST', '/api/v1/healing/trigger', { job_id: jobId, force: true });
  expect(started.status).toBe(202);
  const done = await eventually(async () => {
    const r = await http(stack.api, 'GET', `/api/v1/healing/reviews/${started.body.review_id}`);
    return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
  }, 60_000, `the review of ${jobId}`);
  expect(done.status).toBe('completed');
  const rows = await stack.db('healing_suggestions').where({ review_id: done.id }).orderBy('ordinal');
  return Promise.all(rows.map((r: { id: number }) => getSuggestion(r.id)));
}

/** Approving refuses the apply with 409 and `reason`; the file keeps its content and no action is recorded. */
async function expectRefused(id: number, file: string, reason: string | RegExp): Promise<void> {
  const before = await readFile(file, 'utf8');
  const answer = await approve(id);
  expect(answer.status).toBe(409);
  expect(answer.body.error).toEqual(typeof reason === 'string' ? `refusing to write ${file}: ${reason}` : expect.stringMatching(reason));
  expect(await readFile(file, 'utf8')).toBe(before);
  expect(await actionsOf(id)).toHaveLength(0);
  expect((await getSuggestion(id)).status).toBe('failed');
  // A retry is refused the same way.
  const retry = await http(stack.api, 'POST', `/api/v1/healing/suggestions/${id}/apply`, {});
  expect(retry.status).toBe(409);
  expect(retry.body.error).toBe(answer.body.error);
}

/** Approving advice acknowledges it: 200, status acknowledged, the file keeps its content, no action. */
async function expectAcknowledged(id: number, file: string): Promise<void> {
  const before = await readFile(file, 'utf8');
  const answer = await approve(id);
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ status: 'acknowledged', action_id: null });
  expect(await readFile(file, 'utf8')).toBe(before);
  expect(await actionsOf(id)).toHaveLength(0);
  expect(await getSuggestion(id)).toMatchObject({ status: 'acknowledged', applied_at: null });
}

const SHARED_REASON = 'the file is also used by job "beta" (its script (its cmd runs it)); a file other jobs use is not this job\'s own to change';

describe('a runner other jobs run too', () => {
  it('a review keeps the edit as advice naming the other job, with the diff, and approving it acknowledges it, writing nothing', async () => {
    const [s] = await review('alpha', [edit(runner, `${RUNNER}print("done")\n`)]);
    expect(s).toMatchObject({ status: 'pending', target_file: runner, proposed_content: `${RUNNER}print("done")\n`, advisory_reason: SHARED_REASON });
    expect(s.diff).toContain('+print("done")');
    await expectAcknowledged(s.id, runner);
  });

  it('a row made past the review (no advisory_reason) is refused at apply with the same reason', async () => {
    const id = await createSuggestion(stack, { jobId: 'alpha', targetFile: runner, proposed: `${RUNNER}print("more")\n` });
    expect((await getSuggestion(id)).advisory_reason).toBeNull();
    await expectRefused(id, runner, SHARED_REASON);
  });

  it('once the other job runs a script of its own, the runner is alpha\'s alone and the edit applies', async () => {
    const beta = path.join(stack.jobsDir, 'beta.yaml');
    const own = path.join(stack.jobsDir, 'beta.sh');
    await writeFile(own, SCRIPT, { mode: 0o755 });
    await writeFile(beta, job('./beta.sh'));
    try {
      const id = await createSuggestion(stack, { jobId: 'alpha', targetFile: runner, proposed: `${RUNNER}print("alone")\n` });
      const answer = await approve(id);
      expect(answer.status).toBe(200);
      expect(answer.body.status).toBe('applied');
      expect(await readFile(runner, 'utf8')).toBe(`${RUNNER}print("alone")\n`);
    } finally {
      await writeFile(beta, job('python3 ~/.procclaw/scripts/team-runner.py beta'));
      await writeFile(runner, RUNNER);
    }
  });
});

describe('code shared beyond any job', () => {
  const cases: [string, string, string, RegExp][] = [
    ['a script under node_modules/openclaw/', 'node_modules/openclaw/scripts/helper.js', '// helper\n'.repeat(20), /node_modules holds installed packages/],
    ["ProcClaw's oc-runner script", '.procclaw/scripts/oc-runner-v3.py', '# runner\n'.repeat(20), /oc-runner scripts are ProcClaw's OpenClaw runner/],
  ];
  for (const [what, rel, content, reason] of cases) {
    it(`${what}, even as the job's only script, is kept as advice, which approving acknowledges`, async () => {
      const file = path.join(stack.workDir, rel);
      const id = `code-${rel.includes('node_modules') ? 'nm' : 'runner'}`;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
      await writeFile(path.join(stack.jobsDir, `${id}.yaml`), job(`${rel.endsWith('.py') ? 'python3' : 'node'} ~/${rel}`));
      const [s] = await review(id, [edit(file, `${content}// more\n`)]);
      expect(s.target_file).toBe(file);
      expect(s.advisory_reason).toMatch(reason);
      await expectAcknowledged(s.id, file);
    });
  }
});

describe("the job's own forbidden_paths", () => {
  let config: string;
  let script: string;
  beforeAll(async () => {
    config = path.join(stack.jobsDir, 'guarded.yaml');
    script = path.join(stack.jobsDir, 'guarded.sh');
    await writeFile(script, SCRIPT, { mode: 0o755 });
    await writeFile(config, job('./guarded.sh', '  remediation:\n    forbidden_paths: ["~/.ssh/", "~/jobs/*.sh"]\n'));
  });

  it('a script matching its glob is kept as advice naming the pattern, which approving acknowledges', async () => {
    const reason = 'it matches "~/jobs/*.sh" in the job\'s self_healing.remediation.forbidden_paths';
    const [s] = await review('guarded', [edit(script, `${SCRIPT}echo done\n`)]);
    expect(s.advisory_reason).toBe(reason);
    await expectAcknowledged(s.id, script);
  });

  it('its config, which no pattern matches, still applies', async () => {
    const proposed = (await readFile(config, 'utf8')).replace('name: Job', 'name: Guarded job');
    const id = await createSuggestion(stack, { jobId: 'guarded', targetFile: config, proposed });
    const answer = await approve(id);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('applied');
    expect(await readFile(config, 'utf8')).toBe(proposed);
  });
});

describe('allowed_actions', () => {
  const setUp = async (id: string, actions: string) => {
    const script = path.join(stack.jobsDir, `${id}.sh`);
    await writeFile(script, SCRIPT, { mode: 0o755 });
    await writeFile(path.join(stack.jobsDir, `${id}.yaml`), job(`./${id}.sh`, `  remediation:\n    allowed_actions: ${actions}\n`));
    return script;
  };

  it('with [restart_job], a script edit is kept as advice saying what it needs, and approving it acknowledges it, writing nothing', async () => {
    const script = await setUp('restricted', '[restart_job]');
    const reason = "the job's self_healing.remediation.allowed_actions is [restart_job]; this script edit (edit_script) needs edit_script or edit_file there";
    const [s] = await review('restricted', [edit(script, `${SCRIPT}echo done\n`)]);
    expect(s).toMatchObject({ status: 'pending', advisory_reason: reason, proposed_content: `${SCRIPT}echo done\n` });
    await expectAcknowledged(s.id, script);
  });

  it('with [restart_job, edit_script], the same edit is no advice and applies', async () => {
    const script = await setUp('scripted', '[restart_job, edit_script]');
    const [s] = await review('scripted', [edit(script, `${SCRIPT}echo done\n`)]);
    expect(s.advisory_reason).toBeNull();
    const answer = await approve(s.id);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('applied');
    expect(await readFile(script, 'utf8')).toBe(`${SCRIPT}echo done\n`);
  });
});

describe('an oc-<stem> job and prompts/<stem>.md', () => {
  let foo: string;
  let bar: string;
  beforeAll(async () => {
    const prompts = path.join(stack.workDir, '.procclaw', 'prompts');
    foo = path.join(prompts, 'foo.md');
    bar = path.join(prompts, 'bar.md');
    await writeFile(foo, '# Foo\nSummarise the news.\n');
    await writeFile(bar, '# Bar\nAnother job\'s prompt.\n');
    await writeFile(path.join(stack.jobsDir, 'oc-foo.yaml'), job('python3 ~/.procclaw/scripts/oc-runner.py oc-foo').replace('type: scheduled', 'type: openclaw'));
  });

  it('the review reads prompts/foo.md as oc-foo\'s prompt and its edit applies', async () => {
    const proposed = '# Foo\nSummarise the news in five bullets.\n';
    const [s] = await review('oc-foo', [edit(foo, proposed)]);
    expect(s).toMatchObject({ target_file: foo, advisory_reason: null, current_content: '# Foo\nSummarise the news.\n' });
    const answer = await approve(s.id);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('applied');
    expect(await readFile(foo, 'utf8')).toBe(proposed);
  });

  it('oc-foo cannot write prompts/bar.md', async () => {
    const id = await createSuggestion(stack, { jobId: 'oc-foo', targetFile: bar, proposed: '# Bar\nChanged.\n' });
    await expectRefused(id, bar, /^refusing to write .*bar\.md: it is not one of the job's own files/);
  });
});

describe('a jobs.yaml shared by several jobs', () => {
  let team: string;
  const TEAM = `# The team's jobs.\njobs:\n  t-one:\n    name: One\n    cmd: "./one.sh"\n    type: manual\n  t-two:\n    name: Two\n    cmd: "./two.sh"\n    type: manual\n`;
  beforeAll(async () => {
    team = path.join(stack.jobsDir, 'team.yaml');
    for (const name of ['one', 'two']) await writeFile(path.join(stack.jobsDir, `${name}.sh`), SCRIPT, { mode: 0o755 });
  });

  it('an edit that also changes another job\'s entry is refused, naming it', async () => {
    await writeFile(team, TEAM);
    const id = await createSuggestion(stack, { jobId: 't-one', targetFile: team, proposed: TEAM.replace('name: Two', 'name: Two (renamed)') });
    await expectRefused(id, team, `${team} also defines job "t-two", and the proposed file changes the entry of job "t-two"; only this job's entry may change`);
  });

  it('an edit of this job\'s entry only applies', async () => {
    await writeFile(team, TEAM);
    const proposed = TEAM.replace('name: One', 'name: One\n    retry:\n      enabled: true\n      max_attempts: 3');
    const id = await createSuggestion(stack, { jobId: 't-one', targetFile: team, proposed });
    const answer = await approve(id);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('applied');
    expect(await readFile(team, 'utf8')).toBe(proposed);
  });
});

describe('a shared file however the other job spells it', () => {
  // Each case: a runner `owner` runs plainly, and `user` runs as written here; a hard link is the
  // same file under another name.
  it.each([
    ['through bash -c', (r: string) => `bash -c "python3 ${r} x"`],
    ['after env with a variable', (r: string) => `env FOO=1 python3 ${r}`],
    ['with python3.11', (r: string) => `python3.11 ${r}`],
    ['under timeout', (r: string) => `timeout 60 python3 -u ${r}`],
    ['through a hard link', (r: string) => `python3 ${r}.link.py`],
  ])('a runner another job runs %s is kept as advice naming that job', async (what, userCmd) => {
    const n = what.replace(/\W+/g, '-').replace(/^-|-$/g, '');
    const file = path.join(stack.workDir, 'runners', `${n}.py`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, RUNNER);
    if (what.includes('hard link')) await link(file, `${file}.link.py`);
    await writeFile(path.join(stack.jobsDir, `own-${n}.yaml`), job(`python3 ${file}`));
    await writeFile(path.join(stack.jobsDir, `use-${n}.yaml`), job(userCmd(file)));
    const [s] = await review(`own-${n}`, [edit(file, `${RUNNER}print("done")\n`)]);
    expect(s.advisory_reason).toBe(`the file is also used by job "use-${n}" (its script (its cmd runs it)); a file other jobs use is not this job's own to change`);
    await expectAcknowledged(s.id, file);
  });
});

describe('a config edit that loosens the job\'s own guards', () => {
  it('widening allowed_actions is kept as advice, and a row made past the review is refused at apply', async () => {
    const config = path.join(stack.jobsDir, 'self-widen.yaml');
    const yaml = job('./self-widen.sh', '  remediation:\n    allowed_actions: [edit_config]\n');
    await writeFile(config, yaml);
    await writeFile(path.join(stack.jobsDir, 'self-widen.sh'), SCRIPT, { mode: 0o755 });
    const widened = yaml.replace('[edit_config]', '[edit_config, edit_script]');
    const reason = "it changes the job's own self_healing.remediation, the rules its suggestions are held to; change those by hand or through PUT /api/v1/jobs/self-widen/self-healing";
    const [s] = await review('self-widen', [{ ...edit(config, widened), category: 'performance' }]);
    expect(s.advisory_reason).toBe(reason);
    await expectAcknowledged(s.id, config);
    const id = await createSuggestion(stack, { jobId: 'self-widen', targetFile: config, proposed: widened });
    await expectRefused(id, config, reason);
  });

  it('turning auto-apply on through the config is refused the same way', async () => {
    const config = path.join(stack.jobsDir, 'self-auto.yaml');
    const yaml = job('./self-auto.sh');
    await writeFile(config, yaml);
    const id = await createSuggestion(stack, { jobId: 'self-auto', targetFile: config, proposed: yaml.replace('two_person_rule: false', 'two_person_rule: false\n    auto_apply: true') });
    await expectRefused(id, config, /changes the job's own self_healing\.suggestions/);
  });
});
