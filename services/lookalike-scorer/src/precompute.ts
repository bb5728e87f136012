import { slotParts } from '@ralm/kernel';
import { precomputeCandidates, type ServingModel } from '@ralm/model';
import type { GetClustersResponse } from '@ralm/proto/clusterer';
import type { CandidateRows } from './domain/scoring-table';

/**
 * What depends only on candidates' seeds (spec §5): E_s = T(c_j), P = E_s W_l,
 * G = E_s E_sᵀ and ê_glb, from their clusters, padded to the table's k, for many
 * candidates in one pass of the model (a table restored or rolled out is thousands).
 * With more clusters than k the largest k are kept (the Clusterer's k is the same setting).
 */
export function candidateRowsMany(serving: ServingModel, list: GetClustersResponse[], k: number): CandidateRows[] {
  const d = serving.userDim;
  const n = list.length;
  if (n === 0) return [];
  const centroids = new Float32Array(n * k * d);
  const mask = new Float32Array(n * k);
  const sizes = new Float32Array(n * k);
  list.forEach((clusters, c) => {
    const kept = [...clusters.clusters].sort((a, b) => b.size - a.size).slice(0, k);
    kept.forEach((cluster, j) => {
      centroids.set(cluster.centroid, (c * k + j) * d);
      mask[c * k + j] = 1;
      sizes[c * k + j] = cluster.size;
    });
  });
  const globalWeights = new Float32Array(n * k);
  const table = precomputeCandidates(serving.model, centroids, mask, n, sizes, globalWeights);
  return list.map((clusters, c) => ({
    ...slotParts(table, c),
    sizes: Array.from(sizes.subarray(c * k, (c + 1) * k)),
    globalWeights: Array.from(globalWeights.subarray(c * k, (c + 1) * k)),
    clusterVersion: clusters.clusterVersion,
    seedCount: clusters.seedCount,
  }));
}
