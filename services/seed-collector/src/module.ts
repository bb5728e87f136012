import type { BusSubscription, ServiceDeps, ServiceModule } from '@ralm/platform';
import { ArmAssigner, experimentFromConfig } from '@ralm/experiment';
import { startClickConsumer, startExpirySweeper, startSeedsAnnouncer } from './click-consumer';
import type { SeedCollectorConfig } from './config';
import { AbLedger } from './domain/ab-ledger';
import { SeedBook } from './domain/seed-book';
import { startFeedbackConsumer } from './feedback/consumer';
import { registerAbWindowGauges } from './feedback/metrics';
import { createSeedCollectorMetrics } from './metrics';
import { loadBook, rebaseOnShorterStream, startSnapshotter, type Snapshotter } from './persistence';
import type { SeedCollectorDeps } from './ports';
import { FEEDBACK_PROTO, feedbackBinding, SEED_COLLECTOR_PROTO, seedCollectorBinding } from './server';

export interface SeedCollectorModule extends ServiceModule {
  /** The handlers' dependencies, exposed for in-process tests and the launcher. */
  readonly deps: SeedCollectorDeps;
}

/** Opens the state store and restores the seed book before anything is served. */
export async function createSeedCollector(config: SeedCollectorConfig, platform: ServiceDeps): Promise<SeedCollectorModule> {
  const book = new SeedBook({
    seedCap: config.SEED_CAP,
    dedupeCap: config.DEDUPE_CAP,
    maxFutureSkewMs: config.CLICK_MAX_FUTURE_SKEW_SECONDS * 1000,
    maxClickAgeMs: config.CLICK_MAX_AGE_SECONDS * 1000,
    maxActiveCandidates: config.MAX_ACTIVE_CANDIDATES,
  });
  const store = await platform.openStore('seed-collector');
  try {
    await loadBook(store, book, platform.bus.streamId, platform.logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  const metrics = createSeedCollectorMetrics(platform.metrics, book);
  const experiment = experimentFromConfig(config);
  const ab = new AbLedger(
    experiment.arms.map((a) => a.name),
    { windowMs: config.AB_WINDOW_SECONDS * 1000, slotMs: config.AB_SLOT_SECONDS * 1000, maxUsers: config.AB_MAX_USERS, maxItems: config.AB_MAX_ITEMS, dedupeCap: config.AB_DEDUPE_CAP },
  );
  registerAbWindowGauges(platform.metrics.registry, experiment.arms, ab, platform.now);
  // Series that exist from the start at 0: rate() then sees the first events as an increase.
  for (const { name: arm } of experiment.arms) for (const counter of [metrics.abExposures, metrics.abClicks]) counter.inc({ arm }, 0);
  const deps: SeedCollectorDeps = { config, book, bus: platform.bus, store, metrics, now: platform.now, ab, assigner: new ArmAssigner(experiment) };
  let consumer: BusSubscription | undefined;
  let feedbackConsumer: BusSubscription | undefined;
  let announcer: ReturnType<typeof startSeedsAnnouncer> | undefined;
  let snapshotter: Snapshotter | undefined;
  let sweeper: ReturnType<typeof startExpirySweeper> | undefined;
  return {
    deps,
    bindings: [seedCollectorBinding(deps), feedbackBinding(deps)],
    protoFiles: [SEED_COLLECTOR_PROTO, FEEDBACK_PROTO],
    async start() {
      await rebaseOnShorterStream(book, store, await platform.bus.lastSeq(), platform.bus.streamId, platform.now, platform.logger);
      const seedsAnnouncer = startSeedsAnnouncer(deps, platform.logger);
      announcer = seedsAnnouncer;
      consumer = await startClickConsumer(deps, platform.logger, () => seedsAnnouncer.flushSoon());
      feedbackConsumer = await startFeedbackConsumer(deps, platform.logger);
      snapshotter = startSnapshotter(book, store, platform.bus.streamId, config.SNAPSHOT_INTERVAL_SECONDS * 1000, platform.now, platform.logger);
      sweeper = startExpirySweeper(deps, platform.logger);
    },
    async stop() {
      sweeper?.stop();
      await consumer?.stop();
      await feedbackConsumer?.stop();
      await announcer?.stop();
      // After the consumer stopped: the final snapshot covers every click it acknowledged.
      await snapshotter?.stop();
      await store.close();
    },
  };
}
