import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { synthesizeToDir } from '@ralm/data';
import { DEFAULT_MODEL_CONFIG, loadModel, selectBackend, type ModelConfig } from '@ralm/model';
import { JobState, TrainingPhase, type Job } from '@ralm/proto/trainer';
import type { ModelPublished } from '@ralm/proto/events';
import { createLogger, createMemoryBus, ResourceExhaustedError, Subjects, type EventBus } from '@ralm/platform';
import { MemoryJobStore } from '../src/adapters/job-store-memory';
import { createFsModelRegistry } from '../src/adapters/model-registry-fs';
import { modelPackageTraining } from '../src/adapters/training';
import { JobRunner } from '../src/job-runner';

// Training is CPU-bound and the suite runs two workers on two cores: a generous safety net, not a speed check.
jest.setTimeout(180_000);


const TINY: ModelConfig = {
  ...DEFAULT_MODEL_CONFIG,
  userDim: 16,
  lookalikeDim: 16,
  fieldDim: 8,
  attentionSize: 8,
  hidden: [16],
  clusters: 3,
  phase1Epochs: 2,
  phase2Epochs: 2,
  batchSize: 64,
  seed: 5,
};

/** Resolves with the job once it reaches a final state. */
function finished(jobs: MemoryJobStore, jobId: string): Promise<Job> {
  return new Promise((resolve) => {
    const check = (job: Job) => {
      if ([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED].includes(job.state)) resolve(job);
    };
    jobs.watch(jobId, check);
    const now = jobs.get(jobId);
    if (now) check(now);
  });
}

describe('JobRunner with the real model package', () => {
  let root: string;
  let bus: EventBus;
  let jobs: MemoryJobStore;
  let runner: JobRunner;
  const published: ModelPublished[] = [];

  beforeAll(async () => {
    await selectBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-jobs-'));
    await synthesizeToDir({ users: 600, items: 80, seed: 4 }, path.join(root, 'data'));
    bus = createMemoryBus();
    await bus.subscribe(Subjects.modelPublished, async (m) => void published.push(m), { durable: 'probe' });
    jobs = new MemoryJobStore();
    runner = new JobRunner({
      jobs,
      bus,
      logger: createLogger('trainer', 'silent'),
      now: Date.now,
      training: modelPackageTraining,
      modelRoot: path.join(root, 'models'),
      workRoot: path.join(root, 'work'),
      progressIntervalMs: 0,
    });
  });
  afterAll(async () => {
    await runner.stop();
    await bus.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('runs phase 1 then phase 2, reports progress, publishes a loadable model and announces it', async () => {
    const seen: Job[] = [];
    const job = runner.submit({ ...TINY, dataDir: path.join(root, 'data') });
    expect(job.state).toBe(JobState.JOB_STATE_QUEUED);
    jobs.watch(job.jobId, (j) => seen.push(j));
    const done = await finished(jobs, job.jobId);
    expect(done).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, error: '' });
    expect(done.modelVersion).not.toBe('');
    const phases = [...new Set(seen.map((j) => j.progress!.phase))].filter((p) => p !== TrainingPhase.TRAINING_PHASE_UNSPECIFIED);
    expect(phases).toEqual([TrainingPhase.TRAINING_PHASE_USER_REPRESENTATION, TrainingPhase.TRAINING_PHASE_LOOKALIKE]);
    expect(seen.some((j) => j.progress!.validationAuc > 0)).toBe(true);

    for (let i = 0; i < 100 && published.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ modelVersion: done.modelVersion, userDim: 16, lookalikeDim: 16 });
    const listed = await createFsModelRegistry(path.join(root, 'models'), createLogger('t', 'silent')).list();
    expect(listed.map((m) => m.modelVersion)).toEqual([done.modelVersion]);
    const model = await loadModel(new URL(published[0]!.artifactUri).pathname);
    expect(model.info.version).toBe(done.modelVersion);
    model.dispose();
    // The run's checkpoints are cleaned up once the model is safely published.
    await expect(fs.readdir(path.join(root, 'work'))).resolves.toEqual([]);
  });

  it('fails a job with the reason and leaves the published model in place', async () => {
    const bad = path.join(root, 'bad-data');
    await fs.mkdir(bad);
    await fs.writeFile(path.join(bad, 'schema.json'), '{"fields": []}');
    const job = runner.submit({ ...TINY, dataDir: bad });
    const done = await finished(jobs, job.jobId);
    expect(done.state).toBe(JobState.JOB_STATE_FAILED);
    expect(done.error).toMatch(/users\.csv/);
    const listed = await createFsModelRegistry(path.join(root, 'models'), createLogger('t', 'silent')).list();
    expect(listed).toHaveLength(1);
    expect(published).toHaveLength(1);
  });
});

describe('JobRunner queue bound', () => {
  it('refuses a job beyond MAX_QUEUED_JOBS waiting ones with ResourceExhaustedError, and takes one again once a job started', async () => {
    let release!: () => void;
    const blocked = new Promise<never>((_resolve, reject) => (release = () => reject(new Error('released'))));
    const training = { ...modelPackageTraining, readDataset: () => blocked };
    const jobs = new MemoryJobStore();
    const bus = createMemoryBus();
    const runner = new JobRunner({ jobs, bus, logger: createLogger('trainer', 'silent'), now: Date.now, training, modelRoot: '/nonexistent', workRoot: '/nonexistent', progressIntervalMs: 0, maxQueued: 2 });
    const config = { ...TINY, dataDir: '/d' };
    const running = runner.submit(config);
    runner.submit(config);
    runner.submit(config);
    expect(() => runner.submit(config)).toThrow(ResourceExhaustedError);
    expect(() => runner.submit(config)).toThrow(new RegExp(`2 training jobs are waiting already \\(MAX_QUEUED_JOBS\\), behind job '${running.jobId}'`));
    expect(jobs.get(running.jobId)!.state).toBe(JobState.JOB_STATE_RUNNING);
    release(); // the running job fails; the next one starts (and fails on the same dataset)
    for (let i = 0; i < 100 && jobs.get(running.jobId)!.state === JobState.JOB_STATE_RUNNING; i++) await new Promise((r) => setTimeout(r, 5));
    await runner.stop();
    await bus.close();
  });
});
