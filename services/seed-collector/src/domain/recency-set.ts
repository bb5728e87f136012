import { RecencyMap } from '@ralm/platform/collections/recency-map';

/**
 * Distinct keys in recency order with a hard cap: touching a key makes it the
 * newest; past the cap the oldest fall out, in O(1) (see RecencyMap).
 */
export class RecencySet<K> extends RecencyMap<K, true> {
  /** A set holding `keys` (oldest first); past `cap` only the newest are kept. */
  static from<K>(keys: Iterable<K>, cap: number): RecencySet<K> {
    const set = new RecencySet<K>(cap);
    for (const key of keys) set.touch(key);
    return set;
  }

  /** Makes `key` the newest. Returns the keys evicted to respect the cap (usually none). */
  touch(key: K): K[] {
    return this.set(key, true);
  }

  /** Makes a key known to be absent the newest (the seed book checks `has` first on its hot path). */
  addNew(key: K): K[] {
    return this.add(key, true);
  }
}
