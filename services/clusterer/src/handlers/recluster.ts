import { ReclusterSkipReason, type ReclusterRequest, type ReclusterResponse } from '@ralm/proto/clusterer';
import { requireId } from '@ralm/platform';
import type { ClustererDeps } from '../ports';
import type { ClusterWorker } from '../worker';

export async function recluster(request: ReclusterRequest, deps: ClustererDeps, worker: Pick<ClusterWorker, 'runNow' | 'refreshModel'>): Promise<ReclusterResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  deps.tracker.get(id); // NOT_FOUND before queueing anything
  // UP_TO_DATE must mean "with the model served now", not the one last heard of.
  await worker.refreshModel();
  const { record, skipped } = await worker.runNow(id, request.force);
  return {
    candidateId: id,
    clusterVersion: record?.clusterVersion ?? 0,
    modelVersion: record?.modelVersion ?? '',
    seedVersion: record?.seedVersion ?? 0,
    seedCount: record?.seedCount ?? 0,
    k: record?.k ?? 0,
    dimension: record?.dimension ?? 0,
    computedAtMs: record?.computedAtMs ?? 0,
    inertia: record?.inertia ?? 0,
    skipped: skipped !== ReclusterSkipReason.RECLUSTER_SKIP_REASON_UNSPECIFIED,
    skipReason: skipped,
  };
}
