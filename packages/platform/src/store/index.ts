/** The state store: the port, its two adapters, and the URL-driven choice between them. */
import { openLmdbStore } from './lmdb';
import { connectNatsStore, type NatsStoreOptions } from './nats';
import type { StateStore } from './port';
import type { StateStoreLogger } from './shared';

export { MAX_STATE_KEY_BYTES, type StateStore } from './port';
export { openLmdbStore, type LmdbStoreOptions } from './lmdb';
export { prefixedStore } from './prefixed';
export { checkLmdbFile } from './lmdb-check';
export { connectNatsStore, type NatsStoreOptions } from './nats';
export { sortStateKeys, StateStoreClosedError, validateStateKey, type StateStoreLogger } from './shared';

export interface StateStoreOptions {
  /** NATS URL(s), comma-separated as for the bus; empty or absent means LMDB. */
  natsUrl?: string;
  /** LMDB directory; used only without NATS. */
  dir: string;
  /** Object store bucket; used only with NATS. */
  bucket: string;
  /** NATS connection name: the service name. */
  name: string;
  logger?: StateStoreLogger;
  /** Used only for NATS. */
  nats?: Omit<NatsStoreOptions, 'servers' | 'bucket' | 'name' | 'logger'>;
}

/**
 * The NATS object store when `natsUrl` is set (the mesh, where pods are
 * replaceable), otherwise LMDB files in `dir` (the embedded default).
 */
export async function openStateStore(options: StateStoreOptions): Promise<StateStore> {
  const servers = (options.natsUrl ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const logger = options.logger && { logger: options.logger };
  if (servers.length === 0) return openLmdbStore({ dir: options.dir, ...logger });
  return connectNatsStore({ ...options.nats, servers, bucket: options.bucket, name: options.name, ...logger });
}
