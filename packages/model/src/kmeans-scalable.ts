import { nativeAddRows, nativeNearestCentroids } from '@ralm/kernel';
import { addRowsReference, checkAddRows, recomputeCentroids, squaredDistance, type KMeansResult } from './kmeans';
import { proposeSwap, SplitPrices } from './kmeans-swap';
import type { Rng } from './rng';

/** Where `nearestCentroids` writes, one entry per point (arrays at least n long). */
export interface NearestOutput {
  /** Index of the nearest centroid; the lowest index wins a tie. */
  assignments: Int32Array;
  /** Squared Euclidean distance to that centroid, ≥ 0. */
  distances: Float32Array | Float64Array;
}

function checkKernelArgs(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, out: NearestOutput): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (points.length < n * dim) throw new RangeError(`points holds ${points.length} values, needs n × dim = ${n * dim}`);
  if (centroids.length < k * dim) throw new RangeError(`centroids holds ${centroids.length} values, needs k × dim = ${k * dim}`);
  if (out.assignments.length < n || out.distances.length < n) throw new RangeError(`output arrays must hold n = ${n} entries`);
}

/**
 * The assignment step as clustering runs it: the OpenBLAS addon's sgemm when it loads
 * (packages/kernel: float32 dot products, as scikit-learn takes them for float32 input,
 * norms in double), else `nearestCentroids`. Both are tested against the reference below;
 * `npx tsx bench/cluster.ts` measures each.
 */
export function assignNearest(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, out: NearestOutput): void {
  const native = nativeNearestCentroids();
  if (!native) return nearestCentroids(points, n, dim, centroids, k, out);
  checkKernelArgs(points, n, dim, centroids, k, out);
  native(points, n, dim, centroids, k, out.assignments, out.distances);
}

/**
 * Adds each of n rows (`width` wide) into row groups[i] of `sums` (k × width, double): the
 * member sums of a k-means update. The addon's loop when it loads (at memory speed: the JS
 * loop was 1.5 of the 2.4 s of a 3,000,000-point pass), else `addRowsReference`, its oracle.
 */
export function addRows(rows: Float32Array, n: number, width: number, groups: Int32Array, sums: Float64Array): void {
  const native = nativeAddRows();
  if (!native) return addRowsReference(rows, n, width, groups, sums);
  checkAddRows(rows, n, width, groups, sums);
  native(rows, n, width, groups, sums);
}

/**
 * The brute-force oracle: every point against every centroid with the plain
 * difference loop of `kmeans`. Kept for tests and benchmarks, not for production.
 */
export function nearestCentroidsReference(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, out: NearestOutput): void {
  checkKernelArgs(points, n, dim, centroids, k, out);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const d = points[i * dim + t]! - centroids[c * dim + t]!;
        s += d * d;
      }
      if (s < bestD) {
        bestD = s;
        best = c;
      }
    }
    out.assignments[i] = best;
    out.distances[i] = bestD;
  }
}

/**
 * Nearest centroid of each of n points (row-major, `dim` wide) among k
 * centroids, with its squared distance.
 *
 * Why this shape: ‖x − c‖² = ‖x‖² − 2x·c + ‖c‖², with ‖c‖² computed once, turns
 * the work into dot products; 2 points × 4 centroids per inner loop keep eight
 * independent accumulators in registers and load each value once per four (or
 * two) multiply-adds. JS arithmetic is float64, so the expansion only cancels
 * at ~1e-16 of ‖x‖² (tiny negatives from it are clamped to 0). Measured by
 * `npx tsx bench/cluster.ts` (100,000 points, dim 128, k = 20, one core, three
 * runs): this kernel runs 2.4–3.1× the naive per-pair loop (≈1.9 against ≈0.65 G
 * multiply-adds/s); a tfjs-wasm (XNNPACK, SIMD) matMul with the argmin in JS runs
 * 1.5–1.9× faster still, yet is not used: it is async to set up, switches the
 * process-wide tfjs backend the model code shares (on a tfjs-node-gpu host it
 * would not be wasm at all), takes dot products in float32 (so the expansion
 * cancels at ~1e-7 of ‖x‖², not 1e-16), and stays on its fast path only with
 * pre-transposed centroids (transposeB measured ~8× slower). This
 * kernel already brings 3,000,000 seeds to ~7 s on one core, inside the 10 s
 * budget and small beside fetching their 1.5 GB of embeddings over gRPC.
 */
