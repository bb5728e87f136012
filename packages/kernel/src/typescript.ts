import { checkSubset, scoreOutput, userNorm, type ScoringKernel } from './kernel';
import { rowsPerCandidate, type KernelTable } from './table';

/** The stored row values and, for int8, each row's affine map (dot = scale·Σcode·u + offset·Σu). */
const stored = (table: KernelTable) => (table.precision === 'int8' ? table.codes : table.rows);

/** A raw dot product of stored row r with user b, decoded. */
function decode(table: KernelTable, r: number, raw: number, usum: Float64Array, b: number): number {
  return table.precision === 'int8' ? table.scale[r]! * raw + table.offset[r]! * usum[b]! : raw;
}

/** Σ e_u per user: what an int8 row's offset multiplies. */
function userSums(eu: Float32Array, batch: number, h: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) for (let t = 0; t < h; t++) out[b] += eu[b * h + t]!;
  return out;
}

/*
 * The fallback when the addon is absent. Each candidate's 2k+1 rows are contiguous, so the
 * products stream through memory once per group of four users (each row is read once and
 * multiplied with four users held in registers), then the tail runs on those 4·(2k+1) dots.
 */

/** Dot products of rows [from, from + n) of candidate c with users b0..b0+3 into y[u·n + r]. */
function dots4(table: KernelTable, c: number, from: number, n: number, eu: Float32Array, b0: number, y: Float64Array, usum: Float64Array): void {
  const { k, h } = table;
  const rows = stored(table);
  const u0 = b0 * h, u1 = u0 + h, u2 = u1 + h, u3 = u2 + h;
  for (let r = 0; r < n; r++) {
    const row = c * rowsPerCandidate(k) + from + r;
    const o = row * h;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let t = 0; t < h; t++) {
      const x = rows[o + t]!;
      s0 += x * eu[u0 + t]!;
      s1 += x * eu[u1 + t]!;
      s2 += x * eu[u2 + t]!;
      s3 += x * eu[u3 + t]!;
    }
    y[r] = decode(table, row, s0, usum, b0);
    y[n + r] = decode(table, row, s1, usum, b0 + 1);
    y[2 * n + r] = decode(table, row, s2, usum, b0 + 2);
    y[3 * n + r] = decode(table, row, s3, usum, b0 + 3);
  }
}

function dots1(table: KernelTable, c: number, from: number, n: number, eu: Float32Array, b: number, y: Float64Array, usum: Float64Array): void {
  const { k, h } = table;
  const rows = stored(table);
  const u = b * h;
  for (let r = 0; r < n; r++) {
    const row = c * rowsPerCandidate(k) + from + r;
    const o = row * h;
    let s0 = 0, s1 = 0;
    // Two accumulators: the loop-carried add, not the loads, bounds one user.
    let t = 0;
    for (; t + 1 < h; t += 2) {
      s0 += rows[o + t]! * eu[u + t]!;
      s1 += rows[o + t + 1]! * eu[u + t + 1]!;
    }
    if (t < h) s0 += rows[o + t]! * eu[u + t]!;
    y[r] = decode(table, row, s0 + s1, usum, b);
  }
}

/**
 * cos_loc from the 2k+1 dots at y[at..]. Softmax is shift-invariant and tanh ∈ [-1, 1], so the
 * weights need no max subtraction; with unnormalised w and s = Σw the cosine is
 * w·q / (|e_u| √(wᵀGw + 1e-12·s²)), equal to the normalised form.
 */
function localCosine(table: KernelTable, c: number, y: Float64Array, at: number, normU: number, w: Float64Array): number {
  const { k, mask, gram } = table;
  let s = 0;
  let wq = 0;
  for (let j = 0; j < k; j++) {
    const wj = mask[c * k + j] ? Math.exp(Math.tanh(y[at + j]!)) : 0;
    w[j] = wj;
    s += wj;
    wq += wj * y[at + k + j]!;
  }
  if (s === 0) return 0;
  let wGw = 0;
  const g = c * k * k;
  for (let i = 0; i < k; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    let row = 0;
    for (let j = 0; j < k; j++) row += gram[g + i * k + j]! * w[j]!;
    wGw += wi * row;
  }
  return wq / (normU * Math.sqrt(wGw + 1e-12 * s * s));
}

/** Blocked plain TypeScript: no native code, no tfjs; either precision. */
export const typescriptKernel: ScoringKernel = {
  name: 'typescript',
  score(table, eu, batch, alpha, beta, out) {
    const result = scoreOutput(table, eu, batch, out);
    const { count, k, h, average } = table;
    const n = average ? 1 : rowsPerCandidate(k);
    const from = average ? 2 * k : 0;
    const glb = average ? 0 : 2 * k;
    const scale = average ? alpha + beta : alpha;
    const norms = Float64Array.from({ length: batch }, (_, b) => userNorm(eu, b * h, h));
    const usum = userSums(eu, batch, h);
    const y = new Float64Array(4 * n);
    const w = new Float64Array(k);
    for (let c = 0; c < count; c++) {
      for (let b0 = 0; b0 < batch; ) {
        const group = batch - b0 >= 4 ? 4 : 1;
        if (group === 4) dots4(table, c, from, n, eu, b0, y, usum);
        else dots1(table, c, from, n, eu, b0, y, usum);
        for (let u = 0; u < group; u++) {
          const at = u * n;
          const normU = norms[b0 + u]!;
          let score = (scale * y[at + glb]!) / normU;
          if (!average) score += beta * localCosine(table, c, y, at, normU, w);
          result[(b0 + u) * count + c] = score;
        }
        b0 += group;
      }
    }
    return result;
  },
  scoreSubset(table, eu, candidates, alpha, beta) {
    checkSubset(table, eu, candidates);
    const { k, h, average } = table;
    const n = average ? 1 : rowsPerCandidate(k);
    const normU = userNorm(eu, 0, h);
    const usum = userSums(eu, 1, h);
    const y = new Float64Array(n);
    const w = new Float64Array(k);
    const out = new Float32Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      dots1(table, c, average ? 2 * k : 0, n, eu, 0, y, usum);
      out[i] = average ? ((alpha + beta) * y[0]!) / normU : (alpha * y[2 * k]!) / normU + beta * localCosine(table, c, y, 0, normU, w);
    }
    return out;
  },
};
