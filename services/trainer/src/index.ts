export { createTrainer, type TrainerModule } from './module';
export { loadTrainerConfig, type TrainerConfig } from './config';
// What `ralm train` runs in the foreground: this trainer's own job runner and training port.
export { JobRunner, type TrainingPort } from './job-runner';
export { MemoryJobStore } from './adapters/job-store-memory';
export { modelPackageTraining } from './adapters/training';
export { finalState } from './batch';
export type { JobObserver, SubmitOptions } from './ports';
