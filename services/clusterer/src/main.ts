import { tracing } from './tracing';
import { runMain } from '@ralm/platform';
import { loadClustererConfig } from './config';
import { createClusterer } from './module';

runMain({ name: 'clusterer', tracing, loadConfig: loadClustererConfig, create: createClusterer });
