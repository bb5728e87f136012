import fs from 'node:fs/promises';
import path from 'node:path';
import { loadModel, selectBackend, type Checkpoint, type Progress } from '@ralm/model';
import { JobState } from '@ralm/proto/trainer';
import type { ModelPublished } from '@ralm/proto/events';
import { createLogger, createMemoryBus, createServiceMetrics, Subjects, type EventBus, type ServiceDeps } from '@ralm/platform';
import { createFsModelRegistry } from '../src/adapters/model-registry-fs';
import { modelPackageTraining } from '../src/adapters/training';
import { BatchExit, batchJobOf, runBatchJob, seedFromJobId, type BatchOutcome } from '../src/batch';
import { loadTrainerConfig } from '../src/config';
import type { TrainingPort } from '../src/job-runner';
import { createTrainer, type TrainerModule } from '../src/module';
import { TINY_JOB_CONFIG, tinyDatasetRoot } from './support/tiny-job';

// Training is CPU-bound and the suite runs two workers on two cores: a generous safety net, not a speed check.
jest.setTimeout(120_000);

const logger = createLogger('trainer', 'silent');

describe('batch mode over the real JobRunner and model package', () => {
  let fixture: Awaited<ReturnType<typeof tinyDatasetRoot>>;
  let bus: EventBus;
  const published: ModelPublished[] = [];
  const modules: TrainerModule[] = [];

  beforeAll(async () => {
    await selectBackend();
    fixture = await tinyDatasetRoot('ralm-batch-');
    bus = createMemoryBus();
    await bus.subscribe(Subjects.modelPublished, async (m) => void published.push(m), { durable: 'probe' });
  });
  afterAll(async () => {
    for (const m of modules) await m.stop?.();
    await bus.close();
    await fixture.remove();
  });
  beforeEach(() => void published.splice(0));

  /** A trainer as main.ts would build it from `env`, sharing the test's bus; `root/<name>` holds its folders. */
  function trainer(name: string, env: NodeJS.ProcessEnv, training?: TrainingPort): { module: TrainerModule; run(signal?: AbortSignal): Promise<BatchOutcome>; modelRoot: string; workRoot: string } {
    const modelRoot = path.join(fixture.root, name, 'models');
    const workRoot = path.join(fixture.root, name, 'work');
    const config = loadTrainerConfig({ MODEL_ROOT: modelRoot, TRAINING_WORK_DIR: workRoot, PROGRESS_INTERVAL_MS: '0', TRAINING_JOB_CONFIG: TINY_JOB_CONFIG, ...env });
    const platform: ServiceDeps = {
      bus, logger, metrics: createServiceMetrics('trainer'), now: Date.now,
      openStore: () => Promise.reject(new Error('the trainer keeps no state store')),
    };
    const module = createTrainer(config, platform, training);
    modules.push(module);
    return { module, modelRoot, workRoot, run: (signal) => runBatchJob(batchJobOf(config)!, { ...module.deps, logger, signal }) };
  }

  /** Lets the memory bus deliver what was published. */
  const delivered = async () => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  };

  it('trains one job, writes its model under MODEL_ROOT, announces it and exits 0', async () => {
    const t = trainer('ok', { TRAINING_JOB_DATA_DIR: fixture.dataDir, TRAINING_JOB_ID: 'ralm-train-ok' });
    const outcome = await t.run();
    expect(outcome).toMatchObject({ exitCode: BatchExit.succeeded, job: { jobId: 'ralm-train-ok', state: JobState.JOB_STATE_SUCCEEDED } });
    const version = outcome.job!.modelVersion;
    // The seed left unset comes from the job id, so every pod of the Job trains the same run.
    expect(outcome.job!.config).toMatchObject({ dataDir: fixture.dataDir, phase1Epochs: 2, userDim: 16, seed: seedFromJobId('ralm-train-ok') });
    expect(t.module.deps.jobs.get('ralm-train-ok')!.state).toBe(JobState.JOB_STATE_SUCCEEDED);

    const listed = await createFsModelRegistry(t.modelRoot, logger).list();
    expect(listed).toMatchObject([{ modelVersion: version, jobId: 'ralm-train-ok', userDim: 16 }]);
    await delivered();
    expect(published).toMatchObject([{ modelVersion: version, artifactUri: `file://${path.join(t.modelRoot, version)}` }]);
    const model = await loadModel(path.join(t.modelRoot, version));
    expect(model.info.version).toBe(version);
    model.dispose();
    await expect(fs.readdir(t.workRoot)).resolves.toEqual([]);
  });

  it('with TRAINING_JOB_PUBLISH=false writes the model but does not announce it', async () => {
    const t = trainer('canary', { TRAINING_JOB_DATA_DIR: fixture.dataDir, TRAINING_JOB_PUBLISH: 'false' });
    const outcome = await t.run();
    expect(outcome.exitCode).toBe(BatchExit.succeeded);
    await expect(fs.readdir(t.modelRoot)).resolves.toEqual([outcome.job!.modelVersion]);
    await delivered();
    expect(published).toEqual([]);
  });

  it('exits 66 for a missing data dir and 1 for unreadable data, with the reason', async () => {
    const missing = trainer('missing', { TRAINING_JOB_DATA_DIR: path.join(fixture.root, 'no-such-dir') });
    await expect(missing.run()).resolves.toEqual({ exitCode: BatchExit.noInput, error: expect.stringMatching(/TRAINING_JOB_DATA_DIR '.*no-such-dir' does not exist or is not readable/) });

    const bad = path.join(fixture.root, 'bad-data');
    await fs.mkdir(bad);
    await fs.writeFile(path.join(bad, 'schema.json'), '{"fields": []}');
    const outcome = await trainer('bad', { TRAINING_JOB_DATA_DIR: bad }).run();
    expect(outcome).toMatchObject({ exitCode: BatchExit.failed, job: { state: JobState.JOB_STATE_FAILED }, error: expect.stringMatching(/users\.csv/) });
    await delivered();
    expect(published).toEqual([]);
  });

  it('submits nothing once the process is stopping', async () => {
    const t = trainer('stopping', { TRAINING_JOB_DATA_DIR: fixture.dataDir });
    const outcome = await t.run(AbortSignal.abort());
    expect(outcome).toEqual({ exitCode: BatchExit.interrupted, error: expect.any(String) });
  });

  it('an interrupted job keeps its checkpoint, and a rerun with the same TRAINING_JOB_ID resumes from it', async () => {
    const env = { TRAINING_JOB_DATA_DIR: fixture.dataDir, TRAINING_JOB_ID: 'ralm-train-resume' };
    // First pod: stopped (as by SIGTERM) right after the first phase-1 epoch is checkpointed.
    let interrupt: (() => void) | undefined;
    const first = trainer('resume', env, {
      ...modelPackageTraining,
      async saveCheckpoint(dir, key, checkpoint) {
        await modelPackageTraining.saveCheckpoint(dir, key, checkpoint);
        interrupt?.();
        interrupt = undefined;
      },
    });
    interrupt = () => void first.module.stop!();
    await expect(first.run()).resolves.toMatchObject({ exitCode: BatchExit.interrupted, job: { state: JobState.JOB_STATE_CANCELLED } });
    const workDir = path.join(first.workRoot, 'job-ralm-train-resume');
    await expect(fs.readFile(path.join(workDir, 'state.json'), 'utf8').then(JSON.parse)).resolves.toMatchObject({ phase: 'user_representation', epochsDone: 1 });
    await expect(fs.readdir(first.modelRoot).catch(() => [])).resolves.toEqual([]);

    // Second pod: a fresh trainer on the same folders and job id.
    let resumeFrom: Checkpoint | undefined;
    const progress: Progress[] = [];
    const second = trainer('resume', env, {
      ...modelPackageTraining,
      train(dataset, config, hooks) {
        resumeFrom = hooks.resumeFrom;
        return modelPackageTraining.train(dataset, config, { ...hooks, onProgress: (p) => (progress.push(p), hooks.onProgress?.(p)) });
      },
    });
    const outcome = await second.run();
    expect(outcome).toMatchObject({ exitCode: BatchExit.succeeded, job: { jobId: 'ralm-train-resume' } });
    expect(resumeFrom).toMatchObject({ phase: 'user_representation', epochsDone: 1 });
    expect(progress[0]).toMatchObject({ phase: 'user_representation', epoch: 2, batch: 1 });
    expect(progress.some((p) => p.phase === 'user_representation' && p.epoch === 1)).toBe(false);
    await expect(fs.readdir(second.modelRoot)).resolves.toEqual([outcome.job!.modelVersion]);
    // Checkpoints go once the model is safely written.
    await expect(fs.access(workDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
