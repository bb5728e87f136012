import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { kmeans } from '../src/kmeans';
import { nativeAddRows, nativeNearestCentroids } from '@ralm/kernel';
import { addRowsReference } from '../src/kmeans';
import { addRows, assignNearest, AssignmentAccumulator, fitSample, nearestCentroids as nearestCentroidsTs, nearestCentroidsReference, sampleIndices, scalableKmeans, type NearestOutput } from '../src/kmeans-scalable';
import { Rng } from '../src/rng';

function normals(count: number, rng: Rng, scale = 1, offset = 0): Float32Array {
  return new Float32Array(count).map(() => offset + scale * rng.normal());
}

/** n points from k Gaussians with centres N(0, spread²) per coordinate and unit-variance members. */
function mixture(n: number, dim: number, k: number, spread: number, rng: Rng): Float32Array {
  const centres = normals(k * dim, rng, spread);
  const points = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = rng.int(k);
    for (let t = 0; t < dim; t++) points[i * dim + t] = centres[c * dim + t]! + rng.normal();
  }
  return points;
}

function squaredDistance(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += (a[ai * dim + t]! - b[bi * dim + t]!) ** 2;
  return s;
}

function norm2(a: Float32Array, i: number, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += a[i * dim + t]! ** 2;
  return s;
}

/** Inertia of a clustering computed directly from its centroids and assignments. */
function directInertia(points: Float32Array, dim: number, centroids: Float32Array, assignments: Int32Array): number {
  let s = 0;
  assignments.forEach((c, i) => (s += squaredDistance(points, i, centroids, c, dim)));
  return s;
}

function bestOf(seeds: number[], run: (seed: number) => number): number {
  return Math.min(...seeds.map(run));
}

/**
 * Both assignment kernels against one oracle. The native one (OpenBLAS sgemm, `make native`
 * builds it for `make test`; packages/kernel/test/native.test.ts fails when it is missing)
 * takes its dot products in float32, so what the expansion cancels is bounded at 1e-5 of
 * ‖x‖² + ‖c‖² rather than the float64 kernel's 1e-10.
 */
