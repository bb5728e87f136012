import { AssignmentAccumulator, fitSample, Rng, sampleIndices } from '@ralm/model';

/** Embeddings of the ids that were found, in the order they were asked for. */
export interface EmbeddingBatch {
  modelVersion: string;
  /** Indices (into the requested ids) of the users found; missing users are left out. */
  found: number[];
  /** found × h look-alike embeddings, row-major. */
  lookalike: Float32Array;
  /** found × d universal embeddings; empty when not asked for. */
  universal: Float32Array;
  h: number;
  d: number;
}

/**
 * Fetches embeddings for `userIds`. `pin` (when set) is the model version every
 * batch must come from: a fetch made after a model switch fails instead of
 * mixing versions.
 */
export type FetchEmbeddings = (userIds: string[], options: { universal: boolean; pin: string | undefined }) => Promise<EmbeddingBatch>;

export interface ClusterSeedsOptions {
  k: number;
  /** Seeds in the uniform sample k-means is fitted on; a smaller set is clustered whole (exact Lloyd). */
  sampleSize: number;
  /**
   * Seeds assigned to the fitted centroids, a uniform sample when a candidate has more
   * (sizes, inertia and the count scaled up to all seeds). 0 or absent: every seed. A
   * 3M-seed candidate then moves 200,000 seeds' embeddings per recluster instead of 3M
   * (0.2 GB, not 3 GB over gRPC); docs/BENCHMARKS.md measures what it costs in accuracy.
   */
  assignSampleSize?: number;
  /** Split–merge moves after Lloyd's rounds (fitSample's `swaps`); absent: its default, 2k. */
  swaps?: number;
  /** Ids per embedding fetch. */
  batchSize: number;
  seed: number;
  /** Model version to pin, when already known. */
  modelVersion?: string;
  /** Checked between batches: a stop or a deadline abandons the job. */
  signal?: AbortSignal;
}

export interface SeedClusters {
  modelVersion: string;
  /** d: length of each centroid. */
  dimension: number;
  /** Non-empty clusters only, so ≤ k. */
  clusters: Array<{ centroid: Float32Array; size: number }>;
  /** k-means objective in the look-alike space where seeds were assigned. */
  inertia: number;
  /** Seeds that had embeddings (the sum of cluster sizes). */
  clustered: number;
}

/**
 * Clusters a candidate's seeds the way training does (docs/MODEL.md): k-means on
 * their look-alike embeddings T(u) decides the members, and each centroid is the
 * mean of its members' universal embeddings u, so the scorer's E_s[j] = T(c_j).
 *
 * Scales to millions of seeds in bounded memory: k-means++/Lloyd is fitted on a
 * uniform sample, then every seed is streamed once through the nearest-centroid
 * kernel, accumulating sizes, inertia and universal sums. With no more seeds than
 * the sample size this is Lloyd's k-means on all of them.
 * Returns undefined when no seed has an embedding.
 */
export async function clusterSeeds(userIds: string[], fetch: FetchEmbeddings, options: ClusterSeedsOptions): Promise<SeedClusters | undefined> {
  const rng = new Rng(options.seed);
  const n = userIds.length;
  const sampleIds = n <= options.sampleSize ? userIds : Array.from(sampleIndices(n, options.sampleSize, rng), (i) => userIds[i]!);
  let pin = options.modelVersion;

  // Pass 1: the sample's look-alike embeddings, in one buffer.
  const sampleRows: Float32Array[] = [];
  let h = 0;
  for (let i = 0; i < sampleIds.length; i += options.batchSize) {
    options.signal?.throwIfAborted();
    const batch = await fetch(sampleIds.slice(i, i + options.batchSize), { universal: false, pin });
    pin = batch.modelVersion;
    h = batch.h;
    sampleRows.push(batch.lookalike);
  }
  const sample = concat(sampleRows);
  if (sample.length === 0 || pin === undefined) return undefined;
  // Noisy seeds keep a few points switching clusters for every round; past a 1e-4 gain the
  // extra rounds only cost time (bench/cluster: most of the 100k-seed fit).
  const fit = fitSample(sample, h, options.k, rng, { tolerance: 1e-4, swaps: options.swaps });

  // Pass 2: every seed (or a uniform sample of them) to its nearest centroid, accumulating
  // sizes, inertia and universal sums.
  const assign = options.assignSampleSize;
  const assignIds = assign && n > assign ? Array.from(sampleIndices(n, assign, rng), (i) => userIds[i]!) : userIds;
  const scale = n / assignIds.length;
  let accumulator: AssignmentAccumulator | undefined;
  for (let i = 0; i < assignIds.length; i += options.batchSize) {
    options.signal?.throwIfAborted();
    const batch = await fetch(assignIds.slice(i, i + options.batchSize), { universal: true, pin });
    if (batch.found.length === 0) continue;
    accumulator ??= new AssignmentAccumulator(fit.centroids, fit.k, h, batch.d);
    accumulator.add(batch.lookalike, batch.universal);
  }
  if (!accumulator) return undefined;
  const result = accumulator.result();
  const d = accumulator.companionDim;
  const clusters = Array.from({ length: result.k }, (_, c) => ({ centroid: result.companionMeans.slice(c * d, c * d + d), size: Math.round(result.sizes[c]! * scale) }));
  return { modelVersion: pin, dimension: d, clusters, inertia: result.inertia * scale, clustered: clusters.reduce((s, c) => s + c.size, 0) };
}

/** The parts, end to end, in one buffer. */
export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
