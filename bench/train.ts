/**
 * Training throughput of both phases for the reference configuration
 * (6 fields, d = h = 128, 20,000 items, batch 256) on each tfjs backend
 * available here, then the phase-1 step in PyTorch (bench/peers/train.py,
 * Debian python3-torch, one thread) on the same model, weights and batches.
 * Prints samples/s, the ratios between backends and RALM / PyTorch, measured
 * in one run (shared machines are noisy: compare within a run).
 *
 *   npx tsx bench/train.ts [--users N] [--backends wasm,cpu] [--batches N] [--no-pytorch]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { synthesize, type Dataset } from '@ralm/data';
import { DEFAULT_MODEL_CONFIG, LogUniformSampler, RalmModel, Rng, buildFeatureSchema, rankItemsByClicks, selectBackend, train, type ModelConfig, type Progress } from '@ralm/model';
import { Adam } from '@ralm/model/adam';
import { candidateLogits, phase1Step, sampleCandidates, sampledSoftmaxLoss } from '@ralm/model/phase1';
import { prepareTrainingData } from '@ralm/model/split';
import { arg } from './common';

const users = Number(arg('users', '12000'));
const backends = arg('backends', 'wasm,cpu').split(',') as Array<'wasm' | 'cpu'>;
/** Batches timed per phase after the warm-up ones (the first batches pay for kernel compilation and allocation). */
const timed = Number(arg('batches', '30'));
const warmup = 3;
const withPytorch = !process.argv.includes('--no-pytorch');
const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, phase1Epochs: 1, phase2Epochs: 1, seed: 1 };
const PYTHON = '/usr/bin/python3';

interface Measured {
  backend: 'wasm' | 'cpu';
  threads: number;
  phase1: number;
  phase2: number;
  betweenSeconds: number;
  /** Trainable parameters of phase 1: the user tower and the item table. */
  phase1Params: number;
}

const sizeOf = (vars: tf.Variable[]) => vars.reduce((s, v) => s + v.size, 0);

/** Threads the backend computes on: the wasm module's pool (1 unless it loaded the threaded build), the cpu backend's JavaScript thread. */
async function threadsOf(backend: 'wasm' | 'cpu'): Promise<number> {
  if (backend === 'cpu') return 1;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}

async function measure(backend: 'wasm' | 'cpu', dataset: Dataset): Promise<Measured> {
  await selectBackend(backend);
  const marks: Record<Progress['phase'], { t0?: number; n0?: number; t1?: number; n1?: number }> = { user_representation: {}, lookalike: {} };
  const abort = new AbortController();
  let lastPhase1 = 0;
  let firstPhase2 = 0;
  let phase1Params = 0;
  await train(dataset, config, {
    signal: abort.signal,
    onBatchEnd: (model) => {
      if (!phase1Params) phase1Params = sizeOf([...model.tower.params.variables(), ...model.itemParams.variables()]);
    },
    onProgress: (p) => {
      const m = marks[p.phase];
      const samples = p.batch * config.batchSize;
      if (p.phase === 'user_representation') lastPhase1 = performance.now();
      else if (!firstPhase2) firstPhase2 = performance.now();
      if (p.batch === warmup) Object.assign(m, { t0: performance.now(), n0: samples });
      if (p.batch === warmup + timed || (p.batch === p.batches && m.t1 === undefined && p.batch > warmup)) {
        Object.assign(m, { t1: performance.now(), n1: samples });
        if (p.phase === 'lookalike') abort.abort(new Error('measured'));
      }
    },
  }).catch((err: Error) => {
    if (err.message !== 'measured') throw err;
  });
  const rate = (m: (typeof marks)['lookalike']) => (m.t1 && m.t0 ? ((m.n1! - m.n0!) * 1000) / (m.t1 - m.t0) : Number.NaN);
  return { backend, threads: await threadsOf(backend), phase1: rate(marks.user_representation), phase2: rate(marks.lookalike), betweenSeconds: (firstPhase2 - lastPhase1) / 1000, phase1Params };
}

/** Typed arrays packed into one file, each named in the manifest by dtype, byte offset and shape. */
class Blob {
  private readonly chunks: Buffer[] = [];
  private offset = 0;

  add(values: Float32Array | Int32Array, shape: number[]): { dtype: 'float32' | 'int32'; offset: number; shape: number[] } {
    const ref = { dtype: values instanceof Float32Array ? ('float32' as const) : ('int32' as const), offset: this.offset, shape };
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    this.chunks.push(Buffer.from(bytes)); // a copy: the caller's array may be a view that changes
    this.offset += bytes.byteLength;
    return ref;
  }

  write(file: string): void {
    fs.writeFileSync(file, Buffer.concat(this.chunks));
  }
}

