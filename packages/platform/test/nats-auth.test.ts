/**
 * NATS login and TLS against a real nats-server: user/password (also inside NATS_URL),
 * token, nkey seed file, creds file (operator mode) and TLS with a client certificate, each accepted when right
 * and refused when wrong — through the same config path a service starts with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { nkeys } from '@nats-io/nats-core';
import { busFromConfig, commonConfigSchema, createLogger, loadConfig, stateStoreOpener, Subjects, type EventBus } from '@ralm/platform';
import { startNatsServer, type NatsServer } from '../src/testing/nats-server';
import { createTestCa } from '../src/testing/pki';

jest.setTimeout(60_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-nats-auth-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const logger = createLogger('nats-auth-test', 'silent');

/** Connects a bus as a service would from `env`, publishes one event and closes; resolves 'ok' or the error's text. */
async function tryBus(env: Record<string, string>): Promise<string> {
  let bus: EventBus | undefined;
  try {
    bus = await busFromConfig(loadConfig(commonConfigSchema, { NATS_CONNECT_TIMEOUT_MS: '2000', ...env }), 'auth-test', logger);
    await bus.publish(Subjects.candidateRetired, { candidateId: 'c1', retiredAtMs: 1 } as never);
    return 'ok';
  } catch (err) {
    return String((err as Error).message);
  } finally {
    await bus?.close();
  }
}

/** A nats-server with `config` for the enclosing describe block; `before` runs first (files the config names). */
function natsServerWith(config: () => string, before: () => void | Promise<void> = () => undefined): { readonly current: NatsServer } {
  const holder = {} as { current: NatsServer };
  beforeAll(async () => {
    await before();
    holder.current = await startNatsServer({ config: config() });
  });
  afterAll(() => holder.current.stop());
  return holder;
}

describe('user and password', () => {
  const nats = natsServerWith(() => 'authorization { users: [ { user: "svc", password: "s3cret" } ] }');

  it('logs in with NATS_USER / NATS_PASSWORD, and with credentials written into NATS_URL', async () => {
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_USER: 'svc', NATS_PASSWORD: 's3cret' })).resolves.toBe('ok');
    await expect(tryBus({ NATS_URL: `nats://svc:s3cret@127.0.0.1:${nats.current.port}` })).resolves.toBe('ok');
  });

  it('is refused anonymously and with a wrong password', async () => {
    await expect(tryBus({ NATS_URL: nats.current.url })).resolves.toMatch(/Authorization Violation/i);
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_USER: 'svc', NATS_PASSWORD: 'wrong' })).resolves.toMatch(/Authorization Violation/i);
  });

  it('opens a state store with the same login', async () => {
    const config = loadConfig(commonConfigSchema, { NATS_URL: nats.current.url, NATS_USER: 'svc', NATS_PASSWORD: 's3cret' });
    const store = await stateStoreOpener(config, logger)('auth-test');
    try {
      await store.put('k', new Uint8Array([1, 2, 3]));
      await expect(store.get('k')).resolves.toEqual(new Uint8Array([1, 2, 3]));
    } finally {
      await store.close();
    }
  });
});

describe('token', () => {
  const nats = natsServerWith(() => 'authorization { token: "t0ken-abc" }');

  it('logs in with NATS_TOKEN or nats://<token>@host, and is refused with another token', async () => {
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_TOKEN: 't0ken-abc' })).resolves.toBe('ok');
    await expect(tryBus({ NATS_URL: `nats://t0ken-abc@127.0.0.1:${nats.current.port}` })).resolves.toBe('ok');
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_TOKEN: 'other' })).resolves.toMatch(/Authorization Violation/i);
  });
});

describe('nkey', () => {
  const user = nkeys.createUser();
  const seedFile = path.join(dir, 'user.nk');
  const otherSeedFile = path.join(dir, 'other.nk');
  const nats = natsServerWith(
    () => `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }`,
    () => {
      fs.writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()) + '\n', { mode: 0o600 });
      fs.writeFileSync(otherSeedFile, new TextDecoder().decode(nkeys.createUser().getSeed()), { mode: 0o600 });
    },
  );

  it('logs in by signing the server nonce with the seed in NATS_NKEY_SEED_FILE, and is refused with another seed', async () => {
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_NKEY_SEED_FILE: seedFile })).resolves.toBe('ok');
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_NKEY_SEED_FILE: otherSeedFile })).resolves.toMatch(/Authorization Violation/i);
  });
});