export function nearestCentroids(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, out: NearestOutput): void {
  checkKernelArgs(points, n, dim, centroids, k, out);
  // A float64 copy spares a float32→float64 conversion on every centroid load.
  const c = new Float64Array(k * dim);
  const norms = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const v = centroids[j * dim + t]!;
      c[j * dim + t] = v;
      s += v * v;
    }
    norms[j] = s;
  }
  const { assignments, distances } = out;
  const k4 = k - (k % 4);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const a = i * dim;
    const b = a + dim;
    let xa = 0;
    let xb = 0;
    for (let t = 0; t < dim; t++) {
      const u = points[a + t]!;
      const v = points[b + t]!;
      xa += u * u;
      xb += v * v;
    }
    let ba = 0;
    let da = Infinity;
    let bb = 0;
    let db = Infinity;
    // Centroids are visited in increasing index with strict `<`, so the lowest index wins ties.
    let j = 0;
    for (; j < k4; j += 4) {
      const o0 = j * dim;
      const o1 = o0 + dim;
      const o2 = o1 + dim;
      const o3 = o2 + dim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let t = 0; t < dim; t++) {
        const u = points[a + t]!;
        const v = points[b + t]!;
        const c0 = c[o0 + t]!;
        const c1 = c[o1 + t]!;
        const c2 = c[o2 + t]!;
        const c3 = c[o3 + t]!;
        a0 += u * c0;
        a1 += u * c1;
        a2 += u * c2;
        a3 += u * c3;
        b0 += v * c0;
        b1 += v * c1;
        b2 += v * c2;
        b3 += v * c3;
      }
      const n0 = norms[j]!;
      const n1 = norms[j + 1]!;
      const n2 = norms[j + 2]!;
      const n3 = norms[j + 3]!;
      let d = xa - 2 * a0 + n0;
      if (d < da) { da = d; ba = j; }
      d = xa - 2 * a1 + n1;
      if (d < da) { da = d; ba = j + 1; }
      d = xa - 2 * a2 + n2;
      if (d < da) { da = d; ba = j + 2; }
      d = xa - 2 * a3 + n3;
      if (d < da) { da = d; ba = j + 3; }
      d = xb - 2 * b0 + n0;
      if (d < db) { db = d; bb = j; }
      d = xb - 2 * b1 + n1;
      if (d < db) { db = d; bb = j + 1; }
      d = xb - 2 * b2 + n2;
      if (d < db) { db = d; bb = j + 2; }
      d = xb - 2 * b3 + n3;
      if (d < db) { db = d; bb = j + 3; }
    }
    for (; j < k; j++) {
      const o = j * dim;
      let sa = 0;
      let sb = 0;
      for (let t = 0; t < dim; t++) {
        const cv = c[o + t]!;
        sa += points[a + t]! * cv;
        sb += points[b + t]! * cv;
      }
      let d = xa - 2 * sa + norms[j]!;
      if (d < da) { da = d; ba = j; }
      d = xb - 2 * sb + norms[j]!;
      if (d < db) { db = d; bb = j; }
    }
    assignments[i] = ba;
    distances[i] = da > 0 ? da : 0;
    assignments[i + 1] = bb;
    distances[i + 1] = db > 0 ? db : 0;
  }
  if (i < n) {
    // The odd last point, one centroid at a time: it is at most one point per call.
    const a = i * dim;
    let xa = 0;
    for (let t = 0; t < dim; t++) xa += points[a + t]! * points[a + t]!;
    let ba = 0;
    let da = Infinity;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += points[a + t]! * c[j * dim + t]!;
      const d = xa - 2 * s + norms[j]!;
      if (d < da) { da = d; ba = j; }
    }
    assignments[i] = ba;
    distances[i] = da > 0 ? da : 0;
  }
}


