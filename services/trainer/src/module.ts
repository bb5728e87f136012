import fs from 'node:fs/promises';
import type { ServiceDeps, ServiceModule } from '@ralm/platform';
import { MemoryJobStore } from './adapters/job-store-memory';
import { createFsModelRegistry } from './adapters/model-registry-fs';
import type { TrainerConfig } from './config';
import type { TrainerDeps } from './ports';
import { TRAINER_PROTO, trainerBinding } from './server';

export interface TrainerModule extends ServiceModule {
  readonly deps: TrainerDeps;
}

export function createTrainer(config: TrainerConfig, platform: ServiceDeps): TrainerModule {
  const deps: TrainerDeps = {
    config,
    models: createFsModelRegistry(config.MODEL_ROOT, platform.logger),
    jobs: new MemoryJobStore(),
    dataDirExists: (dir) => fs.access(dir, fs.constants.R_OK).then(() => true, () => false),
  };
  return { deps, bindings: [trainerBinding(deps)], protoFiles: [TRAINER_PROTO] };
}
