import { auc as modelAuc, Rng } from '@ralm/model';
import { auc, precisionAtK, rankTopK } from '../src/metrics';
import type { PairScorer } from '../src/types';

/** A scorer that looks scores up in a users × items table, counting its calls. */
function tableScorer(table: number[][]): PairScorer & { calls: number } {
  const scorer = {
    name: 'table',
    calls: 0,
    score(users: Int32Array, items: Int32Array) {
      scorer.calls++;
      return Float32Array.from(users, (u, p) => table[u]![items[p]!]!);
    },
  };
  return scorer;
}

describe('auc', () => {
  it('is the model package function, not a copy', () => {
    expect(auc).toBe(modelAuc);
  });

  it('gives tied scores half a win', () => {
    // Positive/negative pairs: (0.5, 0.5) tie = 0.5, (0.5, 0.2) = 1, (0.8, 0.5) = 1, (0.8, 0.2) = 1 → 3.5 / 4.
    expect(auc([0.5, 0.5, 0.2, 0.8], [1, 0, 0, 1])).toBeCloseTo(0.875, 12);
    expect(auc([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0.5);
    expect(auc([0.1, 0.9], [1, 0])).toBe(0);
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });
});

describe('precisionAtK', () => {
  const ranked = new Map<number, number[]>([
    [1, [1, 2, 3, 4]],
    [2, [5, 6, 7]],
    [3, [1, 2]],
    [4, [8, 3]],
  ]);
  const reads = new Map<number, Set<number>>([
    [1, new Set([2, 9])], // top-2 {1, 2}: 1 hit of min(2, 2) = 0.5
    [2, new Set([7])], // top-2 {5, 6}: 0 of min(2, 1) = 0
    [3, new Set()], // no reads: not in N
    [4, new Set([8])], // fewer reads than K: 1 of min(2, 1) = 1
  ]);

  it('matches the hand-computed figures', () => {
    expect(precisionAtK(ranked, reads, 2)).toBeCloseTo((0.5 + 0 + 1) / 3, 12);
    // K = 3: user 1 has {1, 2, 3} → 1/2; user 2 {5, 6, 7} → 1/1; user 4 → 1/1.
    expect(precisionAtK(ranked, reads, 3)).toBeCloseTo((0.5 + 1 + 1) / 3, 12);
    // K = 1: user 1 {1} → 0; user 2 {5} → 0; user 4 {8} → 1.
    expect(precisionAtK(ranked, reads, 1)).toBeCloseTo(1 / 3, 12);
  });

  it('counts a reader without a ranking as zero and a user without reads not at all', () => {
    const withGhost = new Map(reads).set(5, new Set([1]));
    expect(precisionAtK(ranked, withGhost, 2)).toBeCloseTo(1.5 / 4, 12);
    expect(precisionAtK(ranked, new Map([[3, new Set<number>()]]), 2)).toBeNaN();
  });

  it('counts an item listed twice once', () => {
    expect(precisionAtK(new Map([[1, [7, 7]]]), new Map([[1, new Set([7, 8])]]), 2)).toBe(0.5);
  });

  it('rejects a K that is not a positive integer', () => {
    expect(() => precisionAtK(ranked, reads, 0)).toThrow(RangeError);
  });
});

describe('rankTopK', () => {
  it('keeps the K best, ties to the smaller item whatever the candidate order, NaN last', () => {
    const scorer = tableScorer([
      [0.3, 0.9, 0.3, Number.NaN, 0.3],
      [1, 1, 1, 1, 1],
    ]);
    const top = rankTopK(scorer, [0, 1], [4, 3, 2, 1, 0], 3);
    expect([...top.get(0)!]).toEqual([1, 0, 2]);
    expect([...top.get(1)!]).toEqual([0, 1, 2]);
    expect([...rankTopK(scorer, [0], [4, 3, 2, 1, 0], 10).get(0)!]).toEqual([1, 0, 2, 4, 3]);
  });

  it('agrees with a full sort over a seeded grid of sizes, K and batch sizes', () => {
    const rng = new Rng(7);
    for (const [nUsers, nItems, k, batchPairs] of [
      [5, 30, 1, 7],
      [9, 40, 10, 64],
      [4, 12, 50, 1],
      [20, 100, 10, 65_536],
    ] as const) {
      // Coarse scores make ties common.
      const table = Array.from({ length: nUsers }, () => Array.from({ length: nItems }, () => Math.floor(rng.next() * 8)));
      const candidates = Array.from({ length: nItems }, (_, i) => i);
      rng.shuffle(candidates);
      const scorer = tableScorer(table);
      const top = rankTopK(scorer, Array.from({ length: nUsers }, (_, u) => u), candidates, k, { batchPairs });
      expect(scorer.calls).toBe(Math.ceil(nUsers / Math.max(1, Math.floor(batchPairs / nItems))));
      for (let u = 0; u < nUsers; u++) {
        const expected = [...candidates].sort((a, b) => table[u]![b]! - table[u]![a]! || a - b).slice(0, k);
        expect([...top.get(u)!]).toEqual(expected);
      }
    }
  });

  it('gives empty rankings without candidates', () => {
    expect(rankTopK(tableScorer([[]]), [0], [], 5).get(0)!.length).toBe(0);
  });
});
