import type { GetClustersRequest, GetClustersResponse } from '@ralm/proto/clusterer';
import { FailedPreconditionError, requireId } from '@ralm/platform';
import type { ClustererDeps } from '../ports';

export async function getClusters(request: GetClustersRequest, deps: ClustererDeps): Promise<GetClustersResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  const record = deps.clusters.get(id);
  if (record) return record;
  // Says why: unknown (NOT_FOUND), retired, too few seeds — or due and being computed.
  deps.tracker.requireClusterable(id);
  throw new FailedPreconditionError(`candidate '${id}' has not been clustered yet; it is queued (a model must be published for its seeds to have embeddings)`, { ids: [id] });
}
