// Runs the OpenClaw CLI: never through a shell, killed on time-out or cancellation, heartbeating
// while it waits so Temporal knows the worker is alive.
import { spawn } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MAX_OUTPUT = 8 * 1024 * 1024;

export function runCli(
  bin: string,
  args: string[],
  opts: { timeoutMs: number; signal?: AbortSignal; onTick?: () => void; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', OPENCLAW_LOG_LEVEL: 'warn', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const ticker = setInterval(() => opts.onTick?.(), 2_000);
    const onAbort = () => kill();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      clearInterval(ticker);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.on('close', (code) => {
      done();
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

export interface OpenClawStatus {
  available: boolean;
  version: string | null;
  problem: string | null;
}

let cachedStatus: { bin: string; at: number; status: OpenClawStatus } | null = null;

/** Whether the CLI really works: the npm placeholder and a too-old Node both answer --version badly. */
export async function openclawStatus(bin: string): Promise<OpenClawStatus> {
  if (cachedStatus && cachedStatus.bin === bin && Date.now() - cachedStatus.at < 60_000) return cachedStatus.status;
  let status: OpenClawStatus;
  try {
    const result = await runCli(bin, ['--version'], { timeoutMs: 15_000 });
    const match = /OpenClaw\s+(\S+)/.exec(result.stdout);
    if (result.code === 0 && match) status = { available: true, version: match[1]!, problem: null };
    else if (/node:sqlite/.test(result.stderr + result.stdout))
      status = { available: false, version: null, problem: 'openclaw needs Node >= 24.16 (node:sqlite is unavailable)' };
    else status = { available: false, version: null, problem: `"${bin} --version" did not print an OpenClaw version (a placeholder install?)` };
  } catch (error) {
    status = { available: false, version: null, problem: `${bin} not found (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  cachedStatus = { bin, at: Date.now(), status };
  return status;
}
