/**
 * Untrained floors: what a look-alike model must beat to have learned anything. All three
 * read only an item's seeds and the phase-1 universal embeddings u (the same embeddings
 * RALM's phase 2 starts from), so a trained phase 2 below them has made things worse.
 */
import { clusterItemSeeds, Rng } from '@ralm/model';
import type { PairScorer } from '../types';

/** Items without seeds score −∞ (nothing to say), as every look-alike scorer here does. */
const NONE = Number.NEGATIVE_INFINITY;

/** Popularity: the item's seed count, the same for every user (so 0.5 within an item, by construction). */
export function seedCountScorer(seeds: Int32Array[], name = 'Popularity (seed count)'): PairScorer {
  return {
    name,
    score: (users, items) => Float32Array.from(items, (i) => (seeds[i]!.length ? seeds[i]!.length : NONE)),
  };
}

function unitRows(universal: Float32Array, d: number): Float32Array {
  const out = new Float32Array(universal.length);
  for (let r = 0; r < universal.length / d; r++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += universal[r * d + t]! ** 2;
    const inv = 1 / Math.sqrt(s + 1e-12);
    for (let t = 0; t < d; t++) out[r * d + t] = universal[r * d + t]! * inv;
  }
  return out;
}

function cosine(a: Float32Array, ai: number, unitB: Float32Array, bi: number, d: number): number {
  let dot = 0;
  let na = 0;
  for (let t = 0; t < d; t++) {
    dot += a[ai + t]! * unitB[bi + t]!;
    na += a[ai + t]! * a[ai + t]!;
  }
  return dot / Math.sqrt(na + 1e-12);
}

/** cos(u, mean of the seeds' u): one averaged seed vector, no learning. */
export function cosMeanScorer(universal: Float32Array, d: number, seeds: Int32Array[], name = 'cos(u, mean seed)'): PairScorer {
  const means = new Float32Array(seeds.length * d);
  seeds.forEach((s, i) => {
    for (const u of s) for (let t = 0; t < d; t++) means[i * d + t] += universal[u * d + t]!;
  });
  const unitUsers = unitRows(universal, d);
  return {
    name,
    score: (users, items) =>
      Float32Array.from(items, (i, p) => (seeds[i]!.length ? cosine(means, i * d, unitUsers, users[p]! * d, d) : NONE)),
  };
}

/** max_j cos(u, c_j) over k-means centroids of the seeds' u: the nearest seed mode, no learning. */
export function maxCentroidScorer(universal: Float32Array, d: number, seeds: Int32Array[], k: number, maxSeedsPerItem: number, seed: number, name = 'max-centroid cosine'): PairScorer {
  const clusters = clusterItemSeeds(seeds, universal, universal, d, d, k, maxSeedsPerItem, new Rng(seed));
  const unitCentroids = unitRows(clusters.centroids, d);
  return {
    name,
    score: (users, items) =>
      Float32Array.from(items, (i, p) => {
        const start = clusters.offset[i]!;
        if (start < 0) return NONE;
        let best = -Infinity;
        for (let c = 0; c < clusters.count[i]!; c++) best = Math.max(best, cosine(universal, users[p]! * d, unitCentroids, (start + c) * d, d));
        return best;
      }),
  };
}
