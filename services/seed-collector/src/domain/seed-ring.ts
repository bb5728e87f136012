/**
 * One candidate's latest `cap` distinct clickers, as user indices (UserDictionary), in
 * about 10 bytes per seed: a ring of Int32 in arrival order and an open-addressing hash
 * table of Int32 slot numbers keyed by the user found at that slot. A repeat click
 * appends the user again and points the table at the new slot; the old slot becomes
 * stale, recognisable because the table no longer points at it. Past the cap the oldest
 * live slot is evicted. When the ring fills, it is compacted (stale slots dropped) or
 * grown, up to 1.25 × cap. RecencySet is the oracle it is tested against.
 */
const EMPTY = -1;
const GOLDEN = 0x9e3779b1;

export class SeedRing {
  private ring: Int32Array;
  /** Physical slot of the oldest entry, and the count of entries (live and stale) in the ring. */
  private head = 0;
  private used = 0;
  private table: Int32Array;
  private shift: number;
  private distinct = 0;

  constructor(readonly cap: number, initialCapacity = 16) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`cap must be a positive integer, got ${cap}`);
    this.ring = new Int32Array(Math.max(4, Math.min(initialCapacity, this.maxCapacity())));
    const bits = 4;
    this.table = new Int32Array(1 << bits).fill(EMPTY);
    this.shift = 32 - bits;
  }

  /** A ring holding `users` (oldest first); past `cap` only the newest are kept. */
  static from(users: Iterable<number>, cap: number, onEvict?: (user: number) => void): SeedRing {
    const ring = new SeedRing(cap);
    for (const u of users) {
      const evicted = ring.touch(u);
      if (evicted !== EMPTY) onEvict?.(evicted);
    }
    return ring;
  }

  get size(): number {
    return this.distinct;
  }

  /** Bytes of typed arrays this ring holds (what bench/seed-memory.ts reports per seed). */
  get bytes(): number {
    return this.ring.byteLength + this.table.byteLength;
  }

  has(user: number): boolean {
    return this.table[this.find(user)] !== EMPTY;
  }

  /**
   * Makes `user` the newest. Returns the user evicted to respect the cap, or -1. Whether
   * the user was new is `size` growing (or an eviction happening).
   */
  touch(user: number): number {
    let h = this.find(user);
    const fresh = this.table[h] === EMPTY;
    if (this.used === this.ring.length) {
      this.makeRoom();
      h = this.find(user);
    }
    const slot = (this.head + this.used) % this.ring.length;
    this.ring[slot] = user;
    this.used++;
    this.table[h] = slot;
    if (!fresh) return EMPTY;
    this.distinct++;
    if ((this.distinct << 2) > this.table.length * 3) this.rehash(this.table.length * 2);
    return this.distinct > this.cap ? this.evictOldest() : EMPTY;
  }

  /** Users oldest first. */
  *oldestFirst(): IterableIterator<number> {
    for (let i = 0; i < this.used; i++) {
      const slot = (this.head + i) % this.ring.length;
      if (this.isLive(slot)) yield this.ring[slot]!;
    }
  }

  /** Users newest first, at most `limit`. */
  newest(limit: number): number[] {
    const out: number[] = [];
    for (let i = this.used - 1; i >= 0 && out.length < limit; i--) {
      const slot = (this.head + i) % this.ring.length;
      if (this.isLive(slot)) out.push(this.ring[slot]!);
    }
    return out;
  }

  private maxCapacity(): number {
    return Math.ceil(this.cap * 1.25) + 4;
  }

  private isLive(slot: number): boolean {
    return this.table[this.find(this.ring[slot]!)] === slot;
  }

  /** The table position holding `user`, or the empty one where it would go (linear probing). */
  private find(user: number): number {
    const mask = this.table.length - 1;
    let h = Math.imul(user, GOLDEN) >>> this.shift;
    for (;;) {
      const slot = this.table[h]!;
      if (slot === EMPTY || this.ring[slot] === user) return h;
      h = (h + 1) & mask;
    }
  }

  private evictOldest(): number {
    for (;;) {
      const slot = this.head;
      const user = this.ring[slot]!;
      this.head = (this.head + 1) % this.ring.length;
      this.used--;
      const h = this.find(user);
      if (this.table[h] === slot) {
        this.remove(h);
        this.distinct--;
        return user;
      }
    }
  }

  /** Backward-shift deletion: no tombstones, so probes stay short. */
  private remove(h: number): void {
    const mask = this.table.length - 1;
    let hole = h;
    let i = (h + 1) & mask;
    for (;;) {
      const slot = this.table[i]!;
      if (slot === EMPTY) break;
      const home = Math.imul(this.ring[slot]!, GOLDEN) >>> this.shift;
      // Move it back if its home is not in (hole, i] cyclically.
      if ((i > hole && (home <= hole || home > i)) || (i < hole && home <= hole && home > i)) {
        this.table[hole] = slot;
        hole = i;
      }
      i = (i + 1) & mask;
    }
    this.table[hole] = EMPTY;
  }

  /** The ring is full: drop stale slots, and grow when live ones fill most of it. */
  private makeRoom(): void {
    const live = this.distinct;
    const grow = live * 4 > this.ring.length * 3 && this.ring.length < this.maxCapacity();
    const capacity = grow ? Math.min(this.maxCapacity(), Math.max(8, this.ring.length * 2)) : this.ring.length;
    const next = new Int32Array(capacity);
    let n = 0;
    for (let i = 0; i < this.used; i++) {
      const slot = (this.head + i) % this.ring.length;
      if (this.isLive(slot)) next[n++] = this.ring[slot]!;
    }
    this.ring = next;
    this.head = 0;
    this.used = n;
    // Every slot of the new ring is live; the old table's slot numbers mean nothing now.
    this.table.fill(EMPTY);
    for (let slot = 0; slot < n; slot++) this.table[this.find(this.ring[slot]!)] = slot;
  }

  /** Rebuilds the table (of `size` entries, a power of two) from the ring's live slots. */
  private rehash(size: number): void {
    const live: number[] = [];
    for (let i = 0; i < this.used; i++) {
      const slot = (this.head + i) % this.ring.length;
      if (this.isLive(slot)) live.push(slot);
    }
    this.table = new Int32Array(size).fill(EMPTY);
    this.shift = 32 - Math.log2(size);
    for (const slot of live) this.table[this.find(this.ring[slot]!)] = slot;
  }
}