const native = nativeNearestCentroids();
describe.each([
  ['nearestCentroids (TypeScript, float64)', nearestCentroidsTs, 1e-10],
  ['assignNearest (native sgemm, float32 products)', (p: Float32Array, n: number, d: number, c: Float32Array, k: number, out: NearestOutput) => {
    if (!native) throw new Error('the native addon is not built');
    assignNearest(p, n, d, c, k, out);
  }, 1e-5],
] as const)('%s', (_name, kernel, cancel) => {
  const nearestCentroids = kernel;
  /**
   * Checks the kernel against the brute-force oracle: distances within 1e-4
   * relative (plus `cancel` of ‖x‖² + ‖c‖², the terms the expansion cancels, so an
   * exact zero compares), and assignments equal except where the oracle itself
   * sees a near-tie between the two choices.
   */
  function expectMatchesOracle(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, float32Out: boolean): void {
    const fast = { assignments: new Int32Array(n), distances: float32Out ? new Float32Array(n) : new Float64Array(n) };
    const ref = { assignments: new Int32Array(n), distances: new Float64Array(n) };
    nearestCentroids(points, n, dim, centroids, k, fast);
    nearestCentroidsReference(points, n, dim, centroids, k, ref);
    for (let i = 0; i < n; i++) {
      const r = ref.distances[i]!;
      const scale = norm2(points, i, dim) + norm2(centroids, ref.assignments[i]!, dim);
      expect(fast.distances[i]).toBeGreaterThanOrEqual(0);
      expect(Math.abs(fast.distances[i]! - r)).toBeLessThanOrEqual(1e-4 * r + cancel * scale);
      if (fast.assignments[i] !== ref.assignments[i]) {
        const chosen = squaredDistance(points, i, centroids, fast.assignments[i]!, dim);
        expect(chosen - r).toBeLessThanOrEqual(10 * cancel * scale);
      }
    }
  }

  it('matches the brute-force oracle over a seeded grid of n, dim and k', () => {
    let cases = 0;
    for (const n of [1, 2, 3, 5, 17, 64, 101])
      for (const dim of [1, 3, 7, 16, 33, 128])
        for (const k of [1, 2, 3, 7, 20]) {
          const rng = new Rng(n * 10_007 + dim * 101 + k);
          const points = normals(n * dim, rng);
          const centroids = normals(k * dim, rng, 0.5);
          // Some centroids on data points, so zero distances are covered.
          if (k > 1) centroids.set(points.subarray(0, dim), (k - 1) * dim);
          expectMatchesOracle(points, n, dim, centroids, k, cases % 2 === 1);
          cases++;
        }
    expect(cases).toBe(210);
  });

  it('stays within tolerance on points far from the origin (the expansion cancels large terms)', () => {
    const rng = new Rng(41);
    const [n, dim, k] = [301, 128, 20];
    expectMatchesOracle(normals(n * dim, rng, 1, 1000), n, dim, normals(k * dim, rng, 1, 1000), k, false);
  });

  it('breaks ties towards the lowest index, exactly as the oracle, on integer points', () => {
    // Small integers: every product and sum is exact in float64, so both forms give identical distances and ties are real.
    const rng = new Rng(7);
    for (const [n, dim, k] of [[257, 3, 7], [64, 5, 20], [31, 1, 9]] as const) {
      const points = new Float32Array(n * dim).map(() => rng.int(4));
      const centroids = new Float32Array(k * dim).map(() => rng.int(4));
      centroids.set(centroids.subarray(0, dim), (k - 1) * dim); // a duplicate centroid: it must never win
      const fast = { assignments: new Int32Array(n), distances: new Float64Array(n) };
      const ref = { assignments: new Int32Array(n), distances: new Float64Array(n) };
      nearestCentroids(points, n, dim, centroids, k, fast);
      nearestCentroidsReference(points, n, dim, centroids, k, ref);
      expect(Array.from(fast.assignments)).toEqual(Array.from(ref.assignments));
      expect(Array.from(fast.distances)).toEqual(Array.from(ref.distances));
      expect(fast.assignments.includes(k - 1)).toBe(false);
    }
  });

  it('rejects arrays shorter than n × dim, k × dim or n', () => {
    const out = { assignments: new Int32Array(2), distances: new Float64Array(2) };
    expect(() => nearestCentroids(new Float32Array(5), 2, 3, new Float32Array(3), 1, out)).toThrow(RangeError);
    expect(() => nearestCentroids(new Float32Array(6), 2, 3, new Float32Array(5), 2, out)).toThrow(RangeError);
    expect(() => nearestCentroids(new Float32Array(9), 3, 3, new Float32Array(3), 1, out)).toThrow(RangeError);
    expect(() => nearestCentroids(new Float32Array(6), 2, 3, new Float32Array(0), 0, out)).toThrow(RangeError);
  });
});

describe('addRows (the addon\'s member sums) against the plain loop', () => {
  it('adds every row into its group exactly as the plain loop does, and leaves sums alone on a bad group', () => {
    if (!native) throw new Error('the native addon is not built');
    const rng = new Rng(17);
    for (const [n, width, k] of [[0, 3, 2], [1, 1, 1], [1000, 128, 20], [333, 7, 5]] as const) {
      const rows = normals(n * width, rng, 3, 1);
      const groups = Int32Array.from({ length: n }, () => rng.int(k));
      const start = normals(k * width, rng);
      const fast = Float64Array.from(start);
      const plain = Float64Array.from(start);
      addRows(rows, n, width, groups, fast);
      addRowsReference(rows, n, width, groups, plain);
      // Same additions in the same order, in double: bit for bit.
      expect(Array.from(fast)).toEqual(Array.from(plain));
    }
    for (const add of [addRows, addRowsReference]) {
      const sums = new Float64Array(4);
      expect(() => add(new Float32Array([1, 2, 3, 4]), 2, 2, new Int32Array([0, 2]), sums)).toThrow(RangeError);
      expect(() => add(new Float32Array([1, 2, 3, 4]), 2, 2, new Int32Array([-1, 0]), sums)).toThrow(RangeError);
      expect(() => add(new Float32Array(3), 2, 2, new Int32Array(2), sums)).toThrow(RangeError);
      expect(() => add(new Float32Array(4), 2, 3, new Int32Array(2), sums)).toThrow(RangeError);
      expect(Array.from(sums)).toEqual([0, 0, 0, 0]);
    }
    // The addon checks again on its own (addRows checks first, so call it bare). Its errors
    // come from the addon's realm, not jest's: matched by message, not by class.
    const bare = nativeAddRows()!;
    const sums = new Float64Array(4);
    expect(() => bare(new Float32Array([1, 2, 3, 4]), 2, 2, new Int32Array([0, 2]), sums)).toThrow(/a group is outside sums/);
    expect(() => bare(new Float32Array([1, 2, 3, 4]), 2, 2, new Int32Array([0, -1]), sums)).toThrow(/a group is outside sums/);
    expect(() => bare(new Float32Array(3), 2, 2, new Int32Array(2), sums)).toThrow(/arrays shorter than they say/);
    expect(() => bare(new Float32Array(4), 1, 3, new Int32Array(1), sums)).toThrow(/arrays shorter than they say/);
    expect(() => bare(new Float32Array(4), 2, 2, new Float32Array(2) as unknown as Int32Array, sums)).toThrow(/groups has the wrong type/);
    expect(Array.from(sums)).toEqual([0, 0, 0, 0]);
  });
});

