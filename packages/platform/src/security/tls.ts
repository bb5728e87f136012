import fs from 'node:fs';
import { credentials, experimental, Metadata, ServerCredentials, type CallCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { ConfigError } from '../errors';
import { readableFile } from './confine';

/** off: plaintext (loopback, embedded); tls: the server proves itself; mtls: both sides do. */
export type TlsMode = 'off' | 'tls' | 'mtls';

export interface TlsSettings {
  readonly mode: TlsMode;
  /** PEM certificate chain and key: the server's identity, and the client's in mtls. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** PEM CA bundle: verifies the server (clients) and the clients' certificates (mtls servers). */
  readonly caFile?: string;
  /** How often the files are re-read: cert-manager renews them in place. */
  readonly reloadMs: number;
}

/** The config keys this module reads (commonConfigShape's GRPC_TLS*). */
export interface TlsConfig {
  GRPC_TLS: TlsMode;
  GRPC_TLS_CERT_FILE?: string;
  GRPC_TLS_KEY_FILE?: string;
  GRPC_TLS_CA_FILE?: string;
  GRPC_TLS_RELOAD_SECONDS: number;
}

/** The TLS settings of a config, with what a mode needs checked: a missing or unreadable file fails the start by name. */
export function tlsSettings(config: TlsConfig): TlsSettings {
  const settings: TlsSettings = {
    mode: config.GRPC_TLS,
    certFile: config.GRPC_TLS_CERT_FILE,
    keyFile: config.GRPC_TLS_KEY_FILE,
    caFile: config.GRPC_TLS_CA_FILE,
    reloadMs: config.GRPC_TLS_RELOAD_SECONDS * 1000,
  };
  if (settings.mode === 'off') return settings;
  const need: Array<[string, string | undefined]> = [
    ['GRPC_TLS_CERT_FILE', settings.certFile],
    ['GRPC_TLS_KEY_FILE', settings.keyFile],
    ['GRPC_TLS_CA_FILE', settings.caFile],
  ];
  for (const [key, file] of need) {
    if (!file) throw new ConfigError(key, `is required when GRPC_TLS=${settings.mode}`);
    readableFile(key, file);
  }
  return settings;
}

/**
 * One file watcher per set of files, shared by the server and every client of the
 * process: grpc-js re-reads them every `reloadMs` and applies a renewed certificate to
 * new connections without a restart.
 */
const providers = new Map<string, experimental.CertificateProvider>();
function provider(files: { certificateFile?: string; privateKeyFile?: string; caCertificateFile?: string }, reloadMs: number): experimental.CertificateProvider {
  const key = JSON.stringify([files, reloadMs]);
  let found = providers.get(key);
  if (!found) {
    found = new experimental.FileWatcherCertificateProvider({ ...files, refreshIntervalMs: reloadMs });
    providers.set(key, found);
  }
  return found;
}

const identityOf = (s: TlsSettings) => provider({ certificateFile: s.certFile, privateKeyFile: s.keyFile }, s.reloadMs);
const caOf = (s: TlsSettings) => provider({ caCertificateFile: s.caFile }, s.reloadMs);

/**
 * Resolves once the watched files were read and parsed, so the server binds with its
 * certificate in hand (a connection before the first read is refused by grpc-js); a file
 * that is no PEM fails the start naming its variable.
 */
export async function whenTlsLoaded(s: TlsSettings, timeoutMs = 10_000): Promise<void> {
  if (s.mode === 'off') return;
  const first = (key: string, listen: (p: experimental.CertificateProvider, l: (u: unknown) => void) => void, remove: (p: experimental.CertificateProvider, l: (u: unknown) => void) => void, p: experimental.CertificateProvider) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ConfigError(key, `was not read within ${timeoutMs} ms`)), timeoutMs);
      const listener = (update: unknown) => {
        clearTimeout(timer);
        queueMicrotask(() => remove(p, listener));
        if (update === null) reject(new ConfigError(key, 'cannot be read as PEM (certificate, key and CA files)'));
        else resolve();
      };
      listen(p, listener);
    });
  await Promise.all([
    first('GRPC_TLS_CERT_FILE', (p, l) => p.addIdentityCertificateListener(l), (p, l) => p.removeIdentityCertificateListener(l), identityOf(s)),
    first('GRPC_TLS_CA_FILE', (p, l) => p.addCaCertificateListener(l), (p, l) => p.removeCaCertificateListener(l), caOf(s)),
  ]);
}

export function serverCredentials(s: TlsSettings): ServerCredentials {
  if (s.mode === 'off') return ServerCredentials.createInsecure();
  // grpc-js 1.14 declares (ca, identity, require) but its constructor reads (identity, ca,
  // require): the first argument is the identity, a null second one requests no client
  // certificate. The handshake tests (security-tls.test.ts) pin which is which.
  return experimental.createCertificateProviderServerCredentials(identityOf(s), s.mode === 'mtls' ? caOf(s) : (null as unknown as experimental.CertificateProvider), s.mode === 'mtls');
}

/**
 * Credentials for a client of RALM services: the CA to verify them by, this process's
 * certificate in mtls, and a bearer token read from `tokenFile` at every call (a
 * projected service-account token is rotated in place).
 */
export function clientCredentials(s: TlsSettings, tokenFile?: string): ChannelCredentials {
  if (s.mode === 'off') {
    if (tokenFile) throw new ConfigError('GRPC_CLIENT_TOKEN_FILE', 'a bearer token is never sent in plaintext: set GRPC_TLS too');
    return credentials.createInsecure();
  }
  const channel = experimental.createCertificateProviderChannelCredentials(caOf(s), s.mode === 'mtls' ? identityOf(s) : null);
  return tokenFile ? channel.compose(bearerFromFile(tokenFile)) : channel;
}

export function bearerFromFile(file: string): CallCredentials {
  return credentials.createFromMetadataGenerator((_params, callback) => {
    fs.promises.readFile(file, 'utf8').then(
      (token) => {
        const metadata = new Metadata();
        metadata.set('authorization', `Bearer ${token.trim()}`);
        callback(null, metadata);
      },
      (err: Error) => callback(err),
    );
  });
}
