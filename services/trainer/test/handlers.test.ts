import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { JobState, TrainingConfig, UserTower, type Job, type WatchJobResponse } from '@ralm/proto/trainer';
import { createLogger, dirWithin, type CallContext } from '@ralm/platform';
import { MemoryJobStore } from '../src/adapters/job-store-memory';
import { createFsModelRegistry } from '../src/adapters/model-registry-fs';
import { loadTrainerConfig } from '../src/config';
import { getJob } from '../src/handlers/get-job';
import { listModels } from '../src/handlers/list-models';
import { startTraining } from '../src/handlers/start-training';
import { watchJob } from '../src/handlers/watch-job';
import type { TrainerDeps } from '../src/ports';

function context(): CallContext & { abort(): void } {
  const controller = new AbortController();
  return {
    method: 'test',
    signal: controller.signal,
    deadlineMs: undefined,
    metadata: new Metadata(),
    throwIfDone() {
      if (controller.signal.aborted) throw new Error('aborted');
    },
    abort: () => controller.abort(),
  };
}

const job = (state: JobState, epoch = 0): Job => ({
  jobId: 'j1',
  state,
  progress: { phase: 1, epoch, epochs: 3, batch: 0, batches: 10, loss: 1, validationAuc: 0.5, samplesPerSecond: 100 },
  error: '',
  modelVersion: '',
  createdAtMs: 1,
  startedAtMs: 2,
  finishedAtMs: 0,
  config: undefined,
});

describe('Trainer handlers', () => {
  let root: string;
  let jobs: MemoryJobStore;
  let deps: TrainerDeps;
  const submitted: Array<{ dataDir: string; clusters: number }> = [];

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-models-'));
    await fs.mkdir(path.join(root, 'data', 'exists'), { recursive: true });
    jobs = new MemoryJobStore();
    deps = {
      config: loadTrainerConfig({ MODEL_ROOT: root }),
      models: createFsModelRegistry(root, createLogger('t', 'silent')),
      jobs,
      dataDirExists: async () => true,
      resolveDataDir: (requested) => dirWithin(path.join(root, 'data'), requested, { field: 'config.data_dir', root: 'TRAINING_DATA_ROOT' }),
      submit: (config) => {
        submitted.push(config);
        return job(JobState.JOB_STATE_QUEUED);
      },
    };
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('lists models newest first from their manifests, skipping unreadable ones', async () => {
    await expect(listModels({}, deps)).resolves.toEqual({ models: [], currentVersion: '' });
    const manifest = (version: string, createdAtMs: number) => ({
      version, createdAtMs, userDim: 128, lookalikeDim: 64, tower: 'concatenation', metrics: { validation_auc: 0.61 },
      dataFingerprint: 'sha256:ab', jobId: 'j', alpha: 0.3, beta: 0.7, temperature: 5,
    });
    for (const [dir, body] of [['v1', manifest('v1', 100)], ['v2', manifest('v2', 200)], ['broken', { version: 'x' }]] as const) {
      await fs.mkdir(path.join(root, dir));
      await fs.writeFile(path.join(root, dir, 'manifest.json'), JSON.stringify(body));
    }
    await fs.mkdir(path.join(root, 'empty-dir'));
    const listed = await listModels({}, deps);
    expect(listed.currentVersion).toBe('v2');
    expect(listed.models.map((m) => m.modelVersion)).toEqual(['v2', 'v1']);
    expect(listed.models[0]).toMatchObject({ tower: UserTower.USER_TOWER_CONCATENATION, lookalikeDim: 64, metrics: { validation_auc: 0.61 } });
    expect(listed.models[0]!.artifactUri).toBe(`file://${path.join(root, 'v2')}`);
  });

  it('validates a training request before anything else, then checks its data directory', async () => {
    await expect(startTraining({ config: TrainingConfig.fromPartial({ dataDir: 'exists', clusters: -1 }) }, deps)).rejects.toMatchObject({ field: 'config.clusters' });
    await expect(startTraining({ config: TrainingConfig.fromPartial({ dataDir: 'missing' }) }, deps)).rejects.toMatchObject({ name: 'FailedPreconditionError' });
    await expect(startTraining({ config: TrainingConfig.fromPartial({ dataDir: path.join(root, 'data', 'exists') }) }, deps)).rejects.toMatchObject({ field: 'config.data_dir' });
    await expect(startTraining({ config: undefined }, deps)).rejects.toMatchObject({ field: 'config.data_dir' });
    expect(submitted).toEqual([]);
    await expect(startTraining({ config: TrainingConfig.fromPartial({ dataDir: 'exists', clusters: 7 }) }, deps)).resolves.toMatchObject({
      job: { state: JobState.JOB_STATE_QUEUED },
    });
    expect(submitted).toMatchObject([{ dataDir: await fs.realpath(path.join(root, 'data', 'exists')), clusters: 7, userDim: 128, tower: 'attention_merge' }]);
  });

  it('finds jobs by id and says NOT_FOUND otherwise', async () => {
    jobs.put(job(JobState.JOB_STATE_RUNNING));
    await expect(getJob({ jobId: 'j1' }, deps)).resolves.toMatchObject({ job: { jobId: 'j1', state: JobState.JOB_STATE_RUNNING } });
    await expect(getJob({ jobId: 'j2' }, deps)).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(getJob({ jobId: '' }, deps)).rejects.toMatchObject({ field: 'job_id' });
  });

  it('streams the current state, every change, and ends when the job ends', async () => {
    jobs.put(job(JobState.JOB_STATE_RUNNING, 0));
    const sent: WatchJobResponse[] = [];
    let firstSent!: () => void;
    const ready = new Promise<void>((r) => (firstSent = r));
    const watching = watchJob({ jobId: 'j1' }, deps, context(), async (m) => {
      sent.push(m);
      firstSent();
    });
    await ready;
    jobs.put(job(JobState.JOB_STATE_RUNNING, 1));
    jobs.put(job(JobState.JOB_STATE_SUCCEEDED, 3));
    jobs.put(job(JobState.JOB_STATE_SUCCEEDED, 3)); // after the end: not sent
    await watching;
    expect(sent.map((m) => [m.job!.state, m.job!.progress!.epoch])).toEqual([
      [JobState.JOB_STATE_RUNNING, 0],
      [JobState.JOB_STATE_RUNNING, 1],
      [JobState.JOB_STATE_SUCCEEDED, 3],
    ]);
  });

  it('stops watching when the caller goes away', async () => {
    jobs.put(job(JobState.JOB_STATE_RUNNING));
    const ctx = context();
    const watching = watchJob({ jobId: 'j1' }, deps, ctx, async () => ctx.abort());
    await expect(watching).rejects.toThrow('aborted');
  });
});
