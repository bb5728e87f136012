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
import { finalState } from '../src/batch';

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
    const done = await finalState(jobs, job.jobId);
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

  it('runs in the foreground for `ralm train`: the model where asked, checkpoints where asked, nothing announced, every step told', async () => {
    const modelDir = path.join(root, 'out', 'model');
    const workDir = path.join(root, 'out', 'model.checkpoint');
    const before = published.length;
    // Cancelled in phase 2: CANCELLED, the phase-1 checkpoint kept where asked.
    const abort = new AbortController();
    const first = runner.submit({ ...TINY, dataDir: path.join(root, 'data') }, { publish: false, modelDir, workDir, signal: abort.signal, observer: { onProgress: (p) => p.phase === 'lookalike' && abort.abort() } });
    expect(await finalState(jobs, first.jobId)).toMatchObject({ state: JobState.JOB_STATE_CANCELLED });
    expect((await fs.readdir(workDir)).length).toBeGreaterThan(0);
    // Fresh: that checkpoint is not resumed; the model lands in modelDir, the checkpoints go.
    const told: string[] = [];
    let manifestVersion = '';
    const second = runner.submit(
      { ...TINY, dataDir: path.join(root, 'data') },
      {
        publish: false,
        modelDir,
        workDir,
        fresh: true,
        observer: {
          onDataset: (d) => told.push(`dataset ${d.users.ids.length}`),
          onResume: () => told.push('resumed'),
          onProgress: (p) => told.push(p.phase),
          onModel: (m, dir) => ((manifestVersion = m.version), told.push(`model ${dir}`)),
        },
      },
    );
    const done = await finalState(jobs, second.jobId);
    expect(done).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, modelVersion: manifestVersion });
    expect(told[0]).toBe('dataset 600');
    expect(told).not.toContain('resumed');
    expect(told).toContain('user_representation');
    expect(told.at(-1)).toBe(`model ${modelDir}`);
    const model = await loadModel(modelDir);
    expect(model.info.version).toBe(done.modelVersion);
    model.dispose();
    await expect(fs.access(workDir)).rejects.toThrow();
    for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
    expect(published).toHaveLength(before);
  });

  it('fails a job with the reason and leaves the published model in place', async () => {
    const bad = path.join(root, 'bad-data');
    await fs.mkdir(bad);
    await fs.writeFile(path.join(bad, 'schema.json'), '{"fields": []}');
    const job = runner.submit({ ...TINY, dataDir: bad });
    const done = await finalState(jobs, job.jobId);
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
