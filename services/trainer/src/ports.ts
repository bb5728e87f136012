import type { Dataset } from '@ralm/data';
import type { Manifest, ModelConfig, Progress } from '@ralm/model';
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

/** How a run is submitted besides its settings. */
export interface SubmitOptions {
  /**
   * The job's id, e.g. the Kubernetes Job name (1..253 characters, safe as a folder name).
   * Its checkpoints are kept by this id, so a rerun with the same id resumes them.
   * Default: a random UUID, with checkpoints kept by data fingerprint and settings.
   */
  jobId?: string;
  /** Announce the finished model on `ralm.v1.model.published`; false only writes it. Default true. */
  publish?: boolean;
  /**
   * The root `dataDir` was confined to (TRAINING_DATA_ROOT for StartTraining): every file is
   * checked against it again when the job reads it, since a queued job reads later than
   * the request was checked. Unset (a batch Job's operator-set directory): read as named.
   */
  dataRoot?: string;
  /** Write the model exactly here instead of `<modelRoot>/<version>` (`ralm train --out`). */
  modelDir?: string;
  /** Keep the checkpoints here instead of under the work root (`ralm train --checkpoint-dir`). */
  workDir?: string;
  /** Start over even when a checkpoint of this run exists (`ralm train --fresh`). */
  fresh?: boolean;
  /** Cancels this job (it ends CANCELLED, its checkpoints kept). */
  signal?: AbortSignal;
  /** Told what the job does as it does it: a terminal's progress bar, a CLI's summary. */
  observer?: JobObserver;
}

/** Hooks of one job, for a caller that runs it in the foreground (`ralm train`). */
export interface JobObserver {
  onDataset?(dataset: Dataset): void;
  onResume?(checkpoint: { phase: Progress['phase']; epochsDone: number }, workDir: string): void;
  /** Every progress event, not throttled as the job's record is. */
  onProgress?(progress: Progress): void;
  onModel?(manifest: Manifest, dir: string): void;
  /** The error a failed or cancelled job ended with. */
  onError?(err: unknown): void;
}

export interface TrainerDeps {
  readonly config: TrainerConfig;
  readonly models: ModelRegistry;
  readonly jobs: JobStore;
  /** True when `dir` exists and is readable. */
  dataDirExists(dir: string): Promise<boolean>;
  /**
   * A StartTraining `data_dir`, resolved under TRAINING_DATA_ROOT: relative, no `..`,
   * no symlink out; throws InvalidArgument / FailedPrecondition otherwise.
   */
  resolveDataDir(requested: string): Promise<string>;
  /** Queues a validated training run; returns the job as queued. Throws AlreadyExistsError for a taken `jobId`. */
  submit(config: ModelConfig & { dataDir: string }, options?: SubmitOptions): Job;
}
