import type { GetClustersResponse, ListClustersRequest, ListClustersResponse } from '@ralm/proto/clusterer';
import { InvalidArgumentError, type CallContext } from '@ralm/platform';
import type { ClustererDeps } from '../ports';

const PAGE = 256;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export async function listClusters(request: ListClustersRequest, deps: ClustererDeps, ctx: CallContext, send: (page: ListClustersResponse) => Promise<void>): Promise<void> {
  const version = request.modelVersion;
  if (version !== '' && !VERSION.test(version)) throw new InvalidArgumentError('model_version', 'must be a model version name (letters, digits, . _ -; at most 128)');
  const { tracker } = deps;
  const { servable, clusteredWithModel } = tracker.coverage(version || undefined);
  if (request.countsOnly) return send({ candidates: [], servable, clusteredWithModel });
  // Ids first: the map may change while pages wait on flow control; each record is read when sent.
  const ids = [...deps.clusters.keys()];
  let page: GetClustersResponse[] = [];
  let sent = false;
  for (const id of ids) {
    const record = deps.clusters.get(id);
    if (!record || (version !== '' && record.modelVersion !== version)) continue;
    if (!tracker.servable(id) || record.seedCount < tracker.options.minSeeds) continue;
    page.push(record);
    if (page.length === PAGE) {
      ctx.throwIfDone();
      await send({ candidates: page, servable, clusteredWithModel });
      sent = true;
      page = [];
    }
  }
  if (page.length > 0 || !sent) await send({ candidates: page, servable, clusteredWithModel });
}
