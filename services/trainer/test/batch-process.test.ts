import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { credentials } from '@grpc/grpc-js';
import { callUnary, checkHealth, openMemoryBus, Subjects } from '@ralm/platform';
import { JobState, TrainerServiceClient } from '@ralm/proto/trainer';
import type { ModelPublished } from '@ralm/proto/events';
import { TINY_JOB_CONFIG, tinyDatasetRoot } from './support/tiny-job';

// A process start loads tsx and tfjs: seconds on two busy cores, so a generous safety net.
jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Run {
  child: ChildProcess;
  /** Every JSON log line so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose msg starts with `msg`. */
  line(msg: string): Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; stderr: string }>;
}

/** The trainer's real main.ts as its own process, as the Kubernetes Job's container runs it. */
function spawnTrainer(env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'trainer', 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GRPC_PORT: '0', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<{ msg: string; resolve: (l: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const entry = JSON.parse(text) as Record<string, unknown>;
    lines.push(entry);
    for (const w of waiting.filter((w) => String(entry.msg).startsWith(w.msg))) w.resolve(entry);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  const line = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find((l) => String(l.msg).startsWith(msg));
      if (seen) return resolve(seen);
      waiting.push({ msg, resolve });
      void exit.then(({ code }) => reject(new Error(`exited with ${code} before logging '${msg}'`)));
    });
  return { child, lines, line, exit };
}

describe('trainer main.ts in batch mode', () => {
  let fixture: Awaited<ReturnType<typeof tinyDatasetRoot>>;
  const running: ChildProcess[] = [];
  const dirs = (name: string) => ({
    MODEL_ROOT: path.join(fixture.root, name, 'models'),
    TRAINING_WORK_DIR: path.join(fixture.root, name, 'work'),
    STATE_DIR: path.join(fixture.root, name, 'state'),
  });
  const start = (env: NodeJS.ProcessEnv) => {
    const run = spawnTrainer(env);
    running.push(run.child);
    return run;
  };

  beforeAll(async () => {
    fixture = await tinyDatasetRoot('ralm-batch-process-');
  });
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await fixture.remove();
  });

  it('trains, logs the backend, publishes on the bus, stops and exits 0', async () => {
    const env = { ...dirs('ok'), TRAINING_JOB_DATA_DIR: fixture.dataDir, TRAINING_JOB_CONFIG: TINY_JOB_CONFIG, TRAINING_JOB_ID: 'ralm-train-ok' };
    const run = start(env);
    await expect(run.exit).resolves.toMatchObject({ code: 0 });
    const msgs = run.lines.map((l) => String(l.msg));
    expect(run.lines.find((l) => String(l.msg).startsWith('tfjs backend: '))).toMatchObject({ backend: expect.stringMatching(/^(tensorflow-gpu|tensorflow|wasm|cpu)$/) });
    const done = run.lines.find((l) => l.msg === 'batch job succeeded')!;
    expect(done).toMatchObject({ jobId: 'ralm-train-ok', published: true, exitCode: 0 });
    expect(msgs.indexOf('health SERVING')).toBeLessThan(msgs.indexOf('batch job started'));
    expect(msgs.indexOf('stopped')).toBeGreaterThan(msgs.indexOf('batch job succeeded'));
    await expect(fs.readdir(env.MODEL_ROOT)).resolves.toEqual([done.modelVersion]);

    // The embedded bus journals under STATE_DIR: reopening it shows what the job announced.
    const bus = await openMemoryBus({ journalDir: path.join(env.STATE_DIR, 'bus') });
    try {
      const announced = await new Promise<ModelPublished>((resolve) => void bus.subscribe(Subjects.modelPublished, async (m) => resolve(m), { durable: 'probe' }));
      expect(announced).toMatchObject({ modelVersion: done.modelVersion, userDim: 16 });
    } finally {
      await bus.close();
    }
  });

  it('serves health, GetJob and metrics while training; SIGTERM cancels the job and exits 143', async () => {
    const env = {
      ...dirs('sigterm'), TRAINING_JOB_DATA_DIR: fixture.dataDir, TRAINING_JOB_ID: 'ralm-train-long',
      TRAINING_JOB_CONFIG: JSON.stringify({ ...JSON.parse(TINY_JOB_CONFIG), phase1Epochs: 1000 }),
    };
    const run = start(env);
    const started = await run.line('service started');
    await run.line('batch job started');
    const address = `127.0.0.1:${started.grpcPort}`;
    await expect(checkHealth(address)).resolves.toBe('SERVING');
    const client = new TrainerServiceClient(address, credentials.createInsecure());
    try {
      const { job } = await callUnary(client.getJob.bind(client), { jobId: 'ralm-train-long' });
      expect(job!.state).toBe(JobState.JOB_STATE_RUNNING);
    } finally {
      client.close();
    }
    const metrics = await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);

    run.child.kill('SIGTERM');
    await expect(run.exit).resolves.toMatchObject({ code: 143 });
    expect(run.lines.find((l) => String(l.msg).startsWith('batch job interrupted'))).toMatchObject({ jobId: 'ralm-train-long', exitCode: 143 });
    expect(run.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    await expect(fs.readdir(env.MODEL_ROOT).catch(() => [])).resolves.toEqual([]);
  });

  it('exits 66 with an error line for a missing data dir', async () => {
    const missing = path.join(fixture.root, 'no-such-dir');
    const run = start({ ...dirs('missing'), TRAINING_JOB_DATA_DIR: missing });
    await expect(run.exit).resolves.toMatchObject({ code: 66 });
    expect(run.lines.find((l) => l.level === 50)).toMatchObject({ msg: `batch job failed: TRAINING_JOB_DATA_DIR '${missing}' does not exist or is not readable` });
  });

  it('refuses a bad TRAINING_JOB_CONFIG with exit code 78, naming the field', async () => {
    const run = start({ ...dirs('bad-config'), TRAINING_JOB_DATA_DIR: fixture.dataDir, TRAINING_JOB_CONFIG: '{"phase1Epochs":-1}' });
    const { code, stderr } = await run.exit;
    expect(code).toBe(78);
    expect(stderr).toMatch(/^trainer: config TRAINING_JOB_CONFIG: phase1Epochs: must be 0 \(default 10\) or an integer in \[1, 1000\], got -1/);
  });
});
