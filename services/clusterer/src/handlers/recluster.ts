import type { ReclusterRequest, ReclusterResponse } from '@ralm/proto/clusterer';
import { FailedPreconditionError, requireId } from '@ralm/platform';
import type { ClustererDeps } from '../ports';

export async function recluster(request: ReclusterRequest, deps: ClustererDeps): Promise<ReclusterResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  deps.tracker.requireClusterable(id, deps.config.CLUSTER_MIN_SEEDS);
  throw new FailedPreconditionError(`cannot cluster candidate '${id}': no model has been published to embed its seeds`);
}