/**
 * k-means++ seeding that stops at the number of distinct points. It draws
 * exactly what `kmeansPlusPlus` draws (same Rng calls, same difference loop) as
 * long as the points hold at least k distinct rows, so `fitSample` reproduces
 * `kmeans`; once every point coincides with a centre it stops instead of adding
 * duplicate centres, and a D²-walk that rounding carries past the end takes the
 * last point not yet covered rather than the last point.
 */
function seedDistinct(points: Float32Array, n: number, dim: number, k: number, rng: Rng): { centroids: Float32Array; k: number } {
  const centroids = new Float32Array(k * dim);
  const nearest = new Float64Array(n).fill(Infinity);
  let pick = rng.int(n);
  let c = 0;
  for (; c < k; c++) {
    centroids.set(points.subarray(pick * dim, pick * dim + dim), c * dim);
    let total = 0;
    let lastUncovered = -1;
    for (let i = 0; i < n; i++) {
      const d = squaredDistance(points, i * dim, centroids, c * dim, dim);
      if (d < nearest[i]!) nearest[i] = d;
      total += nearest[i]!;
      if (nearest[i]! > 0) lastUncovered = i;
    }
    if (c + 1 === k || total === 0) break;
    let target = rng.next() * total;
    pick = lastUncovered;
    for (let i = 0; i < n; i++) {
      target -= nearest[i]!;
      if (target < 0) {
        pick = i;
        break;
      }
    }
  }
  const seeded = Math.min(c + 1, k);
  return { centroids: centroids.slice(0, seeded * dim), k: seeded };
}


/** Lloyd's iterations of `fitSample`. */
export interface FitOptions {
  /**
   * Assignment rounds at most (≥ 1) in each run of Lloyd's rounds: the first, each
   * split–merge trial and the final one after the moves; default 25, as `kmeans`.
   */
  maxIterations?: number;
  /**
   * Stop once a round lowers the inertia by no more than this fraction of it
   * (e.g. 1e-4). Default 0: run until no assignment changes, exactly as `kmeans`.
   */
  tolerance?: number;
  /**
   * Split–merge moves tried after Lloyd's rounds converge (kmeans-swap.ts): each merges
   * the cheapest pair, splits the cluster that gains most, reruns Lloyd and is kept only
   * if the inertia fell; the first move that does not help ends them. Default 2k; 0 on at
   * most 10,000 points (SEED_POINTS) gives exactly the clustering of `kmeans`.
   */
  swaps?: number;
}

/**
 * Points k-means++ draws its seeds from at most: past it, a uniform subset (scikit-learn's
 * MiniBatchKMeans seeds on 3 × 1,024). Seeding is k passes over its points in scalar
 * TypeScript, 0.3 s of a 30,000 × 128 fit at k = 20; Lloyd's rounds and the split–merge
 * moves then run on every point, so the seeds only need to cover the groups. Up to this
 * many points `fitSample` still draws exactly what `kmeans` draws.
 */
const SEED_POINTS = 10_000;

/** `seedDistinct` on at most SEED_POINTS of the points; on all of them when the subset has fewer than k distinct rows. */
function seedPoints(points: Float32Array, n: number, dim: number, k: number, rng: Rng): { centroids: Float32Array; k: number } {
  if (n <= SEED_POINTS) return seedDistinct(points, n, dim, k, rng);
  const subset = gatherRows(points, sampleIndices(n, SEED_POINTS, rng), dim);
  const seeded = seedDistinct(subset, SEED_POINTS, dim, k, rng);
  return seeded.k < k ? seedDistinct(points, n, dim, k, rng) : seeded;
}

