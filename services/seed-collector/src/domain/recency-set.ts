import { Fifo } from '@ralm/platform/collections/fifo';

/**
 * Distinct keys in recency order with a hard cap: touching a key makes it the
 * newest; past the cap the oldest fall out. A Map keeps the order (delete + set
 * moves a key to the end) and each key's latest touch stamp; evictions come from
 * a FIFO of touches, skipping those a later touch made stale, so evicting at the
 * cap is O(1) amortised (see Fifo for why not `map.keys().next()`).
 */
export class RecencySet<K> {
  private readonly stamps = new Map<K, number>();
  private touches = new Fifo<{ key: K; stamp: number }>();
  private clock = 0;

  constructor(readonly cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`cap must be a positive integer, got ${cap}`);
  }

  /** A set holding `keys` (oldest first); past `cap` only the newest are kept. */
  static from<K>(keys: Iterable<K>, cap: number): RecencySet<K> {
    const set = new RecencySet<K>(cap);
    for (const key of keys) set.touch(key);
    return set;
  }

  get size(): number {
    return this.stamps.size;
  }

  has(key: K): boolean {
    return this.stamps.has(key);
  }

  /** Makes `key` the newest. Returns the keys evicted to respect the cap (usually none). */
  touch(key: K): K[] {
    const existed = this.stamps.delete(key);
    const stamp = ++this.clock;
    this.stamps.set(key, stamp);
    this.touches.push({ key, stamp });
    const evicted: K[] = [];
    if (!existed) while (this.stamps.size > this.cap) evicted.push(this.evictOldest());
    // Repeat touches leave stale entries behind; rebuild from the Map before they dominate.
    if (this.touches.size > 2 * this.stamps.size + 1024) this.rebuildTouches();
    return evicted;
  }

  /**
   * Makes a key known to be absent the newest: `touch` without the lookup that
   * would move an existing key (the seed book checks `has` first on its hot path).
   */
  add(key: K): K[] {
    const stamp = ++this.clock;
    this.stamps.set(key, stamp);
    this.touches.push({ key, stamp });
    const evicted: K[] = [];
    while (this.stamps.size > this.cap) evicted.push(this.evictOldest());
    return evicted;
  }

  delete(key: K): boolean {
    return this.stamps.delete(key);
  }

  /** Oldest first. */
  keys(): IterableIterator<K> {
    return this.stamps.keys();
  }

  /** Newest first, up to `limit`. */
  newest(limit: number): K[] {
    const all = [...this.stamps.keys()];
    return all.slice(Math.max(0, all.length - limit)).reverse();
  }

  private evictOldest(): K {
    for (;;) {
      const { key, stamp } = this.touches.shift()!;
      if (this.stamps.get(key) === stamp) {
        this.stamps.delete(key);
        return key;
      }
    }
  }

  private rebuildTouches(): void {
    const fresh = new Fifo<{ key: K; stamp: number }>();
    for (const [key, stamp] of this.stamps) fresh.push({ key, stamp });
    this.touches = fresh;
  }
}
