import * as tf from '@tensorflow/tfjs';
import { matMul } from './dense';
import { Params } from './params';
import type { Rng } from './rng';

export interface LookalikeConfig {
  /** d: universal embedding size (input). */
  userDim: number;
  /** h: look-alike embedding size. */
  lookalikeDim: number;
  /** a: attention size of the global attention. */
  attentionSize: number;
  /** Weight of cos(e_u, e_glb) in the score. */
  alpha: number;
  /** Weight of cos(e_u, e_loc) in the score. */
  beta: number;
  /** Fixed temperature τ, or undefined to learn it (initialised at 5). */
  temperature: number | undefined;
  seedPooling: 'attention' | 'average';
  /**
   * Both attentions weigh a cluster by its share of the seeds as well: logits gain
   * ln(size), i.e. w_j ∝ n_j·exp(tanh(z_j)) and g_j ∝ n_j·exp(v_g·tanh(…)) (docs/MODEL.md).
   */
  clusterSizePrior: boolean;
}

const EPS = 1e-12;

/**
 * cos of matching rows: B. A ReLU can output a zero vector; the norm is taken
 * as sqrt(|x|² + ε) so both the value (0) and its gradient stay finite there,
 * where d|x|/dx = x/|x| would be 0/0.
 */
function rowCosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  const dot = tf.sum(tf.mul(a, b), 1);
  const norm = (x: tf.Tensor2D) => tf.sqrt(tf.add(tf.sum(tf.square(x), 1), EPS));
  return tf.div(dot, tf.mul(norm(a), norm(b))) as tf.Tensor1D;
}

/**
 * Phase-2 look-alike model (spec §3): a shared transforming matrix with ReLU,
 * local attention (which seed clusters resemble the target), global attention
 * (which clusters represent the seeds), and Eq. 1's blend of the two cosines.
 */
export class LookalikeModel {
  readonly params = new Params();

  constructor(readonly config: LookalikeConfig, rng: Rng) {
    const { userDim: d, lookalikeDim: h, attentionSize: a } = config;
    this.params.add('lookalike.transform.kernel', [d, h], 'glorot', rng);
    this.params.add('lookalike.transform.bias', [h], { constant: 0.01 }, rng);
    this.params.add('lookalike.local.w', [h, h], 'glorot', rng);
    this.params.add('lookalike.global.w', [h, a], 'glorot', rng);
    this.params.add('lookalike.global.b', [a], 'zeros', rng);
    this.params.add('lookalike.global.v', [a, 1], 'glorot', rng);
    if (config.temperature === undefined) this.params.add('lookalike.log_temperature', [], { constant: Math.log(5) }, rng);
    // After the ReLU every look-alike vector is non-negative, so score ≥ 0 and σ(τ·score) ≥ ½:
    // without an offset the model cannot express a click rate below one half. Zero is only a
    // placeholder: training sets it from the data before the first step (`calibrate`).
    this.params.add('lookalike.logit_bias', [], 'zeros', rng);
  }

  /**
   * Starts the model at the data's click rate: b₀ = logit(rate) − τ₀·mean(score) (spec §3, start).
   * With b = 0 the model begins at σ(τ·0.6) ≈ 0.95 against rates near 0.1; Adam moves b by about
   * lr a step, so the loss is lowered through W_t instead, until its ReLU units die.
   */
  calibrate(meanScore: number, clickRate: number): number {
    const rate = Math.min(1 - 1e-4, Math.max(1e-4, clickRate));
    const tau = tf.tidy(() => this.temperature().dataSync()[0]!);
    const b = Math.log(rate / (1 - rate)) - tau * meanScore;
    this.params.get('lookalike.logit_bias').assign(tf.scalar(b));
    return b;
  }

  /** T(v) = ReLU(v W_t + b_t): universal (… × d) to look-alike (… × h). */
  transform(v: tf.Tensor2D): tf.Tensor2D {
    return tf.relu(tf.add(matMul(v, this.params.get('lookalike.transform.kernel') as tf.Tensor2D), this.params.get('lookalike.transform.bias'))) as tf.Tensor2D;
  }

  temperature(): tf.Scalar {
    return this.config.temperature === undefined ? (tf.exp(this.params.get('lookalike.log_temperature')) as tf.Scalar) : tf.scalar(this.config.temperature);
  }

