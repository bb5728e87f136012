import * as tf from '@tensorflow/tfjs';
import { createKernelTable, writeSlot, type KernelTable } from '@ralm/kernel';
import type { RalmModel } from './model';

/**
 * Everything about a set of candidates that depends only on their seeds (spec §5),
 * computed with the model's weights once per cluster update: E_s (k × h) = T(c_j),
 * P = E_s W_l, G = E_s E_sᵀ and ê_glb (the unit size-weighted mean under average
 * pooling). With the cluster-size prior, the global weights are softmax(g + ln n) and the
 * local prior is folded into the table: row E_j is stored as π_j·E_j and G_ij as π_iπ_j·G_ij
 * (π_j = n_j / max n), so the kernel's w_j = exp(tanh(z_j)) yields exactly
 * cos(e_u, Σ π_j w_j E_j) — the kernels need not know about sizes. P = E_s W_l stays unscaled.
 * The result is in the kernel's layout (`@ralm/kernel` owns it), so the
 * scorer, the evaluation and the A/B simulator all score through the same kernels.
 * `centroids` are in universal space, count × k × d row-major; `mask` count × k.
 * `globalWeights`, when given (count × k), receives the global attention weights over each
 * candidate's clusters (what ê_glb averages with; 0 for absent clusters): Explain reports them.
 */
export function precomputeCandidates(model: RalmModel, centroids: Float32Array, mask: Float32Array, count: number, sizes?: Float32Array, globalWeights?: Float32Array): KernelTable {
  const average = model.config.seedPooling === 'average';
  const sizePrior = !average && model.config.clusterSizePrior;
  const { userDim: d, lookalikeDim: h } = model.config;
  const k = count === 0 ? model.config.clusters : mask.length / count;
  if (globalWeights && globalWeights.length !== count * k) throw new RangeError(`precomputeCandidates: globalWeights must hold count × k = ${count * k} values, got ${globalWeights.length}`);
  const table = createKernelTable(count, k, h, average);
  if (count === 0) return table;
  const parts = tf.tidy(() => {
    const Es = tf.mul(model.lookalike.transform(tf.tensor2d(centroids, [count * k, d])), tf.reshape(tf.tensor1d(mask), [count * k, 1])) as tf.Tensor2D;
    const P = tf.matMul(Es, model.lookalike.params.get('lookalike.local.w'));
    const Es3 = tf.reshape(Es, [count, k, h]) as tf.Tensor3D;
    const m = tf.tensor2d(mask, [count, k]);
    const n = tf.mul(tf.tensor2d(sizes ?? mask, [count, k]), m);
    // π_j = n_j / max n (≤ 1, so the stored rows keep their range).
    const pi = sizePrior ? tf.div(n, tf.add(tf.max(n, 1, true), 1e-12)) : m;
    const Eloc = tf.mul(Es3, tf.reshape(pi, [count, k, 1])) as tf.Tensor3D;
    const G = tf.matMul(Eloc, Eloc, false, true);
    const hidden = tf.tanh(tf.add(tf.matMul(Es, model.lookalike.params.get('lookalike.global.w')), model.lookalike.params.get('lookalike.global.b')));
    const g = tf.reshape(tf.matMul(hidden, model.lookalike.params.get('lookalike.global.v')), [count, k]);
    // Average pooling (the RALM-avg competitor): one size-weighted mean of the clusters stands in for both attentions.
    const logits = tf.add(g, tf.mul(tf.sub(1, m), -1e9));
    const weights = average
      ? tf.div(n, tf.add(tf.sum(n, 1, true), 1e-12))
      : tf.mul(tf.softmax(sizePrior ? tf.add(logits, tf.log(tf.add(n, 1e-6))) : logits), m);
    const eGlb = tf.sum(tf.mul(Es3, tf.reshape(weights, [count, k, 1])), 1);
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(eGlb), 1, true), 1e-12));
    return {
      es: tf.reshape(Eloc, [count * k, h]).dataSync() as Float32Array,
      projected: P.dataSync() as Float32Array,
      gram: G.dataSync() as Float32Array,
      globalUnit: tf.div(eGlb, norm).dataSync() as Float32Array,
      weights: globalWeights ? (weights.dataSync() as Float32Array) : undefined,
    };
  });
  if (globalWeights) globalWeights.set(parts.weights!);
  for (let c = 0; c < count; c++) {
    writeSlot(
      table,
      c,
      parts.es.subarray(c * k * h, (c + 1) * k * h),
      parts.projected.subarray(c * k * h, (c + 1) * k * h),
      parts.gram.subarray(c * k * k, (c + 1) * k * k),
      parts.globalUnit.subarray(c * h, (c + 1) * h),
      mask.subarray(c * k, (c + 1) * k),
    );
  }
  return table;
}