describe('sampleIndices', () => {
  it('draws distinct indices in increasing order, deterministically, and uniformly', () => {
    const a = sampleIndices(1000, 100, new Rng(3));
    expect(Array.from(a)).toEqual(Array.from(sampleIndices(1000, 100, new Rng(3))));
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
    expect(a[0]!).toBeGreaterThanOrEqual(0);
    expect(a[a.length - 1]!).toBeLessThan(1000);
    expect(Array.from(sampleIndices(5, 5, new Rng(1)))).toEqual([0, 1, 2, 3, 4]);
    expect(sampleIndices(5, 0, new Rng(1))).toHaveLength(0);
    expect(() => sampleIndices(5, 6, new Rng(1))).toThrow(RangeError);
    // 2,000 draws of 10 from 100: each index expected 200 times (sd ≈ 13); ±60 is > 4 sd.
    const counts = new Int32Array(100);
    const rng = new Rng(11);
    for (let r = 0; r < 2000; r++) sampleIndices(100, 10, rng).forEach((i) => counts[i]!++);
    expect(Math.min(...counts)).toBeGreaterThan(140);
    expect(Math.max(...counts)).toBeLessThan(260);
  });
});

describe('fitSample and scalableKmeans against exact Lloyd', () => {
  it('equal kmeans (same seed) when every point is used and no split–merge move runs', () => {
    const rng = new Rng(21);
    const [dim, k] = [8, 7];
    const points = mixture(2000, dim, k, 1, rng);
    const exact = kmeans(points, dim, k, new Rng(5));
    const fitted = fitSample(points, dim, k, new Rng(5), { swaps: 0 });
    const scalable = scalableKmeans(points, dim, k, new Rng(5), { swaps: 0 });
    expect(fitted.k).toBe(exact.k);
    expect(fitted.iterations).toBe(exact.iterations);
    fitted.centroids.forEach((v, i) => expect(v).toBeCloseTo(exact.centroids[i]!, 4));
    expect(scalable.k).toBe(exact.k);
    expect(scalable.iterations).toBe(exact.iterations);
    expect(Array.from(scalable.assignments)).toEqual(Array.from(exact.assignments));
    expect(Array.from(scalable.sizes)).toEqual(Array.from(exact.sizes));
    expect(Math.abs(scalable.inertia - exact.inertia)).toBeLessThanOrEqual(1e-9 * exact.inertia);
  });

  it('stops early under a tolerance on the relative inertia decrease', () => {
    const points = mixture(5000, 8, 10, 0.3, new Rng(23));
    // No moves: with them the rounds of every trial would count too.
    const exact = fitSample(points, 8, 10, new Rng(3), { maxIterations: 100, swaps: 0 });
    const early = fitSample(points, 8, 10, new Rng(3), { maxIterations: 100, tolerance: 1e-3, swaps: 0 });
    expect(early.iterations).toBeLessThan(exact.iterations);
    const inertia = (centroids: Float32Array) => {
      const out = { assignments: new Int32Array(5000), distances: new Float64Array(5000) };
      nearestCentroidsReference(points, 5000, 8, centroids, 10, out);
      return out.distances.reduce((a, b) => a + b, 0);
    };
    expect(inertia(early.centroids) / inertia(exact.centroids)).toBeLessThanOrEqual(1.01);
  });

  it('reports sizes, member-mean centroids and inertia consistent with its assignments when sampling', () => {
    const rng = new Rng(22);
    const [n, dim, k] = [20_000, 16, 20];
    const points = mixture(n, dim, k, 1, rng);
    const r = scalableKmeans(points, dim, k, new Rng(1), { sampleSize: 2000, batch: 3001 });
    expect(r.k).toBe(k);
    const sizes = new Int32Array(r.k);
    const sums = new Float64Array(r.k * dim);
    r.assignments.forEach((c, i) => {
      sizes[c]!++;
      for (let t = 0; t < dim; t++) sums[c * dim + t] += points[i * dim + t]!;
    });
    expect(Array.from(r.sizes)).toEqual(Array.from(sizes));
    r.centroids.forEach((v, j) => expect(v).toBeCloseTo(sums[j]! / sizes[Math.floor(j / dim)]!, 5));
    const direct = directInertia(points, dim, r.centroids, r.assignments);
    // The accumulator sums the kernel's distances to the fitted centres (the native one takes
    // its dot products in float32, ~1e-7 each) and moves them to the means without a second
    // pass (Σ‖x − a‖² − n‖m − a‖²): the errors average out to ~1e-9 of the sum, not to 0.
    expect(Math.abs(r.inertia - direct)).toBeLessThanOrEqual(1e-8 * direct);
  });

  it('lowers the inertia with each further full pass, and stays consistent with its assignments', () => {
    const [n, dim, k] = [20_000, 16, 20];
    const points = mixture(n, dim, k, 0.3, new Rng(32));
    const runs = [1, 2, 3].map((passes) => scalableKmeans(points, dim, k, new Rng(1), { sampleSize: 1000, batch: 4096, passes }));
    expect(runs[1]!.inertia).toBeLessThan(runs[0]!.inertia);
    expect(runs[2]!.inertia).toBeLessThanOrEqual(runs[1]!.inertia);
    const last = runs[2]!;
    expect(Math.abs(last.inertia - directInertia(points, dim, last.centroids, last.assignments))).toBeLessThanOrEqual(1e-9 * last.inertia);
    // Deterministic for a seed: one pass again gives the first run's centroids bit for bit.
    const again = scalableKmeans(points, dim, k, new Rng(1), { sampleSize: 1000, batch: 4096, passes: 1 });
    expect(Array.from(again.centroids)).toEqual(Array.from(runs[0]!.centroids));
    expect(() => scalableKmeans(points, dim, k, new Rng(1), { sampleSize: 1000, passes: 0 })).toThrow(RangeError);
  });

  // Sampled k-means on 2,500 of 20,000 points (1/8) against full Lloyd, best of three seeds on
  // both sides. Overlapping: sampling costs ~k/sample ≈ 1% at the optimum, so within 3%.
  // Well-separated: one full-data update from sampled centroids lands on the same optimum,
  // so within 0.1%. The centres are 30σ apart because plain k-means++ misses a cluster
  // often when they are only ~10σ apart (its last draws land in covered clusters with
  // probability ~c/(c + (k − c)·spread²)), and then both sides compare local optima instead.
  it.each([
    ['well-separated', 30, 0.001],
    ['overlapping', 0.3, 0.03],
  ])('comes within tolerance of full Lloyd on a %s Gaussian mixture (spread %d, tolerance %d)', (_name, spread, tolerance) => {
    const [n, dim, k] = [20_000, 16, 20];
    const points = mixture(n, dim, k, spread, new Rng(spread === 0.3 ? 32 : 31));
    const full = bestOf([1, 2, 3], (s) => kmeans(points, dim, k, new Rng(s)).inertia);
    const sampled = bestOf([1, 2, 3], (s) => scalableKmeans(points, dim, k, new Rng(s), { sampleSize: 2500 }).inertia);
    expect(sampled / full).toBeLessThanOrEqual(1 + tolerance);
  });
});