interface PeerResult {
  check: { loss: number; ralm_loss: number; max_grad_rel_diff: number; max_weight_diff_in_lr: number };
  bench: {
    samples_per_s: number; seconds: number; batches: number; warmup: number; batch_size: number; params: number; first_loss: number; last_loss: number;
    threads: number; interop_threads: number; torch: string; blas: string; cpu_capability: string;
  };
}

/**
 * Writes what the PyTorch reference needs to run exactly RALM's phase-1 step: the
 * configuration, RALM's initial weights by name, PEER_BATCHES real phase-1 batches as
 * RALM's encoder makes them, the item ranking the negative sampler uses, and one
 * step of RALM's (candidates, loss, gradients of every parameter, weights after one
 * Adam step) on `backend` to check the reference against.
 */
const PEER_BATCHES = 8;

function writePeerInputs(dataset: Dataset, dir: string): void {
  const data = prepareTrainingData(dataset, config);
  const schema = buildFeatureSchema(dataset.schema.fields, dataset.users, data.trainUsers);
  const info = { version: '', createdAtMs: 0, dataFingerprint: dataset.fingerprint, jobId: 'bench', metrics: {}, temperature: 0 };
  const model = new RalmModel(config, schema, dataset.items.ids, info, { userIds: [], universal: new Float32Array(0), lookalike: new Float32Array(0) });
  try {
    const blob = new Blob();
    const weights: Record<string, ReturnType<Blob['add']>> = {};
    for (const params of [model.tower.params, model.itemParams]) for (const [name, w] of params.read()) weights[name] = blob.add(w.values, w.shape);

    const { itemOfRank } = rankItemsByClicks(data.clicksPerItem);
    const rng = new Rng(config.seed * 7919);
    const n = data.phase1.users.length;
    const order = Int32Array.from({ length: n }, (_, i) => i);
    rng.shuffle(order);
    const B = config.batchSize;
    const encodedBatches = Array.from({ length: PEER_BATCHES }, (_, b) => {
      const idx = Int32Array.from({ length: B }, (_, i) => order[(b * B + i) % n]!);
      const positives = Int32Array.from(idx, (i) => data.phase1.items[i]!);
      const encoded = model.encoder.encodeRows(dataset.users, Int32Array.from(idx, (i) => data.phase1.users[i]!));
      return { positives, encoded };
    });
    const batches = encodedBatches.map(({ positives, encoded }) => ({
      positives: blob.add(positives, [B]),
      present: blob.add(encoded.present, [B, schema.fields.length]),
      fields: encoded.fields.map((f) =>
        f.kind === 'continuous'
          ? { values: blob.add(f.values, [B]) }
          : f.kind === 'univalent'
            ? { ids: blob.add(f.ids, [B]) }
            : { ids: blob.add(f.ids, [B, f.width]), weights: blob.add(f.weights, [B, f.width]) },
      ),
    }));

    // RALM's step on batch 0: gradients as phase1Step's Adam receives them, then the step itself.
    const width = config.negativesPerPositive + 1;
    const { positives, encoded } = encodedBatches[0]!;
    const candidates = sampleCandidates(positives, config.negativesPerPositive, new LogUniformSampler(itemOfRank.length), itemOfRank, rng);
    const vars = new Map([...model.tower.params.named(), ...model.itemParams.named()]);
    const lossFn = () => sampledSoftmaxLoss(candidateLogits(model.tower.apply(encoded), model.itemTable, candidates.items, width), candidates.valid);
    const grads: Record<string, ReturnType<Blob['add']>> = {};
    const checkLoss = tf.tidy(() => {
      const { value, grads: g } = tf.variableGrads(lossFn, [...vars.values()]);
      for (const [name, v] of vars) grads[name] = blob.add(g[v.name]!.dataSync() as Float32Array, v.shape);
      return value.dataSync()[0]!;
    });
    const adam = new Adam(config.learningRate);
    phase1Step(model.tower, model.itemParams, adam, { users: encoded, positives }, candidates, width);
    adam.dispose();
    const after: Record<string, ReturnType<Blob['add']>> = {};
    for (const params of [model.tower.params, model.itemParams]) for (const [name, w] of params.read()) after[name] = blob.add(w.values, w.shape);

    const manifest = {
      config: {
        batchSize: B, items: dataset.items.ids.length, negativesPerPositive: config.negativesPerPositive, hidden: config.hidden,
        learningRate: config.learningRate, beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon,
      },
      fields: schema.fields.map((f) => ({ name: f.name, kind: f.kind, vocabulary: f.ids.length })),
      itemOfRank: blob.add(itemOfRank, [itemOfRank.length]),
      weights,
      batches,
      check: { batch: 0, items: blob.add(candidates.items, [B, width]), valid: blob.add(candidates.valid, [B, width]), loss: checkLoss, grads, after },
    };
    blob.write(path.join(dir, 'arrays.bin'));
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  } finally {
    model.dispose();
  }
}

