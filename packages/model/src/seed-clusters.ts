import { kmeans } from './kmeans';
import type { Rng } from './rng';

/**
 * Every item's seed clusters for one phase-2 epoch. Assignments come from
 * k-means on the seeds' CURRENT look-alike embeddings T(u) (so re-clustering
 * each epoch follows the transform as it learns, which is the point of the
 * paper's iterative training); each centroid c_j is the mean of its members'
 * universal embeddings, because the model computes E_s[j] = T(c_j) (spec §3).
 */
export interface ItemClusters {
  k: number;
  dim: number;
  /** First cluster of each item in `centroids` / `sizes`, or -1 for an item without seeds. */
  offset: Int32Array;
  /** Clusters of each item (≤ k; fewer when it has fewer seeds). */
  count: Int32Array;
  /** All clusters' centroids, row-major, `dim` (= d) wide. */
  centroids: Float32Array;
  sizes: Int32Array;
  /** Per item: seed user row → its cluster (local index), for seeds that were clustered. */
  membership: Array<Map<number, number> | undefined>;
}

export function clusterItemSeeds(
  seeds: Int32Array[],
  universal: Float32Array,
  lookalike: Float32Array,
  d: number,
  h: number,
  k: number,
  maxSeedsPerItem: number,
  rng: Rng,
): ItemClusters {
  const nItems = seeds.length;
  const offset = new Int32Array(nItems).fill(-1);
  const count = new Int32Array(nItems);
  const membership: Array<Map<number, number> | undefined> = new Array(nItems);
  const centroidChunks: Float32Array[] = [];
  const sizeChunks: number[] = [];
  let total = 0;
  for (let i = 0; i < nItems; i++) {
    let members = seeds[i]!;
    if (members.length === 0) continue;
    if (members.length > maxSeedsPerItem) {
      const copy = Int32Array.from(members);
      rng.shuffle(copy);
      members = copy.slice(0, maxSeedsPerItem);
    }
    const points = new Float32Array(members.length * h);
    members.forEach((u, r) => points.set(lookalike.subarray(u * h, u * h + h), r * h));
    const result = kmeans(points, h, k, rng, 15);
    // Renumber to drop clusters that ended empty.
    const local = new Int32Array(result.k).fill(-1);
    let next = 0;
    for (let c = 0; c < result.k; c++) if (result.sizes[c]! > 0) local[c] = next++;
    const sums = new Float64Array(next * d);
    const sizes = new Int32Array(next);
    const map = new Map<number, number>();
    members.forEach((u, r) => {
      const c = local[result.assignments[r]!]!;
      map.set(u, c);
      sizes[c]!++;
      for (let t = 0; t < d; t++) sums[c * d + t] += universal[u * d + t]!;
    });
    const centroids = new Float32Array(next * d);
    for (let c = 0; c < next; c++) for (let t = 0; t < d; t++) centroids[c * d + t] = sums[c * d + t]! / sizes[c]!;
    offset[i] = total;
    count[i] = next;
    membership[i] = map;
    centroidChunks.push(centroids);
    sizes.forEach((s) => sizeChunks.push(s));
    total += next;
  }
  const centroids = new Float32Array(total * d);
  let at = 0;
  for (const chunk of centroidChunks) {
    centroids.set(chunk, at);
    at += chunk.length;
  }
  return { k, dim: d, offset, count, centroids, sizes: Int32Array.from(sizeChunks), membership };
}

/**
 * The centroids each (user, item) sample sees, B × k × d with a B × k mask.
 * The target user is removed from its own item's seeds by taking it out of its
 * cluster's mean exactly: c' = (n·c − u) / (n − 1); a cluster it was alone in
 * is masked. `usable[b]` is 0 when no cluster remains (the sample is skipped).
 */
export function centroidsForSamples(
  clusters: ItemClusters,
  universal: Float32Array,
  users: ArrayLike<number>,
  items: ArrayLike<number>,
): { centroids: Float32Array; mask: Float32Array; sizes: Float32Array; usable: Uint8Array } {
  const { k, dim: d } = clusters;
  const B = users.length;
  const centroids = new Float32Array(B * k * d);
  const mask = new Float32Array(B * k);
  const sizes = new Float32Array(B * k);
  const usable = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    const item = items[b]!;
    const start = clusters.offset[item]!;
    if (start < 0) continue;
    const n = clusters.count[item]!;
    centroids.set(clusters.centroids.subarray(start * d, (start + n) * d), b * k * d);
    for (let c = 0; c < n; c++) {
      mask[b * k + c] = 1;
      sizes[b * k + c] = clusters.sizes[start + c]!;
    }
    const own = clusters.membership[item]?.get(users[b]!);
    if (own !== undefined) {
      const size = clusters.sizes[start + own]!;
      sizes[b * k + own] = size - 1;
      if (size <= 1) mask[b * k + own] = 0;
      else {
        const base = b * k * d + own * d;
        const u = users[b]! * d;
        for (let t = 0; t < d; t++) centroids[base + t] = (size * centroids[base + t]! - universal[u + t]!) / (size - 1);
      }
    }
    for (let c = 0; c < n; c++) if (mask[b * k + c]) usable[b] = 1;
  }
  return { centroids, mask, sizes, usable };
}
