import { tracing } from './tracing';
import { runTrainerMain } from './batch-main';
import { loadTrainerConfig } from './config';
import { createTrainer } from './module';

runTrainerMain({ name: 'trainer', tracing, loadConfig: loadTrainerConfig, create: createTrainer });
