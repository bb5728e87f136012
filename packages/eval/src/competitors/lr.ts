/**
 * The paper's LR competitor (section 6.2): one logistic regression per
 * candidate item, its seeds positive and sampled non-seeds negative, over the
 * users' binary features.
 *
 * Model of item i:  P(seed | u) = σ(b_i + Σ_{f active in u} w_{i,f}).
 * Loss: mean logistic loss + (λ/2)·‖w_i‖² (the bias unpenalised), minimised
 * by `epochs` passes of per-sample Adagrad in a seeded random order:
 *   g = σ(z) − y;  for each active f: g_f = g + λ·w_f,
 *   G_f += g_f²,  w_f −= η·g_f / √(G_f + ε)     (the same for b with g_b = g).
 * The L2 term is applied lazily, on a sample's active features only — the usual
 * sparse-SGD shortcut; it shrinks frequent features more, which is the point.
 */
import { Rng } from '@ralm/model';
import { binaryUserFeatures, scoreSparseLinear, type BinaryUserFeatures, type SparseItemModel } from '../features';
import { itemsBySeedCount, trainUsersOf } from '../split';
import type { Competitor, PairScorer, TimeSplit } from '../types';

export interface LogisticRegressionOptions {
  /** Passes over each item's samples. Default 5. */
  epochs?: number;
  /** Adagrad step η. Default 0.1. */
  learningRate?: number;
  /** L2 strength λ. Default 0.01. */
  l2?: number;
  /** Positives per item at most; more seeds are subsampled uniformly. Default 2,000. */
  maxPositives?: number;
  /** Negatives per item = max(positives, minNegatives), capped by the non-seed train users. Default 20. */
  minNegatives?: number;
}

/** A fitted per-candidate LR, with what its fitting managed to do. */
export interface LogisticRegressionScorer extends PairScorer {
  /** Items with a model. */
  readonly trainedItems: number;
  /** Items with seeds left without a model because `budgetMs` ran out (they score 0). */
  readonly skippedItems: number;
  /** Wall-clock fitting time, ms. */
  readonly fitMs: number;
}

const DEFAULTS: Required<LogisticRegressionOptions> = { epochs: 5, learningRate: 0.1, l2: 0.01, maxPositives: 2000, minNegatives: 20 };

/**
 * Fits one LR per item with seeds, items with the most seeds first; when
 * `budgetMs` runs out the remaining items get no model. Scoring (u, i) gives
 * the logit b_i + Σ w_{i,f} of the item's model, 0 for an item without one.
 * Deterministic for `seed`: each item draws from its own stream, so an item's
 * model does not depend on which others were trained.
 */
export async function fitLogisticRegressionPerCandidate(
  split: TimeSplit,
  options: { seed: number; budgetMs?: number },
  hyper: LogisticRegressionOptions = {},
): Promise<LogisticRegressionScorer> {
  const started = performance.now();
  const h = { ...DEFAULTS, ...hyper };
  const trainUsers = trainUsersOf(split);
  const features = binaryUserFeatures(split.dataset, trainUsers);
  const nItems = split.trainSeeds.length;
  const order = itemsBySeedCount(split.trainSeeds);
  const models = new Array<SparseItemModel | undefined>(nItems);
  const trainer = new ItemTrainer(features, trainUsers, split.dataset.users.ids.length, h);
  let trained = 0;
  for (const i of order) {
    if (options.budgetMs !== undefined && performance.now() - started > options.budgetMs) break;
    models[i] = trainer.fit(split.trainSeeds[i]!, new Rng(itemSeed(options.seed, i)));
    trained++;
  }
  const fitMs = performance.now() - started;
  return {
    name: 'LR',
    trainedItems: trained,
    skippedItems: order.length - trained,
    fitMs,
    score: (users, items) => scoreSparseLinear(features, models, users, items, 0),
  };
}

/** The LR competitor with default hyper-parameters. */
export const logisticRegressionPerCandidate: Competitor = (split, options) => fitLogisticRegressionPerCandidate(split, options);

