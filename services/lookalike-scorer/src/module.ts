import { loadKernel, loadNativeKernel, nativeStatus, typescriptKernel, type ScoringKernel } from '@ralm/kernel';
import { modelRootSource } from '@ralm/model';
import { createModelSlot, type BusSubscription, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import { grpcClusterSource } from './adapters/grpc-clusters';
import { ClusterLoader } from './cluster-loader';
import type { LookalikeScorerConfig } from './config';
import { CandidateBook } from './domain/candidate-book';
import { ArmAssigner, experimentFromConfig } from '@ralm/experiment';
import { createScorerMetrics } from './metrics';
import type { ClusterSource, LookalikeScorerDeps } from './ports';
import { ScoringState } from './scoring-state';
import { LOOKALIKE_SCORER_PROTO, lookalikeScorerBinding } from './server';
import { subscribeScorer } from './subscriptions';

/** `native` fails the start when the addon is missing, rather than serving slower than configured. */
function chooseKernel(choice: LookalikeScorerConfig['SCORING_KERNEL']): ScoringKernel {
  if (choice === 'typescript') return typescriptKernel;
  if (choice === 'native') return loadNativeKernel();
  return loadKernel();
}

export interface LookalikeScorerModule extends ServiceModule {
  readonly deps: LookalikeScorerDeps;
}

export function createLookalikeScorer(config: LookalikeScorerConfig, platform: ServiceDeps, clusters?: ClusterSource & { close?(): void }): LookalikeScorerModule {
  const { logger } = platform;
  const kernel = chooseKernel(config.SCORING_KERNEL);
  const native = nativeStatus();
  logger.info({ kernel: kernel.name, ...(native.loaded ? { blas: native.blas } : { nativeUnavailable: native.reason }) }, 'scoring kernel');
  let state: ScoringState | undefined;
  const book = new CandidateBook(config.SERVABLE_MIN_SEEDS);
  const metrics = createScorerMetrics(platform.metrics, () => state?.table.count ?? 0);
  const assigner = new ArmAssigner(experimentFromConfig(config));
  // Series that exist from the start at 0: rate() then sees the first replies as an increase.
  for (const arm of assigner.armNames) metrics.assignments.inc({ arm }, 0);
  const deps: LookalikeScorerDeps = { config, book, state: () => state, metrics, assigner };
  const source = clusters ?? grpcClusterSource(config.CLUSTERER_ADDR);
  const loader = new ClusterLoader(deps, source, logger);
  const slot = createModelSlot({
    bus: platform.bus,
    logger,
    durable: config.MODELS_DURABLE,
    inactiveAfterSeconds: config.DURABLE_INACTIVE_SECONDS,
    ...modelRootSource(config.MODEL_ROOT),
    pinned: config.MODEL_VERSION,
    onSwap(next, previous) {
      const fresh = new ScoringState(next, kernel, config.CLUSTER_K, { windowMs: config.BATCH_WINDOW_MS, maxUsers: config.MAX_BATCH_USERS });
      fresh.batcher.onBatch = (users) => metrics.batchUsers.observe(users);
      state = fresh;
      previous?.model.dispose();
      // Candidates already re-clustered with this model (announced before it loaded) join at once.
      for (const id of book.announcedFor(next.version)) void loader.refresh(id);
    },
  });
  let subscriptions: BusSubscription[] = [];
  return {
    deps,
    bindings: [lookalikeScorerBinding(deps)],
    protoFiles: [LOOKALIKE_SCORER_PROTO],
    async start() {
      await slot.start();
      subscriptions = await subscribeScorer(platform.bus, deps, loader, logger);
    },
    async stop() {
      await Promise.all(subscriptions.map((s) => s.stop()));
      await slot.stop();
      await loader.stop();
      source.close?.();
    },
  };
}
