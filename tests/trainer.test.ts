import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { synthesizeToDir } from '@ralm/data';
import { callUnary, Subjects } from '@ralm/platform';
import { JobState, TrainingConfig, TrainingPhase, UserTower, type WatchJobResponse } from '@ralm/proto/trainer';
import type { ModelPublished } from '@ralm/proto/events';
import { connectClients, startMesh, type Mesh, type MeshClients } from '@ralm/mesh';
import { collect, expectStatus } from './support/grpc';

// Training is CPU-bound and the suite runs two workers on two cores: a generous safety net, not a speed check.
jest.setTimeout(180_000);


describe('the Trainer over gRPC', () => {
  let root: string;
  let mesh: Mesh;
  let clients: MeshClients;
  const published: ModelPublished[] = [];

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-trainer-'));
    await synthesizeToDir({ users: 500, items: 60, seed: 9 }, path.join(root, 'data'));
    mesh = await startMesh({
      portBase: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      baseEnv: {},
      env: { STATE_DIR: path.join(root, 'state'), TRAINING_DATA_ROOT: root, MODEL_ROOT: path.join(root, 'models'), TRAINING_WORK_DIR: path.join(root, 'work'), PROGRESS_INTERVAL_MS: '0' },
    });
    await mesh.bus.subscribe(Subjects.modelPublished, async (m) => void published.push(m), { durable: 'test-probe' });
    clients = connectClients(mesh);
  });
  afterAll(async () => {
    clients?.close();
    await mesh?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('trains a model as a job, streams its progress, lists it and announces it on the bus', async () => {
    const tr = clients.trainer;
    const config = TrainingConfig.fromPartial({
      dataDir: 'data',
      tower: UserTower.USER_TOWER_CONCATENATION,
      userDim: 16,
      lookalikeDim: 16,
      fieldDim: 8,
      attentionSize: 8,
      clusters: 3,
      phase1Epochs: 2,
      phase2Epochs: 1,
      batchSize: 64,
      seed: 3,
    });
    const { job } = await callUnary(tr.startTraining.bind(tr), { config });
    expect(job).toMatchObject({ state: JobState.JOB_STATE_QUEUED, config: { tower: UserTower.USER_TOWER_CONCATENATION, clusters: 3, alpha: 0.3, beta: 0.7 } });

    const updates = await collect<WatchJobResponse>(tr.watchJob({ jobId: job!.jobId }));
    const last = updates.at(-1)!.job!;
    expect(last.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(last.modelVersion).not.toBe('');
    const phases = updates.map((u) => u.job!.progress!.phase);
    expect(phases).toContain(TrainingPhase.TRAINING_PHASE_USER_REPRESENTATION);
    expect(phases).toContain(TrainingPhase.TRAINING_PHASE_LOOKALIKE);
    expect(phases.indexOf(TrainingPhase.TRAINING_PHASE_LOOKALIKE)).toBeGreaterThan(phases.lastIndexOf(TrainingPhase.TRAINING_PHASE_USER_REPRESENTATION));

    const models = await callUnary(tr.listModels.bind(tr), {});
    expect(models.currentVersion).toBe(last.modelVersion);
    expect(models.models[0]).toMatchObject({ modelVersion: last.modelVersion, userDim: 16, lookalikeDim: 16, tower: UserTower.USER_TOWER_CONCATENATION, jobId: job!.jobId });
    expect(models.models[0]!.metrics.validation_auc).toBeGreaterThan(0);
    for (let i = 0; i < 200 && published.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(published.map((p) => p.modelVersion)).toEqual([last.modelVersion]);
    await expect(callUnary(tr.getJob.bind(tr), { jobId: job!.jobId })).resolves.toMatchObject({ job: { state: JobState.JOB_STATE_SUCCEEDED } });
  });

  it('refuses a training request whose data directory does not exist', async () => {
    const tr = clients.trainer;
    const err = await expectStatus(callUnary(tr.startTraining.bind(tr), { config: TrainingConfig.fromPartial({ dataDir: 'nope' }) }), status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/does not exist/);
  });

  it('reads datasets only under TRAINING_DATA_ROOT: absolute paths, .. and symlinks out (of the directory or of a file in it) are refused without probing outside', async () => {
    const tr = clients.trainer;
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-outside-'));
    try {
      await synthesizeToDir({ users: 200, items: 20, seed: 1 }, path.join(outside, 'd'));
      await fs.symlink(path.join(outside, 'd'), path.join(root, 'escape'));
      const refuse = async (dataDir: string, code: status, details: RegExp) => {
        const err = await expectStatus(callUnary(tr.startTraining.bind(tr), { config: TrainingConfig.fromPartial({ dataDir }) }), code);
        expect(err.details).toMatch(details);
      };
      // The same answer whether the outside directory exists or not: no existence oracle.
      await refuse(path.join(outside, 'd'), status.INVALID_ARGUMENT, /relative to TRAINING_DATA_ROOT/);
      await refuse(path.join(outside, 'missing'), status.INVALID_ARGUMENT, /relative to TRAINING_DATA_ROOT/);
      await refuse(`../${path.basename(outside)}/d`, status.INVALID_ARGUMENT, /'\.\.' is not allowed/);
      await refuse(`../${path.basename(outside)}/missing`, status.INVALID_ARGUMENT, /'\.\.' is not allowed/);
      await refuse('escape', status.FAILED_PRECONDITION, /symlink/);
      // A directory inside whose file links out: the request passes, the job's read refuses it.
      await fs.mkdir(path.join(root, 'mixed'));
      for (const f of ['schema.json', 'items.csv', 'events.csv']) await fs.copyFile(path.join(root, 'data', f), path.join(root, 'mixed', f));
      await fs.symlink(path.join(outside, 'd', 'users.csv'), path.join(root, 'mixed', 'users.csv'));
      const { job } = await callUnary(tr.startTraining.bind(tr), { config: TrainingConfig.fromPartial({ dataDir: 'mixed', phase1Epochs: 1, phase2Epochs: 1 }) });
      const last = (await collect<WatchJobResponse>(tr.watchJob({ jobId: job!.jobId }))).at(-1)!.job!;
      expect(last).toMatchObject({ state: JobState.JOB_STATE_FAILED, error: expect.stringMatching(/'users\.csv' is a symlink: refused/) });
      const models = await callUnary(tr.listModels.bind(tr), {});
      expect(models.models).toHaveLength(1);
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });
});
