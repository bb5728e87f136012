export { createSeedCollector, type SeedCollectorModule } from './module';
export { loadSeedCollectorConfig, type SeedCollectorConfig } from './config';
