import * as tf from '@tensorflow/tfjs';

/**
 * `tf.matMul(a, b)` for 2-D a (B × K) and b (K × N) whose gradients run the
 * fast kernel on wasm. tfjs differentiates a matMul into matMuls with
 * transposeA / transposeB set, and the wasm backend hands only untransposed
 * products to XNNPACK: a transposed one falls to a scalar triple loop, 5–11×
 * slower here (256×256ᵀ · 256×128: ~17 ms against ~1.5 ms). Transposing the
 * operand explicitly first costs a copy of it and computes the same product.
 * Other backends get tf.matMul and its stock gradient unchanged.
 */
const matMulTransposingGrad = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = (Array.isArray(dy) ? dy[0]! : dy) as tf.Tensor2D;
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** a · b (B × K times K × N); see matMulTransposingGrad for why not tf.matMul on wasm. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b);
  return matMulTransposingGrad(a, b) as tf.Tensor2D;
}
