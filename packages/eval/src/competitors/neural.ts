import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@ralm/data';
import { loadKernel, type KernelTable, type ScoringKernel } from '@ralm/kernel';
import {
  auc,
  clusterItemSeeds,
  LogUniformSampler,
  precomputeCandidates,
  rankItemsByClicks,
  Rng,
  train,
  type ModelConfig,
  type Progress,
  type RalmModel,
  type TrainHooks,
} from '@ralm/model';
import type { PairScorer, TimeSplit } from '../types';

/** One point of a training curve on the test side of the split. */
export interface CurvePoint {
  /** Phase-1 batches seen so far. */
  batch: number;
  testAuc: number;
  testLoss: number;
  trainLoss: number;
}

/** The dataset with only its train events: users, items and fields unchanged. */
export function trainView(split: TimeSplit): Dataset {
  const e = split.dataset.events;
  const idx = split.trainEvents;
  return {
    ...split.dataset,
    events: {
      user: Int32Array.from(idx, (i) => e.user[i]!),
      item: Int32Array.from(idx, (i) => e.item[i]!),
      timestamp: Float64Array.from(idx, (i) => e.timestamp[i]!),
      label: Uint8Array.from(idx, (i) => e.label[i]!),
    },
  };
}

export interface TestPairs {
  users: Int32Array;
  items: Int32Array;
  labels: Uint8Array | Float32Array;
}

/**
 * Phase-1 test curve: the user–item dot product u·x_i as a click score (AUC on
 * the test samples) and the sampled-softmax loss of the test clicks against a
 * fixed draw of negatives, so points along the curve are comparable.
 */
function phase1Probe(split: TimeSplit, test: TestPairs, config: ModelConfig, seed: number) {
  const clicks = new Float64Array(split.dataset.items.ids.length);
  const e = split.dataset.events;
  for (const i of split.trainEvents) if (e.label[i] === 1) clicks[e.item[i]!]!++;
  const { itemOfRank } = rankItemsByClicks(clicks);
  const sampler = new LogUniformSampler(itemOfRank.length);
  const rng = new Rng(seed);
  const positives: number[] = [];
  for (let p = 0; p < test.labels.length && positives.length < 4000; p++) if (test.labels[p] === 1) positives.push(p);
  const width = config.negativesPerPositive + 1;
  const candidates = new Int32Array(positives.length * width);
  positives.forEach((p, r) => {
    candidates[r * width] = test.items[p]!;
    for (let j = 1; j < width; j++) candidates[r * width + j] = itemOfRank[sampler.draw(rng)]!;
  });
  const sampleLimit = Math.min(test.users.length, 20_000);
  return (model: RalmModel): { testAuc: number; testLoss: number } =>
    tf.tidy(() => {
      const scores = dotScores(model, test.users.subarray(0, sampleLimit), test.items.subarray(0, sampleLimit), split.dataset);
      const u = model.tower.apply(model.encoder.encodeRows(split.dataset.users, Int32Array.from(positives, (p) => test.users[p]!)));
      const x = tf.gather(model.itemTable, tf.tensor2d(candidates, [positives.length, width], 'int32'));
      const logits = tf.sum(tf.mul(x, tf.reshape(u, [positives.length, 1, u.shape[1]])), 2);
      const loss = tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits), [0, 0], [-1, 1]))).dataSync()[0]!;
      return { testAuc: auc(scores, test.labels.subarray(0, sampleLimit)), testLoss: loss };
    });
}

/** u·x_i for pairs, computing u from the users' features with the current tower. */
function dotScores(model: RalmModel, users: Int32Array, items: Int32Array, dataset: Dataset): Float32Array {
  const out = new Float32Array(users.length);
  for (let s = 0; s < users.length; s += 2048) {
    const us = users.subarray(s, s + 2048);
    const is = items.subarray(s, s + 2048);
    out.set(
      tf.tidy(() => {
        const u = model.tower.apply(model.encoder.encodeRows(dataset.users, us));
        const x = tf.gather(model.itemTable, tf.tensor1d(is, 'int32'));
        return tf.sum(tf.mul(u, x), 1).dataSync() as Float32Array;
      }),
      s,
    );
  }
  return out;
}

export interface FitResult {
  model: RalmModel;
  curve: CurvePoint[];
  seconds: number;
}

/**
 * Trains on the train events, recording a phase-1 test curve `curvePoints`
 * times per epoch (none when 0). Other hooks pass through, so a caller can keep
 * the checkpoint taken when phase 2 starts and train phase-2 variants from it.
 */
