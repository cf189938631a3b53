// How the service reaches Temporal: plain gRPC to the dev server `healing start` runs itself, or
// TLS to a real cluster (the server's CA, a client certificate for mTLS) or Temporal Cloud (mTLS or
// an API key). This module checks those settings once at start (loadConfig) and is the one place
// that turns them into connection options, for the client's Connection (API, CLI, doctor) and the
// worker's NativeConnection alike, so no caller can connect differently.
// Its only I/O: the certificate files, read once by readTemporalSecurity (restart after rotating them).
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';

/** A PEM file as read at start: where it is (for messages) and what it holds. */
export interface PemFile {
  file: string;
  pem: Buffer;
}

export interface TemporalTls {
  /** TEMPORAL_TLS_CA: the CA that signed the server's certificate; null: this machine's trusted roots */
  ca: PemFile | null;
  /** TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: the client certificate of mTLS; null: none offered */
  client: { cert: PemFile; key: PemFile; subject: string; validTo: Date } | null;
  /** TEMPORAL_TLS_SERVER_NAME: the name the server's certificate must carry, when not the address's host */
  serverName: string | null;
}

/** The part of the service's configuration a connection is made from (ServiceConfig has it all). */
export interface TemporalTarget {
  temporalAddress: string | null;
  temporalNamespace: string;
  /** null: plaintext, as the dev server speaks */
  temporalTls: TemporalTls | null;
  /** TEMPORAL_API_KEY (Temporal Cloud): sent as a bearer token, always over TLS */
  temporalApiKey: string | null;
}

/** The variables this module reads, after the config schema's own checks of each value. */
export interface TemporalSecurityEnv {
  TEMPORAL_ADDRESS?: string;
  TEMPORAL_TLS?: 'true' | 'false';
  TEMPORAL_TLS_CERT?: string;
  TEMPORAL_TLS_KEY?: string;
  TEMPORAL_TLS_CA?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_API_KEY?: string;
}

const TLS_VARIABLES = ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'] as const;

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN (RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END \1?PRIVATE KEY-----/;

type FileReader = (file: string) => Buffer;

/**
 * The TLS and API-key settings, checked: each problem is a line "VARIABLE: what is wrong and what
 * to do". An API key together with a client certificate is accepted: both are sent, and Temporal
 * Cloud authenticates with whichever its namespace is set up for.
 */
export function readTemporalSecurity(
  env: TemporalSecurityEnv,
  cwd: string,
  readFile: FileReader = readFileSync,
): { tls: TemporalTls | null; apiKey: string | null; problems: string[] } {
  const problems: string[] = [];
  const set = TLS_VARIABLES.filter((name) => env[name] !== undefined);
  if (env.TEMPORAL_TLS === 'false' && set.length > 0) {
    problems.push(`TEMPORAL_TLS: is false, but ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set, which need${set.length > 1 ? '' : 's'} TLS: unset TEMPORAL_TLS, or unset ${set.join(' and ')}`);
  }
  const wantsTls = env.TEMPORAL_TLS === 'true' || set.length > 0;
  if (wantsTls && !env.TEMPORAL_ADDRESS) {
    const named = env.TEMPORAL_TLS === 'true' ? ['TEMPORAL_TLS', ...set] : set;
    problems.push(
      `TEMPORAL_ADDRESS: unset, but ${named.join(', ')} ${named.length > 1 ? 'are' : 'is'} set: the Temporal dev server \`healing start\` runs itself has no TLS. ` +
        "Set TEMPORAL_ADDRESS to your cluster's frontend (host:port), or unset the TLS settings to use the dev server",
    );
  }
  if (env.TEMPORAL_TLS_CERT && !env.TEMPORAL_TLS_KEY) problems.push('TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY: mTLS needs the client certificate and its private key; set TEMPORAL_TLS_KEY to the key file');
  if (env.TEMPORAL_TLS_KEY && !env.TEMPORAL_TLS_CERT) problems.push('TEMPORAL_TLS_KEY: set without TEMPORAL_TLS_CERT: mTLS needs the client certificate and its private key; set TEMPORAL_TLS_CERT to the certificate file');

  const read = (variable: string, value: string | undefined): PemFile | null => {
    if (!value) return null;
    const file = path.resolve(cwd, value);
    try {
      return { file, pem: readFile(file) };
    } catch (error) {
      problems.push(`${variable}: cannot read ${file}: ${unreadable(error as NodeJS.ErrnoException)}`);
      return null;
    }
  };
  const ca = read('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA);
  const cert = read('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT);
  const key = read('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY);

  if (ca) {
    const problem = certificateProblem(ca);
    if (problem) problems.push(`TEMPORAL_TLS_CA: ${problem}`);
  }
  let certificate: X509Certificate | null = null;
  if (cert) {
    const problem = certificateProblem(cert);
    if (problem) problems.push(`TEMPORAL_TLS_CERT: ${problem}${/private key/.test(problem) ? ' (are TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY swapped?)' : ''}`);
    else certificate = new X509Certificate(firstCertificate(cert.pem));
  }
  let privateKey: KeyObject | null = null;
  if (key) {
    const parsed = parsePrivateKey(key);
    if ('problem' in parsed) problems.push(`TEMPORAL_TLS_KEY: ${parsed.problem}`);
    else privateKey = parsed.key;
  }
  if (certificate && privateKey && cert && key && !certificate.checkPrivateKey(privateKey)) {
    problems.push(`TEMPORAL_TLS_KEY: ${key.file} is not the private key of the certificate in TEMPORAL_TLS_CERT (${cert.file}); point both at the same pair`);
  }

  const tls: TemporalTls | null = wantsTls
    ? {
        ca,
        client: cert && key && certificate ? { cert, key, subject: certificate.subject.replace(/\n/g, ', '), validTo: new Date(certificate.validTo) } : null,
        serverName: env.TEMPORAL_TLS_SERVER_NAME ?? null,
      }
    : null;
  return { tls, apiKey: env.TEMPORAL_API_KEY ?? null, problems };
}

function unreadable(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return `permission denied for the user this service runs as${typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : ''}`;
    case 'EISDIR':
      return 'it is a folder; give the file';
    default:
      return error.message;
  }
}

function firstCertificate(pem: Buffer): string {
  return pem.toString('utf8').match(CERTIFICATE_BLOCK)?.[0] ?? '';
}

/** Why `file` cannot serve as a PEM certificate (or CA bundle), or null when it can. */
function certificateProblem({ file, pem }: PemFile): string | null {
  const text = pem.toString('utf8');
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return `${file} holds a private key, not a certificate`;
    return text.includes('-----BEGIN ')
      ? `${file} has no PEM certificate (no -----BEGIN CERTIFICATE----- block)`
      : `${file} is not PEM (no -----BEGIN CERTIFICATE----- block); a DER file converts with \`openssl x509 -inform der -in ${file} -out ${file}.pem\``;
  }
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      return `${file} has a certificate that does not parse: ${(error as Error).message}`;
    }
  }
  return null;
}

