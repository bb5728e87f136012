import { ClustererServiceService } from '@ralm/proto/clusterer';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { getClusters } from './handlers/get-clusters';
import { listClusters } from './handlers/list-clusters';
import { recluster } from './handlers/recluster';
import type { ClustererDeps } from './ports';
import type { ClusterWorker } from './worker';

export const CLUSTERER_PROTO = 'ralm/v1/clusterer.proto';

export function clustererBinding(deps: ClustererDeps, worker: Pick<ClusterWorker, 'runNow' | 'refreshModel'>): ServiceBinding {
  return bindService('ralm.v1.ClustererService', ClustererServiceService, {
    getClusters: (req) => getClusters(req, deps),
    recluster: (req) => recluster(req, deps, worker),
    listClusters: (req, ctx, send) => listClusters(req, deps, ctx, send),
  }) as ServiceBinding;
}
