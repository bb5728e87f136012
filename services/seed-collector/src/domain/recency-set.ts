/**
 * Distinct keys in recency order with a hard cap: touching a key makes it the
 * newest; past the cap the oldest fall out. A JS Map keeps insertion order, so
 * delete + set moves a key to the end and the first key is the oldest: every
 * operation is O(1) with no extra bookkeeping.
 */
export class RecencySet<K> {
  private readonly order = new Map<K, true>();

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
    return this.order.size;
  }

  has(key: K): boolean {
    return this.order.has(key);
  }

  /** Makes `key` the newest. Returns the keys evicted to respect the cap (usually none). */
  touch(key: K): K[] {
    if (this.order.delete(key)) {
      this.order.set(key, true);
      return [];
    }
    this.order.set(key, true);
    const evicted: K[] = [];
    while (this.order.size > this.cap) {
      const oldest = this.order.keys().next().value as K;
      this.order.delete(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }

  delete(key: K): boolean {
    return this.order.delete(key);
  }

  /** Oldest first. */
  keys(): IterableIterator<K> {
    return this.order.keys();
  }

  /** Newest first, up to `limit`. */
  newest(limit: number): K[] {
    const all = [...this.order.keys()];
    return all.slice(Math.max(0, all.length - limit)).reverse();
  }
}
