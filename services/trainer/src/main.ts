import { tracing } from './tracing';
import { runMain } from '@ralm/platform';
import { loadTrainerConfig } from './config';
import { createTrainer } from './module';

runMain({ name: 'trainer', tracing, loadConfig: loadTrainerConfig, create: createTrainer });
