/**
 * gRPC TLS and mTLS on real handshakes over loopback: certificates made by openssl,
 * accepted and refused as configured, a renewed certificate used without a restart,
 * and the plaintext health-only port for probes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { ClustererServiceClient, ClustererServiceService, GetClustersResponse } from '@ralm/proto/clusterer';
import { bindService, callUnary, checkHealth, clientCredentials, commonConfigSchema, createLogger, createMemoryBus, createServiceMetrics, hostService, loadConfig, loadIdentity, type ServiceHost } from '@ralm/platform';
import { createTestCa, type TestCa } from '../src/testing/pki';

jest.setTimeout(60_000);

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-tls-'));
let ca: TestCa;
let rogue: TestCa;
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
beforeAll(() => {
  ca = createTestCa(path.join(base, 'ca'));
  rogue = createTestCa(path.join(base, 'rogue'), 'rogue-ca');
});

const testModule = () => ({
  bindings: [bindService('ralm.v1.ClustererService', ClustererServiceService, { getClusters: async () => GetClustersResponse.fromPartial({ candidateId: 'ok' }), recluster: async () => ({}) as never, listClusters: async () => undefined })],
  protoFiles: ['ralm/v1/clusterer.proto'],
});

async function host(env: Record<string, string>, logLines?: string[]): Promise<ServiceHost> {
  const config = loadConfig(commonConfigSchema, { GRPC_HOST: '127.0.0.1', SHUTDOWN_GRACE_SECONDS: '1', ...env });
  const logger = logLines ? createLogger('tls-test', 'warn', { write: (line: string) => void logLines.push(line) }) : createLogger('tls-test', 'silent');
  const h = await hostService({ name: 'tls-test', config, logger, metrics: createServiceMetrics('tls-test'), bus: createMemoryBus(), module: testModule(), healthIntervalMs: 10 });
  await h.whenServing(5000);
  return h;
}

/** The status of one GetClusters call on a fresh connection: OK, or the code the handshake or call failed with. */
async function attempt(address: string, creds: ChannelCredentials): Promise<string> {
  const client = new ClustererServiceClient(address, creds);
  try {
    await callUnary(client.getClusters.bind(client), { candidateId: 'x' }, { timeoutMs: 3000 });
    return 'OK';
  } catch (err) {
    return status[(err as ServiceError).code]!;
  } finally {
    client.close();
  }
}

/** The outcome of an attempt every 250 ms until one is OK, for 10 s at most: a renewed certificate is read within GRPC_TLS_RELOAD_SECONDS. */
async function untilServed(address: string, creds: ChannelCredentials): Promise<string> {
  let seen = 'UNAVAILABLE';
  for (let i = 0; i < 40 && seen !== 'OK'; i++) {
    await new Promise((r) => setTimeout(r, 250));
    seen = await attempt(address, creds);
  }
  return seen;
}

const trusting = (caFile: string, identity?: { cert: string; key: string }) =>
  clientCredentials({ mode: identity ? 'mtls' : 'tls', caFile, certFile: identity?.cert, keyFile: identity?.key, reloadMs: 60_000 });

describe('GRPC_TLS=tls', () => {
  let h: ServiceHost;
  beforeAll(async () => {
    const server = ca.issue('server-tls');
    h = await host({ GRPC_TLS: 'tls', GRPC_TLS_CERT_FILE: server.cert, GRPC_TLS_KEY_FILE: server.key, GRPC_TLS_CA_FILE: server.ca });
  });
  afterAll(() => h.stop());

  it('serves a client that trusts its CA, and no plaintext client or one trusting another CA', async () => {
    await expect(attempt(h.address, trusting(ca.caCert))).resolves.toBe('OK');
    await expect(attempt(h.address, credentials.createInsecure())).resolves.toBe('UNAVAILABLE');
    await expect(attempt(h.address, trusting(rogue.caCert))).resolves.toBe('UNAVAILABLE');
  });
});

describe('GRPC_TLS=mtls', () => {
  let h: ServiceHost;
  beforeAll(async () => {
    const server = ca.issue('server-mtls', { roles: ['service'] });
    h = await host({ GRPC_TLS: 'mtls', GRPC_TLS_CERT_FILE: server.cert, GRPC_TLS_KEY_FILE: server.key, GRPC_TLS_CA_FILE: server.ca, GRPC_HEALTH_PORT: '0' });
  });
  afterAll(() => h.stop());

  it('serves a client with a certificate from its CA, refuses one without a certificate or with one from another CA', async () => {
    await expect(attempt(h.address, trusting(ca.caCert, ca.issue('client-good')))).resolves.toBe('OK');
    await expect(attempt(h.address, trusting(ca.caCert))).resolves.toBe('UNAVAILABLE');
    await expect(attempt(h.address, trusting(ca.caCert, rogue.issue('client-rogue')))).resolves.toBe('UNAVAILABLE');
    await expect(attempt(h.address, credentials.createInsecure())).resolves.toBe('UNAVAILABLE');
  });

  it('answers plaintext health checks on GRPC_HEALTH_PORT only (the kubelet probe cannot speak TLS)', async () => {
    expect(h.healthPort).toBeGreaterThan(0);
    await expect(checkHealth(`127.0.0.1:${h.healthPort}`)).resolves.toBe('SERVING');
    await expect(checkHealth(h.address)).resolves.toBe('UNREACHABLE');
    await expect(checkHealth(h.address, '', 2000, trusting(ca.caCert, ca.issue('client-health')))).resolves.toBe('SERVING');
  });
});

