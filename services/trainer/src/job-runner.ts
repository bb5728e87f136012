import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dataset, ReadOptions } from '@ralm/data';
import type { Checkpoint, Manifest, ModelConfig, Progress, RalmModel, TrainHooks } from '@ralm/model';
import { JobState, TrainingPhase, UserTower, type Job, type TrainingConfig as TrainingConfigProto } from '@ralm/proto/trainer';
import { AlreadyExistsError, openWithin, ResourceExhaustedError, Subjects, type EventBus, type Logger } from '@ralm/platform';
import type { MemoryJobStore } from './adapters/job-store-memory';
import type { SubmitOptions } from './ports';

/** How a job reads data, trains, checkpoints and stores a model: the model package behind a port, so tests can shrink it. */
export interface TrainingPort {
  readDataset(dir: string, options?: ReadOptions): Promise<Dataset>;
  train(dataset: Dataset, config: ModelConfig, hooks: TrainHooks): Promise<RalmModel>;
  assignVersion(model: RalmModel): string;
  saveModel(model: RalmModel, dir: string): Promise<Manifest>;
  saveCheckpoint(dir: string, key: string, checkpoint: Checkpoint): Promise<void>;
  loadCheckpoint(dir: string, key: string): Promise<Checkpoint | undefined>;
  runKey(dataFingerprint: string, config: ModelConfig): string;
  removeDir(dir: string): Promise<void>;
}

export interface JobRunnerDeps {
  jobs: MemoryJobStore;
  bus: EventBus;
  logger: Logger;
  now: () => number;
  training: TrainingPort;
  /** Finished models go to `<modelRoot>/<version>`. */
  modelRoot: string;
  /**
   * Checkpoints of running jobs go to `<workRoot>/<runKey>`, or `<workRoot>/job-<jobId>`
   * for a job submitted with its own id, so a restarted job resumes.
   */
  workRoot: string;
  /** Least time between two progress updates of a job, ms. */
  progressIntervalMs: number;
  /** Jobs that may wait behind the running one; more are refused (ResourceExhaustedError). Default: no limit. */
  maxQueued?: number;
}

const PHASE: Record<Progress['phase'], TrainingPhase> = {
  user_representation: TrainingPhase.TRAINING_PHASE_USER_REPRESENTATION,
  lookalike: TrainingPhase.TRAINING_PHASE_LOOKALIKE,
};

export function toConfigProto(c: ModelConfig & { dataDir: string }): TrainingConfigProto {
  return {
    dataDir: c.dataDir,
    tower: c.tower === 'concatenation' ? UserTower.USER_TOWER_CONCATENATION : UserTower.USER_TOWER_ATTENTION_MERGE,
    userDim: c.userDim,
    lookalikeDim: c.lookalikeDim,
    fieldDim: c.fieldDim,
    attentionSize: c.attentionSize,
    clusters: c.clusters,
    phase1Epochs: c.phase1Epochs,
    phase2Epochs: c.phase2Epochs,
    batchSize: c.batchSize,
    learningRate: c.learningRate,
    negativesPerPositive: c.negativesPerPositive,
    maxPositivesPerUser: c.maxPositivesPerUser,
    alpha: c.alpha,
    beta: c.beta,
    temperature: c.temperature ?? 0,
    seed: c.seed,
    validationFraction: c.validationFraction,
  };
}

/**
 * Runs training jobs one at a time, in submission order. A job that fails
 * records why and publishes nothing: the model directory is written aside and
 * renamed into place only when complete, so the previous model stays current.
 */
