/**
 * Split–merge moves for a converged Lloyd clustering.
 *
 * Why: Lloyd's iterations stop in the basin their seeds fall into, and on a mixture
 * of overlapping Gaussians k-means++ often lands in one where two true groups share a
 * centre while another group is cut in two. No Lloyd round leaves that basin, and more
 * random inits only buy a chance of missing it. One move can: merge the two clusters
 * that cost least to merge and split the one that gains most from splitting, keeping k.
 * Both sides are priced without a trial:
 * - merging a and b raises the inertia by exactly nₐn_b/(nₐ+n_b)·‖cₐ − c_b‖² (Ward's
 *   criterion), when both centres are their members' means;
 * - splitting c lowers it by about what 2-means on c's members removes, started on c's
 *   principal axis (its largest-variance direction, by power iteration). It is an
 *   estimate: priced on at most SPLIT_MEMBERS of them and scaled up, so it leans high
 *   (2-means fits the members it sees).
 * The caller applies the best move when it predicts a gain, runs Lloyd from there,
 * and keeps the result only if the inertia fell, so a move can never make it worse.
 */

/** The best move found: merge `merge[0]` and `merge[1]`, split `split`; the three centres to restart from. */
export interface SwapMove {
  merge: readonly [number, number];
  split: number;
  /** Inertia the merge adds (Ward). */
  cost: number;
  /** Inertia the split removes (2-means on the members). */
  gain: number;
  /** Mean of the merged pair, and the split's two halves, each `dim` long. */
  merged: Float64Array;
  halves: readonly [Float64Array, Float64Array];
}

/** Power-iteration rounds for the principal axis; the split only needs its rough direction. */
const AXIS_ROUNDS = 3;
/** 2-means updates after the axis split (each moves both means, then reassigns the members). */
const SPLIT_ROUNDS = 2;
/**
 * Members a split is priced on, evenly spread through the cluster, the gain scaled up to
 * all of them: pricing every member of all k clusters took 0.37 s at 30,000 points × 128,
 * several times a Lloyd round. The estimate only ranks the splits and gates a trial whose
 * real inertia decides; 128 reached the same basin as 256 on bench/cluster.ts's mixture from
 * every random state tried, in less time.
 */
const SPLIT_MEMBERS = 128;

/** Members of each cluster, as a counting sort of the points by cluster. */
function membersByCluster(assignments: Int32Array, n: number, k: number): { order: Int32Array; start: Int32Array } {
  const start = new Int32Array(k + 1);
  for (let i = 0; i < n; i++) start[assignments[i]! + 1]!++;
  for (let c = 0; c < k; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, k);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[assignments[i]!]!++] = i;
  return { order, start };
}

/**
 * What 2-means removes from one cluster's inertia (its members `order[from..to)`), and the
 * two means it ends on. Deterministic: the axis starts at the member farthest from the mean.
 * The members are copied once, centred, into one contiguous double array that every round
 * reads: pricing is the refinement's inner loop.
 */
export function splitCluster(points: Float32Array, dim: number, order: Int32Array, from: number, to: number): { gain: number; halves: [Float64Array, Float64Array] } | undefined {
  const m = to - from;
  if (m < 2) return undefined;
  const mean = new Float64Array(dim);
  for (let r = from; r < to; r++) for (let t = 0, p = order[r]! * dim; t < dim; t++) mean[t] += points[p + t]!;
  for (let t = 0; t < dim; t++) mean[t] /= m;
  const x = new Float64Array(m * dim);
  let before = 0;
  let far = 0;
  let farD = -1;
  for (let i = 0; i < m; i++) {
    let d = 0;
    for (let t = 0, p = order[from + i]! * dim, o = i * dim; t < dim; t++) {
      const v = points[p + t]! - mean[t]!;
      x[o + t] = v;
      d += v * v;
    }
    before += d;
    if (d > farD) {
      farD = d;
      far = i;
    }
  }
  if (before === 0) return undefined;
  let axis = x.slice(far * dim, far * dim + dim);
  for (let round = 0; round < AXIS_ROUNDS; round++) {
    const next = new Float64Array(dim);
    for (let i = 0, o = 0; i < m; i++, o += dim) {
      let proj = 0;
      for (let t = 0; t < dim; t++) proj += x[o + t]! * axis[t]!;
      for (let t = 0; t < dim; t++) next[t] += proj * x[o + t]!;
    }
    let norm = 0;
    for (let t = 0; t < dim; t++) norm += next[t]! * next[t]!;
    if (norm === 0) break;
    norm = Math.sqrt(norm);
    for (let t = 0; t < dim; t++) next[t] /= norm;
    axis = next;
  }
  // Halves by the side of the mean each member's projection falls on, then 2-means rounds
  // (in centred coordinates: distances are the same, the means are shifted back at the end).
  const side = new Uint8Array(m);
  for (let i = 0, o = 0; i < m; i++, o += dim) {
    let proj = 0;
    for (let t = 0; t < dim; t++) proj += x[o + t]! * axis[t]!;
    side[i] = proj > 0 ? 1 : 0;
  }
  const h0 = new Float64Array(dim);
  const h1 = new Float64Array(dim);
  let after = before;
  // Round 0 takes the means of the axis split; each further round is one 2-means update.
  for (let round = 0; round <= SPLIT_ROUNDS; round++) {
    let n0 = 0;
    h0.fill(0);
    h1.fill(0);
    for (let i = 0, o = 0; i < m; i++, o += dim) {
      const h = side[i] ? h1 : h0;
      if (!side[i]) n0++;
      for (let t = 0; t < dim; t++) h[t] += x[o + t]!;
    }
    if (n0 === 0 || n0 === m) return undefined;
    for (let t = 0; t < dim; t++) {
      h0[t] /= n0;
      h1[t] /= m - n0;
    }
    // Each member to the nearer half; the sum is the split's inertia about these means.
    after = 0;
    for (let i = 0, o = 0; i < m; i++, o += dim) {
      let d0 = 0;
      let d1 = 0;
      for (let t = 0; t < dim; t++) {
        const v = x[o + t]!;
        const e0 = v - h0[t]!;
        const e1 = v - h1[t]!;
        d0 += e0 * e0;
        d1 += e1 * e1;
      }
      side[i] = d1 < d0 ? 1 : 0;
      after += d1 < d0 ? d1 : d0;
    }
  }
  for (let t = 0; t < dim; t++) {
    h0[t] += mean[t]!;
    h1[t] += mean[t]!;
  }
  return { gain: before - after, halves: [h0, h1] };
}