describe('certificate rotation', () => {
  it('uses a renewed server certificate for new connections without a restart', async () => {
    // cert-manager rewrites tls.crt and tls.key in place; here the renewal is issued by a new CA.
    const dir = path.join(base, 'rotating');
    fs.mkdirSync(dir);
    const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    const first = ca.issue('server-before');
    fs.copyFileSync(first.cert, files.cert);
    fs.copyFileSync(first.key, files.key);
    const h = await host({ GRPC_TLS: 'tls', GRPC_TLS_CERT_FILE: files.cert, GRPC_TLS_KEY_FILE: files.key, GRPC_TLS_CA_FILE: first.ca, GRPC_TLS_RELOAD_SECONDS: '1' });
    try {
      await expect(attempt(h.address, trusting(ca.caCert))).resolves.toBe('OK');
      await expect(attempt(h.address, trusting(rogue.caCert))).resolves.toBe('UNAVAILABLE');
      const renewed = rogue.issue('server-after');
      fs.copyFileSync(renewed.key, files.key);
      fs.copyFileSync(renewed.cert, files.cert);
      await expect(untilServed(h.address, trusting(rogue.caCert))).resolves.toBe('OK');
      await expect(attempt(h.address, trusting(ca.caCert))).resolves.toBe('UNAVAILABLE');
    } finally {
      await h.stop();
    }
  });
});

describe('certificates are checked before they are used', () => {
  const copyPair = (from: { cert: string; key: string }, to: { cert: string; key: string }) => {
    fs.copyFileSync(from.cert, to.cert);
    fs.copyFileSync(from.key, to.key);
  };

  it('refuses to start on a certificate file that is no PEM, a key that is not the certificate\'s, or an expired certificate', async () => {
    const good = ca.issue('server-checked');
    const other = ca.issue('server-other');
    const junk = path.join(base, 'junk.crt');
    fs.writeFileSync(junk, 'not a certificate\n');
    const tlsEnv = (cert: string, key: string) => ({ GRPC_TLS: 'tls', GRPC_TLS_CERT_FILE: cert, GRPC_TLS_KEY_FILE: key, GRPC_TLS_CA_FILE: good.ca });
    await expect(host(tlsEnv(junk, good.key))).rejects.toThrow(/GRPC_TLS_CERT_FILE: '.*junk.crt' holds no PEM certificate/);
    await expect(host(tlsEnv(good.cert, other.key))).rejects.toThrow(/GRPC_TLS_KEY_FILE: '.*server-other.key' is not the key of the certificate/);
    await expect(host({ ...tlsEnv(good.cert, good.key), GRPC_TLS_CA_FILE: junk })).rejects.toThrow(/GRPC_TLS_CA_FILE: '.*junk.crt' holds no PEM certificate/);
    await expect(loadIdentity(good.cert, good.key, Date.now() + 3 * 86_400_000)).rejects.toThrow(/GRPC_TLS_CERT_FILE: '.*server-checked.crt' expired at/);
    await expect(loadIdentity(good.cert, good.key)).resolves.toMatchObject({ certificate: fs.readFileSync(good.cert) });
  });

  it('keeps serving with the last good pair when a renewal is caught half-written, and takes the renewal once whole', async () => {
    const dir = path.join(base, 'half-written');
    fs.mkdirSync(dir);
    const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    copyPair(ca.issue('server-old'), files);
    const warnings: string[] = [];
    const h = await host({ GRPC_TLS: 'tls', GRPC_TLS_CERT_FILE: files.cert, GRPC_TLS_KEY_FILE: files.key, GRPC_TLS_CA_FILE: ca.caCert, GRPC_TLS_RELOAD_SECONDS: '1' }, warnings);
    try {
      await expect(attempt(h.address, trusting(ca.caCert))).resolves.toBe('OK');
      // The renewal's certificate has landed, its key not yet: grpc-js's own watcher served this pair.
      const renewed = rogue.issue('server-new');
      fs.copyFileSync(renewed.cert, files.cert);
      await new Promise((r) => setTimeout(r, 2500));
      await expect(attempt(h.address, trusting(ca.caCert))).resolves.toBe('OK');
      expect(warnings.join('')).toMatch(/a renewed certificate was refused; the last good one stays in use/);
      expect(warnings.join('')).toMatch(/is not the key of the certificate/);
      fs.copyFileSync(renewed.key, files.key);
      await expect(untilServed(h.address, trusting(rogue.caCert))).resolves.toBe('OK');
    } finally {
      await h.stop();
    }
  });
});

describe('settings that cannot work fail the start, by name', () => {
  it.each([
    [{ GRPC_TLS: 'mtls' }, /GRPC_TLS_CERT_FILE: is required when GRPC_TLS=mtls/],
    [{ GRPC_TLS: 'tls', GRPC_TLS_CERT_FILE: '/nonexistent.crt', GRPC_TLS_KEY_FILE: '/k', GRPC_TLS_CA_FILE: '/c' }, /GRPC_TLS_CERT_FILE: '\/nonexistent.crt' cannot be read/],
    [{ GRPC_AUTH: 'required' }, /GRPC_AUTH: required needs a way to prove a caller/],
  ])('%j', async (env, message) => {
    await expect(host(env as Record<string, string>)).rejects.toThrow(message);
  });
});

describe('a config that names GRPC_AUTH but not GRPC_TLS', () => {
  it('is checked, not served open', async () => {
    const start = hostService({
      name: 'partial',
      config: { GRPC_HOST: '127.0.0.1', GRPC_PORT: 0, METRICS_PORT: 0, SHUTDOWN_GRACE_SECONDS: 1, GRPC_AUTH: 'required' },
      logger: createLogger('partial', 'silent'),
      metrics: createServiceMetrics('partial'),
      bus: createMemoryBus(),
      module: testModule(),
    });
    await expect(start).rejects.toThrow(/GRPC_AUTH: required needs a way to prove a caller/);
  });
});

