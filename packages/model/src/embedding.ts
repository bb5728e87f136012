import * as tf from '@tensorflow/tfjs';

/**
 * `tf.gather(table, indices)` with a usable gradient for embedding tables.
 * The stock gradient goes through UnsortedSegmentSum, which the wasm backend
 * lacks and the cpu backend runs as a loop over every vocabulary row. The
 * gradient of a row lookup is the upstream gradient scattered back onto the
 * looked-up rows; scatterND sums repeated indices, which is exactly what
 * repeated lookups of one row need.
 */
const gatherWithScatterGrad = tf.customGrad(((table: tf.Tensor, indices: tf.Tensor, save: tf.GradSaveFunc) => {
  save([indices]);
  const [rows, width] = table.shape as [number, number];
  return {
    value: tf.gather(table, indices),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const idx = saved[0]!;
      const upstream = (Array.isArray(dy) ? dy[0]! : dy).reshape([-1, width]);
      return [tf.scatterND(idx.reshape([-1, 1]), upstream, [rows, width]), tf.zerosLike(idx)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** Rows of a 2-D table: result shape = indices.shape + [width]. Indices must be int32 in [0, rows). */
export function embeddingLookup(table: tf.Tensor2D, indices: tf.Tensor): tf.Tensor {
  return gatherWithScatterGrad(table, indices) as tf.Tensor;
}