describe('creds file (decentralized auth: operator, account and user JWTs)', () => {
  // What `nsc` would make: an operator, an account it signs (JetStream on), and users the account signs.
  const operator = createOperator();
  const account = createAccount();
  const user = createUser();
  const credsFile = path.join(dir, 'user.creds');
  const strangerCreds = path.join(dir, 'stranger.creds');
  let config = '';
  const nats = natsServerWith(
    () => config,
    async () => {
      const stranger = createUser();
      const otherAccount = createAccount();
      const operatorJwt = await encodeOperator('ralm-test', operator);
      const accountJwt = await encodeAccount('RALM', account, { limits: { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, leaf: -1, wildcards: true, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } }, { signer: operator });
      fs.writeFileSync(credsFile, fmtCreds(await encodeUser('svc', user, account), user), { mode: 0o600 });
      // Signed by an account the operator never signed.
      fs.writeFileSync(strangerCreds, fmtCreds(await encodeUser('stranger', stranger, otherAccount), stranger), { mode: 0o600 });
      // JetStream in operator mode needs a system account.
      const system = createAccount();
      const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
      config = [
        `operator: "${operatorJwt}"`,
        `system_account: ${system.getPublicKey()}`,
        'resolver: MEMORY',
        `resolver_preload: { ${account.getPublicKey()}: "${accountJwt}", ${system.getPublicKey()}: "${systemJwt}" }`,
      ].join('\n');
    },
  );

  it('logs in with NATS_CREDS_FILE (the user JWT and the seed signing the nonce), and is refused with a user of another account', async () => {
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_CREDS_FILE: credsFile })).resolves.toBe('ok');
    await expect(tryBus({ NATS_URL: nats.current.url, NATS_CREDS_FILE: strangerCreds })).resolves.toMatch(/Authorization Violation/i);
    await expect(tryBus({ NATS_URL: nats.current.url })).resolves.toMatch(/Authorization Violation/i);
  });
});

describe('TLS', () => {
  const ca = createTestCa(path.join(dir, 'ca'));
  const rogue = createTestCa(path.join(dir, 'rogue'), 'rogue-ca');
  const nats = natsServerWith(() => {
    const cert = ca.issue('nats-server');
    return `tls { cert_file: "${cert.cert}", key_file: "${cert.key}", ca_file: "${cert.ca}", verify: true }`;
  });

  it('connects over TLS with the CA and a client certificate', async () => {
    const client = ca.issue('nats-client');
    await expect(tryBus({ NATS_URL: `tls://127.0.0.1:${nats.current.port}`, NATS_TLS_CA_FILE: ca.caCert, NATS_TLS_CERT_FILE: client.cert, NATS_TLS_KEY_FILE: client.key })).resolves.toBe('ok');
  });

  it('is refused without a client certificate, with one from another CA, and when it cannot verify the server', async () => {
    // The server drops a client without an acceptable certificate after the handshake: nats.js
    // sees only a timeout, so the server's own log says it was a refusal, not a server away.
    const refusals = () => (nats.current.log().match(/TLS handshake error/g) ?? []).length;
    const before = refusals();
    await expect(tryBus({ NATS_URL: `tls://127.0.0.1:${nats.current.port}`, NATS_TLS_CA_FILE: ca.caCert })).resolves.toMatch(/timeout/);
    expect(nats.current.log()).toMatch(/TLS handshake error: .*(certificate required|didn't provide a certificate|no certificate)/i);
    const stranger = rogue.issue('stranger');
    await expect(tryBus({ NATS_URL: `tls://127.0.0.1:${nats.current.port}`, NATS_TLS_CA_FILE: ca.caCert, NATS_TLS_CERT_FILE: stranger.cert, NATS_TLS_KEY_FILE: stranger.key })).resolves.toMatch(/timeout/);
    expect(nats.current.log()).toMatch(/TLS handshake error: .*(unknown authority|certificate signed by unknown)/i);
    expect(refusals()).toBeGreaterThanOrEqual(before + 2);
    const client = ca.issue('nats-client-2');
    await expect(tryBus({ NATS_URL: `tls://127.0.0.1:${nats.current.port}`, NATS_TLS_CA_FILE: rogue.caCert, NATS_TLS_CERT_FILE: client.cert, NATS_TLS_KEY_FILE: client.key })).resolves.toMatch(/unable to verify/);
  });
});

describe('settings that cannot work', () => {
  it.each([
    [{ NATS_USER: 'a', NATS_TOKEN: 'b' }, /NATS_TOKEN: set one way to log in to NATS, not NATS_USER and NATS_TOKEN/],
    [{ NATS_PASSWORD: 'p' }, /NATS_PASSWORD: needs NATS_USER/],
    [{ NATS_TLS_CERT_FILE: '/etc/hostname' }, /NATS_TLS_KEY_FILE: a client certificate needs its key/],
    [{ NATS_NKEY_SEED_FILE: '/nonexistent.nk' }, /NATS_NKEY_SEED_FILE: '\/nonexistent.nk' cannot be read/],
  ])('%j fails the start naming the variable', async (env, message) => {
    await expect(tryBus({ NATS_URL: 'nats://127.0.0.1:1', ...env })).resolves.toMatch(message);
  });
});
