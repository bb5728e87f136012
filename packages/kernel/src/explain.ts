import { userNorm } from './kernel';
import { rowValue, rowsPerCandidate, type KernelTable } from './table';

/** Why a candidate scored what it did for a user: the two cosines and the local attention over its clusters. */
export interface Explanation {
  /** globalTerm + localTerm. */
  score: number;
  /** What the global cosine adds to the score: α·cos_glb, or (α + β)·cos_glb under average pooling. */
  globalTerm: number;
  /** What the local cosine adds: β·cos_loc (0 under average pooling or with no cluster). */
  localTerm: number;
  /** cos(e_u, e_glb). */
  cosGlobal: number;
  /** cos(e_u, e_loc); 0 under average pooling. */
  cosLocal: number;
  /** Local attention weight w_j of each cluster slot (0 for absent clusters); sums to 1 over real ones. */
  weights: number[];
}

/**
 * The spec's per-candidate formulas (§5) for one user, in double and step by step:
 * what people read to see why a candidate ranked, and the reference kernel's oracle.
 * (The one reference: the fast kernels, and through them the scorer, eval and A/B simulator, are tested against it.)
 */
export function explainCandidate(table: KernelTable, c: number, eu: Float32Array, alpha: number, beta: number): Explanation {
  const { k, h } = table;
  const base = c * rowsPerCandidate(k);
  // Over the values as stored (decoded for int8): the oracle of each precision's kernels.
  const dot = (row: number) => {
    let s = 0;
    for (let t = 0; t < h; t++) s += rowValue(table, base + row, t) * eu[t]!;
    return s;
  };
  const normU = userNorm(eu, 0, h);
  const cosGlobal = dot(2 * k) / normU;
  const weights = new Array<number>(k).fill(0);
  const terms = (globalTerm: number, localTerm: number, cosLocal: number): Explanation => ({ score: globalTerm + localTerm, globalTerm, localTerm, cosGlobal, cosLocal, weights });
  if (table.average) return terms((alpha + beta) * cosGlobal, 0, 0);
  const real: number[] = [];
  for (let j = 0; j < k; j++) if (table.mask[c * k + j]) real.push(j);
  if (real.length === 0) return terms(alpha * cosGlobal, 0, 0);
  const a = real.map((j) => Math.tanh(dot(j)));
  const max = Math.max(...a);
  const e = a.map((x) => Math.exp(x - max));
  const sum = e.reduce((s, x) => s + x, 0);
  real.forEach((j, p) => (weights[j] = e[p]! / sum));
  let wq = 0;
  let wGw = 0;
  for (const i of real) {
    wq += weights[i]! * dot(k + i);
    for (const j of real) wGw += weights[i]! * weights[j]! * table.gram[(c * k + i) * k + j]!;
  }
  const cosLocal = wq / (normU * Math.sqrt(wGw + 1e-12));
  return terms(alpha * cosGlobal, beta * cosLocal, cosLocal);
}
