import type { BusSubscription, ServiceDeps, ServiceModule } from '@ralm/platform';
import type { ClustererConfig } from './config';
import { SeedTracker } from './domain/seed-tracker';
import type { ClustererDeps } from './ports';
import { CLUSTERER_PROTO, clustererBinding } from './server';
import { subscribeClusterer } from './subscriptions';

export interface ClustererModule extends ServiceModule {
  readonly deps: ClustererDeps;
}

export function createClusterer(config: ClustererConfig, platform: ServiceDeps): ClustererModule {
  const deps: ClustererDeps = { config, tracker: new SeedTracker() };
  let subscriptions: BusSubscription[] = [];
  return {
    deps,
    bindings: [clustererBinding(deps)],
    protoFiles: [CLUSTERER_PROTO],
    async start() {
      subscriptions = await subscribeClusterer(platform.bus, deps, platform.logger);
    },
    async stop() {
      await Promise.all(subscriptions.map((s) => s.stop()));
    },
  };
}
