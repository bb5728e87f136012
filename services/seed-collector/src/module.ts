import type { BusSubscription, ServiceDeps, ServiceModule } from '@ralm/platform';
import { startClickConsumer, startExpirySweeper, startSeedsAnnouncer } from './click-consumer';
import type { SeedCollectorConfig } from './config';
import { SeedBook } from './domain/seed-book';
import { createSeedCollectorMetrics } from './metrics';
import { loadBook, startSnapshotter, type Snapshotter } from './persistence';
import type { SeedCollectorDeps } from './ports';
import { SEED_COLLECTOR_PROTO, seedCollectorBinding } from './server';

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
  });
  const store = await platform.openStore('seed-collector');
  try {
    await loadBook(store, book, platform.bus.streamId, platform.logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  const metrics = createSeedCollectorMetrics(platform.metrics, book);
  const deps: SeedCollectorDeps = { config, book, bus: platform.bus, store, metrics, now: platform.now };
  let consumer: BusSubscription | undefined;
  let announcer: ReturnType<typeof startSeedsAnnouncer> | undefined;
  let snapshotter: Snapshotter | undefined;
  let sweeper: ReturnType<typeof startExpirySweeper> | undefined;
  return {
    deps,
    bindings: [seedCollectorBinding(deps)],
    protoFiles: [SEED_COLLECTOR_PROTO],
    async start() {
      const seedsAnnouncer = startSeedsAnnouncer(deps, platform.logger);
      announcer = seedsAnnouncer;
      consumer = await startClickConsumer(deps, platform.logger, () => seedsAnnouncer.flushSoon());
      snapshotter = startSnapshotter(book, store, platform.bus.streamId, config.SNAPSHOT_INTERVAL_SECONDS * 1000, platform.now, platform.logger);
      sweeper = startExpirySweeper(deps, platform.logger);
    },
    async stop() {
      sweeper?.stop();
      await consumer?.stop();
      await announcer?.stop();
      // After the consumer stopped: the final snapshot covers every click it acknowledged.
      await snapshotter?.stop();
      await store.close();
    },
  };
}