  /**
   * score(u, s) for each row: u is B × d, centroids B × k × d (universal space),
   * mask B × k (1 = a real cluster), sizes B × k (seeds per cluster, for average
   * pooling). Returns the score (B) and both attentions (B × k).
   */
  score(u: tf.Tensor2D, centroids: tf.Tensor3D, mask: tf.Tensor2D, sizes?: tf.Tensor2D): { score: tf.Tensor1D; local: tf.Tensor2D; global: tf.Tensor2D; eu: tf.Tensor2D } {
    const [B, k, d] = centroids.shape;
    const h = this.config.lookalikeDim;
    const eu = this.transform(u);
    const Es = tf.reshape(this.transform(tf.reshape(centroids, [B * k, d])), [B, k, h]);
    if (this.config.seedPooling === 'average') {
      const weights = tf.div(tf.mul(sizes ?? mask, mask), tf.add(tf.sum(tf.mul(sizes ?? mask, mask), 1, true), 1e-12)) as tf.Tensor2D;
      const eAvg = tf.sum(tf.mul(Es, tf.reshape(weights, [B, k, 1])), 1) as tf.Tensor2D;
      const score = tf.mul(this.config.alpha + this.config.beta, rowCosine(eu, eAvg)) as tf.Tensor1D;
      return { score, local: weights, global: weights, eu };
    }
    // A k-means cluster of 3 seeds and one of 300 are not equally good evidence of the audience:
    // with the size prior each attention weighs a cluster by its share of seeds as well.
    const maskLogits = this.config.clusterSizePrior && sizes
      ? tf.add(tf.mul(tf.sub(1, mask), -1e9), tf.log(tf.add(tf.mul(sizes, mask), 1e-6)))
      : tf.mul(tf.sub(1, mask), -1e9);

    // Local: w_j = softmax_j(tanh(E_s[j] W_l · e_u)).
    const projected = tf.reshape(matMul(tf.reshape(Es, [B * k, h]), this.params.get('lookalike.local.w') as tf.Tensor2D), [B, k, h]);
    const z = tf.sum(tf.mul(projected, tf.reshape(eu, [B, 1, h])), 2);
    const local = tf.mul(tf.softmax(tf.add(tf.tanh(z), maskLogits)), mask) as tf.Tensor2D;
    const eLoc = tf.sum(tf.mul(Es, tf.reshape(local, [B, k, 1])), 1) as tf.Tensor2D;

    // Global: g_j = softmax_j(v_g · tanh(W_g E_s[j] + b_g)).
    const hidden = tf.tanh(tf.add(matMul(tf.reshape(Es, [B * k, h]), this.params.get('lookalike.global.w') as tf.Tensor2D), this.params.get('lookalike.global.b')));
    const g = tf.reshape(matMul(hidden as tf.Tensor2D, this.params.get('lookalike.global.v') as tf.Tensor2D), [B, k]);
    const global = tf.mul(tf.softmax(tf.add(g, maskLogits)), mask) as tf.Tensor2D;
    const eGlb = tf.sum(tf.mul(Es, tf.reshape(global, [B, k, 1])), 1) as tf.Tensor2D;

    const score = tf.add(tf.mul(this.config.alpha, rowCosine(eu, eGlb)), tf.mul(this.config.beta, rowCosine(eu, eLoc))) as tf.Tensor1D;
    return { score, local, global, eu };
  }

  /** The logit of the click probability: τ·score + b. Ranking by it equals ranking by score. */
  logit(score: tf.Tensor1D): tf.Tensor1D {
    return tf.add(tf.mul(score, this.temperature()), this.params.get('lookalike.logit_bias')) as tf.Tensor1D;
  }

  /** Sigmoid cross-entropy of σ(τ·score + b [+ offset]) against the labels, averaged; `offset` is a fixed per-sample term (the item's). */
  loss(score: tf.Tensor1D, labels: tf.Tensor1D, offset?: tf.Tensor1D): tf.Scalar {
    const logit = offset ? tf.add(this.logit(score), offset) : this.logit(score);
    return tf.losses.sigmoidCrossEntropy(labels, logit) as tf.Scalar;
  }
}
