import { LogUniformSampler, rankItemsByClicks } from '../src/sampler';
import { Rng } from '../src/rng';

describe('LogUniformSampler', () => {
  it('has probabilities that sum to 1 and decrease with rank', () => {
    const s = new LogUniformSampler(20_000);
    let total = 0;
    for (let r = 0; r < s.size; r++) total += s.probability(r);
    expect(total).toBeCloseTo(1, 10);
    expect(s.probability(0)).toBeGreaterThan(s.probability(1));
    expect(s.probability(1)).toBeGreaterThan(s.probability(100));
  });

  it('draws ranks distributed as p(r): chi-square on 10^6 draws', () => {
    const D = 1000;
    const s = new LogUniformSampler(D);
    const rng = new Rng(12345);
    const counts = new Float64Array(D);
    const N = 1_000_000;
    for (let i = 0; i < N; i++) counts[s.draw(rng)]!++;
    // Bins with expected count >= 50 individually; the tail pooled so every bin is well populated.
    let chi2 = 0;
    let bins = 0;
    let tailObserved = 0;
    let tailExpected = 0;
    for (let r = 0; r < D; r++) {
      const expected = N * s.probability(r);
      if (expected >= 500) {
        chi2 += (counts[r]! - expected) ** 2 / expected;
        bins++;
      } else {
        tailObserved += counts[r]!;
        tailExpected += expected;
      }
    }
    chi2 += (tailObserved - tailExpected) ** 2 / tailExpected;
    bins++;
    // 99.9th percentile of chi-square with (bins - 1) dof, Wilson–Hilferty approximation.
    const k = bins - 1;
    const z = 3.09;
    const critical = k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
    expect(bins).toBeGreaterThan(100);
    expect(chi2).toBeLessThan(critical);
    // The most frequent item (rank 0) is the most likely negative.
    expect(counts.indexOf(Math.max(...counts))).toBe(0);
  });

  it('never draws outside [0, D)', () => {
    const s = new LogUniformSampler(3);
    const rng = new Rng(1);
    for (let i = 0; i < 100_000; i++) {
      const r = s.draw(rng);
      expect(r >= 0 && r < 3).toBe(true);
    }
  });
});

describe('rankItemsByClicks', () => {
  it('ranks by clicks, most clicked first, ties by item index', () => {
    const { itemOfRank, rankOfItem } = rankItemsByClicks([5, 9, 0, 9, 1]);
    expect(Array.from(itemOfRank)).toEqual([1, 3, 0, 4, 2]);
    expect(Array.from(rankOfItem)).toEqual([2, 0, 4, 1, 3]);
  });
});
