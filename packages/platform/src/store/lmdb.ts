/**
 * The embedded state store: one LMDB environment (lmdb-js) in a directory on
 * local disk. Keys are stored as their UTF-8 bytes, values as raw bytes.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { UnavailableError } from '../errors';
import { open, type Database } from 'lmdb';
import { silentLogger } from '../bus/shared';
import { checkLmdbFile } from './lmdb-check';
import type { StateStore } from './port';
import { StateStoreClosedError, validateStatePrefix, validateStateKey, type StateStoreLogger } from './shared';

export interface LmdbStoreOptions {
  /** Directory holding the LMDB files (`data.mdb`, `lock.mdb`); created if missing. */
  dir: string;
  logger?: StateStoreLogger;
  /** Free bytes on the store's filesystem (default: statfs); tests stand in a full disk. */
  freeBytes?: () => Promise<number>;
}

/**
 * Room a write must leave on the disk. LMDB grows its file by mapping pages, and a
 * write that meets a full disk inside lmdb-js was measured to abort the process (heap
 * corruption), so a write that would come near it is refused before LMDB sees it.
 */
const MIN_FREE_BYTES = 32 * 2 ** 20;

/** Opens (creating if needed) the LMDB environment in `dir`. */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<StateStore> {
  await mkdir(options.dir, { recursive: true });
  await checkLmdbFile(options.dir);
  const db = open<Uint8Array, Buffer>({
    path: options.dir,
    // lmdb-js treats a path with an extension as a file name; `dir` is always a directory.
    noSubdir: false,
    encoding: 'binary',
    // Raw UTF-8 key bytes, not lmdb-js's typed ordered-binary: byte order is the
    // documented key order, and a prefix of a key is a byte prefix of its encoding.
    keyEncoding: 'binary',
  });
  (options.logger ?? silentLogger).info({ dir: options.dir }, 'lmdb state store opened');
  const freeBytes = options.freeBytes ?? (async () => {
    const stats = await statfs(options.dir);
    return stats.bavail * stats.bsize;
  });
  return new LmdbStateStore(db, freeBytes);
}

class LmdbStateStore implements StateStore {
  readonly kind = 'lmdb' as const;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly db: Database<Uint8Array, Buffer>,
    private readonly freeBytes: () => Promise<number>,
  ) {}

  /** UnavailableError (retryable) when the disk lacks room for `bytes` more and the margin. */
  private async requireRoom(bytes: number): Promise<void> {
    const free = await this.freeBytes();
    if (free < 2 * bytes + MIN_FREE_BYTES) {
      throw new UnavailableError(`lmdb state store: the disk is (nearly) full, ${free} bytes free; nothing was written, retry once space is freed`);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    validateStateKey(key);
    const value = this.db.get(utf8(key));
    // lmdb-js returns a dedicated Buffer; a plain Uint8Array view keeps both adapters alike.
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.checkOpen();
    validateStateKey(key);
    await this.requireRoom(value.length);
    await this.db.put(utf8(key), value);
    await this.synced();
  }

  async delete(key: string): Promise<void> {
    this.checkOpen();
    validateStateKey(key);
    await this.db.remove(utf8(key)); // resolves false for an absent key
    await this.synced();
  }

  async keys(prefix = ''): Promise<string[]> {
    this.checkOpen();
    validateStatePrefix(prefix);
    const start = utf8(prefix);
    const keys: string[] = [];
    // Keys sharing a byte prefix are contiguous and start at the prefix itself.
    for (const key of this.db.getKeys(prefix === '' ? {} : { start })) {
      if (key.length < start.length || !key.subarray(0, start.length).equals(start)) break;
      keys.push(key.toString('utf8'));
    }
    return keys;
  }

  close(): Promise<void> {
    // close() waits for queued writes and their flush.
    this.closing ??= this.db.close();
    return this.closing;
  }

  /**
   * Durability: lmdb-js defaults to `overlappingSync` on Linux and macOS, so a
   * write's promise resolves at commit (visible, safe from a process crash)
   * and the fsync follows. Waiting for `flushed` as well makes a resolved
   * put or delete survive an OS crash or power loss, as far as the disk honours fsync.
   */
  private async synced(): Promise<void> {
    await this.db.flushed;
  }

  private checkOpen(): void {
    if (this.closing) throw new StateStoreClosedError(this.kind);
  }
}

function utf8(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}