/** Relative inertia decrease that ends a split–merge trial's Lloyd rounds. */
const TRIAL_TOLERANCE = 1e-3;

/** Lloyd's working arrays over n points, reused by every restart of the rounds. */
interface LloydState {
  assignments: Int32Array;
  next: Int32Array;
  distances: Float64Array;
  sizes: Int32Array;
}

/**
 * Lloyd's rounds from `centroids` (moved in place to their members' means), with the loop,
 * stopping rule and empty-cluster re-seeding of `kmeans`. Returns the rounds run and the
 * inertia about the final centroids.
 */
function lloydRounds(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, state: LloydState, maxIterations: number, tolerance: number): { iterations: number; inertia: number } {
  const { assignments, next, distances, sizes } = state;
  assignments.fill(-1);
  let previous = Infinity;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    assignNearest(points, n, dim, centroids, k, { assignments: next, distances });
    let changed = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += distances[i]!;
      if (next[i] !== assignments[i]) {
        assignments[i] = next[i]!;
        changed++;
      }
    }
    if (changed === 0 && iterations > 0) break;
    recomputeCentroids(points, dim, assignments, centroids, sizes, distances, addRows);
    if (tolerance > 0 && previous - total <= tolerance * total) {
      iterations++;
      break;
    }
    previous = total;
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += squaredDistance(points, i * dim, centroids, assignments[i]! * dim, dim);
  return { iterations, inertia };
}

/**
 * Lloyd's k-means from distinct k-means++ seeds with the fast kernel, then split–merge
 * moves while they lower the inertia. With `swaps: 0` and at most SEED_POINTS points it is
 * the same seeding, loop, stopping rule and empty-cluster re-seeding as `kmeans`, so on points
 * with at least k distinct rows it returns the same clustering up to float rounding of near-ties.
 */
