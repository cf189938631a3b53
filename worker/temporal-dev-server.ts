// Starts the Temporal dev server (with its UI) for `healing start` when no TEMPORAL_ADDRESS is set.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES } from '../core/temporal.js';
import { portTaken } from '../db/embedded.js';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export async function startDevServer(opts: { cliPath: string; dataDir: string; port?: number; uiPort?: number; namespace: string }): Promise<DevServer> {
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  await mkdir(opts.dataDir, { recursive: true });
  // Checked first: the readiness loop below would otherwise take another server on that port for ours.
  for (const [what, taken] of [['port', port], ['UI port', uiPort]] as const) {
    if (await portTaken(taken)) throw new Error(`the Temporal dev server's ${what} ${taken} is taken (another \`healing start\`?): stop that, or set ${what === 'port' ? 'HEALING_TEMPORAL_PORT' : 'HEALING_TEMPORAL_UI_PORT'} to a free port`);
  }
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--db-filename', path.join(opts.dataDir, 'temporal.db'),
    '--namespace', opts.namespace,
    '--log-level', 'warn',
    ...Object.values(SEARCH_ATTRIBUTES).flatMap((name) => ['--search-attribute', `${name}=${SEARCH_ATTRIBUTE_TYPES[name]}`]),
  ];
  const logFile = createWriteStream(path.join(opts.dataDir, 'temporal.log'), { flags: 'a' });
  const child: ChildProcess = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(logFile);
  child.stderr?.pipe(logFile);
  let exited: string | null = null;
  child.on('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the Temporal dev server ${exited}; see ${path.join(opts.dataDir, 'temporal.log')}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new Error(`the Temporal dev server did not answer on ${address} within 60 s: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
