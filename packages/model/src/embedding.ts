import * as tf from '@tensorflow/tfjs';

/**
 * `tf.gather(table, indices)` with a usable gradient for embedding tables.
 * The stock gradient goes through UnsortedSegmentSum, which the wasm backend
 * lacks and the cpu backend runs as a loop over every vocabulary row. The
 * gradient of a row lookup is the upstream gradient scattered back onto the
 * looked-up rows; scatterND sums repeated indices, which is exactly what
 * repeated lookups of one row need.
 *
 * The forward pass on wasm is GatherNd, not GatherV2: the same rows, bit for
 * bit, but the wasm GatherV2 kernel recomputes a multi-index (a heap-allocated
 * vector) per output *element*, while GatherNd copies each row in one loop:
 * phase 1's 2,816 rows of the 20,000 × 128 item table took ~15 ms with
 * GatherV2 and ~0.3 ms with GatherNd (tf.profile of the step). The cpu
 * backend is the other way round (its GatherNd goes element by element
 * through a TensorBuffer), so it keeps GatherV2.
 */
const gatherWithScatterGrad = tf.customGrad(((table: tf.Tensor, indices: tf.Tensor, save: tf.GradSaveFunc) => {
  save([indices]);
  const [rows, width] = table.shape as [number, number];
  return {
    value: rowGather(table, indices, rows),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const idx = saved[0]!;
      const upstream = (Array.isArray(dy) ? dy[0]! : dy).reshape([-1, width]);
      return [tf.scatterND(idx.reshape([-1, 1]), upstream, [rows, width]), tf.zerosLike(idx)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

function rowGather(table: tf.Tensor, indices: tf.Tensor, rows: number): tf.Tensor {
  if (tf.getBackend() !== 'wasm') return tf.gather(table, indices);
  // GatherNd reads out of bounds silently on wasm; GatherV2 asserts, so keep its check.
  const ids = indices.dataSync();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < rows)) throw new Error(`embedding lookup: index ${id} is not in [0, ${rows - 1}]`);
  }
  return tf.gatherND(table, tf.expandDims(indices, -1));
}

/** Rows of a 2-D table: result shape = indices.shape + [width]. Indices must be int32 in [0, rows). */
export function embeddingLookup(table: tf.Tensor2D, indices: tf.Tensor): tf.Tensor {
  return gatherWithScatterGrad(table, indices) as tf.Tensor;
}
