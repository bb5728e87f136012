import { fitSample, nearestCentroidsReference, scalableKmeans } from '../src/kmeans-scalable';
import { proposeSwap, splitCluster, SplitPrices } from '../src/kmeans-swap';
import { Rng } from '../src/rng';

function sq(points: Float32Array, i: number, centre: ArrayLike<number>, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += (points[i * dim + t]! - centre[t]!) ** 2;
  return s;
}

/** Brute-force inertia of `assignments` about each cluster's own mean. */
function inertiaAboutMeans(points: Float32Array, dim: number, assignments: Int32Array, k: number): number {
  const sums = new Float64Array(k * dim);
  const sizes = new Int32Array(k);
  assignments.forEach((c, i) => {
    sizes[c]!++;
    for (let t = 0; t < dim; t++) sums[c * dim + t] += points[i * dim + t]!;
  });
  let s = 0;
  assignments.forEach((c, i) => (s += sq(points, i, Array.from({ length: dim }, (_, t) => sums[c * dim + t]! / sizes[c]!), dim)));
  return s;
}

/** Blobs of `size` points, σ = 0.5, around each centre (2-d). */
function blobs(centres: Array<[number, number]>, size: number, rng: Rng): Float32Array {
  const points = new Float32Array(centres.length * size * 2);
  centres.forEach(([x, y], b) => {
    for (let i = 0; i < size; i++) {
      points[(b * size + i) * 2] = x + 0.5 * rng.normal();
      points[(b * size + i) * 2 + 1] = y + 0.5 * rng.normal();
    }
  });
  return points;
}

/** Member means as centroids, and the assignment to the nearest of `centres`. */
function clusteringFrom(points: Float32Array, dim: number, centres: Float32Array, k: number) {
  const n = points.length / dim;
  const out = { assignments: new Int32Array(n), distances: new Float64Array(n) };
  nearestCentroidsReference(points, n, dim, centres, k, out);
  const sizes = new Int32Array(k);
  const centroids = new Float32Array(k * dim);
  out.assignments.forEach((c, i) => {
    sizes[c]!++;
    for (let t = 0; t < dim; t++) centroids[c * dim + t] += points[i * dim + t]!;
  });
  centroids.forEach((v, j) => (centroids[j] = v / sizes[Math.floor(j / dim)]!));
  return { n, assignments: out.assignments, sizes, centroids };
}

describe('splitCluster', () => {
  it('reports as gain exactly what its two halves remove from the inertia about the mean', () => {
    const rng = new Rng(3);
    for (const [m, dim] of [[2, 1], [50, 3], [400, 16]] as const) {
      const points = new Float32Array(m * dim).map(() => rng.normal() + (rng.next() < 0.5 ? 0 : 4));
      const order = Int32Array.from({ length: m }, (_, i) => i);
      const split = splitCluster(points, dim, order, 0, m)!;
      const mean = Array.from({ length: dim }, (_, t) => order.reduce((s, i) => s + points[i * dim + t]!, 0) / m);
      let before = 0;
      let after = 0;
      for (let i = 0; i < m; i++) {
        before += sq(points, i, mean, dim);
        after += Math.min(sq(points, i, split.halves[0], dim), sq(points, i, split.halves[1], dim));
      }
      expect(split.gain).toBeGreaterThan(0);
      expect(Math.abs(split.gain - (before - after))).toBeLessThanOrEqual(1e-9 * before);
    }
  });

  it('cuts two separated groups into their own means', () => {
    const points = blobs([[0, 0], [20, 0]], 100, new Rng(4));
    const split = splitCluster(points, 2, Int32Array.from({ length: 200 }, (_, i) => i), 0, 200)!;
    const xs = [split.halves[0][0]!, split.halves[1][0]!].sort((a, b) => a - b);
    expect(Math.abs(xs[0]!)).toBeLessThan(0.2);
    expect(Math.abs(xs[1]! - 20)).toBeLessThan(0.2);
    // Merging them back would cost nₐn_b/(nₐ+n_b)·‖Δ‖² ≈ 50 · 400: the split removes about that.
    expect(split.gain / (50 * 400)).toBeGreaterThan(0.98);
  });

  it('has nothing to split in one point or in identical points', () => {
    expect(splitCluster(new Float32Array([1, 2]), 2, new Int32Array([0]), 0, 1)).toBeUndefined();
    expect(splitCluster(new Float32Array(20).fill(3), 2, Int32Array.from({ length: 10 }, (_, i) => i), 0, 10)).toBeUndefined();
  });
});

