/**
 * The state-store port: durable key → bytes for service state that must
 * survive a restart (the seed collector's snapshots, the clusterer's centroids).
 * Two adapters implement it: LMDB files on local disk (the embedded default)
 * and the NATS JetStream object store (the mesh, where pods are replaceable).
 *
 * Values are opaque bytes and may be large (a 3M-seed snapshot is tens of MB);
 * a value is always replaced whole, never patched.
 */
export interface StateStore {
  /** `lmdb` or `nats`: reported in logs and `ralm status`. */
  readonly kind: 'lmdb' | 'nats';
  /** The stored value, or undefined when the key is absent. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `value` under `key`, replacing any previous value atomically: a
   * reader (or a restart) sees the old value or the new one, never a mix.
   * Resolves once the value is durable.
   */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Removes a key; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix` (all keys when empty), sorted ascending. */
  keys(prefix?: string): Promise<string[]>;
  /** Flushes and releases the store; later calls reject. Idempotent. */
  close(): Promise<void>;
}

/** Longest key accepted, in UTF-8 bytes (LMDB's default key limit is 511 bytes). */
export const MAX_STATE_KEY_BYTES = 480;
