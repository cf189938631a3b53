// The Temporal connection settings as loadConfig checks them at start (TLS, mTLS, API key), and the
// options the client's Connection and the worker's NativeConnection get from them. No server:
// the certificates are made with openssl into a temp folder.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import { clientConnectionOptions, describeTemporalSecurity, workerConnectionOptions } from '../../core/temporal-connection.js';
import { makeTlsFiles, type TlsFiles } from '../helpers/tls-proxy.js';

const run = promisify(execFile);
const HOME = '/home/ops';
const ADDRESS = 'temporal.internal:7233';

let dir: string;
let files: TlsFiles;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-temporal-tls-'));
  files = await makeTlsFiles(dir);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const load = (env: Record<string, string>) => loadConfig(env, dir, HOME);
/** The message loadConfig refuses `env` with. */
function refusal(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('Temporal connection settings at start', () => {
  it('when nothing about TLS is set, the connection is plaintext, for the dev server or a cluster without TLS', () => {
    const cfg = load({ TEMPORAL_ADDRESS: ADDRESS });
    expect(cfg.temporalTls).toBeNull();
    expect(cfg.temporalApiKey).toBeNull();
    expect(clientConnectionOptions(cfg)).toEqual({ address: ADDRESS, tls: false });
    expect(workerConnectionOptions(cfg)).toEqual({ address: ADDRESS, tls: false });
    expect(describeTemporalSecurity(cfg)).toBe('plaintext (no TLS)');
  });

  it('when TLS settings come without TEMPORAL_ADDRESS, start is refused: the dev server it would run has no TLS', () => {
    expect(refusal({ TEMPORAL_TLS: 'true' })).toMatch(/TEMPORAL_ADDRESS: unset, but TEMPORAL_TLS is set: the Temporal dev server `healing start` runs itself has no TLS/);
    expect(refusal({ TEMPORAL_API_KEY: 'key-1' })).toMatch(/TEMPORAL_ADDRESS: unset, but TEMPORAL_API_KEY is set/);
    expect(refusal({ TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.test' })).toMatch(/TEMPORAL_ADDRESS: unset, but TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME are set/);
    // TEMPORAL_TLS=false asks for nothing the dev server lacks
    expect(load({ TEMPORAL_TLS: 'false' }).temporalTls).toBeNull();
  });

  it('when a client certificate comes without its key, or a key without its certificate, start is refused naming the missing variable', () => {
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CERT: files.clientCert })).toMatch(/TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY/);
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_KEY: files.clientKey })).toMatch(/TEMPORAL_TLS_KEY: set without TEMPORAL_TLS_CERT/);
  });

  it('when a file cannot be read, start is refused naming the variable, the file and why', async () => {
    const missing = path.join(dir, 'nowhere', 'ca.pem');
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CA: missing })).toContain(`TEMPORAL_TLS_CA: cannot read ${missing}: no such file`);
    await mkdir(path.join(dir, 'certs'), { recursive: true });
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CERT: 'certs', TEMPORAL_TLS_KEY: files.clientKey })).toContain(`TEMPORAL_TLS_CERT: cannot read ${path.join(dir, 'certs')}: it is a folder; give the file`);
  });

  it('when a file is not PEM, or certificate and key are swapped, start is refused saying so and how to fix it', async () => {
    const der = path.join(dir, 'ca.der');
    await run('openssl', ['x509', '-in', files.ca, '-outform', 'der', '-out', der]);
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CA: der })).toContain(`TEMPORAL_TLS_CA: ${der} is not PEM (no -----BEGIN CERTIFICATE----- block); a DER file converts with \`openssl x509 -inform der`);

    const swapped = refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CERT: files.clientKey, TEMPORAL_TLS_KEY: files.clientCert });
    expect(swapped).toContain(`TEMPORAL_TLS_CERT: ${files.clientKey} holds a private key, not a certificate (are TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY swapped?)`);
    expect(swapped).toContain(`TEMPORAL_TLS_KEY: ${files.clientCert} holds a certificate, not a private key`);

    const garbled = path.join(dir, 'garbled.pem');
    await writeFile(garbled, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CA: garbled })).toMatch(new RegExp(`TEMPORAL_TLS_CA: ${garbled} has a certificate that does not parse`));
  });

  it('when the key is not the certificate\'s, or is encrypted, start is refused naming TEMPORAL_TLS_KEY', async () => {
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CERT: files.clientCert, TEMPORAL_TLS_KEY: files.strangerKey })).toContain(
      `TEMPORAL_TLS_KEY: ${files.strangerKey} is not the private key of the certificate in TEMPORAL_TLS_CERT (${files.clientCert})`,
    );
    const encrypted = path.join(dir, 'encrypted.key');
    await run('openssl', ['pkey', '-in', files.clientKey, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CERT: files.clientCert, TEMPORAL_TLS_KEY: encrypted })).toContain(
      `TEMPORAL_TLS_KEY: ${encrypted} is encrypted with a passphrase, which the Temporal SDK cannot take`,
    );
  });

  it('when TEMPORAL_TLS contradicts the other settings or is not a boolean, start is refused', () => {
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: files.ca })).toMatch(/TEMPORAL_TLS: is false, but TEMPORAL_TLS_CA is set, which needs TLS/);
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS: 'yes' })).toMatch(/TEMPORAL_TLS: must be true or false/);
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_SERVER_NAME: 'https://temporal.test:7233' })).toMatch(/TEMPORAL_TLS_SERVER_NAME: must be a host name \(no scheme, no port\)/);
    expect(refusal({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_API_KEY: 'key\n' })).toMatch(/TEMPORAL_API_KEY: must not contain spaces or line breaks/);
  });

  it('when several settings are wrong, one refusal lists them all', () => {
    const message = refusal({ TEMPORAL_TLS_CERT: 'missing.pem' });
    expect(message).toContain('TEMPORAL_ADDRESS: unset');
    expect(message).toContain('TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY');
    expect(message).toContain(`TEMPORAL_TLS_CERT: cannot read ${path.join(dir, 'missing.pem')}: no such file`);
  });

  it('with a CA, a client certificate and a server name, the client and the worker connections get the same TLS with the files\' contents', async () => {
    const cfg = load({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_CERT: files.clientCert, TEMPORAL_TLS_KEY: files.clientKey, TEMPORAL_TLS_SERVER_NAME: 'temporal.test' });
    const tls = {
      serverNameOverride: 'temporal.test',
      serverRootCACertificate: await readFile(files.ca),
      clientCertPair: { crt: await readFile(files.clientCert), key: await readFile(files.clientKey) },
    };
    expect(clientConnectionOptions(cfg)).toEqual({ address: ADDRESS, tls });
    expect(workerConnectionOptions(cfg)).toEqual({ address: ADDRESS, tls });
    expect(describeTemporalSecurity(cfg)).toMatch(new RegExp(`^TLS \\(server CA ${files.ca}; server name temporal\\.test; client certificate ${files.clientCert} \\(CN=healing-worker, valid until \\d{4}-\\d\\d-\\d\\d\\)\\)$`));
  });

  it('with only TEMPORAL_API_KEY (Temporal Cloud), TLS is on with the system roots and the key and namespace go with every call', () => {
    const cfg = load({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'healing.a1b2c', TEMPORAL_API_KEY: 'eyJhbGciOi.key' });
    const expected = { address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: 'eyJhbGciOi.key', metadata: { 'temporal-namespace': 'healing.a1b2c' } };
    expect(clientConnectionOptions(cfg)).toEqual(expected);
    expect(workerConnectionOptions(cfg)).toEqual(expected);
    expect(describeTemporalSecurity(cfg)).toBe("TLS (server checked against this machine's trusted CAs), API key");
  });

  it('with an API key and a client certificate together, both are sent (Temporal Cloud takes whichever the namespace accepts)', () => {
    const cfg = load({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_API_KEY: 'key-1', TEMPORAL_TLS_CERT: files.clientCert, TEMPORAL_TLS_KEY: files.clientKey });
    const options = workerConnectionOptions(cfg);
    expect(options.apiKey).toBe('key-1');
    expect(options.tls).toMatchObject({ clientCertPair: { crt: expect.any(Buffer), key: expect.any(Buffer) } });
  });

  it('when the dev server was started in place of TEMPORAL_ADDRESS, the options point at it', () => {
    const cfg = load({});
    expect(clientConnectionOptions(cfg, '127.0.0.1:7233')).toEqual({ address: '127.0.0.1:7233', tls: false });
    expect(() => clientConnectionOptions(cfg)).toThrow(/no Temporal address/);
  });
});
