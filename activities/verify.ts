// Checks that a written file still works: a job's YAML still loads as a job, a script still
// parses in its own language. Says which check passed, or why none could run, so an unchecked
// file is never reported as verified.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { describeIssues, JobSchema } from '../core/job.js';
import { humanError } from '../core/messages.js';
import type { ActionVerification } from '../db/actions.js';

const run = promisify(execFile);

/** A syntax check run as a process: `name` is what the action records. */
interface SyntaxChecker {
  name: string;
  bin: string;
  args: string[];
}

const JOB_SCHEMA = 'job schema';

export async function verifyFileContent(file: string, content: string, role: 'config' | 'script' | 'prompt', jobId: string): Promise<ActionVerification> {
  if (role === 'config') {
    const problem = verifyJobYaml(content, jobId);
    return problem ? { status: 'failed', check: JOB_SCHEMA, reason: problem } : { status: 'verified', check: JOB_SCHEMA };
  }
  if (role === 'prompt') return { status: 'skipped', check: null, reason: 'a prompt is free text: there is no syntax to check' };
  const checker = syntaxChecker(file);
  if (!checker) {
    const ext = path.extname(file);
    return { status: 'skipped', check: null, reason: ext ? `no syntax check for ${ext} files` : 'no syntax check for a script without a file extension' };
  }
  try {
    await run(checker.bin, [...checker.args, file], { timeout: 30_000 });
    return { status: 'verified', check: checker.name };
  } catch (error) {
    const failure = error as { code?: string | number; stderr?: string; message: string };
    const bin = path.basename(checker.bin);
    if (failure.code === 'ENOENT') return { status: 'skipped', check: checker.name, reason: `${bin} is not installed on the worker` };
    const reason = `${bin} rejects the new content: ${(failure.stderr || failure.message).trim().split('\n').slice(0, 5).join(' ')}`;
    return { status: 'failed', check: checker.name, reason };
  }
}

function verifyJobYaml(content: string, jobId: string): string | null {
  const doc = parseDocument(content, { uniqueKeys: true });
  if (doc.errors.length > 0) return `the job file is no longer valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`;
  const value = doc.toJS() as Record<string, unknown> | null;
  const jobs = value && typeof value.jobs === 'object' && value.jobs !== null && !('cmd' in value) ? (value.jobs as Record<string, unknown>) : null;
  const job = jobs ? jobs[jobId] : value;
  const parsed = JobSchema.safeParse(job ?? {}, { error: humanError });
  if (parsed.success) return null;
  const issue = describeIssues(parsed.error)[0]!;
  return `the job file no longer validates: ${issue.field}: ${issue.reason}`;
}

function syntaxChecker(file: string): SyntaxChecker | null {
  switch (path.extname(file)) {
    case '.sh':
    case '.bash':
      return { name: 'bash -n', bin: 'bash', args: ['-n'] };
    case '.py':
      // ast.parse checks syntax without writing __pycache__ next to the user's script
      return {
        name: 'python3 ast.parse',
        bin: 'python3',
        args: ['-c', 'import ast,sys; ast.parse(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1])'],
      };
    case '.js':
    case '.mjs':
    case '.cjs':
      return { name: 'node --check', bin: process.execPath, args: ['--check'] };
    default:
      return null;
  }
}
