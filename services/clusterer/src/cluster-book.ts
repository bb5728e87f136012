import { GetClustersResponse } from '@ralm/proto/clusterer';
import type { Logger, StateStore } from '@ralm/platform';
import type { SeedTracker } from './domain/seed-tracker';

/** A candidate's latest clustering, exactly as GetClusters serves it and as it is stored. */
export type ClusterRecord = GetClustersResponse;

const PREFIX = 'clusters/';

/** Stores a clustering (replacing the previous one); resolves once durable. */
export async function saveClusters(store: StateStore, record: ClusterRecord): Promise<void> {
  await store.put(PREFIX + record.candidateId, GetClustersResponse.encode(record).finish());
}

/** Loads every stored clustering into `clusters` and stamps the tracker with it. */
export async function loadClusters(store: StateStore, clusters: Map<string, ClusterRecord>, tracker: SeedTracker, logger: Logger): Promise<void> {
  for (const key of await store.keys(PREFIX)) {
    const bytes = await store.get(key);
    if (!bytes) continue;
    let record: ClusterRecord;
    try {
      record = GetClustersResponse.decode(bytes);
    } catch (err) {
      // One unreadable entry must not keep the others from serving; it is recomputed when due.
      logger.error({ candidateId: key.slice(PREFIX.length), err }, 'stored clusters unreadable; the candidate will be re-clustered');
      continue;
    }
    clusters.set(record.candidateId, record);
    tracker.clustered(record.candidateId, {
      clusterVersion: record.clusterVersion,
      seedVersion: record.seedVersion,
      seedCount: record.seedCount,
      modelVersion: record.modelVersion,
      computedAtMs: record.computedAtMs,
    });
  }
  if (clusters.size > 0) logger.info({ candidates: clusters.size }, 'clusters restored from the store');
}