/** The PyTorch reference, or why it could not run (`make bench-train` installs python3-torch). */
function runPytorch(dir: string): PeerResult | string {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const run = spawnSync(PYTHON, [path.join(__dirname, 'peers', 'train.py'), dir, String(warmup), String(timed)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    maxBuffer: 1 << 20,
  });
  if (run.error) return `${PYTHON} did not run (${run.error.message})`;
  if (run.status !== 0) return run.stderr.trim().split('\n').pop() ?? `exit status ${run.status}`;
  const out: Partial<PeerResult> = {};
  for (const line of run.stdout.trim().split('\n')) Object.assign(out, JSON.parse(line) as Partial<PeerResult>);
  return out.check && out.bench ? (out as PeerResult) : `unexpected output: ${run.stdout.trim().slice(0, 200)}`;
}

async function pytorchPeer(dataset: Dataset, results: Measured[]): Promise<void> {
  // The check runs against RALM's step on wasm, the backend training targets, when it was measured.
  const checkBackend = results.some((r) => r.backend === 'wasm') ? 'wasm' : results[0]!.backend;
  await selectBackend(checkBackend);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-bench-train-'));
  try {
    writePeerInputs(dataset, dir);
    const peer = runPytorch(dir);
    if (typeof peer === 'string') {
      console.log(`PyTorch reference skipped: ${peer}; \`make bench-train\` installs python3-torch (Debian) — no RALM / PyTorch ratio this run`);
      return;
    }
    const b = peer.bench;
    const c = peer.check;
    console.log(
      `pytorch phase 1: ${b.samples_per_s.toFixed(0).padStart(6)} samples/s   (bench/peers/train.py: torch ${b.torch}, CPU, single-threaded: ${b.threads} intra-op / ${b.interop_threads} inter-op thread, ` +
        `BLAS ${b.blas}, ${b.cpu_capability}; ${b.batches} timed batches of ${b.batch_size} after ${b.warmup} warm-up, the same weights and encoded batches as RALM, eager mode)`,
    );
    const ralmParams = results[0]!.phase1Params;
    console.log(`phase-1 parameters: RALM ${ralmParams.toLocaleString('en-US')}, PyTorch ${b.params.toLocaleString('en-US')} (${ralmParams === b.params ? 'equal' : 'DIFFERENT'})`);
    console.log(
      `same step, same batch and weights (RALM on ${checkBackend}): loss RALM ${c.ralm_loss.toFixed(6)} / PyTorch ${c.loss.toFixed(6)}; gradients differ by at most ` +
        `${c.max_grad_rel_diff.toExponential(1)} of each parameter's largest; weights after one Adam step by at most ${c.max_weight_diff_in_lr.toExponential(1)} × lr`,
    );
    const ratios = results.map((r) => `${r.backend} (${r.threads} thread${r.threads === 1 ? '' : 's'}) ×${(r.phase1 / b.samples_per_s).toFixed(2)}`);
    console.log(`RALM / PyTorch, phase 1 (samples/s, this run): ${ratios.join(', ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  console.log(`bench/train: ${os.cpus().length} cores (${os.cpus()[0]?.model}), node ${process.version}`);
  console.log(`reference config: 6 fields, d = h = 128, m = 32, 20,000 items, ${users} users, batch 256, k = 20; ${timed} timed batches per phase after ${warmup} warm-up`);
  const dataset = synthesize({ users, items: 20_000, seed: 2026 });
  const results: Measured[] = [];
  for (const b of backends) {
    const r = await measure(b, dataset);
    results.push(r);
    console.log(
      `${b.padEnd(7)} phase 1: ${r.phase1.toFixed(0).padStart(6)} samples/s   phase 2: ${r.phase2.toFixed(0).padStart(6)} samples/s   ` +
        `between phases (phase-1 validation, embedding every user, first k-means of every item's seeds): ${r.betweenSeconds.toFixed(1)} s   (${r.threads} thread${r.threads === 1 ? '' : 's'})`,
    );
  }
  const wasm = results.find((r) => r.backend === 'wasm');
  const cpu = results.find((r) => r.backend === 'cpu');
  if (wasm && cpu) console.log(`wasm / cpu: phase 1 ×${(wasm.phase1 / cpu.phase1).toFixed(1)}, phase 2 ×${(wasm.phase2 / cpu.phase2).toFixed(1)}`);
  if (wasm) console.log(`targets on wasm: phase 1 ≥ 2,000 samples/s (${wasm.phase1 >= 2000 ? 'met' : 'NOT met'}), phase 2 ≥ 500 samples/s (${wasm.phase2 >= 500 ? 'met' : 'NOT met'})`);
  if (withPytorch && results.length > 0) await pytorchPeer(dataset, results);
})();
