import { loadKernel, loadNativeKernel, nativeStatus, typescriptKernel, type ScoringKernel } from '@ralm/kernel';
import { modelRootSource } from '@ralm/model';
import { setTimeout as sleep } from 'node:timers/promises';
import { CatchUp, createModelSlot, peerCredentials, type BusSubscription, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import { grpcClusterSource } from './adapters/grpc-clusters';
import { grpcSeedSource } from './adapters/grpc-seeds';
import { ExclusionStore } from './adapters/exclusion-store';
import { ClusterLoader } from './cluster-loader';
import type { LookalikeScorerConfig } from './config';
import { CandidateBook } from './domain/candidate-book';
import { ArmAssigner, experimentFromConfig } from '@ralm/experiment';
import { createScorerMetrics } from './metrics';
import type { ClusterSource, LookalikeScorerDeps } from './ports';
import { ModelStates } from './model-states';
import { batcherOptions, ScoringState } from './scoring-state';
import { LOOKALIKE_SCORER_PROTO, lookalikeScorerBinding } from './server';
import { subscribeScorer } from './subscriptions';

/** How long start waits for the first table to be complete before leaving it to the background (and readiness). */
const START_WAIT_MS = 2_000;

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
  logger.info({ kernel: kernel.name, precision: config.SCORE_TABLE_PRECISION, ...(native.loaded ? { blas: native.blas } : { nativeUnavailable: native.reason }) }, 'scoring kernel');
  const book = new CandidateBook(config.SERVABLE_MIN_SEEDS);
  const states = new ModelStates({
    logger,
    // After the swap no reply can pick the old state up; those in flight hold plain arrays only.
    retire: (old) => setImmediate(() => old.serving.model.dispose()),
    promoted: (_next, outcome, seconds) => {
      metrics.rollouts.inc({ outcome });
      metrics.rolloutSeconds.observe(seconds);
    },
  });
  const metrics = createScorerMetrics(platform.metrics, () => states.active?.table.count ?? 0);
  const assigner = new ArmAssigner(experimentFromConfig(config));
  // Series that exist from the start at 0: rate() then sees the first replies as an increase.
  for (const arm of assigner.armNames) metrics.assignments.inc({ arm }, 0);
  const seeds = grpcSeedSource(config.SEED_COLLECTOR_ADDR, peerCredentials(config));
  // Opened now, awaited by start(): a store that cannot open fails the start, not a later call.
  const store = platform.openStore('lookalike-scorer');
  store.catch(() => undefined);
  const exclusions = new ExclusionStore(() => store);
  const deps: LookalikeScorerDeps = { config, book, state: () => states.active, metrics, assigner, seeds, exclusions };
  const source = clusters ?? grpcClusterSource(config.CLUSTERER_ADDR, peerCredentials(config));
  const loader = new ClusterLoader(deps, states, source, logger);
  let completing: Promise<void> = Promise.resolve();
  const slot = createModelSlot({
    bus: platform.bus,
    logger,
    durable: config.MODELS_DURABLE,
    inactiveAfterSeconds: config.DURABLE_INACTIVE_SECONDS,
    ...modelRootSource(config.MODEL_ROOT),
    pinned: config.MODEL_VERSION,
    // The slot's previous model is not disposed here: its state may go on serving until the new table is complete.
    onSwap(next) {
      const fresh = new ScoringState(next, kernel, config.CLUSTER_K, batcherOptions(config), config.SCORE_TABLE_PRECISION);
      fresh.batcher.onBatch = (users) => metrics.batchUsers.observe(users);
      fresh.batcher.onShed = (method) => platform.metrics.rpc.shed.inc({ method, reason: 'would_miss_deadline' });
      states.loaded(fresh);
      completing = loader.complete(fresh, config.ROLLOUT_TIMEOUT_SECONDS * 1000);
    },
  });
  let subscriptions: BusSubscription[] = [];
  // Ready once the replayed lifecycle (retirements, seed counts) is applied and the table is complete.
  const catchUp = new CatchUp(() => subscriptions);
  return {
    deps,
    bindings: [lookalikeScorerBinding(deps)],
    protoFiles: [LOOKALIKE_SCORER_PROTO],
    async start() {
      await store;
      await slot.start();
      subscriptions = await subscribeScorer(platform.bus, deps, states, loader, logger);
      catchUp.start();
      // Usually complete within one round trip; when not (the clusterer is behind or away), health says NOT_SERVING meanwhile.
      await Promise.race([completing, sleep(START_WAIT_MS, undefined, { ref: false })]);
    },
    isReady: () => catchUp.done && (states.active === undefined || states.active.complete),
    async stop() {
      catchUp.stop();
      await Promise.all(subscriptions.map((s) => s.stop()));
      await slot.stop();
      await loader.stop();
      await completing;
      source.close?.();
      seeds.close();
      await (await store.catch(() => undefined))?.close();
    },
  };
}
