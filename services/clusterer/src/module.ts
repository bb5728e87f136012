import { CatchUp, peerCredentials, type BusSubscription, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import { grpcEmbeddingSource, grpcSeedSource } from './adapters/grpc-sources';
import { loadClusters, type ClusterRecord } from './cluster-book';
import type { ClustererConfig } from './config';
import { SeedTracker } from './domain/seed-tracker';
import { createClustererMetrics, createJobMetrics } from './metrics';
import type { ClustererDeps, EmbeddingSource, SeedSource } from './ports';
import { CLUSTERER_PROTO, clustererBinding } from './server';
import { subscribeClusterer } from './subscriptions';
import { serveWork } from './work';
import { ClusterWorker } from './worker';

export interface ClustererModule extends ServiceModule {
  readonly deps: ClustererDeps;
  /** Runs clusterings; exposed for in-process tests. */
  readonly worker: Pick<ClusterWorker, 'runNow' | 'kick' | 'caughtUp' | 'refreshModel'>;
}

/** Sources of seeds and embeddings; the gRPC clients by default, replaceable in tests. */
export interface ClustererSources {
  seeds: SeedSource & { close?(): void };
  embeddings: EmbeddingSource & { close?(): void };
}

/**
 * A worker (CLUSTERER_ROLE=worker): takes clustering jobs from the queue (work.ts) and
 * nothing else — no store, no subscriptions, no reads served. Health only on its port.
 */
export function createClusterWorker(config: ClustererConfig, platform: ServiceDeps, sources?: ClustererSources): ServiceModule {
  const { seeds, embeddings } = sources ?? defaultSources(config);
  const abort = new AbortController();
  const jobs = createJobMetrics(platform.metrics);
  let subscription: BusSubscription | undefined;
  return {
    bindings: [],
    protoFiles: [CLUSTERER_PROTO],
    async start() {
      subscription = await serveWork(platform.bus, { seeds, embeddings }, abort.signal, platform.logger, jobs);
    },
    async stop() {
      await subscription?.stop();
      abort.abort();
      seeds.close?.();
      embeddings.close?.();
    },
  };
}

const defaultSources = (config: ClustererConfig): ClustererSources => ({
  seeds: grpcSeedSource(config.SEED_COLLECTOR_ADDR, peerCredentials(config)),
  embeddings: grpcEmbeddingSource(config.USER_EMBEDDING_ADDR, peerCredentials(config)),
});

/** Opens the store and restores the stored clusters before anything is served. */
export async function createClusterer(config: ClustererConfig, platform: ServiceDeps, sources?: ClustererSources): Promise<ClustererModule> {
  const tracker = new SeedTracker({
    minSeeds: config.SERVABLE_MIN_SEEDS,
    intervalMs: config.RECLUSTER_INTERVAL_SECONDS * 1000,
    growthFraction: config.RECLUSTER_GROWTH_FRACTION,
  });
  const clusters = new Map<string, ClusterRecord>();
  const store = await platform.openStore('clusterer');
  await loadClusters(store, clusters, tracker, platform.logger);
  const { seeds, embeddings } = sources ?? defaultSources(config);
  const metrics = createClustererMetrics(platform.metrics, () => clusters.size);
  const deps: ClustererDeps = { config, tracker, clusters, seeds, embeddings, store, bus: platform.bus, metrics, now: platform.now };
  let subscriptions: BusSubscription[] = [];
  let work: BusSubscription | undefined;
  const workAbort = new AbortController();
  // Ready once the replayed lifecycle is applied and the clusterings it made due are done.
  const catchUp = new CatchUp(() => subscriptions);
  // Pinned, the model is set here, after loading: stored clusterings of other versions then plan as 'model' re-clusterings.
  const worker = new ClusterWorker(deps, platform.logger, () => catchUp.done);
  return {
    deps,
    worker,
    bindings: [clustererBinding(deps, worker)],
    protoFiles: [CLUSTERER_PROTO],
    async start() {
      // The coordinator takes jobs too: with no worker running, its own jobs land here.
      if (config.CLUSTER_JOBS_IN_FLIGHT > 1) work = await serveWork(platform.bus, { seeds, embeddings }, workAbort.signal, platform.logger, createJobMetrics(platform.metrics));
      subscriptions = await subscribeClusterer(platform.bus, deps, platform.logger, { seeds: () => worker.kick(), published: (v) => worker.published(v) });
      catchUp.start();
      worker.start();
    },
    isReady: () => catchUp.done && worker.caughtUp,
    async stop() {
      catchUp.stop();
      await Promise.all(subscriptions.map((s) => s.stop()));
      await worker.stop();
      await work?.stop();
      workAbort.abort();
      seeds.close?.();
      embeddings.close?.();
      await store.close();
    },
  };
}
