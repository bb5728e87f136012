import { createHash, randomInt } from 'node:crypto';
import { resolveModelConfig } from '@ralm/model';
import type { Logger } from '@ralm/platform';
import { JobState, type Job } from '@ralm/proto/trainer';
import type { BatchTrainingConfig, TrainerConfig } from './config';
import { fromTrainingConfigProto } from './mapping';
import type { JobStore, TrainerDeps } from './ports';

/**
 * Exit codes of a batch run, for the Kubernetes Job's podFailurePolicy: a config
 * error or missing data will not mend on a retry, a failed or interrupted run may.
 */
export const BatchExit = {
  /** The model was written under MODEL_ROOT, and announced unless TRAINING_JOB_PUBLISH=false. */
  succeeded: 0,
  /** Training failed: malformed data files, no clicks to learn from, the model could not be written or announced. */
  failed: 1,
  /** TRAINING_JOB_DATA_DIR does not exist or is not readable (sysexits EX_NOINPUT). */
  noInput: 66,
  /** A variable is missing or malformed (EX_CONFIG), as for every service. */
  config: 78,
  /** The job was stopped before it ended (SIGTERM: 128 + 15); its checkpoints stay for a rerun. */
  interrupted: 143,
} as const;

/** The one job a batch run trains. */
export interface BatchJob {
  dataDir: string;
  /** TrainingConfig fields set by TRAINING_JOB_CONFIG; the rest take their defaults. */
  config: BatchTrainingConfig;
  /** Stable id (the Kubernetes Job name) or undefined for a random one. */
  jobId: string | undefined;
  /** Announce the model on the bus, or only write it. */
  publish: boolean;
}

export interface BatchOutcome {
  exitCode: number;
  /** The job in its final state; undefined when it could not be submitted. */
  job?: Job;
  /** Why the run did not succeed; undefined when it did. */
  error?: string;
}

export type BatchDeps = Pick<TrainerDeps, 'jobs' | 'submit' | 'dataDirExists'> & {
  logger: Logger;
  /** Aborted when the process is stopping: no job is submitted after that. */
  signal?: AbortSignal;
};

/** The batch job the config asks for; undefined in service mode. */
export function batchJobOf(config: TrainerConfig): BatchJob | undefined {
  if (config.TRAINING_JOB_DATA_DIR === undefined) return undefined;
  return { dataDir: config.TRAINING_JOB_DATA_DIR, config: config.TRAINING_JOB_CONFIG ?? {}, jobId: config.TRAINING_JOB_ID, publish: config.TRAINING_JOB_PUBLISH };
}

/**
 * The seed of a job whose config leaves it 0. Checkpoints only resume for the same
 * settings, seed included, so every pod of one Kubernetes Job must draw the same one.
 */
export function seedFromJobId(jobId: string): number {
  return 1 + (createHash('sha256').update(jobId).digest().readUInt32BE(0) % 2 ** 31);
}

const FINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** Resolves with the job once it reaches a final state (a batch run, `ralm train`). */
export function finalState(jobs: JobStore, jobId: string): Promise<Job> {
  return new Promise((resolve) => {
    const unwatch = jobs.watch(jobId, (job) => {
      if (!FINAL.has(job.state)) return;
      unwatch();
      resolve(job);
    });
    const now = jobs.get(jobId);
    if (now && FINAL.has(now.state)) {
      unwatch();
      resolve(now);
    }
  });
}

/**
 * Trains `batch` through the trainer's job queue, so GetJob and WatchJob show it
 * like any other job, and resolves with the exit code once it has ended. Never
 * rejects for a failed job: the failure is logged on one line and returned.
 */
export async function runBatchJob(batch: BatchJob, deps: BatchDeps): Promise<BatchOutcome> {
  const { logger } = deps;
  if (!(await deps.dataDirExists(batch.dataDir))) {
    const error = `TRAINING_JOB_DATA_DIR '${batch.dataDir}' does not exist or is not readable`;
    logger.error({ dataDir: batch.dataDir, exitCode: BatchExit.noInput }, `batch job failed: ${error}`);
    return { exitCode: BatchExit.noInput, error };
  }
  const config = resolveModelConfig({ ...fromTrainingConfigProto(undefined), ...batch.config, dataDir: batch.dataDir }, () =>
    batch.jobId === undefined ? randomInt(1, 2 ** 31) : seedFromJobId(batch.jobId),
  );
  if (deps.signal?.aborted) {
    logger.warn({ exitCode: BatchExit.interrupted }, 'batch job not started: the trainer is stopping');
    return { exitCode: BatchExit.interrupted, error: 'the trainer stopped before the job started' };
  }
  const submitted = deps.submit(config, { jobId: batch.jobId, publish: batch.publish });
  const log = logger.child({ jobId: submitted.jobId });
  log.info({ dataDir: batch.dataDir, publish: batch.publish, seed: config.seed, phase1Epochs: config.phase1Epochs, phase2Epochs: config.phase2Epochs }, 'batch job started');

  const job = await finalState(deps.jobs, submitted.jobId);
  switch (job.state) {
    case JobState.JOB_STATE_SUCCEEDED:
      log.info({ modelVersion: job.modelVersion, published: batch.publish, exitCode: BatchExit.succeeded }, 'batch job succeeded');
      return { exitCode: BatchExit.succeeded, job };
    case JobState.JOB_STATE_CANCELLED:
      log.warn({ error: job.error, exitCode: BatchExit.interrupted }, 'batch job interrupted; its checkpoints stay for a rerun with the same TRAINING_JOB_ID');
      return { exitCode: BatchExit.interrupted, job, error: job.error };
    default:
      log.error({ error: job.error, exitCode: BatchExit.failed }, `batch job failed: ${job.error}`);
      return { exitCode: BatchExit.failed, job, error: job.error };
  }
}