describe('proposeSwap', () => {
  // Four groups; the clustering puts two centres on group A and one on B and C together.
  const corners: Array<[number, number]> = [[0, 0], [20, 0], [0, 20], [20, 20]];
  const points = blobs(corners, 100, new Rng(9));
  const bad = clusteringFrom(points, 2, new Float32Array([-0.5, 0, 0.5, 0, 10, 10, 20, 20]), 4);

  it('merges the pair that costs least, by Ward\'s exact cost, and splits the merged groups', () => {
    const move = proposeSwap(points, bad.n, 2, 4, bad.centroids, bad.assignments)!;
    expect([...move.merge].sort()).toEqual([0, 1]);
    expect(move.split).toBe(2);
    expect(move.gain).toBeGreaterThan(move.cost);
    // Ward's cost is the increase of the inertia about the means, checked against every pair.
    const base = inertiaAboutMeans(points, 2, bad.assignments, 4);
    const costs = [] as Array<{ pair: [number, number]; rise: number }>;
    for (let a = 0; a < 4; a++)
      for (let b = a + 1; b < 4; b++) costs.push({ pair: [a, b], rise: inertiaAboutMeans(points, 2, bad.assignments.map((c) => (c === b ? a : c)), 4) - base });
    const cheapest = costs.reduce((x, y) => (y.rise < x.rise ? y : x));
    expect(cheapest.pair).toEqual([...move.merge].sort());
    expect(Math.abs(move.cost - cheapest.rise)).toBeLessThanOrEqual(1e-6 * base);
    // The restart centres: A's mean and the B and C group means.
    expect(Math.hypot(move.merged[0]!, move.merged[1]!)).toBeLessThan(0.2);
    const halves = move.halves.map((h) => [Math.round(h[0]! / 20) * 20 + 0, Math.round(h[1]! / 20) * 20 + 0]).sort(); // + 0: no −0
    expect(halves).toEqual([[0, 20], [20, 0]]);
  });

  it('prices each member set once: the cache gives the same move, keeps one proposal\'s sets, and returns copies', () => {
    const plain = proposeSwap(points, bad.n, 2, 4, bad.centroids, bad.assignments)!;
    const prices = new SplitPrices();
    const first = proposeSwap(points, bad.n, 2, 4, bad.centroids, bad.assignments, prices)!;
    expect([prices.computed, prices.size]).toEqual([2, 2]); // the two clusters outside the cheapest pair
    first.halves[0].fill(1e9); // a caller writing to a move must not reach the cache
    const again = proposeSwap(points, bad.n, 2, 4, bad.centroids, bad.assignments, prices)!;
    expect([prices.computed, prices.size]).toEqual([2, 2]);
    expect(again.split).toBe(plain.split);
    expect(again.gain).toBe(plain.gain);
    expect(Array.from(again.halves[0])).toEqual(Array.from(plain.halves[0]));
    // One member moves between the two: both are priced again, and the old sets are dropped.
    const moved = Int32Array.from(bad.assignments);
    moved[moved.findIndex((c) => c === plain.split)] = 3;
    proposeSwap(points, bad.n, 2, 4, bad.centroids, moved, prices);
    expect([prices.computed, prices.size]).toEqual([4, 2]);
  });

  it('proposes nothing for the right clustering, or with fewer than three clusters', () => {
    const good = clusteringFrom(points, 2, new Float32Array(corners.flat()), 4);
    expect(proposeSwap(points, good.n, 2, 4, good.centroids, good.assignments)).toBeUndefined();
    const two = clusteringFrom(points, 2, new Float32Array([0, 0, 20, 20]), 2);
    expect(proposeSwap(points, two.n, 2, 2, two.centroids, two.assignments)).toBeUndefined();
  });
});

describe('fitSample with split–merge moves', () => {
  // 12 groups in 8 dimensions, centres N(0, 2.5²): close enough that k-means++ and Lloyd
  // often stop with two groups under one centre and another group cut in two.
  const [n, dim, k] = [3000, 8, 12];
  const rng = new Rng(61);
  const centres = new Float32Array(k * dim).map(() => 2.5 * rng.normal());
  const points = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    for (let t = 0; t < dim; t++) points[i * dim + t] = centres[c * dim + t]! + rng.normal();
  }
  const inertia = (centroids: Float32Array) => {
    const out = { assignments: new Int32Array(n), distances: new Float64Array(n) };
    nearestCentroidsReference(points, n, dim, centroids, k, out);
    return out.distances.reduce((a, b) => a + b, 0);
  };
  const seeds = Array.from({ length: 12 }, (_, i) => i + 1);
  const plain = seeds.map((s) => inertia(fitSample(points, dim, k, new Rng(s), { swaps: 0 }).centroids));
  const moved = seeds.map((s) => inertia(fitSample(points, dim, k, new Rng(s)).centroids));

  it('never ends above plain Lloyd from the same seeds, and lifts the bad starts to the best basin', () => {
    seeds.forEach((_, i) => expect(moved[i]!).toBeLessThanOrEqual(plain[i]! * (1 + 1e-12)));
    const best = Math.min(...plain, ...moved);
    // Plain Lloyd lands in worse basins from some of these seeds…
    expect(plain.filter((v) => v > best * 1.01).length).toBeGreaterThanOrEqual(6);
    // …and the moves bring every seed to within 0.1 % of the best found.
    moved.forEach((v) => expect(v / best).toBeLessThanOrEqual(1.001));
  });

  it('rejects a swaps count that is not a non-negative integer', () => {
    expect(() => fitSample(points, dim, k, new Rng(5), { swaps: -1 })).toThrow(RangeError);
    expect(() => scalableKmeans(points, dim, k, new Rng(5), { swaps: 1.5 })).toThrow(RangeError);
  });
});
