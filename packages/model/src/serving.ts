import * as tf from '@tensorflow/tfjs';
import type { RalmModel } from './model';

/**
 * Everything about a set of candidates that depends only on their seeds
 * (spec §5), precomputed once per cluster update:
 *   E_s (k × h) = T(c_j), P = E_s W_l, G = E_s E_sᵀ, ê_glb = e_glb / |e_glb|,
 * stacked over candidates so that scoring users is two GEMMs.
 */
export interface CandidateTable {
  /** Candidates in row order. */
  count: number;
  k: number;
  h: number;
  /** (count·k) × h, rows of absent clusters are zero. */
  es: Float32Array;
  /** (count·k) × h */
  projected: Float32Array;
  /** count × k × k */
  gram: Float32Array;
  /** count × h, unit vector of the global embedding (zero when it is zero). */
  globalUnit: Float32Array;
  /** count × k: 1 for a real cluster. */
  mask: Float32Array;
  /** Average pooling: the score is (α + β)·cos(e_u, ê_avg), held in `globalUnit`. */
  average: boolean;
}

/**
 * Builds the table from each candidate's centroids in universal space
 * (count × k × d, row-major) and mask (count × k).
 */
export function precomputeCandidates(model: RalmModel, centroids: Float32Array, mask: Float32Array, count: number, sizes?: Float32Array): CandidateTable {
  const average = model.config.seedPooling === 'average';
  const { userDim: d, lookalikeDim: h } = model.config;
  const k = mask.length / count;
  return tf.tidy(() => {
    const Es = tf.mul(model.lookalike.transform(tf.tensor2d(centroids, [count * k, d])), tf.reshape(tf.tensor1d(mask), [count * k, 1])) as tf.Tensor2D;
    const P = tf.matMul(Es, model.lookalike.params.get('lookalike.local.w'));
    const Es3 = tf.reshape(Es, [count, k, h]) as tf.Tensor3D;
    const G = tf.matMul(Es3, Es3, false, true);
    const hidden = tf.tanh(tf.add(tf.matMul(Es, model.lookalike.params.get('lookalike.global.w')), model.lookalike.params.get('lookalike.global.b')));
    const g = tf.reshape(tf.matMul(hidden, model.lookalike.params.get('lookalike.global.v')), [count, k]);
    const m = tf.tensor2d(mask, [count, k]);
    // Average pooling (the RALM-avg competitor): one size-weighted mean of the clusters stands in for both attentions.
    const n = tf.mul(tf.tensor2d(sizes ?? mask, [count, k]), m);
    const weights = average ? tf.div(n, tf.add(tf.sum(n, 1, true), 1e-12)) : tf.mul(tf.softmax(tf.add(g, tf.mul(tf.sub(1, m), -1e9))), m);
    const eGlb = tf.sum(tf.mul(Es3, tf.reshape(weights, [count, k, 1])), 1);
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(eGlb), 1, true), 1e-12));
    return {
      count,
      k,
      h,
      es: Es.dataSync() as Float32Array,
      projected: P.dataSync() as Float32Array,
      gram: G.dataSync() as Float32Array,
      globalUnit: tf.div(eGlb, norm).dataSync() as Float32Array,
      mask: Float32Array.from(mask),
      average,
    };
  });
}

interface ResidentTensors {
  projected: tf.Tensor2D;
  es: tf.Tensor2D;
  globalUnit: tf.Tensor2D;
}

// The stacked matrices go into the backend once per table, not once per call:
// copying tens of MB per request cost more than the products themselves.
const resident = new WeakMap<CandidateTable, ResidentTensors>();

function residentTensors(table: CandidateTable): ResidentTensors {
  let t = resident.get(table);
  if (!t) {
    const { count, k, h } = table;
    // Stored transposed (h × rows): tfjs' wasm matMul with transposeB is ~5× slower than with a pre-transposed operand.
    t = tf.tidy(() => ({
      projected: tf.keep(tf.transpose(tf.tensor2d(table.projected, [count * k, h]))),
      es: tf.keep(tf.transpose(tf.tensor2d(table.es, [count * k, h]))),
      globalUnit: tf.keep(tf.transpose(tf.tensor2d(table.globalUnit, [count, h]))),
    }));
    resident.set(table, t);
  }
  return t;
}

/** Frees the backend copies `scoreUsers` made of a table (call when the table is replaced). */
export function releaseCandidateTable(table: CandidateTable): void {
  const t = resident.get(table);
  if (t) tf.dispose([t.projected, t.es, t.globalUnit]);
  resident.delete(table);
}