describe('degenerate inputs', () => {
  it('clamps k to the number of distinct points (duplicates, n < k)', () => {
    const rows = [
      [0, 0, 0, 1],
      [5, 5, 5, 5],
      [-3, 2, 0, 0],
    ];
    const points = new Float32Array(300 * 4);
    for (let i = 0; i < 300; i++) points.set(rows[i % 3]!, i * 4);
    const fitted = fitSample(points, 4, 5, new Rng(2));
    expect(fitted.k).toBe(3);
    const found = Array.from({ length: 3 }, (_, c) => Array.from(fitted.centroids.subarray(c * 4, c * 4 + 4)));
    expect(found.sort()).toEqual([...rows].sort());
    for (const sampleSize of [1000, 50]) {
      const r = scalableKmeans(points, 4, 5, new Rng(2), { sampleSize });
      expect(r.k).toBe(3);
      expect(Array.from(r.sizes)).toEqual([100, 100, 100]);
      expect(r.inertia).toBe(0);
    }
    const few = scalableKmeans(new Float32Array([1, 2, 3, 4]), 1, 20, new Rng(1));
    expect(few.k).toBe(4);
    expect(few.inertia).toBe(0);
    expect(Array.from(few.sizes)).toEqual([1, 1, 1, 1]);
    const same = scalableKmeans(new Float32Array(40).fill(7), 2, 3, new Rng(1));
    expect(same.k).toBe(1);
    expect(same.sizes[0]).toBe(20);
  });

  it('seeds on a subset of a large sample, yet finds every distinct row the subset missed', () => {
    // 12,000 points: 11,996 copies of one row and 4 others. A 10,000-point seeding subset
    // misses one of the 4 about half the time; k must still come out 5, not 4.
    const dim = 2;
    const points = new Float32Array(12_000 * dim);
    [[10, 0], [0, 10], [-10, 0], [0, -10]].forEach((row, i) => points.set(row, (1_000 + 2_500 * i) * dim));
    for (let seed = 1; seed <= 6; seed++) {
      const fitted = fitSample(points, dim, 5, new Rng(seed));
      expect(fitted.k).toBe(5);
      const rows = Array.from({ length: 5 }, (_, c) => Array.from(fitted.centroids.subarray(c * dim, c * dim + dim)).join(','));
      expect(rows.sort()).toEqual(['-10,0', '0,-10', '0,0', '0,10', '10,0']);
    }
  });

  it('clusters one-dimensional points', () => {
    const rng = new Rng(8);
    const points = new Float32Array(5000).map((_, i) => [0, 10, 30][i % 3]! + rng.normal());
    const r = scalableKmeans(points, 1, 3, new Rng(1), { sampleSize: 500 });
    expect(r.k).toBe(3);
    const centres = Array.from(r.centroids).sort((a, b) => a - b);
    centres.forEach((c, j) => expect(Math.abs(c - [0, 10, 30][j]!)).toBeLessThan(0.2));
    expect(r.inertia / kmeans(points, 1, 3, new Rng(1)).inertia).toBeLessThanOrEqual(1.01);
  });

  it('rejects a points array that is not whole points', () => {
    expect(() => scalableKmeans(new Float32Array(5), 2, 2, new Rng(1))).toThrow(RangeError);
    expect(() => scalableKmeans(new Float32Array(0), 2, 2, new Rng(1))).toThrow(RangeError);
    expect(() => fitSample(new Float32Array(4), 2, 0, new Rng(1))).toThrow(RangeError);
  });
});

