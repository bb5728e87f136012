import { tracing } from './tracing';
import { runMain } from '@ralm/platform';
import { loadSeedCollectorConfig } from './config';
import { createSeedCollector } from './module';

runMain({ name: 'seed-collector', tracing, loadConfig: loadSeedCollectorConfig, create: createSeedCollector });
