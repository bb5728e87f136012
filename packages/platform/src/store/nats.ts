/**
 * The mesh state store: a NATS JetStream object store bucket (stream
 * `OBJ_<bucket>`). The object store rather than KV because a value can be tens
 * of MB and a KV value must fit in one message (`max_payload`, 1 MB by default);
 * objects are split into 128 KiB chunks. Works with nats-server 2.9+.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm, StorageType, type ObjectStore } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { natsConnectOptions, type NatsAuth } from '../security/nats-auth';
import { positive, silentLogger } from '../bus/shared';
import { asUnavailable } from '../nats-errors';
import { readObject } from './nats-read';
import type { StateStore } from './port';
import { sortStateKeys, StateStoreClosedError, validateStatePrefix, validateStateKey, type StateStoreLogger } from './shared';

export interface NatsStoreOptions {
  /** `nats://host:port` URL(s) of the server or cluster. */
  servers: string | string[];
  /** Login and TLS (security/nats-auth.ts). */
  auth?: NatsAuth;
  /** Object store bucket, created if absent: letters, digits, `-` and `_`. */
  bucket: string;
  /** Connection name shown by the server (use the service name). */
  name: string;
  /** Bucket replicas in a cluster, 1–5; used only when the bucket is created. Default 1. */
  replicas?: number;
  /** Where the server keeps the bucket; used only when it is created. Default `file`. */
  storage?: 'file' | 'memory';
  /**
   * Milliseconds one NATS request (a chunk's publish, a lookup) waits, and the
   * longest gap between chunks of a read, before failing UNAVAILABLE. Default 5000.
   */
  requestTimeoutMs?: number;
  /** Milliseconds between reconnect attempts to one server. Default 2000. */
  reconnectTimeWaitMs?: number;
  logger?: StateStoreLogger;
}

/** A read retried this often when a concurrent replace or delete purged the chunks it was reading. */
const READ_ATTEMPTS = 3;

/**
 * Connects and ensures the bucket. Rejects if the first connection or the
 * bucket set-up fails; after that it reconnects forever, and calls made while
 * NATS is unreachable reject with UnavailableError after `requestTimeoutMs`.
 */
export async function connectNatsStore(options: NatsStoreOptions): Promise<StateStore> {
  const timeout = positive(options.requestTimeoutMs, 5000);
  const logger = options.logger ?? silentLogger;
  const nc = await connect({
    ...natsConnectOptions(options.servers, options.auth),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: positive(options.reconnectTimeWaitMs, 2000),
  }).catch((err: unknown) => {
    throw asUnavailable(err, 'nats state store', 'connect');
  });
  try {
    const os = await new Objm(jetstream(nc, { timeout })).create(options.bucket, {
      storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      replicas: options.replicas ?? 1,
    });
    logger.info({ server: nc.getServer(), bucket: options.bucket }, 'nats state store connected');
    return new NatsStateStore(nc, os, timeout);
  } catch (err) {
    await nc.close();
    throw asUnavailable(err, 'nats state store', `open bucket ${options.bucket}`);
  }
}

class NatsStateStore implements StateStore {
  readonly kind = 'nats' as const;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly os: ObjectStore,
    private readonly timeoutMs: number,
  ) {}

  get(key: string): Promise<Uint8Array | undefined> {
    return this.call(`get ${key}`, key, () => this.read(key, 1));
  }

  /**
   * The library writes the chunks under a fresh id, then the object's metadata
   * with a subject rollup (the single switch from old to new), then purges the
   * old chunks; every read checks the SHA-256 of what it got. Resolves on the
   * metadata's PubAck: stored by the server (and a quorum of replicas), which
   * fsyncs on its own schedule (`sync_interval`, 2 min by default).
   */
  put(key: string, value: Uint8Array): Promise<void> {
    return this.call(`put ${key}`, key, async () => {
      await this.os.putBlob({ name: objectName(key) }, value, { timeout: this.timeoutMs });
    });
  }

  delete(key: string): Promise<void> {
    return this.call(`delete ${key}`, key, async () => {
      await this.os.delete(objectName(key)); // an absent object answers { success: false }
    });
  }

  async keys(prefix = ''): Promise<string[]> {
    this.checkOpen();
    validateStatePrefix(prefix);
    return this.guard(`list keys '${prefix}'`, async () => {
      const infos = await this.os.list(); // current objects; deleted ones are skipped
      const keys = infos.filter((info) => !info.deleted).map((info) => keyOf(info.name));
      return sortStateKeys(keys.filter((key) => key.startsWith(prefix)));
    });
  }

  close(): Promise<void> {
    this.closing ??= this.nc.close();
    return this.closing;
  }

  private async read(key: string, attempt: number): Promise<Uint8Array | undefined> {
    const result = await this.os.get(objectName(key)); // null when absent or deleted
    if (result === null) return undefined;
    try {
      return await readObject(result, this.timeoutMs, `get ${key}`);
    } catch (err) {
      // A replace or delete since our metadata read purges the chunks we were reading.
      const now = await this.os.info(objectName(key));
      if (attempt < READ_ATTEMPTS && now?.revision !== result.info.revision) return this.read(key, attempt + 1);
      throw err;
    }
  }

  private async call<T>(what: string, key: string, op: () => Promise<T>): Promise<T> {
    this.checkOpen();
    validateStateKey(key);
    return this.guard(what, op);
  }

  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw asUnavailable(err, 'nats state store', what);
    }
  }

  private checkOpen(): void {
    if (this.closing) throw new StateStoreClosedError(this.kind);
  }
}

/**
 * The object name for a key: its UTF-8 bytes as a Latin-1 string. nats.js
 * base64-encodes names with `btoa`, which throws beyond U+00FF; bytes as chars
 * make the subject token the base64 of the UTF-8 key, as other NATS clients
 * compute it. ASCII keys are unchanged.
 */
function objectName(key: string): string {
  return Buffer.from(key, 'utf8').toString('latin1');
}

function keyOf(name: string): string {
  return Buffer.from(name, 'latin1').toString('utf8');
}
