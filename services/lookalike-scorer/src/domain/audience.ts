import { rangeView, type KernelTable, type ScoringKernel } from '@ralm/kernel';
import { topK } from './top-k';

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
  const one = rangeView(table, slot, 1);
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

/** The best `query.size` eligible rows, by score descending, ties by user id ascending (Score's order for candidates). */
export function rankAudience(scores: Float32Array, query: AudienceQuery, idOf: (row: number) => string): number[] {
  const eligible: number[] = [];
  for (let r = 0; r < scores.length; r++) if (scores[r]! >= query.minScore && !query.excluded.has(r)) eligible.push(r);
  if (eligible.length === 0) return [];
  const values = Float32Array.from(eligible, (r) => scores[r]!);
  return topK(values, eligible, idOf, Math.min(query.size, eligible.length)).map((i) => eligible[i]!);
}
