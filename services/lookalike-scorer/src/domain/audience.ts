import { convertTable, rangeView, type KernelTable, type ScoringKernel } from '@ralm/kernel';

/** Users per kernel call: 8,192 × (2k + 1) products keep the kernel's scratch at a few MB. */
export const AUDIENCE_CHUNK = 8192;

/**
 * Every stored user's score for the candidate in `slot`: the candidate's rows against the
 * whole matrix of users' look-alike embeddings T(u) (n × h), in chunks of users, each one
 * product through the kernel (the dual of scoring one user against every candidate).
 */
export function scoreAllUsers(
  kernel: ScoringKernel,
  table: KernelTable,
  slot: number,
  users: Float32Array,
  n: number,
  alpha: number,
  beta: number,
  chunk = AUDIENCE_CHUNK,
): Float32Array {
  const { h } = table;
  if (users.length < n * h) throw new RangeError(`scoreAllUsers: ${n} users of ${h} need ${n * h} values, got ${users.length}`);
  // An int8 candidate is decoded once (41 rows): against a million users the int8 kernel would
  // round every user to int16 per call, which costs more than the product it saves.
  const view = rangeView(table, slot, 1);
  const one = view.precision === 'int8' ? convertTable(view, 'float32') : view;
  const out = new Float32Array(n);
  for (let from = 0; from < n; from += chunk) {
    const b = Math.min(chunk, n - from);
    kernel.score(one, users.subarray(from * h, (from + b) * h), b, alpha, beta, out.subarray(from, from + b));
  }
  return out;
}

/** Which users an expansion may return, and how many. */
export interface AudienceQuery {
  /** Most users to return (≥ 1). */
  size: number;
  /** Rows never returned (the candidate's seeds, its exclusion list, the request's). */
  excluded: ReadonlySet<number>;
  /** Only users scoring at least this (-Infinity: any). */
  minScore: number;
}

/**
 * The best `query.size` eligible rows, by score descending, ties by user id ascending (Score's
 * order for candidates). The audience may be a large share of the store (10 % of a million),
 * so rather than a heap of that size: the size-th best score by quickselect over the eligible
 * scores, every row above it, the rows at it by id, and a sort of the audience alone.
 */
export function rankAudience(scores: Float32Array, query: AudienceQuery, idOf: (row: number) => string): number[] {
  const eligible: number[] = [];
  for (let r = 0; r < scores.length; r++) if (scores[r]! >= query.minScore && !query.excluded.has(r)) eligible.push(r);
  const k = Math.min(query.size, eligible.length);
  if (k === 0) return [];
  const threshold = kthLargest(Float32Array.from(eligible, (r) => scores[r]!), k);
  const chosen: number[] = [];
  const atThreshold: number[] = [];
  for (const r of eligible) {
    if (scores[r]! > threshold) chosen.push(r);
    else if (scores[r] === threshold) atThreshold.push(r);
  }
  if (chosen.length < k) {
    atThreshold.sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    chosen.push(...atThreshold.slice(0, k - chosen.length));
  }
  return chosen.sort((a, b) => scores[b]! - scores[a]! || (idOf(a) < idOf(b) ? -1 : 1));
}

/** The k-th largest of `values` (1-based; reorders them): Hoare's quickselect with a median-of-three pivot. */
export function kthLargest(values: Float32Array, k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > values.length) throw new RangeError(`kthLargest: k must be in 1..${values.length}, got ${k}`);
  // The k-th largest is the (n − k)-th smallest, 0-based.
  const target = values.length - k;
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[target]!;
}
