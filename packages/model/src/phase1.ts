import * as tf from '@tensorflow/tfjs';
import type { Adam } from './adam';
import { embeddingLookup } from './embedding';
import type { EncodedBatch } from './features';
import type { Params } from './params';
import type { Rng } from './rng';
import type { LogUniformSampler } from './sampler';
import type { UserTower } from './user-tower';

/**
 * Item ids for one batch of (user, positive item) pairs: column 0 the positive,
 * then `negatives` draws from the rank-based sampler. A draw equal to the
 * positive (an accidental hit) is masked out of the softmax, not redrawn, so
 * the negative distribution stays exactly p(r).
 */
export function sampleCandidates(
  positives: ArrayLike<number>,
  negatives: number,
  sampler: LogUniformSampler,
  itemOfRank: Int32Array,
  rng: Rng,
): { items: Int32Array; valid: Float32Array } {
  const width = negatives + 1;
  const items = new Int32Array(positives.length * width);
  const valid = new Float32Array(positives.length * width).fill(1);
  for (let b = 0; b < positives.length; b++) {
    const pos = positives[b]!;
    items[b * width] = pos;
    for (let j = 1; j < width; j++) {
      const item = itemOfRank[sampler.draw(rng)]!;
      items[b * width + j] = item;
      if (item === pos) valid[b * width + j] = 0;
    }
  }
  return { items, valid };
}

/** Logits u·x_j for every candidate j of every pair: B × (1 + negatives). */
export function candidateLogits(u: tf.Tensor2D, itemTable: tf.Variable, items: Int32Array, width: number): tf.Tensor2D {
  const B = u.shape[0];
  const x = embeddingLookup(itemTable as unknown as tf.Tensor2D, tf.tensor2d(items, [B, width], 'int32')); // B × w × d
  return tf.sum(tf.mul(x, tf.reshape(u, [B, 1, u.shape[1]])), 2) as tf.Tensor2D;
}

/**
 * Sampled softmax (spec §2): P(c = i | u) = exp(x_i·u) / Σ_{j ∈ {i} ∪ X} exp(x_j·u),
 * L = −log P(c = positive | u), averaged over the batch.
 */
export function sampledSoftmaxLoss(logits: tf.Tensor2D, valid: Float32Array): tf.Scalar {
  const masked = tf.add(logits, tf.mul(tf.sub(1, tf.tensor2d(valid, logits.shape)), -1e9));
  const logProbs = tf.logSoftmax(masked);
  return tf.neg(tf.mean(tf.slice(logProbs, [0, 0], [-1, 1]))) as tf.Scalar;
}

export interface Phase1Batch {
  users: EncodedBatch;
  positives: Int32Array;
}

/** One optimisation step; returns the batch loss. */
export function phase1Step(
  tower: UserTower,
  itemParams: Params,
  optimizer: Adam,
  batch: Phase1Batch,
  candidates: { items: Int32Array; valid: Float32Array },
  width: number,
): number {
  const itemTable = itemParams.get('item.embedding');
  const vars = new Map([...tower.params.named(), ...itemParams.named()]);
  return optimizer.minimize(() => sampledSoftmaxLoss(candidateLogits(tower.apply(batch.users), itemTable, candidates.items, width), candidates.valid), vars);
}