/**
 * The per-candidate tail of the score: w = softmax(tanh(z)) over the real
 * clusters, cos_loc = (w·q) / (|e_u| √(wᵀGw)). `z` and `q` hold the k raw dot
 * products starting at `at`; `w` is scratch of length k.
 */
function localCosine(table: CandidateTable, c: number, z: ArrayLike<number>, q: ArrayLike<number>, at: number, normU: number, w: Float64Array): number {
  const k = table.k;
  let max = -Infinity;
  for (let j = 0; j < k; j++) if (table.mask[c * k + j]) max = Math.max(max, Math.tanh(z[at + j]!));
  let sum = 0;
  for (let j = 0; j < k; j++) {
    w[j] = table.mask[c * k + j] ? Math.exp(Math.tanh(z[at + j]!) - max) : 0;
    sum += w[j]!;
  }
  let wq = 0;
  let wGw = 0;
  for (let i = 0; i < k; i++) {
    if (!w[i]) continue;
    const wi = w[i]! / sum;
    wq += wi * q[at + i]!;
    const g = c * k * k + i * k;
    for (let j = 0; j < k; j++) if (w[j]) wGw += wi * (w[j]! / sum) * table.gram[g + j]!;
  }
  return wq / (normU * Math.sqrt(wGw + 1e-12));
}

const norm = (v: Float32Array, at: number, h: number) => {
  let s = 0;
  for (let t = 0; t < h; t++) s += v[at + t]! * v[at + t]!;
  return Math.sqrt(s + 1e-12);
};

/**
 * Scores B users (look-alike embeddings e_u, B × h) against every candidate:
 *   z_j = P[j]·e_u, q_j = E_s[j]·e_u, w = softmax(tanh(z)),
 *   cos_loc = (w·q) / (|e_u| √(wᵀGw)), cos_glb = ê_glb·e_u / |e_u|,
 *   score = α cos_glb + β cos_loc.
 * The two dot-product blocks are one GEMM each; the per-candidate tail is plain arithmetic.
 * Returns B × count.
 */
export function scoreUsers(table: CandidateTable, eu: Float32Array, alpha: number, beta: number): Float32Array {
  const { count, k, h } = table;
  const B = eu.length / h;
  const resident = residentTensors(table);
  const [Z, Q, Gl] = tf.tidy(() => {
    const U = tf.tensor2d(eu, [B, h]);
    return [
      tf.matMul(U, resident.projected).dataSync(),
      tf.matMul(U, resident.es).dataSync(),
      tf.matMul(U, resident.globalUnit).dataSync(),
    ];
  });
  const out = new Float32Array(B * count);
  const w = new Float64Array(k);
  for (let b = 0; b < B; b++) {
    const normU = norm(eu, b * h, h);
    for (let c = 0; c < count; c++) {
      const cosGlb = Gl[b * count + c]! / normU;
      out[b * count + c] = table.average
        ? (alpha + beta) * cosGlb
        : alpha * cosGlb + beta * localCosine(table, c, Z, Q, b * count * k + c * k, normU, w);
    }
  }
  return out;
}

/**
 * Scores individual (user, candidate) pairs with the same algebra, without
 * forming the full B × count matrix: for evaluation sets where each user meets
 * only a few candidates. `eu` holds U look-alike embeddings; pair p uses row
 * `userRow[p]` of it and candidate `candidate[p]` of the table.
 */
export function scorePairs(table: CandidateTable, eu: Float32Array, userRow: ArrayLike<number>, candidate: ArrayLike<number>, alpha: number, beta: number): Float32Array {
  const { k, h } = table;
  const out = new Float32Array(userRow.length);
  const z = new Float64Array(k);
  const q = new Float64Array(k);
  const w = new Float64Array(k);
  for (let p = 0; p < out.length; p++) {
    const ub = userRow[p]! * h;
    const c = candidate[p]!;
    const normU = norm(eu, ub, h);
    let glb = 0;
    for (let t = 0; t < h; t++) glb += table.globalUnit[c * h + t]! * eu[ub + t]!;
    if (table.average) {
      out[p] = ((alpha + beta) * glb) / normU;
      continue;
    }
    for (let j = 0; j < k; j++) {
      if (!table.mask[c * k + j]) continue;
      const row = (c * k + j) * h;
      let zj = 0;
      let qj = 0;
      for (let t = 0; t < h; t++) {
        zj += table.projected[row + t]! * eu[ub + t]!;
        qj += table.es[row + t]! * eu[ub + t]!;
      }
      z[j] = zj;
      q[j] = qj;
    }
    out[p] = alpha * (glb / normU) + beta * localCosine(table, c, z, q, 0, normU, w);
  }
  return out;
}
