import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { synthesize, type Dataset } from '@ralm/data';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/config';
import { selectBackend } from '../src/backend';
import { loadModel, ModelArtifactError, saveModel } from '../src/artifacts';
import { loadCheckpoint, runKey, saveCheckpoint } from '../src/checkpoint';
import { train, type Checkpoint, type Progress } from '../src/train';

// Training is CPU-bound and the suite runs two workers on two cores: a generous safety net, not a speed check.
jest.setTimeout(180_000);


const SMALL: ModelConfig = {
  ...DEFAULT_MODEL_CONFIG,
  userDim: 32,
  lookalikeDim: 32,
  fieldDim: 16,
  attentionSize: 16,
  hidden: [64],
  clusters: 5,
  phase1Epochs: 4,
  phase2Epochs: 3,
  batchSize: 128,
  learningRate: 0.005,
  seed: 3,
};

describe('training on a small synthetic task', () => {
  let dataset: Dataset;
  let dir: string;
  beforeAll(async () => {
    await selectBackend();
    dataset = synthesize({ users: 1500, items: 150, seed: 11 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-train-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('learns in both phases: loss falls and held-out AUC is well above 0.5; save → load is bit-identical; corruption is refused', async () => {
    const epochEnd: Progress[] = [];
    const model = await train(dataset, SMALL, { onProgress: (p) => p.batch === p.batches && epochEnd.push(p) });
    const phase1 = epochEnd.filter((p) => p.phase === 'user_representation');
    const phase2 = epochEnd.filter((p) => p.phase === 'lookalike');
    expect(phase1.at(-1)!.loss).toBeLessThan(phase1[0]!.loss * 0.85);
    expect(phase2.at(-1)!.loss).toBeLessThan(phase2[0]!.loss);
    expect(model.info.metrics.phase1_validation_auc).toBeGreaterThan(0.65);
    expect(model.info.metrics.validation_auc).toBeGreaterThan(0.62);
    expect(model.info.temperature).toBeGreaterThan(0);

    const out = path.join(dir, 'model');
    const manifest = await saveModel(model, out);
    expect(manifest.version).toMatch(/^\d{8}T\d{6}-[0-9a-f]{8}$/);
    const loaded = await loadModel(out);
    const probe = [
      { gender: dataset.users.fields.get('gender')!.values[0] as string, interest_tags: ['no-such-tag'], age: 35 },
      {},
    ];
    const a = model.embedFeatures(probe);
    const b = loaded.embedFeatures(probe);
    expect(Buffer.from(b.universal.buffer).equals(Buffer.from(a.universal.buffer))).toBe(true);
    expect(Buffer.from(b.lookalike.buffer).equals(Buffer.from(a.lookalike.buffer))).toBe(true);
    expect(Buffer.from(loaded.store.lookalike.buffer).equals(Buffer.from(model.store.lookalike.buffer))).toBe(true);
    const k = SMALL.clusters;
    const centroids = Float32Array.from(model.store.universal.subarray(0, k * SMALL.userDim));
    const mask = new Float32Array(k).fill(1);
    const u = model.store.universal.subarray(SMALL.userDim * 10, SMALL.userDim * 11);
    expect(Array.from(loaded.scoreWithCentroids(u, centroids, mask, k))).toEqual(Array.from(model.scoreWithCentroids(u, centroids, mask, k)));
    loaded.dispose();

    // A file replaced by a symlink (even to identical bytes) is refused: it could lead out of MODEL_ROOT.
    const vocab = path.join(out, 'vocab.json');
    const outside = `${out}-vocab-outside.json`;
    await fs.copyFile(vocab, outside);
    await fs.rm(vocab);
    await fs.symlink(outside, vocab);
    await expect(loadModel(out)).rejects.toThrow(/vocab\.json is not a regular file/);
    await fs.rm(vocab);
    await fs.rename(outside, vocab);

    // Flip one byte of the weights: refused, naming the file.
    const weights = path.join(out, 'weights.bin');
    const bytes = await fs.readFile(weights);
    bytes[100] = bytes[100]! ^ 0xff;
    await fs.writeFile(weights, bytes);
    await expect(loadModel(out)).rejects.toThrow(/weights\.bin does not match its sha256 checksum/);
    // Truncate the embeddings: refused.
    await fs.truncate(path.join(out, 'universal.f32'), 64);
    await expect(loadModel(out)).rejects.toBeInstanceOf(ModelArtifactError);
    await fs.writeFile(path.join(out, 'manifest.json'), '{"format":"something-else"}');
    await expect(loadModel(out)).rejects.toThrow(/manifest\.json format/);
    model.dispose();
  });

  it('resumes from a checkpoint after an interruption and ends bit-for-bit where an uninterrupted run ends', async () => {
    const config: ModelConfig = { ...SMALL, phase1Epochs: 2, phase2Epochs: 2 };
    const reference = await train(dataset, config);
    const key = runKey(dataset.fingerprint, config);
    const ckpt = path.join(dir, 'ckpt');
    const abort = new AbortController();
    let saved = 0;
    await expect(
      train(dataset, config, {
        signal: abort.signal,
        onCheckpoint: async (c: Checkpoint) => {
          await saveCheckpoint(ckpt, key, c);
          // Interrupt in the middle of phase 2, after its first epoch was checkpointed.
          if (c.phase === 'lookalike' && c.epochsDone === 1) abort.abort(new Error('interrupted'));
          saved++;
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(saved).toBeGreaterThanOrEqual(3);
    expect(await loadCheckpoint(ckpt, 'another-run')).toBeUndefined();
    const resumeFrom = await loadCheckpoint(ckpt, key);
    expect(resumeFrom).toMatchObject({ phase: 'lookalike', epochsDone: 1 });
    const resumed = await train(dataset, config, { resumeFrom });
    const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    expect(same(resumed.store.universal, reference.store.universal)).toBe(true);
    expect(same(resumed.store.lookalike, reference.store.lookalike)).toBe(true);
    for (const [name, w] of reference.lookalike.params.read()) expect(same(resumed.lookalike.params.read().get(name)!.values, w.values)).toBe(true);
    reference.dispose();
    resumed.dispose();
  });
});