function lloyd(points: Float32Array, dim: number, k: number, rng: Rng, options: FitOptions = {}): KMeansResult {
  const n = points.length / dim;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`k-means needs at least one point of dimension ${dim}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const maxIterations = Math.max(1, options.maxIterations ?? 25);
  const tolerance = options.tolerance ?? 0;
  const seeded = seedPoints(points, n, dim, Math.min(k, n), rng);
  k = seeded.k;
  const swaps = options.swaps ?? 2 * k;
  if (!Number.isInteger(swaps) || swaps < 0) throw new RangeError(`swaps must be a non-negative integer, got ${swaps}`);
  let centroids = seeded.centroids;
  const state = (): LloydState => ({ assignments: new Int32Array(n), next: new Int32Array(n), distances: new Float64Array(n), sizes: new Int32Array(k) });
  let current = state();
  let { iterations, inertia } = lloydRounds(points, n, dim, centroids, k, current, maxIterations, tolerance);
  // Allocated on the first trial: most fits with swaps 0, or k < 3, never make one.
  let spare: LloydState | undefined;
  let moved = false;
  const prices = new SplitPrices();
  for (let swap = 0; swap < swaps; swap++) {
    const move = proposeSwap(points, n, dim, k, centroids, current.assignments, prices);
    if (!move) break;
    const trial = Float32Array.from(centroids);
    trial.set(move.merged, move.merge[0] * dim);
    trial.set(move.halves[0], move.merge[1] * dim);
    trial.set(move.halves[1], move.split * dim);
    // A move that helps lowers the inertia by far more than TRIAL_TOLERANCE (0.6 % on
    // bench/cluster.ts's mixture), so its trial need not converge; the winner does below.
    spare ??= state();
    const r = lloydRounds(points, n, dim, trial, k, spare, maxIterations, Math.max(tolerance, TRIAL_TOLERANCE));
    iterations += r.iterations;
    if (!(r.inertia < inertia)) break;
    [centroids, inertia, current, spare] = [trial, r.inertia, spare, current];
    moved = true;
  }
  if (moved) {
    const r = lloydRounds(points, n, dim, centroids, k, current, maxIterations, tolerance);
    iterations += r.iterations;
    inertia = r.inertia;
  }
  return { centroids, assignments: current.assignments, sizes: current.sizes, inertia, iterations, k };
}

/** Centroids fitted on an in-memory sample. */
export interface FittedCentroids {
  /** k × dim, row-major. */
  centroids: Float32Array;
  /** The k asked for, clamped to the number of distinct sample points. */
  k: number;
  /** Lloyd rounds run, over every run: the first, the split–merge trials and the last. */
  iterations: number;
}

/**
 * Fits k centroids to a sample (row-major, `dim` wide): k-means++ seeds drawn
 * from `rng`, Lloyd's iterations with `assignNearest` for the assignment step,
 * then split–merge moves while they lower the inertia (`swaps`). Empty clusters
 * are re-seeded while fitting, so all k centroids are distinct points or means.
 */
export function fitSample(sample: Float32Array, dim: number, k: number, rng: Rng, options?: FitOptions): FittedCentroids {
  const { centroids, k: fitted, iterations } = lloyd(sample, dim, k, rng, options);
  return { centroids, k: fitted, iterations };
}

/** The rows of a row-major `width`-wide matrix at `rows`, in that order, as one new array. */
export function gatherRows(matrix: Float32Array, rows: ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) out.set(matrix.subarray(rows[r]! * width, rows[r]! * width + width), r * width);
  return out;
}

/**
 * m distinct indices drawn uniformly from [0, n), in increasing order (so a
 * streaming caller can pick the sample out of its stream in one pass).
 * A partial Fisher–Yates shuffle over a sparse map: O(m) time and memory.
 */
export function sampleIndices(n: number, m: number, rng: Rng): Int32Array {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(m) || m < 0 || m > n) throw new RangeError(`cannot draw ${m} of ${n} indices`);
  const out = new Int32Array(m);
  const moved = new Map<number, number>();
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    out[i] = moved.get(j) ?? j;
    moved.set(j, moved.get(i) ?? i);
  }
  return out.sort();
}

/** Clusters accumulated over a full pass, empty ones dropped. */
export interface AccumulatedClusters {
  /** Clusters that received at least one point. */
  k: number;
  /** Fitted cluster → its number here, or −1 where it ended empty (renumber stored assignments with it). */
  index: Int32Array;
  /** Points per cluster. */
  sizes: Int32Array;
  /** Mean of each cluster's points, k × dim. */
  centroids: Float32Array;
  /** Mean of each cluster's companion vectors, k × companionDim (empty when companionDim is 0). */
  companionMeans: Float32Array;
  /** Sum of squared distances of all points to the centroids they were assigned by. */
  inertiaToFitted: number;
  /** Sum of squared distances of all points to `centroids` (their cluster's mean), ≤ inertiaToFitted. */
  inertia: number;
  /** Points seen. */
  count: number;
}

/**
 * One assignment pass over points that arrive in batches (the Clusterer
 * streams seeds' look-alike embeddings, dimension h, over gRPC): each batch is
 * assigned to the fitted centroids, and the accumulator keeps per-cluster
 * sizes, the squared-distance sum, the sum of the points, and the sum of an
 * optional companion vector per point (dimension d, e.g. the universal
 * embedding whose member mean becomes the cluster's centroid in that space).
 */
export class AssignmentAccumulator {
  readonly k: number;
  readonly dim: number;
  readonly companionDim: number;
  private readonly centroids: Float32Array;
  private readonly sizes: Int32Array;
  private readonly pointSums: Float64Array;
  private readonly companionSums: Float64Array;
  private readonly distanceSums: Float64Array;
  private assignments = new Int32Array(0);
  private distances = new Float64Array(0);
  private count = 0;

  /**
   * @param centroids k × dim, row-major (e.g. `fitSample(...).centroids`); copied.
   * @param companionDim width of the companion vectors passed to `add`, or 0 for none.
   */
  constructor(centroids: Float32Array, k: number, dim: number, companionDim = 0) {
    if (!Number.isInteger(k) || k < 1 || !Number.isInteger(dim) || dim < 1 || centroids.length !== k * dim) {
      throw new RangeError(`centroids must be k × dim = ${k} × ${dim}, got ${centroids.length} values`);
    }
    if (!Number.isInteger(companionDim) || companionDim < 0) throw new RangeError(`companionDim must be a non-negative integer, got ${companionDim}`);
    this.k = k;
    this.dim = dim;
    this.companionDim = companionDim;
    this.centroids = Float32Array.from(centroids);
    this.sizes = new Int32Array(k);
    this.pointSums = new Float64Array(k * dim);
    this.companionSums = new Float64Array(k * companionDim);
    this.distanceSums = new Float64Array(k);
  }

  /**
   * Assigns one batch of m points (m × dim) and accumulates it, with its
   * companions (m × companionDim) when companionDim > 0. Returns the batch's
   * clusters and squared distances; unless `into` is given (at least m long)
   * both arrays are reused by the next call.
   */
  add(points: Float32Array, companions?: Float32Array, into?: Int32Array): { assignments: Int32Array; distances: Float64Array } {
    const m = points.length / this.dim;
    if (!Number.isInteger(m)) throw new RangeError(`a batch holds whole points of dimension ${this.dim}, got ${points.length} values`);
    if (this.companionDim > 0 && companions?.length !== m * this.companionDim) {
      throw new RangeError(`companions must be m × companionDim = ${m} × ${this.companionDim}, got ${companions?.length ?? 'none'}`);
    }
    if (this.assignments.length < m) {
      this.assignments = new Int32Array(m);
      this.distances = new Float64Array(m);
    }
    const assignments = into ? into.subarray(0, m) : this.assignments.subarray(0, m);
    const distances = this.distances.subarray(0, m);
    assignNearest(points, m, this.dim, this.centroids, this.k, { assignments, distances });
    for (let i = 0; i < m; i++) {
      const c = assignments[i]!;
      this.sizes[c]!++;
      this.distanceSums[c] += distances[i]!;
    }
    addRows(points, m, this.dim, assignments, this.pointSums);
    if (this.companionDim > 0) addRows(companions!, m, this.companionDim, assignments, this.companionSums);
    this.count += m;
    return { assignments, distances };
  }

  /** The clusters so far: means, sizes and inertia, with clusters that got no point dropped. */
  result(): AccumulatedClusters {
    const { k, dim, companionDim } = this;
    const index = new Int32Array(k).fill(-1);
    let kept = 0;
    for (let c = 0; c < k; c++) if (this.sizes[c]! > 0) index[c] = kept++;
    const sizes = new Int32Array(kept);
    const centroids = new Float32Array(kept * dim);
    const companionMeans = new Float32Array(kept * companionDim);
    let inertiaToFitted = 0;
    let inertia = 0;
    for (let c = 0; c < k; c++) {
      const r = index[c]!;
      if (r < 0) continue;
      const size = this.sizes[c]!;
      sizes[r] = size;
      inertiaToFitted += this.distanceSums[c]!;
      // Σ‖x − a‖² = Σ‖x − m‖² + n‖m − a‖² for any a: move the sum from the fitted
      // centre c to the mean m, then to m rounded to float32, without a second pass.
      let shiftToMean = 0;
      let rounding = 0;
      for (let t = 0; t < dim; t++) {
        const mean = this.pointSums[c * dim + t]! / size;
        centroids[r * dim + t] = mean;
        shiftToMean += (mean - this.centroids[c * dim + t]!) ** 2;
        rounding += (mean - centroids[r * dim + t]!) ** 2;
      }
      inertia += Math.max(0, this.distanceSums[c]! - size * shiftToMean + size * rounding);
      for (let t = 0; t < companionDim; t++) companionMeans[r * companionDim + t] = this.companionSums[c * companionDim + t]! / size;
    }
    return { k: kept, index, sizes, centroids, companionMeans, inertiaToFitted, inertia, count: this.count };
  }
}

/** Options of `scalableKmeans`. */
export interface ScalableKmeansOptions extends FitOptions {
  /**
   * Points the centroids are fitted on, drawn uniformly without replacement.
   * Default 30,000 (~1,500 per cluster at k = 20): in bench/cluster.ts the
   * inertia at 3,000,000 points equals the same fit's on every point to 1e-4, and
   * the run takes ~1.2 s on one core. With n ≤ sampleSize every point is used.
   */
  sampleSize?: number;
  /** Points assigned per call of the kernel in the full pass (default 65,536). */
  batch?: number;
  /**
   * Full passes over every point after the fit: each assigns to the previous centroids and
   * moves them to their members' means (a Lloyd round over all points, so the inertia can
   * only fall). Default 1.
   */
  passes?: number;
}

/** Drops clusters that ended empty and renumbers the rest in order. */
function dropEmpty(result: KMeansResult, dim: number): KMeansResult {
  const index = new Int32Array(result.k).fill(-1);
  let kept = 0;
  for (let c = 0; c < result.k; c++) if (result.sizes[c]! > 0) index[c] = kept++;
  if (kept === result.k) return result;
  const centroids = new Float32Array(kept * dim);
  for (let c = 0; c < result.k; c++) if (index[c]! >= 0) centroids.set(result.centroids.subarray(c * dim, c * dim + dim), index[c]! * dim);
  const assignments = result.assignments.map((c) => index[c]!);
  return { ...result, centroids, assignments, sizes: result.sizes.filter((s) => s > 0), k: kept };
}

/**
 * k-means for point sets too large to iterate over: fit on a uniform sample
 * (`fitSample`: k-means++, Lloyd, split–merge moves), assign every point once, and return each cluster's
 * centroid as the mean of its members (one Lloyd update over all points; `passes`
 * repeats it). Assignments are to the centroids the last pass started from
 * (the fitted ones with one pass); `inertia` is over all points about
 * the returned centroids (the convention of `kmeans`). Clusters that end with no
 * member are dropped and the rest renumbered, so k may come back smaller.
 * When n ≤ sampleSize this is `fitSample` on all points (with `swaps: 0` and n ≤ 10,000,
 * `kmeans` up to float rounding of near-ties, apart from the dropped empties).
 */
export function scalableKmeans(points: Float32Array, dim: number, k: number, rng: Rng, options: ScalableKmeansOptions = {}): KMeansResult {
  const n = points.length / dim;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`k-means needs at least one point of dimension ${dim}`);
  const sampleSize = Math.max(options.sampleSize ?? 30_000, k);
  const batch = options.batch ?? 65_536;
  const passes = options.passes ?? 1;
  if (!Number.isInteger(sampleSize) || !Number.isInteger(batch) || batch < 1 || !Number.isInteger(passes) || passes < 1)
    throw new RangeError('sampleSize, batch and passes must be positive integers');
  if (n <= sampleSize) return dropEmpty(lloyd(points, dim, k, rng, options), dim);

  const sample = gatherRows(points, sampleIndices(n, sampleSize, rng), dim);
  const fit = fitSample(sample, dim, k, rng, options);

  const assignments = new Int32Array(n);
  let centroids = fit.centroids;
  let kept = fit.k;
  let clusters: AccumulatedClusters | undefined;
  for (let pass = 0; pass < passes; pass++) {
    const accumulator = new AssignmentAccumulator(centroids, kept, dim);
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      accumulator.add(points.subarray(start * dim, end * dim), undefined, assignments.subarray(start, end));
    }
    clusters = accumulator.result();
    if (clusters.k < kept) for (let i = 0; i < n; i++) assignments[i] = clusters.index[assignments[i]!]!;
    centroids = clusters.centroids;
    kept = clusters.k;
  }
  return { centroids: clusters!.centroids, assignments, sizes: clusters!.sizes, inertia: clusters!.inertia, iterations: fit.iterations, k: clusters!.k };
}
