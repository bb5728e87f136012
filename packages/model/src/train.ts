import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@ralm/data';
import { Adam, type NamedWeights } from './adam';
import { auc, itemAveragedAuc } from './auc';
import type { ModelConfig } from './config';
import { buildFeatureSchema } from './features';
import { RalmModel } from './model';
import { candidateLogits, phase1Step, sampleCandidates, sampledSoftmaxLoss } from './phase1';
import { Rng } from './rng';
import { LogUniformSampler, rankItemsByClicks } from './sampler';
import { centroidsForSamples, clusterItemSeeds, type ItemClusters } from './seed-clusters';
import { prepareTrainingData, type TrainingData } from './split';

export type Phase = 'user_representation' | 'lookalike';

export interface Progress {
  phase: Phase;
  /** 1-based */
  epoch: number;
  epochs: number;
  /** 1-based within the epoch */
  batch: number;
  batches: number;
  /** Mean training loss over the epoch so far. */
  loss: number;
  /** Last validation AUC of this phase; NaN before the first epoch ends. */
  validationAuc: number;
  samplesPerSecond: number;
}

/** What a run can resume from: written after every epoch. */
export interface Checkpoint {
  phase: Phase;
  /** Epochs of `phase` completed. */
  epochsDone: number;
  weights: NamedWeights;
  /** Adam state of the phase in progress (step count and moments), by name. */
  optimizer: NamedWeights;
  /** Universal embeddings of all users, once phase 1 is done. */
  universal?: Float32Array;
  validationAuc: Record<Phase, number>;
  /**
   * The phase-2 weights with the best validation AUC so far, counting the untrained start
   * (epoch 0), and that AUC: training ends on them, so it never leaves a model worse on
   * held-out users than where it began.
   */
  best?: { epoch: number; auc: number; weights: NamedWeights };
  /** Validation AUC of phase 2 before its first step (calibrated offset, initial W_t). */
  phase2StartAuc?: number;
}

