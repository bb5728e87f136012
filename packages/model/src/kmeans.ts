import type { Rng } from './rng';

export interface KMeansResult {
  /** k × dim, row-major. */
  centroids: Float32Array;
  /** Cluster of each point. */
  assignments: Int32Array;
  /** Points per cluster. */
  sizes: Int32Array;
  /** Sum of squared distances of points to their centroid. */
  inertia: number;
  iterations: number;
  k: number;
}

export function squaredDistance(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) {
    const d = a[ai + t]! - b[bi + t]!;
    s += d * d;
  }
  return s;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre is a point
 * drawn with probability proportional to its squared distance to the nearest
 * centre so far. Deterministic for a given Rng state.
 */
export function kmeansPlusPlus(points: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  const centroids = new Float32Array(k * dim);
  const nearest = new Float64Array(n).fill(Infinity);
  let pick = rng.int(n);
  for (let c = 0; c < k; c++) {
    centroids.set(points.subarray(pick * dim, pick * dim + dim), c * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = squaredDistance(points, i * dim, centroids, c * dim, dim);
      if (d < nearest[i]!) nearest[i] = d;
      total += nearest[i]!;
    }
    if (c + 1 === k) break;
    if (total === 0) {
      pick = rng.int(n); // every point already coincides with a centre
      continue;
    }
    let target = rng.next() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= nearest[i]!;
      if (target < 0) {
        pick = i;
        break;
      }
    }
  }
  return centroids;
}

/**
 * Lloyd's k-means from k-means++ seeds: the exact reference the scalable
 * variants are checked against. k is clamped to the number of points; an empty
 * cluster is re-seeded with the point farthest from its centre.
 */
export function kmeans(points: Float32Array, dim: number, k: number, rng: Rng, maxIterations = 25): KMeansResult {
  const n = points.length / dim;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`kmeans needs at least one point of dimension ${dim}`);
  k = Math.max(1, Math.min(k, n));
  const centroids = kmeansPlusPlus(points, n, dim, k, rng);
  const assignments = new Int32Array(n).fill(-1);
  const sizes = new Int32Array(k);
  const distances = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const d = squaredDistance(points, i * dim, centroids, c * dim, dim);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      distances[i] = bestD;
      if (assignments[i] !== best) {
        assignments[i] = best;
        changed++;
      }
    }
    if (changed === 0 && iterations > 0) break;
    recomputeCentroids(points, dim, assignments, centroids, sizes, distances);
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += squaredDistance(points, i * dim, centroids, assignments[i]! * dim, dim);
  return { centroids, assignments, sizes, inertia, iterations, k };
}

/**
 * Adds each of n rows (`width` wide) into row groups[i] of `sums` (k × width, double): the
 * plain loop, and the oracle of the addon's `addRows` that kmeans-scalable runs.
 */
export function addRowsReference(rows: Float32Array, n: number, width: number, groups: Int32Array, sums: Float64Array): void {
  checkAddRows(rows, n, width, groups, sums);
  for (let i = 0; i < n; i++) for (let t = 0, o = groups[i]! * width, p = i * width; t < width; t++) sums[o + t] += rows[p + t]!;
}

/** `addRows`'s arguments, checked in this realm so both paths throw the same RangeError before any sum moves. */
export function checkAddRows(rows: Float32Array, n: number, width: number, groups: Int32Array, sums: Float64Array): void {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(width) || width < 1 || rows.length < n * width || groups.length < n || sums.length % width !== 0)
    throw new RangeError(`addRows: bad n = ${n} or width = ${width}, or arrays shorter than they say`);
  const k = sums.length / width;
  for (let i = 0; i < n; i++) if (!(groups[i]! >= 0 && groups[i]! < k)) throw new RangeError(`addRows: group ${groups[i]} is outside sums (${k} rows)`);
}

/**
 * Means of the points of each cluster; a cluster left empty is re-seeded with
 * the point farthest from its centre, so k stays fixed while fitting. `add` sums
 * the members (kmeans-scalable passes the addon's loop).
 */
export function recomputeCentroids(points: Float32Array, dim: number, assignments: Int32Array, centroids: Float32Array, sizes: Int32Array, distances: Float64Array, add = addRowsReference): void {
  const k = sizes.length;
  const sums = new Float64Array(k * dim);
  sizes.fill(0);
  for (let i = 0; i < assignments.length; i++) sizes[assignments[i]!]!++;
  add(points, assignments.length, dim, assignments, sums);
  for (let c = 0; c < k; c++) {
    if (sizes[c] === 0) {
      let far = 0;
      for (let i = 1; i < distances.length; i++) if (distances[i]! > distances[far]!) far = i;
      centroids.set(points.subarray(far * dim, far * dim + dim), c * dim);
      distances[far] = 0;
      continue;
    }
    for (let t = 0; t < dim; t++) centroids[c * dim + t] = sums[c * dim + t]! / sizes[c]!;
  }
}