function parsePrivateKey({ file, pem }: PemFile): { key: KeyObject } | { problem: string } {
  const text = pem.toString('utf8');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type: 4,ENCRYPTED/.test(text)) {
    return { problem: `${file} is encrypted with a passphrase, which the Temporal SDK cannot take; write a decrypted copy with \`openssl pkey -in ${file} -out <new file>\` and keep it readable by this service only` };
  }
  const block = text.match(KEY_BLOCK)?.[0];
  if (!block) {
    if (text.includes('-----BEGIN CERTIFICATE-----')) return { problem: `${file} holds a certificate, not a private key (are TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY swapped?)` };
    return { problem: `${file} is not a PEM private key (no -----BEGIN PRIVATE KEY----- block)` };
  }
  try {
    return { key: createPrivateKey(block) };
  } catch (error) {
    return { problem: `${file} has a private key that does not parse: ${(error as Error).message}` };
  }
}

/** The SDK's TLS option: false for plaintext, else the CA, the client pair and the name to check. */
function tlsOption(tls: TemporalTls | null): NonNullable<ConnectionOptions['tls']> {
  if (!tls) return false;
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.ca ? { serverRootCACertificate: tls.ca.pem } : {}),
    ...(tls.client ? { clientCertPair: { crt: tls.client.cert.pem, key: tls.client.key.pem } } : {}),
  };
}

function addressOf(target: TemporalTarget, address: string | undefined): string {
  const chosen = address ?? target.temporalAddress;
  if (!chosen) throw new Error('no Temporal address: set TEMPORAL_ADDRESS, or start the dev server first');
  return chosen;
}

/**
 * With an API key, Temporal Cloud's regional endpoints route by this header; the namespace
 * endpoints ignore it. Sent only with a key: a self-hosted cluster has no use for it.
 */
function apiKeyOptions(target: TemporalTarget): { apiKey?: string; metadata?: Record<string, string> } {
  return target.temporalApiKey ? { apiKey: target.temporalApiKey, metadata: { 'temporal-namespace': target.temporalNamespace } } : {};
}

