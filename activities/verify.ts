// Checks that a written file still works: a job's YAML still loads as a job, a script still
// parses in its own language.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { describeIssues, JobSchema } from '../core/job.js';

const run = promisify(execFile);

/** Null when the file is fine, else what is wrong with it. */
export async function verifyFileContent(file: string, content: string, role: 'config' | 'script' | 'prompt', jobId: string): Promise<string | null> {
  if (role === 'config') return verifyJobYaml(content, jobId);
  const checker = syntaxChecker(file);
  if (!checker) return null;
  try {
    await run(checker.bin, [...checker.args, file], { timeout: 30_000 });
    return null;
  } catch (error) {
    const failure = error as { code?: string | number; stderr?: string; message: string };
    if (failure.code === 'ENOENT') return null; // the checker is not installed: nothing to verify with
    return `${path.basename(checker.bin)} rejects the new content: ${(failure.stderr || failure.message).trim().split('\n').slice(0, 5).join(' ')}`;
  }
}

function verifyJobYaml(content: string, jobId: string): string | null {
  const doc = parseDocument(content, { uniqueKeys: true });
  if (doc.errors.length > 0) return `the job file is no longer valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`;
  const value = doc.toJS() as Record<string, unknown> | null;
  const jobs = value && typeof value.jobs === 'object' && value.jobs !== null && !('cmd' in value) ? (value.jobs as Record<string, unknown>) : null;
  const job = jobs ? jobs[jobId] : value;
  const parsed = JobSchema.safeParse(job ?? {});
  if (parsed.success) return null;
  const issue = describeIssues(parsed.error)[0]!;
  return `the job file no longer validates: ${issue.field}: ${issue.reason}`;
}

function syntaxChecker(file: string): { bin: string; args: string[] } | null {
  switch (path.extname(file)) {
    case '.sh':
    case '.bash':
      return { bin: 'bash', args: ['-n'] };
    case '.py':
      // ast.parse checks syntax without writing __pycache__ next to the user's script
      return { bin: 'python3', args: ['-c', 'import ast,sys; ast.parse(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1])'] };
    case '.js':
    case '.mjs':
    case '.cjs':
      return { bin: process.execPath, args: ['--check'] };
    default:
      return null;
  }
}
