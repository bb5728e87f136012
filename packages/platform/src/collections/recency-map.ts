import { Fifo } from './fifo';

/**
 * Keys (with values) in recency order with a hard cap: setting a key makes it
 * the newest; past the cap the oldest fall out. A Map keeps the order (delete +
 * set moves a key to the end) and each key's latest stamp; evictions come from a
 * FIFO of writes, skipping those a later write made stale, so evicting at the cap
 * is O(1) amortised (see Fifo for why not `map.keys().next()`). An LRU cache
 * and the seed collector's "latest N distinct clickers" are both this.
 */
export class RecencyMap<K, V> {
  private readonly entries = new Map<K, { value: V; stamp: number }>();
  private writes = new Fifo<{ key: K; stamp: number }>();
  private clock = 0;

  constructor(readonly cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`cap must be a positive integer, got ${cap}`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The value, without changing recency. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** The value, made the newest (an LRU read). */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry) this.set(key, entry.value);
    return entry?.value;
  }

  /** Stores `value` as the newest. Returns the keys evicted to respect the cap (usually none). */
  set(key: K, value: V): K[] {
    const existed = this.entries.delete(key);
    return this.insert(key, value, existed);
  }

  /** `set` for a key known to be absent: skips the lookup that would move an existing key. */
  add(key: K, value: V): K[] {
    return this.insert(key, value, false);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Oldest first. */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  /** Newest first, up to `limit`. */
  newest(limit: number): K[] {
    const all = [...this.entries.keys()];
    return all.slice(Math.max(0, all.length - limit)).reverse();
  }

  private insert(key: K, value: V, existed: boolean): K[] {
    const stamp = ++this.clock;
    this.entries.set(key, { value, stamp });
    this.writes.push({ key, stamp });
    const evicted: K[] = [];
    if (!existed) while (this.entries.size > this.cap) evicted.push(this.evictOldest());
    // Rewrites leave stale entries behind; rebuild from the Map before they dominate.
    if (this.writes.size > 2 * this.entries.size + 1024) this.rebuildWrites();
    return evicted;
  }

  private evictOldest(): K {
    for (;;) {
      const { key, stamp } = this.writes.shift()!;
      if (this.entries.get(key)?.stamp === stamp) {
        this.entries.delete(key);
        return key;
      }
    }
  }

  private rebuildWrites(): void {
    const fresh = new Fifo<{ key: K; stamp: number }>();
    for (const [key, { stamp }] of this.entries) fresh.push({ key, stamp });
    this.writes = fresh;
  }
}
