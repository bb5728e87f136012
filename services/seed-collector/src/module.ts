import { clickSubjectOf, partitionsOwnedBy, prefixedStore, type BusSubscription, type Logger, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import { ArmAssigner, experimentFromConfig } from '@ralm/experiment';
import { startClickConsumer, startExpirySweeper, startSeedsAnnouncer } from './click-consumer';
import type { SeedCollectorConfig } from './config';
import { AbLedger } from './domain/ab-ledger';
import { SeedBook } from './domain/seed-book';
import { startFeedbackConsumer } from './feedback/consumer';
import { registerAbWindowGauges } from './feedback/metrics';
import { createSeedCollectorMetrics } from './metrics';
import { loadBook, rebaseOnShorterStream, startSnapshotter } from './persistence';
import type { SeedCollectorDeps } from './ports';
import { SeedRouter } from './routing';
import { FEEDBACK_PROTO, feedbackBinding, SEED_COLLECTOR_PROTO, seedCollectorBinding } from './server';

export interface SeedCollectorModule extends ServiceModule {
  /** The handlers' dependencies (of this replica's first partition), exposed for in-process tests and the launcher. */
  readonly deps: SeedCollectorDeps;
  /** This replica's partitions, by index. */
  readonly partitions: ReadonlyMap<number, SeedCollectorDeps>;
  /** Where calls about one candidate go: its partition here, or its owner. */
  readonly router: SeedRouter;
}

/** One partition of this replica: its book, store keys, click subject and consumer. */
interface PartitionUnit {
  readonly deps: SeedCollectorDeps;
  readonly logger: Logger;
}

/**
 * Opens the state store and restores this replica's partitions before anything is served.
 * One partition (the default) is the single-collector layout; with SEED_PARTITIONS > 1 each
 * replica holds the partitions k with k mod SEED_REPLICAS = SEED_ORDINAL (docs/SCALING.md).
 */
export async function createSeedCollector(config: SeedCollectorConfig, platform: ServiceDeps): Promise<SeedCollectorModule> {
  const partitions = config.SEED_PARTITIONS;
  const ordinal = config.SEED_ORDINAL ?? 0;
  const owned = partitionsOwnedBy(ordinal, config.SEED_REPLICAS, partitions);
  const store = await platform.openStore('seed-collector');
  const units = new Map<number, PartitionUnit>();
  const local = new Map<number, SeedCollectorDeps>();
  const router = new SeedRouter(partitions, { ordinal, replicas: config.SEED_REPLICAS }, platform.bus, local, platform.logger);
  const metrics = createSeedCollectorMetrics(platform.metrics, () => [...local.values()].map((d) => d.book));
  const experiment = experimentFromConfig(config);
  const ab = new AbLedger(
    experiment.arms.map((a) => a.name),
    { windowMs: config.AB_WINDOW_SECONDS * 1000, slotMs: config.AB_SLOT_SECONDS * 1000, maxUsers: config.AB_MAX_USERS, maxItems: config.AB_MAX_ITEMS, dedupeCap: config.AB_DEDUPE_CAP },
  );
  // The A/B window is one for the whole experiment: the first replica keeps it.
  const keepsAb = ordinal === 0;
  if (keepsAb) registerAbWindowGauges(platform.metrics.registry, experiment.arms, ab, platform.now);
  // Series that exist from the start at 0: rate() then sees the first events as an increase.
  for (const { name: arm } of experiment.arms) for (const counter of [metrics.abExposures, metrics.abClicks]) counter.inc({ arm }, 0);
  const assigner = new ArmAssigner(experiment);
  try {
    for (const k of owned) {
      const book = new SeedBook({
        seedCap: config.SEED_CAP,
        dedupeCap: config.DEDUPE_CAP,
        maxFutureSkewMs: config.CLICK_MAX_FUTURE_SKEW_SECONDS * 1000,
        maxClickAgeMs: config.CLICK_MAX_AGE_SECONDS * 1000,
        // The cap is the collector's; each partition holds its share of it.
        maxActiveCandidates: Math.ceil(config.MAX_ACTIVE_CANDIDATES / partitions),
      });
      const logger = partitions === 1 ? platform.logger : platform.logger.child({ partition: k });
      const partStore = prefixedStore(store, partitions === 1 ? '' : `p${k}/`);
      await loadBook(partStore, book, platform.bus.streamId, logger);
      const deps: SeedCollectorDeps = {
        config,
        partition: { index: k, clicks: clickSubjectOf(k, partitions), durable: partitions === 1 ? config.CLICKS_DURABLE : `${config.CLICKS_DURABLE}-p${k}` },
        seeds: router,
        book,
        bus: platform.bus,
        store: partStore,
        metrics,
        now: platform.now,
        ab,
        assigner,
      };
      units.set(k, { deps, logger });
      local.set(k, deps);
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  const first = units.get(owned[0]!)!.deps;
  const running: Array<{ stop(): Promise<void> | void }> = [];
  let feedbackConsumer: BusSubscription | undefined;
  let served: BusSubscription[] = [];
  return {
    deps: first,
    partitions: local,
    router,
    bindings: [seedCollectorBinding(first, router), feedbackBinding(first)],
    protoFiles: [SEED_COLLECTOR_PROTO, FEEDBACK_PROTO],
    async start() {
      if (partitions > 1) await router.checkNoOtherOwner();
      const lastSeq = await platform.bus.lastSeq();
      for (const { deps, logger } of units.values()) {
        await rebaseOnShorterStream(deps.book, deps.store, lastSeq, platform.bus.streamId, platform.now, logger);
        const announcer = startSeedsAnnouncer(deps, logger);
        const consumer = await startClickConsumer(deps, logger, () => announcer.flushSoon());
        const snapshotter = startSnapshotter(deps.book, deps.store, platform.bus.streamId, config.SNAPSHOT_INTERVAL_SECONDS * 1000, platform.now, logger);
        const sweeper = startExpirySweeper(deps, logger);
        // Stopped in this order: sweeper, consumer, announcer, then the final snapshot, which
        // covers every click the consumer acknowledged.
        running.push(sweeper, consumer, announcer, snapshotter);
      }
      if (keepsAb) feedbackConsumer = await startFeedbackConsumer(first, platform.logger);
      if (partitions > 1) served = await router.serve();
    },
    async stop() {
      await Promise.all(served.map((s) => s.stop()));
      for (let i = 0; i < running.length; i += 4) {
        const [sweeper, consumer, announcer, snapshotter] = running.slice(i, i + 4);
        await sweeper!.stop();
        await consumer!.stop();
        await announcer!.stop();
        await snapshotter!.stop();
      }
      await feedbackConsumer?.stop();
      await store.close();
    },
  };
}
