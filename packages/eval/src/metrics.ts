/**
 * The paper's offline metrics (section 6.3): AUC over test samples and
 * prec@K over per-user rankings of the candidate items.
 */
import type { PairScorer } from './types';

// One AUC for training and evaluation alike: the rank-sum statistic with tied scores at their average rank.
export { auc } from '@ralm/model';
export { itemAveragedAuc } from '@ralm/model';

/**
 * prec@K as the spec defines it:
 *   prec@K = (1/N) Σ_u |top_K(u) ∩ read(u)| / min(K, |read(u)|),
 * or, with `denominator` 'k', divided by K (the reading under which prec@50 < prec@10, as
 * in the paper's Table 1, when users read fewer than 10 items),
 * summed over the users u of `readsPerUser` with at least one read; N is their
 * number. top_K(u) = the first K entries of `rankedItemsPerUser.get(u)` (a
 * user with reads but no ranking scores 0 and still counts). Dividing by
 * min(K, |read|) rather than K lets a user with fewer than K reads reach 1.
 * @returns NaN when no user has a read
 */
export function precisionAtK(
  rankedItemsPerUser: ReadonlyMap<number, ArrayLike<number>>,
  readsPerUser: ReadonlyMap<number, ReadonlySet<number>>,
  k: number,
  denominator: 'min' | 'k' = 'min',
): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`K must be a positive integer, got ${k}`);
  let sum = 0;
  let users = 0;
  for (const [u, read] of readsPerUser) {
    if (read.size === 0) continue;
    users++;
    const ranked = rankedItemsPerUser.get(u);
    if (!ranked) continue;
    // A set, so an item listed twice in a ranking counts once.
    const top = new Set<number>();
    for (let r = 0; r < Math.min(k, ranked.length); r++) top.add(ranked[r]!);
    let hits = 0;
    for (const i of top) if (read.has(i)) hits++;
    sum += hits / (denominator === 'k' ? k : Math.min(k, read.size));
  }
  return users === 0 ? Number.NaN : sum / users;
}

export interface RankOptions {
  /** Most (user, item) pairs per `scorer.score` call. Default 65,536. */
  batchPairs?: number;
  /** Per user, items left out of their ranking (what they already read before the cutoff). */
  exclude?: ReadonlyMap<number, ReadonlySet<number>>;
}

/**
 * For each user, scores every candidate item through `scorer.score` (many
 * users per call, at most `batchPairs` pairs) and keeps the K best, best
 * first. Ties go to the smaller item index, whatever the candidates' order;
 * a NaN score ranks last. Memory is O(batch + users·K), not users × items.
 */
export function rankTopK(
  scorer: PairScorer,
  users: ArrayLike<number>,
  candidateItems: ArrayLike<number>,
  k: number,
  options: RankOptions = {},
): Map<number, Int32Array> {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`K must be a positive integer, got ${k}`);
  const nc = candidateItems.length;
  const out = new Map<number, Int32Array>();
  if (nc === 0) {
    for (let j = 0; j < users.length; j++) out.set(users[j]!, new Int32Array(0));
    return out;
  }
  const keep = Math.min(k, nc);
  const perBatch = Math.max(1, Math.floor((options.batchPairs ?? 65_536) / nc));
  const heapScore = new Float64Array(keep);
  const heapItem = new Int32Array(keep);
  for (let first = 0; first < users.length; first += perBatch) {
    const count = Math.min(perBatch, users.length - first);
    const pairUsers = new Int32Array(count * nc);
    const pairItems = new Int32Array(count * nc);
    for (let j = 0; j < count; j++) {
      pairUsers.fill(users[first + j]!, j * nc, (j + 1) * nc);
      for (let c = 0; c < nc; c++) pairItems[j * nc + c] = candidateItems[c]!;
    }
    const scores = scorer.score(pairUsers, pairItems);
    if (scores.length !== pairUsers.length) throw new Error(`${scorer.name} returned ${scores.length} scores for ${pairUsers.length} pairs`);
    for (let j = 0; j < count; j++) {
      let size = 0;
      const skip = options.exclude?.get(users[first + j]!);
      for (let c = 0; c < nc; c++) {
        const raw = scores[j * nc + c]!;
        const s = Number.isNaN(raw) ? -Infinity : raw;
        const item = pairItems[j * nc + c]!;
        if (skip?.has(item)) continue;
        if (size < keep) {
          size = heapPush(heapScore, heapItem, size, s, item);
        } else if (better(s, item, heapScore[0]!, heapItem[0]!)) {
          heapScore[0] = s;
          heapItem[0] = item;
          siftDown(heapScore, heapItem, size, 0);
        }
      }
      out.set(users[first + j]!, drain(heapScore, heapItem, size));
    }
  }
  return out;
}

// The heap keeps the K best with the worst at its root, so a candidate only has to beat the root.
function better(s: number, i: number, t: number, j: number): boolean {
  return s > t || (s === t && i < j);
}

function heapPush(score: Float64Array, item: Int32Array, size: number, s: number, i: number): number {
  let at = size;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (!better(score[parent]!, item[parent]!, s, i)) break; // parent is worse: it must stay above
    score[at] = score[parent]!;
    item[at] = item[parent]!;
    at = parent;
  }
  score[at] = s;
  item[at] = i;
  return size + 1;
}

function siftDown(score: Float64Array, item: Int32Array, size: number, at: number): void {
  const s = score[at]!;
  const i = item[at]!;
  for (;;) {
    let child = 2 * at + 1;
    if (child >= size) break;
    // Move the worse child up.
    if (child + 1 < size && better(score[child]!, item[child]!, score[child + 1]!, item[child + 1]!)) child++;
    if (!better(s, i, score[child]!, item[child]!)) break;
    score[at] = score[child]!;
    item[at] = item[child]!;
    at = child;
  }
  score[at] = s;
  item[at] = i;
}

/** Empties the heap into an array, best first. */
function drain(score: Float64Array, item: Int32Array, size: number): Int32Array {
  const ranked = new Int32Array(size);
  for (let n = size; n > 0; n--) {
    ranked[n - 1] = item[0]!; // the worst left goes last
    score[0] = score[n - 1]!;
    item[0] = item[n - 1]!;
    siftDown(score, item, n - 1, 0);
  }
  return ranked;
}
