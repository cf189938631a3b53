// A Temporal behind TLS, as a real cluster or Temporal Cloud is: the dev server has no TLS flags, so
// a node:tls proxy with certificates made by openssl stands in front of its gRPC port, once with
// server TLS only and once demanding client certificates (mTLS). The client's Connection and the
// worker's NativeConnection are built from loadConfig's settings, as every command builds them.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClient, connectWorker, TemporalConnectError } from '../cli/connect-temporal.js';
import { temporal as doctorTemporalFinding } from '../cli/doctor.js';
import { startRuntime } from '../cli/runtime.js';
import { loadConfig } from '../core/config.js';
import { createTestDatabase } from './helpers/database.js';
import { eventually, http } from './helpers/stack.js';
import { makeTlsFiles, SERVER_NAME, startTlsProxy, type TlsFiles, type TlsProxy } from './helpers/tls-proxy.js';

let env: TestWorkflowEnvironment;
let dir: string;
let files: TlsFiles;
/** server TLS only */
let tlsProxy: TlsProxy;
/** client certificates signed by the test CA required */
let mtlsProxy: TlsProxy;

beforeAll(async () => {
  // The SDK's own INFO lines (worker state changes) would bury test output.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: inject('temporalCliPath') }, extraArgs: ['--log-level', 'error'] },
  });
  dir = await mkdtemp(path.join(os.tmpdir(), 'healing-tls-'));
  files = await makeTlsFiles(dir);
  tlsProxy = await startTlsProxy(files, env.address);
  mtlsProxy = await startTlsProxy(files, env.address, { clientCa: files.ca });
});

