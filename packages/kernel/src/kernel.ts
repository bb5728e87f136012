import { checkTable, type KernelTable } from './table';

/**
 * Scores users against the candidates of a KernelTable (spec §5):
 *   z_j = P[j]·e_u, q_j = E_s[j]·e_u, w = softmax over real clusters of tanh(z),
 *   cos_loc = (w·q) / (|e_u| √(wᵀGw + 1e-12)), cos_glb = ĝ·e_u / |e_u|,
 *   score = α·cos_glb + β·cos_loc, with |e_u| = √(Σe² + 1e-12);
 *   average pooling: score = (α + β)·cos_glb.
 * A zero user scores 0; a candidate with no real cluster has cos_loc = 0.
 */
export interface ScoringKernel {
  /** 'reference', 'typescript' or 'native-openblas'. */
  readonly name: string;
  /**
   * Every user against every candidate. eu: batch × h look-alike embeddings, row-major.
   * Returns (or fills `out`, length batch × count) scores row-major: out[b·count + c].
   */
  score(table: KernelTable, eu: Float32Array, batch: number, alpha: number, beta: number, out?: Float32Array): Float32Array;
  /** One user (eu: h) against the listed candidate slots; out[i] scores candidates[i]. */
  scoreSubset(table: KernelTable, eu: Float32Array, candidates: Int32Array, alpha: number, beta: number): Float32Array;
}

/** Validates the arguments of `score` and returns the output array. */
export function scoreOutput(table: KernelTable, eu: Float32Array, batch: number, out?: Float32Array): Float32Array {
  checkTable(table);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`score: batch must be a positive integer, got ${batch}`);
  if (eu.length !== batch * table.h) throw new RangeError(`score: eu has length ${eu.length}, expected batch ${batch} × h ${table.h}`);
  if (out === undefined) return new Float32Array(batch * table.count);
  if (out.length !== batch * table.count) throw new RangeError(`score: out has length ${out.length}, expected batch ${batch} × count ${table.count}`);
  return out;
}

/** Validates the arguments of `scoreSubset`. */
export function checkSubset(table: KernelTable, eu: Float32Array, candidates: Int32Array): void {
  checkTable(table);
  if (eu.length !== table.h) throw new RangeError(`scoreSubset: eu has length ${eu.length}, expected h ${table.h}`);
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (c < 0 || c >= table.count) throw new RangeError(`scoreSubset: candidate ${c} outside 0..${table.count - 1}`);
  }
}

/** √(Σe² + 1e-12) of the h values of `eu` from `at`, in double. */
export function userNorm(eu: Float32Array, at: number, h: number): number {
  let s = 0;
  for (let t = 0; t < h; t++) s += eu[at + t]! * eu[at + t]!;
  return Math.sqrt(s + 1e-12);
}
