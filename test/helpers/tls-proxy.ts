// A TLS front for a plaintext Temporal dev server (`temporal server start-dev` has no TLS flags):
// certificates made with openssl at test time, and a node:tls server that offers ALPN h2, checks
// client certificates when asked to (mTLS), and pipes the raw gRPC bytes to the dev server.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFiles {
  /** the CA that signed the server's and the client's certificates */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** another CA, which signed neither */
  otherCa: string;
  /** a client certificate and key signed by the other CA, which the proxy's mTLS refuses */
  strangerCert: string;
  strangerKey: string;
}

/** The host name the server's certificate is made out to (besides 127.0.0.1). */
export const SERVER_NAME = 'temporal.test';

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
}

/** A leaf certificate signed by `ca`, with the extensions rustls (the worker's connection) insists on. */
async function makeLeaf(dir: string, name: string, ca: string, extensions: string): Promise<void> {
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

export async function makeTlsFiles(dir: string): Promise<TlsFiles> {
  await makeCa(dir, 'healing-test-ca');
  await makeCa(dir, 'other-ca');
  const leaf = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  await makeLeaf(dir, 'server', 'healing-test-ca', `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:${SERVER_NAME},IP:127.0.0.1\n`);
  await makeLeaf(dir, 'healing-worker', 'healing-test-ca', `${leaf}extendedKeyUsage=clientAuth\n`);
  await makeLeaf(dir, 'stranger', 'other-ca', `${leaf}extendedKeyUsage=clientAuth\n`);
  const at = (file: string) => path.join(dir, file);
  return {
    ca: at('healing-test-ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('healing-worker.pem'),
    clientKey: at('healing-worker.key'),
    otherCa: at('other-ca.pem'),
    strangerCert: at('stranger.pem'),
    strangerKey: at('stranger.key'),
  };
}

export interface TlsProxy {
  /** host:port of the TLS side */
  address: string;
  /** connections whose TLS handshake succeeded and which were piped to the dev server */
  accepted(): number;
  /** TLS handshakes the proxy refused (e.g. no client certificate under mTLS) */
  refusals: string[];
  stop(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 with the server certificate and forwards every accepted connection to
 * `target` (the dev server's host:port). With `clientCa`, a client must present a certificate
 * that CA signed, as a Temporal cluster with mTLS demands.
 */
export async function startTlsProxy(files: TlsFiles, target: string, opts: { clientCa?: string } = {}): Promise<TlsProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const refusals: string[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = tls.createServer(
    {
      cert: await readFile(files.serverCert),
      key: await readFile(files.serverKey),
      ALPNProtocols: ['h2'],
      ...(opts.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: await readFile(opts.clientCa) } : {}),
    },
    (client) => {
      accepted += 1;
      const upstream = net.connect(port, host);
      sockets.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', (error) => refusals.push(error.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    address,
    accepted: () => accepted,
    refusals,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
