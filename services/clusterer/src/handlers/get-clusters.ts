import type { GetClustersRequest, GetClustersResponse } from '@ralm/proto/clusterer';
import { FailedPreconditionError, requireId } from '@ralm/platform';
import type { ClustererDeps } from '../ports';

export async function getClusters(request: GetClustersRequest, deps: ClustererDeps): Promise<GetClustersResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  deps.tracker.requireClusterable(id, deps.config.CLUSTER_MIN_SEEDS);
  throw new FailedPreconditionError(
    `candidate '${id}' has no clusters yet: clustering needs look-alike embeddings, and no model has been published`,
  );
}
