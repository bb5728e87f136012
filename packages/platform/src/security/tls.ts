import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
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

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function readNamed(key: string, file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    throw new ConfigError(key, `'${file}' cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function certificatesIn(key: string, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ConfigError(key, `'${file}' holds no PEM certificate`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(key, `'${file}' holds a certificate that does not parse (${(err as Error).message})`);
    }
  });
}

/** A certificate chain and the key that belongs to its leaf, the leaf not yet expired. */
export async function loadIdentity(certFile: string, keyFile: string, now = Date.now()): Promise<experimental.IdentityCertificateUpdate> {
  const [certificate, privateKey] = await Promise.all([readNamed('GRPC_TLS_CERT_FILE', certFile), readNamed('GRPC_TLS_KEY_FILE', keyFile)]);
  const [leaf] = certificatesIn('GRPC_TLS_CERT_FILE', certFile, certificate);
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
  } catch {
    throw new ConfigError('GRPC_TLS_KEY_FILE', `'${keyFile}' holds no PEM private key`);
  }
  if (!leaf!.checkPrivateKey(key)) throw new ConfigError('GRPC_TLS_KEY_FILE', `'${keyFile}' is not the key of the certificate in '${certFile}'`);
  if (Date.parse(leaf!.validTo) <= now) throw new ConfigError('GRPC_TLS_CERT_FILE', `'${certFile}' expired at ${leaf!.validTo}`);
  return { certificate, privateKey };
}

/** A CA bundle in which every certificate parses. */
export async function loadCa(caFile: string): Promise<experimental.CaCertificateUpdate> {
  const caCertificate = await readNamed('GRPC_TLS_CA_FILE', caFile);
  certificatesIn('GRPC_TLS_CA_FILE', caFile, caCertificate);
  return { caCertificate };
}

type Update = experimental.IdentityCertificateUpdate | experimental.CaCertificateUpdate;
const sameUpdate = (a: Update, b: Update) =>
  'caCertificate' in a && 'caCertificate' in b
    ? a.caCertificate.equals(b.caCertificate)
    : 'certificate' in a && 'certificate' in b && a.certificate.equals(b.certificate) && a.privateKey.equals(b.privateKey);

/**
 * Watches a certificate and key, or a CA bundle, and hands grpc-js only what parses and
 * fits together. grpc-js's FileWatcherCertificateProvider passes the bytes on unread: a
 * file that is no PEM, or a key read while cert-manager was half-way through swapping
 * the pair, reached the TLS stack and every new handshake failed while health said
 * SERVING. Here the first read must be good (else the start fails naming the variable);
 * a later bad read keeps the last good pair, is reported once, and is retried next interval.
 */
class CheckedFileProvider implements experimental.CertificateProvider {
  private latest: Update | undefined;
  private lastError: ConfigError | undefined;
  private readonly listeners = new Set<(u: Update) => void>();
  private readonly rejectionListeners = new Set<(err: ConfigError) => void>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly load: () => Promise<Update>,
    private readonly reloadMs: number,
  ) {}

  /** Resolves once a good read is in hand; rejects with the reason when there is none yet. */
  async ready(): Promise<void> {
    if (this.latest) return;
    await this.refresh();
    if (!this.latest) throw this.lastError!;
  }

  onRejected(listener: (err: ConfigError) => void): () => void {
    this.rejectionListeners.add(listener);
    return () => this.rejectionListeners.delete(listener);
  }

  private refresh(): Promise<void> {
    this.reading ??= this.load().then(
      (update) => {
        this.reading = undefined;
        this.lastError = undefined;
        if (this.latest && sameUpdate(this.latest, update)) return;
        this.latest = update;
        for (const listener of this.listeners) listener(update);
      },
      (err: unknown) => {
        this.reading = undefined;
        const error = err instanceof ConfigError ? err : new ConfigError('GRPC_TLS', (err as Error).message);
        const repeated = this.lastError?.message === error.message;
        this.lastError = error;
        if (this.latest && !repeated) for (const listener of this.rejectionListeners) listener(error);
      },
    );
    return this.reading;
  }

  private add(listener: (u: Update) => void): void {
    this.listeners.add(listener);
    if (this.latest) process.nextTick(listener, this.latest);
    else void this.refresh();
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.reloadMs);
      this.timer.unref();
    }
  }

  private remove(listener: (u: Update) => void): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.add(listener as (u: Update) => void);
  }
  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.remove(listener as (u: Update) => void);
  }
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.add(listener as (u: Update) => void);
  }
  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.remove(listener as (u: Update) => void);
  }
}

/** One watcher per set of files, shared by the server and every client of the process. */
const providers = new Map<string, CheckedFileProvider>();
function provider(files: string[], reloadMs: number, load: () => Promise<Update>): CheckedFileProvider {
  const key = JSON.stringify([files, reloadMs]);
  let found = providers.get(key);
  if (!found) {
    found = new CheckedFileProvider(load, reloadMs);
    providers.set(key, found);
  }
  return found;
}

const identityOf = (s: TlsSettings) => provider([s.certFile!, s.keyFile!], s.reloadMs, () => loadIdentity(s.certFile!, s.keyFile!));
const caOf = (s: TlsSettings) => provider([s.caFile!], s.reloadMs, () => loadCa(s.caFile!));

/**
 * Resolves once the files were read and checked, so the server binds with its
 * certificate in hand (grpc-js refuses a connection before the first read); a file that
 * is no PEM, a key that is not the certificate's or an expired certificate fails the
 * start naming its variable. Later rejected reloads go to `onRejected` (a warning: the
 * last good files stay in use) until the returned function is called.
 */
export async function whenTlsLoaded(s: TlsSettings, onRejected: (err: ConfigError) => void = () => {}): Promise<() => void> {
  if (s.mode === 'off') return () => {};
  const watched = [identityOf(s), caOf(s)];
  await Promise.all(watched.map((p) => p.ready()));
  const unsubscribe = watched.map((p) => p.onRejected(onRejected));
  return () => unsubscribe.forEach((u) => u());
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
