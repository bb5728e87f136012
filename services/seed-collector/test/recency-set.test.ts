import { RecencySet } from '../src/domain/recency-set';

/** Brute-force oracle: an array, newest last, scanned on every touch. */
function oracle(cap: number, keys: number[]): number[] {
  let list: number[] = [];
  for (const k of keys) {
    list = list.filter((x) => x !== k);
    list.push(k);
    if (list.length > cap) list = list.slice(list.length - cap);
  }
  return list;
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('RecencySet', () => {
  it('moves a repeat key to the newest position and evicts the oldest past the cap', () => {
    const set = new RecencySet<string>(3);
    expect(set.touch('a')).toEqual([]);
    set.touch('b');
    set.touch('c');
    expect(set.touch('a')).toEqual([]); // repeat: a becomes newest, nothing evicted
    expect(set.touch('d')).toEqual(['b']); // b is now the oldest
    expect([...set.keys()]).toEqual(['c', 'a', 'd']);
    expect(set.newest(2)).toEqual(['d', 'a']);
    expect(set.size).toBe(3);
  });

  it.each([1, 2, 7, 50])('matches the brute-force oracle on random streams (cap %i)', (cap) => {
    const rand = lcg(cap * 7919);
    const keys = Array.from({ length: 2000 }, () => Math.floor(rand() * 80));
    const set = new RecencySet<number>(cap);
    let evictedTotal = 0;
    let insertions = 0;
    for (const k of keys) {
      if (!set.has(k)) insertions++;
      evictedTotal += set.touch(k).length;
    }
    const expected = oracle(cap, keys);
    expect([...set.keys()]).toEqual(expected);
    // Every insertion either is still present or was evicted exactly once.
    expect(evictedTotal).toBe(insertions - expected.length);
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => new RecencySet(0)).toThrow(RangeError);
    expect(() => new RecencySet(1.5)).toThrow(RangeError);
  });
});

describe('RecencySet against a brute-force oracle', () => {
  it.each([1, 3, 17, 200])('matches an array-based recency list over 20,000 random touches and deletes (cap %i)', (cap) => {
    let state = cap * 7919;
    const random = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
    const set = new RecencySet<number>(cap);
    let oracle: number[] = []; // oldest first
    for (let i = 0; i < 20_000; i++) {
      const key = random(cap * 3 + 5);
      if (random(10) === 0) {
        expect(set.delete(key)).toBe(oracle.includes(key));
        oracle = oracle.filter((k) => k !== key);
        continue;
      }
      const had = oracle.includes(key);
      oracle = oracle.filter((k) => k !== key);
      oracle.push(key);
      const evicted = had ? [] : oracle.splice(0, Math.max(0, oracle.length - cap));
      expect(set.touch(key)).toEqual(evicted);
      if (i % 997 === 0) expect([...set.keys()]).toEqual(oracle);
    }
    expect([...set.keys()]).toEqual(oracle);
    expect(set.newest(5)).toEqual(oracle.slice(-5).reverse());
  });
});