describe('AssignmentAccumulator', () => {
  it('accumulates sizes, inertia, member means and companion means equal to direct computation, whatever the batches', () => {
    const rng = new Rng(13);
    const [n, h, d, k] = [5000, 16, 5, 6];
    const points = mixture(n, h, k, 1, rng);
    const companions = normals(n * d, rng, 2, 1);
    const { centroids } = fitSample(points.slice(0, 800 * h), h, k, new Rng(4));
    const acc = new AssignmentAccumulator(centroids, k, h, d);
    const assignments = new Int32Array(n);
    let start = 0;
    for (const m of [1, 999, 1500, 0, n - 2500]) {
      const batch = acc.add(points.subarray(start * h, (start + m) * h), companions.subarray(start * d, (start + m) * d));
      assignments.set(batch.assignments, start);
      start += m;
    }
    const ref = { assignments: new Int32Array(n), distances: new Float64Array(n) };
    nearestCentroidsReference(points, n, h, centroids, k, ref);
    expect(Array.from(assignments)).toEqual(Array.from(ref.assignments));

    const r = acc.result();
    expect(r.count).toBe(n);
    expect(r.k).toBe(k);
    const sizes = new Int32Array(k);
    const pointSums = new Float64Array(k * h);
    const companionSums = new Float64Array(k * d);
    assignments.forEach((c, i) => {
      sizes[c]!++;
      for (let t = 0; t < h; t++) pointSums[c * h + t] += points[i * h + t]!;
      for (let t = 0; t < d; t++) companionSums[c * d + t] += companions[i * d + t]!;
    });
    expect(Array.from(r.sizes)).toEqual(Array.from(sizes));
    r.companionMeans.forEach((v, j) => expect(v).toBeCloseTo(companionSums[j]! / sizes[Math.floor(j / d)]!, 5));
    r.centroids.forEach((v, j) => expect(v).toBeCloseTo(pointSums[j]! / sizes[Math.floor(j / h)]!, 5));
    const toFitted = ref.distances.reduce((a, b) => a + b, 0);
    expect(Math.abs(r.inertiaToFitted - toFitted)).toBeLessThanOrEqual(1e-9 * toFitted);
    const direct = directInertia(points, h, r.centroids, assignments);
    expect(Math.abs(r.inertia - direct)).toBeLessThanOrEqual(1e-9 * direct);
    expect(r.inertia).toBeLessThanOrEqual(r.inertiaToFitted);
  });

  it('drops clusters that received no point and says how to renumber', () => {
    const centroids = new Float32Array([0, 0, 1000, 1000, 10, 10]);
    const acc = new AssignmentAccumulator(centroids, 3, 2, 1);
    const batch = acc.add(new Float32Array([1, 0, 9, 10, 11, 10]), new Float32Array([2, 4, 8]));
    expect(Array.from(batch.assignments)).toEqual([0, 2, 2]);
    const r = acc.result();
    expect(r.k).toBe(2);
    expect(Array.from(r.index)).toEqual([0, -1, 1]);
    expect(Array.from(r.sizes)).toEqual([1, 2]);
    expect(Array.from(r.companionMeans)).toEqual([2, 6]);
    expect(Array.from(r.centroids)).toEqual([1, 0, 10, 10]);
    expect(r.inertia).toBeCloseTo(2, 10);
  });

  it('requires companions when it was given a companion dimension', () => {
    const acc = new AssignmentAccumulator(new Float32Array(4), 2, 2, 3);
    expect(() => acc.add(new Float32Array(4))).toThrow(RangeError);
    expect(() => acc.add(new Float32Array(4), new Float32Array(5))).toThrow(RangeError);
    expect(() => new AssignmentAccumulator(new Float32Array(5), 2, 2)).toThrow(RangeError);
  });
});