/** What splitting one cluster removes (`splitCluster`), undefined when it cannot be split. */
export type SplitPrice = ReturnType<typeof splitCluster>;

/**
 * Split prices by member set, across the proposals of one fit: a split depends only on its
 * cluster's members (and the points), and after a move Lloyd's rounds often leave clusters
 * away from it with exactly the members they had, so their price is not paid again. A hit
 * compares the member list itself, not only its hash; each proposal keeps only the member
 * sets it asked for, so the cache holds at most one proposal's k clusters.
 */
export class SplitPrices {
  private entries = new Map<string, { members: Int32Array; price: SplitPrice }>();
  private asked = new Set<string>();
  private readonly picked = new Int32Array(SPLIT_MEMBERS);
  /** Splits priced so far (the misses). */
  computed = 0;

  /** The price of splitting the members `order[from..to)` (sorted by index, as membersByCluster leaves them). */
  price(points: Float32Array, dim: number, order: Int32Array, from: number, to: number): SplitPrice {
    const members = order.subarray(from, to);
    const key = membershipKey(members);
    this.asked.add(key);
    const hit = this.entries.get(key);
    if (hit && hit.members.length === members.length && hit.members.every((v, i) => v === members[i])) return hit.price;
    const m = to - from;
    const used = Math.min(m, SPLIT_MEMBERS);
    for (let j = 0; j < used; j++) this.picked[j] = members[Math.floor((j * m) / used)]!;
    const price = splitCluster(points, dim, this.picked, 0, used);
    this.computed++;
    if (price) price.gain *= m / used;
    this.entries.set(key, { members: Int32Array.from(members), price });
    return price;
  }

  /** Forgets the member sets not asked for since the last call. */
  prune(): void {
    for (const key of this.entries.keys()) if (!this.asked.has(key)) this.entries.delete(key);
    this.asked.clear();
  }

  /** Member sets held. */
  get size(): number {
    return this.entries.size;
  }
}

/** A member list as a key: its length and two 32-bit hashes of the indices. */
function membershipKey(members: Int32Array): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  for (let r = 0; r < members.length; r++) {
    const i = members[r]!;
    h1 = Math.imul(h1 ^ i, 0x01000193);
    h2 = Math.imul(h2 + i, 0x85ebca6b) ^ (h2 >>> 13);
  }
  return `${members.length}:${h1 >>> 0}:${h2 >>> 0}`;
}

/**
 * The move with the largest predicted net gain, for points assigned to centroids that are
 * their members' means (as Lloyd's rounds leave them); undefined when k < 3 or no split
 * gains more than the cheapest merge costs. `prices` carries split prices from one proposal
 * of a fit to the next.
 */
export function proposeSwap(points: Float32Array, n: number, dim: number, k: number, centroids: Float32Array, assignments: Int32Array, prices = new SplitPrices()): SwapMove | undefined {
  if (k < 3) return undefined;
  const { order, start } = membersByCluster(assignments, n, k);
  const size = (c: number) => start[c + 1]! - start[c]!;
  let cost = Infinity;
  let pair: [number, number] = [0, 1];
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const na = size(a);
      const nb = size(b);
      if (na + nb === 0) continue;
      let d = 0;
      for (let t = 0; t < dim; t++) d += (centroids[a * dim + t]! - centroids[b * dim + t]!) ** 2;
      const w = ((na * nb) / (na + nb)) * d;
      if (w < cost) {
        cost = w;
        pair = [a, b];
      }
    }
  }
  let best: SplitPrice;
  let split = -1;
  for (let c = 0; c < k; c++) {
    if (c === pair[0] || c === pair[1]) continue;
    const s = prices.price(points, dim, order, start[c]!, start[c + 1]!);
    if (s && (!best || s.gain > best.gain)) {
      best = s;
      split = c;
    }
  }
  prices.prune();
  if (!best || best.gain <= cost) return undefined;
  const [a, b] = pair;
  const merged = new Float64Array(dim);
  const na = size(a);
  const nb = size(b);
  for (let t = 0; t < dim; t++) merged[t] = (na * centroids[a * dim + t]! + nb * centroids[b * dim + t]!) / (na + nb);
  // Copies: the cached price keeps its own halves.
  return { merge: pair, split, cost, gain: best.gain, merged, halves: [Float64Array.from(best.halves[0]), Float64Array.from(best.halves[1])] };
}
