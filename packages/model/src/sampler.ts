import type { Rng } from './rng';

/**
 * The log-uniform (Zipfian) candidate sampler over item RANKS (spec §2):
 * rank 0 is the most clicked item and the most likely negative,
 *   p(r) = (ln(r + 2) − ln(r + 1)) / ln(D + 1),
 * which telescopes to a total of exactly 1. Inverting the CDF
 * F(r) = ln(r + 2) / ln(D + 1) gives an O(1) draw: r = ⌊exp(U·ln(D + 1))⌋ − 1.
 */
export class LogUniformSampler {
  private readonly logRange: number;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`sampler size must be a positive integer, got ${size}`);
    this.logRange = Math.log(size + 1);
  }

  probability(rank: number): number {
    return (Math.log(rank + 2) - Math.log(rank + 1)) / this.logRange;
  }

  /** One rank in [0, size). */
  draw(rng: Rng): number {
    const r = Math.floor(Math.exp(rng.next() * this.logRange)) - 1;
    // exp∘ln rounding can land exactly on `size` when U is within an ulp of 1.
    return r < this.size ? r : this.size - 1;
  }
}

/**
 * Item ranks by click frequency, most clicked first; ties broken by item index
 * so the ranking is deterministic. Returns rank → item and item → rank.
 */
export function rankItemsByClicks(clicksPerItem: ArrayLike<number>): { itemOfRank: Int32Array; rankOfItem: Int32Array } {
  const n = clicksPerItem.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => clicksPerItem[b]! - clicksPerItem[a]! || a - b);
  const itemOfRank = Int32Array.from(order);
  const rankOfItem = new Int32Array(n);
  order.forEach((item, rank) => (rankOfItem[item] = rank));
  return { itemOfRank, rankOfItem };
}
