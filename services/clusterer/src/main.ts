import { tracing } from './tracing';
import { runMain } from '@ralm/platform';
import { loadClustererConfig } from './config';
import { createClusterer, createClusterWorker } from './module';

runMain({
  name: 'clusterer',
  tracing,
  loadConfig: loadClustererConfig,
  create: async (config, platform) => (config.CLUSTERER_ROLE === 'worker' ? createClusterWorker(config, platform) : createClusterer(config, platform)),
});