export interface TrainHooks {
  onProgress?(progress: Progress): void;
  /** Called after every batch with the model as it stands (evaluation curves use it); keep it cheap or sparse. */
  onBatchEnd?(model: RalmModel, progress: Progress): void;
  onCheckpoint?(checkpoint: Checkpoint): Promise<void>;
  resumeFrom?: Checkpoint;
  /** Aborting stops at the next batch with the signal's reason. */
  signal?: AbortSignal;
  /**
   * A time limit per phase (epoch ms, by `now`): past it the phase ends after the batch in
   * progress (its validation still runs) and starts no further epoch; the model's metrics
   * record `<phase>_stopped_at_deadline`. `ralm eval --budget-minutes` holds by this.
   */
  deadline?: (phase: Phase) => number;
  /** Identifies the run in the model's info. */
  jobId?: string;
  now?: () => number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Deterministic per-(phase, epoch) generator, so a resumed run draws what the uninterrupted one would have. */
function epochRng(seed: number, phase: Phase, epoch: number): Rng {
  return new Rng(seed * 7919 + (phase === 'lookalike' ? 100_003 : 0) + epoch * 131);
}

function batches(n: number, size: number): number {
  return Math.ceil(n / size);
}

/**
 * Trains RALM end to end (spec §2–4): phase 1 learns the user tower with
 * sampled softmax over rank-sampled negatives; phase 2 learns the look-alike
 * model on fixed universal embeddings, re-clustering every item's seeds at the
 * start of every epoch.
 */
export async function train(dataset: Dataset, config: ModelConfig, hooks: TrainHooks = {}): Promise<RalmModel> {
  const now = hooks.now ?? Date.now;
  const data = prepareTrainingData(dataset, config);
  if (data.phase1.users.length === 0) throw new Error('the training users have no clicks (label 1 events): nothing to learn from');
  const schema = buildFeatureSchema(dataset.schema.fields, dataset.users, data.trainUsers);
  const model = new RalmModel(config, schema, dataset.items.ids, {
    version: '',
    createdAtMs: 0,
    dataFingerprint: dataset.fingerprint,
    jobId: hooks.jobId ?? '',
    metrics: {},
    temperature: config.temperature ?? 0,
  }, { userIds: dataset.users.ids, universal: new Float32Array(0), lookalike: new Float32Array(0) });

  const late = (phase: Phase) => hooks.deadline !== undefined && now() >= hooks.deadline(phase);
  const stopped = (phase: Phase) => (model.info.metrics[`${phase}_stopped_at_deadline`] = 1);
  const resume = hooks.resumeFrom;
  if (resume) for (const p of model.allParams()) p.write(resume.weights);
  const validationAuc: Record<Phase, number> = resume?.validationAuc ?? { user_representation: Number.NaN, lookalike: Number.NaN };

  const checkpoint = async (phase: Phase, epochsDone: number, optimizer: Adam, universal?: Float32Array, phase2?: Phase2State) => {
    if (!hooks.onCheckpoint) return;
    const weights: NamedWeights = new Map();
    for (const p of model.allParams()) for (const [k, v] of p.read()) weights.set(k, v);
    await hooks.onCheckpoint({
      phase, epochsDone, weights, optimizer: optimizer.read(), universal, validationAuc: { ...validationAuc }, best: phase2?.best, phase2StartAuc: phase2?.startAuc,
    });
  };

  let universal: Float32Array;
  const phase1Done = resume?.phase === 'lookalike' || (resume?.phase === 'user_representation' && resume.epochsDone >= config.phase1Epochs);
  if (!phase1Done) {
    const optimizer = new Adam(config.learningRate);
    if (resume?.phase === 'user_representation') optimizer.write(resume.optimizer);
    const start = resume?.phase === 'user_representation' ? resume.epochsDone : 0;
    for (let epoch = start; epoch < config.phase1Epochs; epoch++) {
      if (late('user_representation')) {
        stopped('user_representation');
        break;
      }
      validationAuc.user_representation = await phase1Epoch(model, data, config, optimizer, epoch, { ...hooks, late: () => late('user_representation') }, validationAuc.user_representation);
      await checkpoint('user_representation', epoch + 1, optimizer);
    }
    optimizer.dispose();
    universal = embedAllUsers(model, data);
    model.info.metrics.phase1_validation_auc = validationAuc.user_representation;
  } else {
    universal = resume!.universal ?? embedAllUsers(model, data);
  }

  {
    const optimizer = new Adam(config.learningRate);
    const start = resume?.phase === 'lookalike' ? resume.epochsDone : 0;
    if (resume?.phase === 'lookalike') optimizer.write(resume.optimizer);
    if (start === 0) await checkpoint('lookalike', 0, optimizer, universal);
    const state: Phase2State = { best: resume?.phase === 'lookalike' ? resume.best : undefined, startAuc: resume?.phase2StartAuc };
    for (let epoch = start; epoch < config.phase2Epochs; epoch++) {
      // Epoch 0 always starts: it calibrates and measures the untrained start.
      if (epoch > 0 && late('lookalike')) {
        stopped('lookalike');
        break;
      }
      validationAuc.lookalike = await phase2Epoch(model, data, config, optimizer, universal, epoch, { ...hooks, late: () => late('lookalike') }, validationAuc.lookalike, state);
      await checkpoint('lookalike', epoch + 1, optimizer, universal, state);
    }
    optimizer.dispose();
    if (state.best && !(validationAuc.lookalike >= state.best.auc)) {
      model.lookalike.params.write(state.best.weights);
      validationAuc.lookalike = state.best.auc;
    }
    if (state.startAuc !== undefined) model.info.metrics.phase2_start_validation_auc = state.startAuc;
    if (state.best) model.info.metrics.phase2_best_epoch = state.best.epoch;
  }

  model.store = { userIds: dataset.users.ids, universal, lookalike: transformAll(model, universal) };
  model.info.metrics.phase1_validation_auc = validationAuc.user_representation;
  model.info.metrics.validation_auc = validationAuc.lookalike;
  model.info.temperature = model.learnedTemperature();
  model.info.createdAtMs = now();
  return model;
}

type EpochHooks = TrainHooks & { late(): boolean };

async function phase1Epoch(model: RalmModel, data: TrainingData, config: ModelConfig, optimizer: Adam, epoch: number, hooks: EpochHooks, lastAuc: number): Promise<number> {
  const rng = epochRng(config.seed, 'user_representation', epoch);
  const { itemOfRank } = rankItemsByClicks(data.clicksPerItem);
  const sampler = new LogUniformSampler(itemOfRank.length);
  const n = data.phase1.users.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  const width = config.negativesPerPositive + 1;
  const total = batches(n, config.batchSize);
  let lossSum = 0;
  const started = performance.now();
  for (let b = 0; b < total; b++) {
    if (hooks.signal?.aborted) throw hooks.signal.reason;
    if (b > 0 && hooks.late()) break;
    const idx = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
    const users = Int32Array.from(idx, (i) => data.phase1.users[i]!);
    const positives = Int32Array.from(idx, (i) => data.phase1.items[i]!);
    const candidates = sampleCandidates(positives, config.negativesPerPositive, sampler, itemOfRank, rng);
    const encoded = model.encoder.encodeRows(data.dataset.users, users);
    lossSum += phase1Step(model.tower, model.itemParams, optimizer, { users: encoded, positives }, candidates, width);
    const progress: Progress = {
      phase: 'user_representation', epoch: epoch + 1, epochs: config.phase1Epochs, batch: b + 1, batches: total,
      loss: lossSum / (b + 1), validationAuc: lastAuc, samplesPerSecond: (Math.min((b + 1) * config.batchSize, n) * 1000) / (performance.now() - started),
    };
    hooks.onProgress?.(progress);
    hooks.onBatchEnd?.(model, progress);
    await yieldToEventLoop();
  }
  return phase1ValidationAuc(model, data, config, rng, sampler, itemOfRank);
}

/** AUC of u·x for held-out users' positives against negatives drawn the way training draws them. */
function phase1ValidationAuc(model: RalmModel, data: TrainingData, config: ModelConfig, rng: Rng, sampler: LogUniformSampler, itemOfRank: Int32Array): number {
  const v = data.phase1Validation;
  const limit = Math.min(v.users.length, 20_000);
  if (limit === 0) return Number.NaN;
  const width = config.negativesPerPositive + 1;
  const scores: number[] = [];
  const labels: number[] = [];
  for (let start = 0; start < limit; start += 1024) {
    const users = v.users.subarray(start, Math.min(limit, start + 1024));
    const positives = v.items.subarray(start, Math.min(limit, start + 1024));
    const { items, valid } = sampleCandidates(positives, config.negativesPerPositive, sampler, itemOfRank, rng);
    const logits = tf.tidy(() => candidateLogits(model.tower.apply(model.encoder.encodeRows(data.dataset.users, users)), model.itemTable, items, width).dataSync());
    for (let i = 0; i < logits.length; i++) {
      if (!valid[i]) continue;
      scores.push(logits[i]!);
      labels.push(i % width === 0 ? 1 : 0);
    }
  }
  return auc(scores, labels);
}

function embedAllUsers(model: RalmModel, data: TrainingData): Float32Array {
  const nUsers = data.dataset.users.ids.length;
  const d = model.config.userDim;
  const out = new Float32Array(nUsers * d);
  for (let start = 0; start < nUsers; start += 2048) {
    const rows = Int32Array.from({ length: Math.min(2048, nUsers - start) }, (_, i) => start + i);
    out.set(tf.tidy(() => model.tower.apply(model.encoder.encodeRows(data.dataset.users, rows)).dataSync() as Float32Array), start * d);
  }
  return out;
}

function transformAll(model: RalmModel, universal: Float32Array): Float32Array {
  const d = model.config.userDim;
  const n = universal.length / d;
  const out = new Float32Array(n * model.config.lookalikeDim);
  for (let start = 0; start < n; start += 8192) {
    const rows = Math.min(8192, n - start);
    const block = universal.subarray(start * d, (start + rows) * d);
    out.set(tf.tidy(() => model.lookalike.transform(tf.tensor2d(block, [rows, d])).dataSync() as Float32Array), start * model.config.lookalikeDim);
  }
  return out;
}

/** What phase 2 carries from epoch to epoch besides the weights. */
interface Phase2State {
  best?: { epoch: number; auc: number; weights: NamedWeights };
  startAuc?: number;
}

/** Keeps the phase-2 weights when `auc` beats the best so far (NaN never does). */
function keepIfBest(model: RalmModel, state: Phase2State, epoch: number, auc: number): void {
  if (!(auc > (state.best?.auc ?? -Infinity))) return;
  state.best = { epoch, auc, weights: model.lookalike.params.read() };
}

/** Mean score of up to `limit` samples under the current weights and clusters. */
function meanScore(model: RalmModel, clusters: ItemClusters, universal: Float32Array, config: ModelConfig, users: Int32Array, items: Int32Array, labels: Float32Array, limit: number): number {
  let sum = 0;
  let n = 0;
  for (let start = 0; start < Math.min(limit, users.length); start += 1024) {
    const end = Math.min(limit, users.length, start + 1024);
    const batch = phase2Batch(clusters, universal, config, users.subarray(start, end), items.subarray(start, end), labels.subarray(start, end));
    if (batch.size > 0) {
      const s = tf.tidy(() => model.lookalike.score(batch.u, batch.centroids, batch.mask, batch.sizes).score.dataSync());
      for (let i = 0; i < s.length; i++) sum += s[i]!;
      n += s.length;
    }
    batch.dispose();
  }
  return n ? sum / n : 0;
}

async function phase2Epoch(
  model: RalmModel, data: TrainingData, config: ModelConfig, optimizer: Adam, universal: Float32Array, epoch: number, hooks: EpochHooks, lastAuc: number, state: Phase2State,
): Promise<number> {
  const rng = epochRng(config.seed, 'lookalike', epoch);
  // Iterative training: clusters follow the current transform.
  const clusters = clusterItemSeeds(data.seeds, universal, transformAll(model, universal), config.userDim, config.lookalikeDim, config.clusters, config.maxSeedsPerItem, rng);
  const s = data.phase2;
  const all = Int32Array.from({ length: s.users.length }, (_, i) => i);
  rng.shuffle(all);
  const order = config.phase2SamplesPerEpoch > 0 ? all.subarray(0, config.phase2SamplesPerEpoch) : all;
  if (epoch === 0) {
    const sample = order.subarray(0, 8192);
    const users = Int32Array.from(sample, (i) => s.users[i]!);
    const items = Int32Array.from(sample, (i) => s.items[i]!);
    const labels = Float32Array.from(sample, (i) => s.labels[i]!);
    let clicks = 0;
    for (let i = 0; i < s.labels.length; i++) clicks += s.labels[i]!;
    model.lookalike.calibrate(meanScore(model, clusters, universal, config, users, items, labels, sample.length), clicks / Math.max(1, s.labels.length));
    state.startAuc = phase2ValidationAuc(model, data, config, clusters, universal);
    keepIfBest(model, state, 0, state.startAuc);
  }
  const total = batches(order.length, config.batchSize);
  let lossSum = 0;
  let trained = 0;
  const started = performance.now();
  const vars = model.lookalike.params.named();
  const offsets = config.phase2ItemOffset ? itemOffsets(data) : undefined;
  for (let b = 0; b < total; b++) {
    if (hooks.signal?.aborted) throw hooks.signal.reason;
    if (b > 0 && hooks.late()) break;
    const idx = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
    const batch = phase2Batch(clusters, universal, config, Int32Array.from(idx, (i) => s.users[i]!), Int32Array.from(idx, (i) => s.items[i]!), Float32Array.from(idx, (i) => s.labels[i]!), offsets);
    if (batch.size > 0) {
      const loss = optimizer.minimize(() => model.lookalike.loss(model.lookalike.score(batch.u, batch.centroids, batch.mask, batch.sizes).score, batch.labels, batch.offset), vars);
      lossSum += loss * batch.size;
      trained += batch.size;
    }
    batch.dispose();
    const progress: Progress = {
      phase: 'lookalike', epoch: epoch + 1, epochs: config.phase2Epochs, batch: b + 1, batches: total,
      loss: trained ? lossSum / trained : Number.NaN, validationAuc: lastAuc, samplesPerSecond: (trained * 1000) / (performance.now() - started),
    };
    hooks.onProgress?.(progress);
    hooks.onBatchEnd?.(model, progress);
    await yieldToEventLoop();
  }
  const validation = phase2ValidationAuc(model, data, config, clusters, universal);
  keepIfBest(model, state, epoch + 1, validation);
  return validation;
}

/** Prior strength (in samples) pulling an item's click rate to the overall one in `itemOffsets`. */
const OFFSET_PRIOR_SAMPLES = 20;

/** Per item, logit(smoothed click rate of its phase-2 samples) − logit(overall rate). */
function itemOffsets(data: TrainingData): Float32Array {
  const s = data.phase2;
  const n = new Float64Array(data.dataset.items.ids.length);
  const clicks = new Float64Array(n.length);
  let total = 0;
  for (let i = 0; i < s.items.length; i++) {
    n[s.items[i]!]!++;
    clicks[s.items[i]!]! += s.labels[i]!;
    total += s.labels[i]!;
  }
  const clamp = (p: number) => Math.min(1 - 1e-4, Math.max(1e-4, p));
  const p = clamp(total / Math.max(1, s.items.length));
  const logit = (x: number) => Math.log(x / (1 - x));
  return Float32Array.from(n, (count, i) => logit(clamp((clicks[i]! + OFFSET_PRIOR_SAMPLES * p) / (count + OFFSET_PRIOR_SAMPLES))) - logit(p));
}

/** Tensors of one phase-2 batch, keeping only samples whose item still has a cluster after removing the target. */
function phase2Batch(clusters: ItemClusters, universal: Float32Array, config: ModelConfig, users: Int32Array, items: Int32Array, labels: Float32Array, offsets?: Float32Array) {
  const { centroids, mask, sizes, usable } = centroidsForSamples(clusters, universal, users, items);
  const keep: number[] = [];
  usable.forEach((ok, b) => ok && keep.push(b));
  const k = clusters.k;
  const d = config.userDim;
  const B = keep.length;
  const u = new Float32Array(B * d);
  const c = new Float32Array(B * k * d);
  const m = new Float32Array(B * k);
  const n = new Float32Array(B * k);
  const y = new Float32Array(B);
  const o = new Float32Array(B);
  const keptItems = new Int32Array(B);
  keep.forEach((b, r) => {
    keptItems[r] = items[b]!;
    if (offsets) o[r] = offsets[items[b]!]!;
    u.set(universal.subarray(users[b]! * d, users[b]! * d + d), r * d);
    c.set(centroids.subarray(b * k * d, (b + 1) * k * d), r * k * d);
    m.set(mask.subarray(b * k, (b + 1) * k), r * k);
    n.set(sizes.subarray(b * k, (b + 1) * k), r * k);
    y[r] = labels[b]!;
  });
  const tensors =
    B === 0 ? undefined : { u: tf.tensor2d(u, [B, d]), centroids: tf.tensor3d(c, [B, k, d]), mask: tf.tensor2d(m, [B, k]), sizes: tf.tensor2d(n, [B, k]), labels: tf.tensor1d(y), offset: tf.tensor1d(o) };
  return {
    size: B,
    items: keptItems,
    offset: offsets ? (tensors?.offset as tf.Tensor1D) : undefined,
    u: tensors?.u as tf.Tensor2D,
    centroids: tensors?.centroids as tf.Tensor3D,
    mask: tensors?.mask as tf.Tensor2D,
    sizes: tensors?.sizes as tf.Tensor2D,
    labels: tensors?.labels as tf.Tensor1D,
    dispose: () => tensors && tf.dispose(Object.values(tensors)),
  };
}

function phase2ValidationAuc(model: RalmModel, data: TrainingData, config: ModelConfig, clusters: ItemClusters, universal: Float32Array): number {
  const v = data.phase2Validation;
  const limit = Math.min(v.users.length, 50_000);
  const scores: number[] = [];
  const labels: number[] = [];
  const items: number[] = [];
  for (let start = 0; start < limit; start += 1024) {
    const end = Math.min(limit, start + 1024);
    const batch = phase2Batch(clusters, universal, config, v.users.subarray(start, end), v.items.subarray(start, end), v.labels.subarray(start, end));
    if (batch.size > 0) {
      const s = tf.tidy(() => model.lookalike.score(batch.u, batch.centroids, batch.mask, batch.sizes).score.dataSync());
      const y = batch.labels.dataSync();
      for (let i = 0; i < s.length; i++) {
        scores.push(s[i]!);
        labels.push(y[i]!);
        items.push(batch.items[i]!);
      }
    }
    batch.dispose();
  }
  // Item-averaged: the look-alike question (who among an item's exposed users clicks), which the item offset trains.
  return scores.length ? itemAveragedAuc(scores, labels, items).auc : Number.NaN;
}

export { sampledSoftmaxLoss };