export class JobRunner {
  private readonly queue: Array<{ job: Job; config: ModelConfig & { dataDir: string }; options: SubmitOptions }> = [];
  private running: { jobId: string; abort: AbortController } | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly deps: JobRunnerDeps) {}

  submit(config: ModelConfig & { dataDir: string }, options: SubmitOptions = {}): Job {
    if (options.jobId !== undefined && this.deps.jobs.get(options.jobId)) throw new AlreadyExistsError(`job '${options.jobId}' already exists`);
    const max = this.deps.maxQueued;
    if (max !== undefined && this.queue.length >= max) {
      throw new ResourceExhaustedError(`${this.queue.length} training jobs are waiting already (MAX_QUEUED_JOBS), behind ${this.running ? `job '${this.running.jobId}'` : 'none'}; submit again once one has started`);
    }
    const job: Job = {
      jobId: options.jobId ?? randomUUID(),
      state: JobState.JOB_STATE_QUEUED,
      progress: { phase: TrainingPhase.TRAINING_PHASE_UNSPECIFIED, epoch: 0, epochs: 0, batch: 0, batches: 0, loss: 0, validationAuc: 0, samplesPerSecond: 0 },
      error: '',
      modelVersion: '',
      createdAtMs: this.deps.now(),
      startedAtMs: 0,
      finishedAtMs: 0,
      config: toConfigProto(config),
    };
    this.deps.jobs.put(job);
    this.queue.push({ job, config, options });
    if (!this.running) this.idle = this.drain();
    return job;
  }

  /** Cancels the running job (it ends CANCELLED) and forgets queued ones; resolves when idle. */
  async stop(): Promise<void> {
    for (const { job } of this.queue.splice(0)) this.finish(job, JobState.JOB_STATE_CANCELLED, 'the trainer shut down before the job started');
    this.running?.abort.abort(new Error('the trainer is shutting down'));
    await this.idle;
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.run(next.job, next.config, next.options);
  }

  private update(job: Job, patch: Partial<Job>): Job {
    const updated = { ...job, ...patch };
    this.deps.jobs.put(updated);
    return updated;
  }

  private finish(job: Job, state: JobState, error = '', modelVersion = ''): Job {
    return this.update(this.deps.jobs.get(job.jobId) ?? job, { state, error, modelVersion, finishedAtMs: this.deps.now() });
  }

  private async run(queued: Job, config: ModelConfig & { dataDir: string }, options: SubmitOptions): Promise<void> {
    const { training, logger } = this.deps;
    const abort = new AbortController();
    const observer = options.observer ?? {};
    const cancel = () => abort.abort(options.signal?.reason ?? new Error('cancelled'));
    if (options.signal?.aborted) cancel();
    options.signal?.addEventListener('abort', cancel, { once: true });
    this.running = { jobId: queued.jobId, abort };
    let job = this.update(queued, { state: JobState.JOB_STATE_RUNNING, startedAtMs: this.deps.now() });
    const log = logger.child({ jobId: job.jobId });
    try {
      const root = options.dataRoot;
      const dataset = await training.readDataset(config.dataDir, root === undefined ? {} : { open: (file) => openWithin(root, file) });
      observer.onDataset?.(dataset);
      const key = training.runKey(dataset.fingerprint, config);
      // A caller-chosen id (a Kubernetes Job name) keeps its own folder: its pods' restarts resume
      // there, and two jobs on the same data and settings never write one checkpoint. The key
      // inside still has to match, so a rerun on changed data or settings starts over.
      const workDir = options.workDir ?? path.join(this.deps.workRoot, options.jobId === undefined ? key : `job-${options.jobId}`);
      const resumeFrom = options.fresh ? undefined : await training.loadCheckpoint(workDir, key);
      if (resumeFrom) {
        log.info({ workDir, phase: resumeFrom.phase, epochsDone: resumeFrom.epochsDone }, 'resuming from checkpoint');
        observer.onResume?.(resumeFrom, workDir);
      } else log.info({ workDir }, 'no checkpoint of this run; training from the first epoch');
      let last = 0;
      const model = await training.train(dataset, config, {
        jobId: job.jobId,
        signal: abort.signal,
        resumeFrom,
        now: this.deps.now,
        onCheckpoint: (checkpoint) => training.saveCheckpoint(workDir, key, checkpoint),
        onProgress: (p) => {
          observer.onProgress?.(p);
          const t = this.deps.now();
          if (t - last < this.deps.progressIntervalMs && p.batch !== p.batches) return;
          last = t;
          job = this.update(job, {
            progress: {
              phase: PHASE[p.phase], epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches,
              loss: Number.isFinite(p.loss) ? p.loss : 0, validationAuc: Number.isFinite(p.validationAuc) ? p.validationAuc : 0, samplesPerSecond: p.samplesPerSecond,
            },
          });
        },
      });
      try {
        const version = training.assignVersion(model);
        const finalDir = options.modelDir ?? path.join(this.deps.modelRoot, version);
        const manifest = await training.saveModel(model, finalDir);
        const publish = options.publish ?? true;
        if (publish) {
          await this.deps.bus.publish(
            Subjects.modelPublished,
            {
              modelVersion: manifest.version,
              artifactUri: pathToFileURL(path.resolve(finalDir)).href,
              userDim: manifest.userDim,
              lookalikeDim: manifest.lookalikeDim,
              publishedAtMs: this.deps.now(),
              metrics: manifest.metrics,
            },
            { msgId: `model:${manifest.version}` },
          );
        }
        await training.removeDir(workDir);
        observer.onModel?.(manifest, finalDir);
        this.finish(job, JobState.JOB_STATE_SUCCEEDED, '', manifest.version);
        log.info({ version: manifest.version, dir: finalDir, metrics: manifest.metrics }, publish ? 'model published' : 'model written, not announced');
      } finally {
        model.dispose();
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      observer.onError?.(err);
      if (abort.signal.aborted) this.finish(job, JobState.JOB_STATE_CANCELLED, message);
      else {
        this.finish(job, JobState.JOB_STATE_FAILED, message);
        log.error({ err }, 'training job failed');
      }
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      this.running = undefined;
    }
  }
}
