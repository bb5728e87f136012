import fc from 'fast-check';
import { fnv1a32, ownerOf, partitionOf, partitionsOwnedBy } from '../src/partition';

describe('fnv1a32', () => {
  it('matches the published FNV-1a test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});

describe('partitionOf', () => {
  it('puts every candidate in one partition within range, the same one every time', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (id, p) => {
        const k = partitionOf(id, p);
        return Number.isInteger(k) && k >= 0 && k < p && partitionOf(id, p) === k;
      }),
    );
    expect(partitionOf('anything', 1)).toBe(0);
  });

  it('spreads realistic ids evenly (chi-square over 12 partitions, 60,000 ids)', () => {
    const counts = new Array<number>(12).fill(0);
    for (let i = 0; i < 60_000; i++) counts[partitionOf(`item-${i}`, 12)]!++;
    const expected = 5000;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 11 degrees of freedom: 31.3 is the 0.1% tail.
    expect(chi2).toBeLessThan(31.3);
  });
});

describe('ownership by ordinal', () => {
  it('gives every partition exactly one owner, and each owner what ownerOf says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 64 }), (replicas, partitions) => {
        const owners = new Array<number>(partitions).fill(-1);
        for (let r = 0; r < replicas; r++) {
          for (const k of partitionsOwnedBy(r, replicas, partitions)) {
            if (owners[k] !== -1) return false;
            owners[k] = r;
          }
        }
        return owners.every((r, k) => r === ownerOf(k, replicas));
      }),
    );
  });

  it('refuses an ordinal outside the replicas and non-positive counts', () => {
    expect(() => partitionsOwnedBy(3, 3, 12)).toThrow(/ordinal must be in 0\.\.2/);
    expect(() => partitionOf('x', 0)).toThrow(/partitions must be a positive integer/);
    expect(() => ownerOf(1, 0)).toThrow(/replicas must be a positive integer/);
  });
});
