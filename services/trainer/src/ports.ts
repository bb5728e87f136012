import type { ModelConfig } from '@ralm/model';
import type { Job, ModelInfo } from '@ralm/proto/trainer';
import type { TrainerConfig } from './config';

/** Published models, newest first. */
export interface ModelRegistry {
  list(): Promise<ModelInfo[]>;
}

/** Training jobs this trainer knows about. */
export interface JobStore {
  get(jobId: string): Job | undefined;
  /** Calls `listener` on every change of the job until the returned function is called. */
  watch(jobId: string, listener: (job: Job) => void): () => void;
}

export interface TrainerDeps {
  readonly config: TrainerConfig;
  readonly models: ModelRegistry;
  readonly jobs: JobStore;
  /** True when `dir` exists and is readable. */
  dataDirExists(dir: string): Promise<boolean>;
  /** Queues a validated training run; returns the job as queued. */
  submit(config: ModelConfig & { dataDir: string }): Job;
}