afterAll(async () => {
  await tlsProxy?.stop();
  await mtlsProxy?.stop();
  await env?.teardown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const config = (vars: Record<string, string>) => loadConfig(vars, dir, dir);
const withClientCert = () => ({ TEMPORAL_TLS_CERT: files.clientCert, TEMPORAL_TLS_KEY: files.clientKey });

/** The message a connection with these settings fails with. */
async function failure(connect: () => Promise<{ close(): Promise<void> }>): Promise<TemporalConnectError> {
  try {
    const connection = await connect();
    await connection.close();
  } catch (error) {
    expect(error).toBeInstanceOf(TemporalConnectError);
    return error as TemporalConnectError;
  }
  throw new Error('the connection succeeded');
}

describe('a Temporal behind TLS', () => {
  it('when TEMPORAL_TLS_CA names the CA of the server\'s certificate, the client and the worker connection both reach Temporal through TLS', async () => {
    const cfg = config({ TEMPORAL_ADDRESS: tlsProxy.address, TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
    const before = tlsProxy.accepted();

    const connection = await connectClient(cfg);
    try {
      const described = await connection.workflowService.describeNamespace({ namespace: cfg.temporalNamespace });
      expect(described.namespaceInfo?.name).toBe('default');
      const client = new Client({ connection, namespace: cfg.temporalNamespace });
      expect(typeof (await client.workflow.count()).count).toBe('number');
    } finally {
      await connection.close();
    }

    const native = await connectWorker(cfg);
    try {
      const described = await native.workflowService.describeNamespace({ namespace: cfg.temporalNamespace });
      expect(described.namespaceInfo?.name).toBe('default');
    } finally {
      await native.close();
    }
    // both went through the proxy's TLS, not around it
    expect(tlsProxy.accepted()).toBeGreaterThanOrEqual(before + 2);
  });

  it('when TEMPORAL_TLS_CA is a CA that did not sign the server\'s certificate, both connections fail naming TEMPORAL_TLS_CA and its file', async () => {
    const cfg = config({ TEMPORAL_ADDRESS: tlsProxy.address, TEMPORAL_TLS_CA: files.otherCa, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
    for (const error of [await failure(() => connectClient(cfg, { connectTimeout: '2s' })), await failure(() => connectWorker(cfg))]) {
      expect(error.stage).toBe('tls');
      expect(error.message).toContain(`Temporal at ${tlsProxy.address} (namespace default, TLS (server CA ${files.otherCa}; server name ${SERVER_NAME}))`);
      expect(error.message).toContain(`the TLS handshake failed: the server's certificate is not signed by the CA in TEMPORAL_TLS_CA (${files.otherCa})`);
      expect(error.message).toContain("point TEMPORAL_TLS_CA at the CA that signed the server's certificate");
    }
  });

  it('when the server\'s certificate does not carry the name checked, the failure says to set TEMPORAL_TLS_SERVER_NAME', async () => {
    const cfg = config({ TEMPORAL_ADDRESS: tlsProxy.address, TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_SERVER_NAME: 'frontend.elsewhere.test' });
    const error = await failure(() => connectWorker(cfg));
    expect(error.message).toMatch(/the server's certificate is not made out to frontend\.elsewhere\.test: .*DNS:temporal\.test.*; set TEMPORAL_TLS_SERVER_NAME to a name it carries/);
  });

  it('when the cluster speaks TLS and no TLS is configured, the failure says to set TEMPORAL_TLS=true', async () => {
    const error = await failure(() => connectClient(config({ TEMPORAL_ADDRESS: tlsProxy.address }), { connectTimeout: '2s' }));
    expect(error.message).toContain(`${tlsProxy.address} speaks TLS, but no TLS is configured: set TEMPORAL_TLS=true`);
  });

  it('when TLS is configured but the server is plaintext, the failure says it does not speak TLS', async () => {
    const error = await failure(() => connectWorker(config({ TEMPORAL_ADDRESS: env.address, TEMPORAL_TLS_CA: files.ca })));
    expect(error.message).toMatch(new RegExp(`${env.address} does not speak TLS \\(wrong version number\\): check the port, or unset the TLS settings`));
  });

  it('when the cluster demands mTLS, the configured client certificate gets both connections in, and without one they fail saying a client certificate is required', async () => {
    const cfg = config({ TEMPORAL_ADDRESS: mtlsProxy.address, TEMPORAL_TLS_CA: files.ca, ...withClientCert() });
    const connection = await connectClient(cfg);
    expect((await connection.workflowService.getSystemInfo({})).serverVersion).toMatch(/^\d+\.\d+/);
    await connection.close();
    const native = await connectWorker(cfg);
    expect((await native.workflowService.describeNamespace({ namespace: 'default' })).namespaceInfo?.name).toBe('default');
    await native.close();

    const without = config({ TEMPORAL_ADDRESS: mtlsProxy.address, TEMPORAL_TLS_CA: files.ca });
    const refusals = mtlsProxy.refusals.length;
    for (const error of [await failure(() => connectClient(without, { connectTimeout: '2s' })), await failure(() => connectWorker(without))]) {
      expect(error.stage).toBe('tls');
      expect(error.message).toContain('the TLS handshake failed: the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY');
    }
    expect(mtlsProxy.refusals.length).toBeGreaterThan(refusals);
  });

  it('when the client certificate is signed by a CA the cluster does not trust, the failure names TEMPORAL_TLS_CERT and its file', async () => {
    const cfg = config({ TEMPORAL_ADDRESS: mtlsProxy.address, TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_CERT: files.strangerCert, TEMPORAL_TLS_KEY: files.strangerKey });
    const error = await failure(() => connectWorker(cfg));
    expect(error.stage).toBe('tls');
    expect(error.message).toMatch(new RegExp(`client certificate in TEMPORAL_TLS_CERT \\(${files.strangerCert}.*\\).*signed by a CA the server trusts for clients`));
  });

  it('when nothing listens at TEMPORAL_ADDRESS, the failure says so, not something about TLS', async () => {
    const cfg = config({ TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_TLS_CA: files.ca });
    const error = await failure(() => connectWorker(cfg));
    expect(error.stage).toBe('network');
    expect(error.message).toBe('127.0.0.1:1 does not answer: nothing listens there (connection refused)');
  });
});

describe('healing doctor on a Temporal behind TLS', () => {
  it('shows the target, the namespace and the TLS in use when Temporal answers', async () => {
    const finding = await doctorTemporalFinding(config({ TEMPORAL_ADDRESS: mtlsProxy.address, TEMPORAL_TLS_CA: files.ca, ...withClientCert() }), null);
    expect(finding.level).toBe('ok');
    expect(finding.detail).toMatch(
      new RegExp(`^${mtlsProxy.address} answers \\(server \\d+\\.\\d+\\.\\d+, namespace default; TLS \\(server CA ${files.ca}; client certificate ${files.clientCert} \\(CN=healing-worker, valid until \\d{4}-\\d\\d-\\d\\d\\)\\)\\)$`),
    );
  });

  it('reports a refused TLS handshake as a missing essential with the reason and what to change', async () => {
    const finding = await doctorTemporalFinding(config({ TEMPORAL_ADDRESS: mtlsProxy.address, TEMPORAL_TLS_CA: files.ca }), null);
    expect(finding).toMatchObject({ level: 'missing', what: 'Temporal', essential: true });
    expect(finding.detail).toContain('the TLS handshake failed: the server requires a client certificate (mTLS)');
    expect(finding.fix).toContain(`openssl s_client -connect ${mtlsProxy.address} -alpn h2`);
  });

  it('reports a namespace the cluster does not have, with the command that creates it', async () => {
    const finding = await doctorTemporalFinding(config({ TEMPORAL_ADDRESS: tlsProxy.address, TEMPORAL_TLS_CA: files.ca, TEMPORAL_NAMESPACE: 'healing-prod' }), null);
    expect(finding.level).toBe('missing');
    expect(finding.detail).toMatch(/namespace healing-prod; TLS .*, but namespace healing-prod does not exist there$/);
    expect(finding.fix).toContain(`temporal operator namespace create --namespace healing-prod --address ${tlsProxy.address}`);
  });
});

describe('healing worker and api on a Temporal behind mTLS', () => {
  it('start with the TLS settings: the worker polls and the API reaches Temporal through the proxy, and /health says so', async () => {
    const database = await createTestDatabase();
    const jobsDir = path.join(dir, 'jobs');
    await mkdir(jobsDir, { recursive: true });
    const cfg = config({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: mtlsProxy.address,
      TEMPORAL_TLS_CA: files.ca,
      ...withClientCert(),
      HEALING_JOBS_DIR: jobsDir,
      HEALING_DATA_DIR: path.join(dir, 'data'),
      HEALING_ANALYZER: 'rules',
      PORT: '0',
    });
    const before = mtlsProxy.accepted();
    const runtime = await startRuntime(cfg, { worker: true, api: true, demo: false }, pino({ level: 'silent' }));
    try {
      const health = await eventually(async () => {
        const answer = await http(runtime.apiUrl as string, 'GET', '/api/v1/health');
        return answer.status === 200 ? answer.body : undefined;
      }, 30_000, 'a healthy API with a polling worker');
      expect(health).toMatchObject({ status: 'ok', temporal: { ok: true, namespace: 'default' }, worker: { ok: true } });
      // the client and the worker's own connection
      expect(mtlsProxy.accepted()).toBeGreaterThanOrEqual(before + 2);
    } finally {
      await runtime.stop();
      await database.drop();
    }
  }, 90_000);

  it('refuse to start when the CA is wrong, saying which CA did not sign the server\'s certificate', async () => {
    const database = await createTestDatabase();
    const cfg = config({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: mtlsProxy.address,
      TEMPORAL_TLS_CA: files.otherCa,
      ...withClientCert(),
      HEALING_JOBS_DIR: path.join(dir, 'jobs'),
      HEALING_DATA_DIR: path.join(dir, 'data'),
      HEALING_ANALYZER: 'rules',
      PORT: '0',
    });
    try {
      await expect(startRuntime(cfg, { worker: true, api: false, demo: false }, pino({ level: 'silent' }))).rejects.toThrow(
        `the TLS handshake failed: the server's certificate is not signed by the CA in TEMPORAL_TLS_CA (${files.otherCa})`,
      );
    } finally {
      await database.drop();
    }
  }, 60_000);
});