export async function fitNeural(split: TimeSplit, config: ModelConfig, test: TestPairs, curvePoints = 8, hooks: TrainHooks = {}): Promise<FitResult> {
  const probe = curvePoints > 0 ? phase1Probe(split, test, config, config.seed + 17) : undefined;
  const curve: CurvePoint[] = [];
  let seen = 0;
  const started = performance.now();
  const model = await train(trainView(split), config, {
    ...hooks,
    onBatchEnd: (m: RalmModel, p: Progress) => {
      if (!probe) return;
      if (p.phase !== 'user_representation') return;
      seen++;
      const every = Math.max(1, Math.floor(p.batches / curvePoints));
      if (p.batch % every === 0 || p.batch === p.batches) curve.push({ batch: seen, trainLoss: p.loss, ...probe(m) });
    },
  });
  return { model, curve, seconds: (performance.now() - started) / 1000 };
}

/** YouTube DNN: the phase-1 user–item dot product. */
export function youtubeScorer(model: RalmModel, name = 'YouTube DNN'): PairScorer {
  const d = model.config.userDim;
  const items = model.itemParams.get('item.embedding').dataSync() as Float32Array;
  const universal = model.store.universal;
  return {
    name,
    score(users, itemRows) {
      const out = new Float32Array(users.length);
      for (let p = 0; p < users.length; p++) {
        const ub = users[p]! * d;
        const ib = itemRows[p]! * d;
        let s = 0;
        for (let t = 0; t < d; t++) s += universal[ub + t]! * items[ib + t]!;
        out[p] = s;
      }
      return out;
    },
  };
}

/**
 * Scores (user, candidate row) pairs through a serving kernel: consecutive pairs of one
 * user (how `rankTopK` and user-ordered test events come) are one `scoreSubset` call.
 */
export function scorePairsWithKernel(kernel: ScoringKernel, table: KernelTable, eu: Float32Array, users: Int32Array, rows: Int32Array, alpha: number, beta: number): Float32Array {
  const h = table.h;
  const out = new Float32Array(users.length);
  for (let start = 0; start < users.length; ) {
    let end = start + 1;
    while (end < users.length && users[end] === users[start]) end++;
    const u = users[start]!;
    out.set(kernel.scoreSubset(table, eu.subarray(u * h, u * h + h), rows.subarray(start, end), alpha, beta), start);
    start = end;
  }
  return out;
}

/**
 * RALM (or RALM-avg): each item's seeds clustered on the final look-alike embeddings,
 * precomputed and scored by the kernel the LookalikeScorer serves with (spec §5).
 * `seeds` defaults to the train seeds; items without seeds score −∞: look-alike has
 * nothing to say about them.
 */
export function lookalikeScorer(model: RalmModel, split: TimeSplit, name: string, seed: number, k = model.config.clusters, seeds: Int32Array[] = split.trainSeeds): PairScorer {
  const { userDim: d, lookalikeDim: h } = model.config;
  const clusters = clusterItemSeeds(seeds, model.store.universal, model.store.lookalike, d, h, k, model.config.maxSeedsPerItem, new Rng(seed));
  const items = seeds.length;
  const rowOf = new Int32Array(items).fill(-1);
  const withSeeds: number[] = [];
  for (let i = 0; i < items; i++) if (clusters.offset[i]! >= 0) rowOf[i] = withSeeds.push(i) - 1;
  const centroids = new Float32Array(withSeeds.length * k * d);
  const mask = new Float32Array(withSeeds.length * k);
  const sizes = new Float32Array(withSeeds.length * k);
  withSeeds.forEach((item, r) => {
    const start = clusters.offset[item]!;
    const n = clusters.count[item]!;
    centroids.set(clusters.centroids.subarray(start * d, (start + n) * d), r * k * d);
    for (let j = 0; j < n; j++) {
      mask[r * k + j] = 1;
      sizes[r * k + j] = clusters.sizes[start + j]!;
    }
  });
  const table = precomputeCandidates(model, centroids, mask, withSeeds.length, sizes);
  const kernel = loadKernel();
  const { alpha, beta } = model.config;
  return {
    name,
    score(users, itemRows) {
      const rows = Int32Array.from(itemRows, (i) => Math.max(0, rowOf[i]!));
      const scores = scorePairsWithKernel(kernel, table, model.store.lookalike, users, rows, alpha, beta);
      itemRows.forEach((i, p) => {
        if (rowOf[i]! < 0) scores[p] = Number.NEGATIVE_INFINITY;
      });
      return scores;
    },
  };
}
