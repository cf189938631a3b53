// Connects the API, the worker, the CLI commands and the doctor to the configured Temporal with the
// options of core/temporal-connection.ts, and turns a failure into a message that says what to
// change. The client's own error for a refused TLS handshake is only "Failed to connect before the
// deadline", so on failure a handshake is made here with the same settings to find the reason.
import net from 'node:net';
import tls from 'node:tls';
import type { Connection, ConnectionOptions } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { clientConnectionOptions, describeTemporalSecurity, explainTlsFailure, workerConnectionOptions, type TemporalTarget } from '../core/temporal-connection.js';

export class TemporalConnectError extends Error {
  override name = 'TemporalConnectError';
  constructor(
    message: string,
    /** what failed: the network (nothing answers), the TLS handshake, or Temporal itself */
    readonly stage: 'network' | 'tls' | 'temporal',
  ) {
    super(message);
  }
}

/** The client's Connection to the configured Temporal (or `opts.address`: the dev server `healing start` ran). */
export async function connectClient(
  target: TemporalTarget,
  opts: { address?: string } & Pick<ConnectionOptions, 'connectTimeout' | 'interceptors'> = {},
): Promise<Connection> {
  const { Connection } = await import('@temporalio/client');
  const { address, ...extra } = opts;
  const options = { ...clientConnectionOptions(target, address), ...extra };
  try {
    return await Connection.connect(options);
  } catch (error) {
    throw await explainConnectFailure(target, options.address as string, error);
  }
}

/** The worker's NativeConnection, with the same target, TLS and API key as the client's. */
export async function connectWorker(target: TemporalTarget, opts: { address?: string } = {}): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  const options = workerConnectionOptions(target, opts.address);
  try {
    return await NativeConnection.connect(options);
  } catch (error) {
    throw await explainConnectFailure(target, options.address as string, error);
  }
}

/** Why a connection to `address` failed, found by trying the network and the TLS handshake by hand. */
export async function explainConnectFailure(target: TemporalTarget, address: string, error: unknown): Promise<TemporalConnectError> {
  const sdkMessage = ((error as Error)?.message ?? String(error)).split('\n')[0] ?? '';
  const probe = await probeTransport(target, address);
  const where = `Temporal at ${address} (namespace ${target.temporalNamespace}, ${describeTemporalSecurity(target)})`;
  if (probe?.stage === 'network') return new TemporalConnectError(`${address} does not answer: ${probe.message}`, 'network');
  if (probe?.stage === 'tls') return new TemporalConnectError(`${where}: the TLS handshake failed: ${explainTlsFailure(target, probe, address)}`, 'tls');
  // The network and the handshake are fine: Temporal itself (or a proxy before it) refused.
  return new TemporalConnectError(`${where}: the connection failed: ${sdkMessage}`, 'temporal');
}

type Probe = { stage: 'network' | 'tls'; code?: string; message: string };

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there (connection refused)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS did not answer)',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'no answer (timed out)',
};

/**
 * Tries the TCP connection and, when TLS is configured, the handshake with the same CA, client
 * certificate and server name; a server that closes right after the handshake (mTLS refusing the
 * client) counts as a failure. Without TLS configured, it also finds a server that speaks TLS.
 * Null: the transport comes up, so the problem is Temporal's own answer.
 */
export async function probeTransport(target: TemporalTarget, address: string, timeoutMs = 3_000): Promise<Probe | null> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const settings = target.temporalTls;
  if (!settings) {
    const reached = await tcp(host, port, timeoutMs);
    if (reached) return { stage: 'network', message: reached };
    return (await speaksTls(host, port, timeoutMs)) ? { stage: 'tls', code: 'SPEAKS_TLS', message: 'the server speaks TLS' } : null;
  }
  const servername = settings.serverName ?? (net.isIP(host) ? undefined : host);
  const problem = await handshakeProblem(
    {
      host,
      port,
      servername,
      ca: settings.ca?.pem,
      cert: settings.client?.cert.pem,
      key: settings.client?.key.pem,
    },
    timeoutMs,
    1_000,
  );
  if (problem === null) return null;
  if (problem.code && problem.code in NETWORK_CODES) return { stage: 'network', message: NETWORK_CODES[problem.code] as string };
  if (problem.code === 'TIMEOUT') return { stage: 'network', message: `no answer within ${timeoutMs / 1000} s` };
  return { stage: 'tls', ...problem };
}

function tcp(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(`no answer within ${timeoutMs / 1000} s`);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(NETWORK_CODES[error.code ?? ''] ?? error.message));
  });
}

/**
 * A TLS handshake offering ALPN h2, as gRPC does. After it, waits `settleMs` for the server's
 * verdict on the client certificate (TLS 1.3 sends it after the handshake). Null: all went well.
 */
function handshakeProblem(options: tls.ConnectionOptions, timeoutMs: number, settleMs: number): Promise<{ code?: string; message: string } | null> {
  return new Promise((resolve) => {
    let done = false;
    let secured = false;
    const finish = (result: { code?: string; message: string } | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = tls.connect({ ...options, ALPNProtocols: ['h2'] });
    const timer = setTimeout(() => finish({ code: 'TIMEOUT', message: 'timed out' }), timeoutMs);
    socket.once('secureConnect', () => {
      secured = true;
      if (socket.alpnProtocol !== 'h2') return finish({ code: 'NO_H2', message: `ALPN ${socket.alpnProtocol || 'none'}` });
      clearTimeout(timer);
      setTimeout(() => finish(null), settleMs);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ code: error.code, message: error.message }));
    socket.once('close', () =>
      finish(secured ? { code: 'CLOSED_AFTER_HANDSHAKE', message: 'the server closed the connection after the handshake' } : { code: 'CLOSED', message: 'the server closed the connection during the handshake' }),
    );
  });
}

/** Whether the server at host:port completes a TLS handshake (its certificate unchecked): a TLS server reached without TLS. */
function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const finish = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('secureConnect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}