/** A 32-bit seed per (run seed, item), mixed so neighbouring items get unrelated streams. */
export function itemSeed(seed: number, item: number): number {
  let x = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(item + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Reusable scratch for fitting one item's model after another. */
class ItemTrainer {
  private readonly w: Float64Array;
  private readonly g2: Float64Array;
  private readonly isSeed: Uint8Array;
  private readonly taken: Uint8Array;

  constructor(
    private readonly features: BinaryUserFeatures,
    private readonly trainUsers: Int32Array,
    nUsers: number,
    private readonly h: Required<LogisticRegressionOptions>,
  ) {
    this.w = new Float64Array(features.size);
    this.g2 = new Float64Array(features.size);
    this.isSeed = new Uint8Array(nUsers);
    this.taken = new Uint8Array(nUsers);
  }

  fit(seeds: Int32Array, rng: Rng): SparseItemModel {
    const { h, w, g2, isSeed, taken, trainUsers } = this;
    const positives = sampleWithout(seeds, Math.min(seeds.length, h.maxPositives), rng);
    for (const u of seeds) isSeed[u] = 1;
    // Seeds are train users (they clicked in a train event), so the rest of the train users are the non-seed pool.
    const pool = trainUsers.length - seeds.length;
    const nNeg = Math.min(pool, Math.max(positives.length, h.minNegatives));
    const negatives = new Int32Array(nNeg);
    if (nNeg * 2 <= pool) {
      // Rejection sampling without replacement: at most half the pool is taken, so a draw is accepted with p ≥ 1/2.
      for (let j = 0; j < nNeg; ) {
        const u = trainUsers[rng.int(trainUsers.length)]!;
        if (isSeed[u] || taken[u]) continue;
        taken[u] = 1;
        negatives[j++] = u;
      }
      for (const u of negatives) taken[u] = 0;
    } else {
      const rest = trainUsers.filter((u) => !isSeed[u]);
      negatives.set(sampleWithout(rest, nNeg, rng));
    }
    for (const u of seeds) isSeed[u] = 0;

    const n = positives.length + nNeg;
    const users = new Int32Array(n);
    users.set(positives);
    users.set(negatives, positives.length);
    const order = Int32Array.from({ length: n }, (_, j) => j);
    w.fill(0);
    g2.fill(0);
    let bias = 0;
    let biasG2 = 0;
    const eps = 1e-8;
    for (let epoch = 0; epoch < h.epochs; epoch++) {
      rng.shuffle(order);
      for (let t = 0; t < n; t++) {
        const j = order[t]!;
        const row = this.features.rows[users[j]!]!;
        let z = bias;
        for (let q = 0; q < row.length; q++) z += w[row[q]!]!;
        const g = 1 / (1 + Math.exp(-z)) - (j < positives.length ? 1 : 0);
        biasG2 += g * g;
        bias -= (h.learningRate * g) / Math.sqrt(biasG2 + eps);
        for (let q = 0; q < row.length; q++) {
          const f = row[q]!;
          const gf = g + h.l2 * w[f]!;
          g2[f] += gf * gf;
          w[f] -= (h.learningRate * gf) / Math.sqrt(g2[f]! + eps);
        }
      }
    }
    let nnz = 0;
    for (let f = 0; f < w.length; f++) if (w[f] !== 0) nnz++;
    const ids = new Int32Array(nnz);
    const weights = new Float32Array(nnz);
    for (let f = 0, j = 0; f < w.length; f++) {
      if (w[f] === 0) continue;
      ids[j] = f;
      weights[j++] = w[f]!;
    }
    return { bias, features: ids, weights };
  }
}

/** `count` distinct entries of `from`, uniformly (partial Fisher–Yates on a copy), ascending. */
function sampleWithout(from: Int32Array, count: number, rng: Rng): Int32Array {
  if (count >= from.length) return from.slice();
  const copy = from.slice();
  for (let j = 0; j < count; j++) {
    const r = j + rng.int(copy.length - j);
    const tmp = copy[j]!;
    copy[j] = copy[r]!;
    copy[r] = tmp;
  }
  return copy.slice(0, count).sort();
}
