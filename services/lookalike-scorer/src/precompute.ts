import { slotParts } from '@ralm/kernel';
import { precomputeCandidates, type ServingModel } from '@ralm/model';
import type { GetClustersResponse } from '@ralm/proto/clusterer';
import type { CandidateRows } from './domain/scoring-table';

/**
 * What depends only on a candidate's seeds (spec §5): E_s = T(c_j), P = E_s W_l,
 * G = E_s E_sᵀ and ê_glb, from its clusters, padded to the table's k. With more
 * clusters than k the largest k are kept (the Clusterer's k is normally the same).
 */
export function candidateRows(serving: ServingModel, clusters: GetClustersResponse, k: number): CandidateRows {
  const d = serving.userDim;
  const kept = [...clusters.clusters].sort((a, b) => b.size - a.size).slice(0, k);
  const centroids = new Float32Array(k * d);
  const mask = new Float32Array(k);
  const sizes = new Float32Array(k);
  kept.forEach((c, j) => {
    centroids.set(c.centroid, j * d);
    mask[j] = 1;
    sizes[j] = c.size;
  });
  const { es, projected, gram, globalUnit } = slotParts(precomputeCandidates(serving.model, centroids, mask, 1, sizes), 0);
  return {
    es,
    projected,
    gram,
    globalUnit,
    mask,
    clusterVersion: clusters.clusterVersion,
    seedCount: clusters.seedCount,
  };
}