describe('against ml-kmeans (an independent implementation)', () => {
  // ml-kmeans ships only as ES modules, which this CommonJS jest setup cannot load:
  // it runs in a child Node process and returns the best inertia per case.
  function mlKmeansBest(cases: Array<{ points: number[][]; k: number; seeds: number[] }>): number[] {
    const script = `
      import { kmeans } from 'ml-kmeans';
      let input = '';
      for await (const chunk of process.stdin) input += chunk;
      const out = JSON.parse(input).map(({ points, k, seeds }) => Math.min(...seeds.map((seed) => {
        const r = kmeans(points, k, { initialization: 'kmeans++', seed, maxIterations: 300 });
        let s = 0;
        points.forEach((p, i) => p.forEach((v, t) => { s += (v - r.centroids[r.clusters[i]][t]) ** 2; }));
        return s;
      })));
      process.stdout.write(JSON.stringify(out));`;
    const root = path.resolve(__dirname, '../../..');
    return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, input: JSON.stringify(cases), encoding: 'utf8' })) as number[];
  }

  it('agrees on inertia within 2% (full Lloyd) and 4% (sampled) on small sets, best of five seeds each', () => {
    const seeds = [1, 2, 3, 4, 5];
    const sets = [
      { dim: 8, k: 6, points: mixture(1200, 8, 6, 3, new Rng(51)) },
      { dim: 5, k: 8, points: mixture(1500, 5, 8, 0.5, new Rng(52)) },
      { dim: 3, k: 5, points: normals(1000 * 3, new Rng(53)) },
      { dim: 1, k: 4, points: mixture(800, 1, 4, 4, new Rng(54)) },
    ];
    const reference = mlKmeansBest(
      sets.map(({ dim, k, points }) => ({ k, seeds, points: Array.from({ length: points.length / dim }, (_, i) => Array.from(points.subarray(i * dim, i * dim + dim))) })),
    );
    sets.forEach(({ dim, k, points }, s) => {
      const full = bestOf(seeds, (seed) => kmeans(points, dim, k, new Rng(seed), 300).inertia);
      const sampled = bestOf(seeds, (seed) => scalableKmeans(points, dim, k, new Rng(seed), { sampleSize: 300, maxIterations: 300 }).inertia);
      expect(Math.abs(full / reference[s]! - 1)).toBeLessThanOrEqual(0.02);
      expect(sampled / reference[s]!).toBeLessThanOrEqual(1.04);
    });
  });
});
