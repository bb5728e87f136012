import fs from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/nats-core';
import { ConfigError } from '../errors';
import { readableFile } from './confine';

/** How this process proves itself to NATS and checks the server: one of user/password, token, nkey or creds, plus TLS. */
export interface NatsAuth {
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** An nkey seed file (`SU…`); re-read at every (re)connect, so a rotated seed is used. */
  readonly nkeySeedFile?: string;
  /** A creds file (user JWT and seed, from `nsc`); re-read at every (re)connect. */
  readonly credsFile?: string;
  readonly tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** nats.js `inboxPrefix`: this connection's reply subjects, so permissions can keep others' replies from it. */
  readonly inboxPrefix?: string;
  /** nats.js `timeout`: how long the first connection may take. */
  readonly connectTimeoutMs?: number;
}

/** The config keys (commonConfigShape's NATS_*). */
export interface NatsAuthConfig {
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  NATS_TOKEN?: string;
  NATS_NKEY_SEED_FILE?: string;
  NATS_CREDS_FILE?: string;
  NATS_TLS_CA_FILE?: string;
  NATS_TLS_CERT_FILE?: string;
  NATS_TLS_KEY_FILE?: string;
  NATS_CONNECT_TIMEOUT_MS?: number;
  NATS_INBOX_PREFIX?: string;
}

/** The NATS credentials a config names, checked: one way to log in at most, files readable, a certificate with its key. */
export function natsAuth(config: NatsAuthConfig): NatsAuth {
  const ways = [config.NATS_USER && 'NATS_USER', config.NATS_TOKEN && 'NATS_TOKEN', config.NATS_NKEY_SEED_FILE && 'NATS_NKEY_SEED_FILE', config.NATS_CREDS_FILE && 'NATS_CREDS_FILE'].filter(Boolean);
  if (ways.length > 1) throw new ConfigError(ways[1]!, `set one way to log in to NATS, not ${ways.join(' and ')}`);
  if (config.NATS_PASSWORD && !config.NATS_USER) throw new ConfigError('NATS_PASSWORD', 'needs NATS_USER');
  if (Boolean(config.NATS_TLS_CERT_FILE) !== Boolean(config.NATS_TLS_KEY_FILE)) {
    throw new ConfigError(config.NATS_TLS_CERT_FILE ? 'NATS_TLS_KEY_FILE' : 'NATS_TLS_CERT_FILE', 'a client certificate needs its key, and the key its certificate');
  }
  const tls = {
    caFile: readableFile('NATS_TLS_CA_FILE', config.NATS_TLS_CA_FILE),
    certFile: readableFile('NATS_TLS_CERT_FILE', config.NATS_TLS_CERT_FILE),
    keyFile: readableFile('NATS_TLS_KEY_FILE', config.NATS_TLS_KEY_FILE),
  };
  return {
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    token: config.NATS_TOKEN,
    nkeySeedFile: readableFile('NATS_NKEY_SEED_FILE', config.NATS_NKEY_SEED_FILE),
    credsFile: readableFile('NATS_CREDS_FILE', config.NATS_CREDS_FILE),
    ...(tls.caFile || tls.certFile ? { tls } : {}),
    connectTimeoutMs: config.NATS_CONNECT_TIMEOUT_MS,
    inboxPrefix: config.NATS_INBOX_PREFIX,
  };
}

/**
 * Servers and login options for nats.js. Credentials written into a URL
 * (`nats://user:pass@host`, `nats://token@host`) are taken out of it — nats.js would
 * otherwise not send them, and the URL is logged — and used unless the config names
 * its own.
 */
export function natsConnectOptions(servers: string | readonly string[], auth: NatsAuth = {}): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'tls' | 'timeout' | 'inboxPrefix'> {
  let fromUrl: { user?: string; pass?: string; token?: string } = {};
  const clean = (typeof servers === 'string' ? [servers] : servers).map((server) => {
    const url = new URL(server);
    if (url.username === '' && url.password === '') return server;
    const user = decodeURIComponent(url.username);
    fromUrl = url.password !== '' ? { user, pass: decodeURIComponent(url.password) } : { token: user };
    return `${url.protocol}//${url.host}`;
  });
  const explicit = auth.user || auth.token || auth.nkeySeedFile || auth.credsFile;
  const login = explicit ? { user: auth.user, pass: auth.pass, token: auth.token } : fromUrl;
  const options: ReturnType<typeof natsConnectOptions> = { servers: clean };
  if (login.user) Object.assign(options, { user: login.user, pass: login.pass });
  if (login.token) options.token = login.token;
  if (auth.nkeySeedFile) {
    const file = auth.nkeySeedFile;
    options.authenticator = nkeyAuthenticator(() => new TextEncoder().encode(fs.readFileSync(file, 'utf8').trim()));
  }
  if (auth.credsFile) {
    const file = auth.credsFile;
    options.authenticator = credsAuthenticator(() => fs.readFileSync(file));
  }
  if (auth.tls) options.tls = { ...auth.tls };
  if (auth.connectTimeoutMs !== undefined) options.timeout = auth.connectTimeoutMs;
  if (auth.inboxPrefix) options.inboxPrefix = auth.inboxPrefix;
  return options;
}
