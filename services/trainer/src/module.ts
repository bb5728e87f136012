import fs from 'node:fs/promises';
import { selectBackend } from '@ralm/model';
import { dirWithin, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import { MemoryJobStore } from './adapters/job-store-memory';
import { createFsModelRegistry } from './adapters/model-registry-fs';
import { modelPackageTraining } from './adapters/training';
import type { TrainerConfig } from './config';
import { JobRunner, type TrainingPort } from './job-runner';
import type { TrainerDeps } from './ports';
import { TRAINER_PROTO, trainerBinding } from './server';

export interface TrainerModule extends ServiceModule {
  readonly deps: TrainerDeps;
}

export function createTrainer(config: TrainerConfig, platform: ServiceDeps, training: TrainingPort = modelPackageTraining): TrainerModule {
  const jobs = new MemoryJobStore();
  const runner = new JobRunner({
    jobs,
    bus: platform.bus,
    logger: platform.logger,
    now: platform.now,
    training,
    modelRoot: config.MODEL_ROOT,
    workRoot: config.TRAINING_WORK_DIR,
    progressIntervalMs: config.PROGRESS_INTERVAL_MS,
    maxQueued: config.MAX_QUEUED_JOBS,
  });
  const deps: TrainerDeps = {
    config,
    models: createFsModelRegistry(config.MODEL_ROOT, platform.logger),
    jobs,
    dataDirExists: (dir) => fs.access(dir, fs.constants.R_OK).then(() => true, () => false),
    resolveDataDir: (requested) => dirWithin(config.TRAINING_DATA_ROOT, requested, { field: 'config.data_dir', root: 'TRAINING_DATA_ROOT' }),
    submit: (c, options) => runner.submit(c, options),
  };
  return {
    deps,
    bindings: [trainerBinding(deps)],
    protoFiles: [TRAINER_PROTO],
    async start() {
      const backend = await selectBackend(config.TRAINING_BACKEND === 'auto' ? undefined : config.TRAINING_BACKEND);
      // `backend`, not `name`: pino's own `name` field is the service.
      platform.logger.info({ backend: backend.name, reason: backend.reason }, `tfjs backend: ${backend.name}`);
    },
    stop: () => runner.stop(),
  };
}
