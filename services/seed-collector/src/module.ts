import type { BusSubscription, ServiceDeps, ServiceModule } from '@ralm/platform';
import { startClickConsumer, startSeedsAnnouncer } from './click-consumer';
import type { SeedCollectorConfig } from './config';
import { SeedBook } from './domain/seed-book';
import { createSeedCollectorMetrics } from './metrics';
import type { SeedCollectorDeps } from './ports';
import { SEED_COLLECTOR_PROTO, seedCollectorBinding } from './server';

export interface SeedCollectorModule extends ServiceModule {
  /** The handlers' dependencies, exposed for in-process tests and the launcher. */
  readonly deps: SeedCollectorDeps;
}

export function createSeedCollector(config: SeedCollectorConfig, platform: ServiceDeps): SeedCollectorModule {
  const book = new SeedBook({
    seedCap: config.SEED_CAP,
    dedupeCap: config.DEDUPE_CAP,
    maxFutureSkewMs: config.CLICK_MAX_FUTURE_SKEW_SECONDS * 1000,
    maxClickAgeMs: config.CLICK_MAX_AGE_SECONDS * 1000,
  });
  const metrics = createSeedCollectorMetrics(platform.metrics, book);
  const deps: SeedCollectorDeps = { config, book, bus: platform.bus, metrics, now: platform.now };
  let consumer: BusSubscription | undefined;
  let announcer: ReturnType<typeof startSeedsAnnouncer> | undefined;
  return {
    deps,
    bindings: [seedCollectorBinding(deps)],
    protoFiles: [SEED_COLLECTOR_PROTO],
    async start() {
      consumer = await startClickConsumer(deps, platform.logger);
      announcer = startSeedsAnnouncer(deps, platform.logger);
    },
    async stop() {
      await consumer?.stop();
      await announcer?.stop();
    },
  };
}