/**
 * Options of `@temporalio/client`'s Connection (the API, the schedule reconciler, the CLI, the
 * doctor). `address` overrides TEMPORAL_ADDRESS: the dev server `healing start` ran.
 */
export function clientConnectionOptions(target: TemporalTarget, address?: string): ConnectionOptions {
  return { address: addressOf(target, address), tls: tlsOption(target.temporalTls), ...apiKeyOptions(target) };
}

/** Options of `@temporalio/worker`'s NativeConnection: the same target, TLS and key as the client's. */
export function workerConnectionOptions(target: TemporalTarget, address?: string): NativeConnectionOptions {
  return { address: addressOf(target, address), tls: tlsOption(target.temporalTls), ...apiKeyOptions(target) };
}

/** How the connection is secured, for logs and the doctor: "TLS (CA …, client certificate …), API key". */
export function describeTemporalSecurity(target: TemporalTarget): string {
  const tls = target.temporalTls;
  if (!tls) return 'plaintext (no TLS)';
  const parts = [
    tls.ca ? `server CA ${tls.ca.file}` : "server checked against this machine's trusted CAs",
    tls.serverName ? `server name ${tls.serverName}` : null,
    tls.client ? `client certificate ${tls.client.cert.file} (${tls.client.subject}, valid until ${tls.client.validTo.toISOString().slice(0, 10)})` : null,
  ].filter(Boolean);
  return `TLS (${parts.join('; ')})${target.temporalApiKey ? ', API key' : ''}`;
}

/** What a failed TLS handshake means for these settings, and what to change; from node:tls's error. */
export function explainTlsFailure(target: TemporalTarget, failure: { code?: string; message: string }, address: string): string {
  const tls = target.temporalTls;
  const code = failure.code ?? '';
  const message = failure.message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[a-z0-9_]+:/, '').replace(/:\.\.\/deps\/openssl.*$/s, '').trim();
  if (!tls) {
    return `${address} speaks TLS, but no TLS is configured: set TEMPORAL_TLS=true (and TEMPORAL_TLS_CA when its certificate comes from a private CA)`;
  }
  const server = tls.serverName ?? address.slice(0, address.lastIndexOf(':'));
  if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT/.test(code)) {
    return tls.ca
      ? `the server's certificate is not signed by the CA in TEMPORAL_TLS_CA (${tls.ca.file}): ${message}; point TEMPORAL_TLS_CA at the CA that signed the server's certificate`
      : `the server's certificate is not signed by a CA this machine trusts: ${message}; set TEMPORAL_TLS_CA to the CA that signed it`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's certificate is not made out to ${server}: ${message.replace(/^Hostname\/IP does not match certificate's altnames: /, '')}; set TEMPORAL_TLS_SERVER_NAME to a name it carries`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `the server's certificate has expired: ${message}`;
  if (code === 'CERT_NOT_YET_VALID') return `the server's certificate is not valid yet (is this machine's clock right?): ${message}`;
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL/.test(code) || /wrong version number/.test(message)) {
    return `${address} does not speak TLS (${message}): check the port, or unset the TLS settings if that server is plaintext`;
  }
  if (/CERTIFICATE_REQUIRED/.test(code) || /certificate required/.test(message) || (!tls.client && /handshake failure|bad certificate/.test(message))) {
    return tls.client
      ? `the server asked again for a client certificate (${message}): it did not take the one in TEMPORAL_TLS_CERT (${tls.client.cert.file})`
      : `the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY to the certificate and key your cluster issued to this service`;
  }
  if (tls.client && /unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|access denied|handshake failure/.test(message)) {
    return `the server refused the client certificate in TEMPORAL_TLS_CERT (${tls.client.cert.file}, ${tls.client.subject}): ${message}; it must be signed by a CA the server trusts for clients${/expired/.test(message) ? ', and current' : ''}`;
  }
  if (code === 'CLOSED_AFTER_HANDSHAKE') {
    return tls.client
      ? `the server closed the connection right after the TLS handshake: it probably refused the client certificate in TEMPORAL_TLS_CERT (${tls.client.cert.file}); it must be signed by a CA the server trusts for clients`
      : 'the server closed the connection right after the TLS handshake: it probably requires a client certificate (mTLS); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY';
  }
  if (code === 'NO_H2') return `${address} completed the TLS handshake but does not offer HTTP/2 (ALPN h2), which gRPC needs: is this a Temporal frontend, or a proxy that must pass h2 through?`;
  return `the TLS handshake failed: ${message}`;
}
