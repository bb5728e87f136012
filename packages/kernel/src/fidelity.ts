/**
 * |top-n(a) ∩ top-n(b)| / n (ties by index): how well a reduced-precision table keeps the
 * float32 table's ranking (docs/BENCHMARKS.md; the int8 goal is ≥ 0.99 at n = 100).
 */
export function topAgreement(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  const top = (s: ArrayLike<number>) => new Set(Array.from({ length: s.length }, (_, i) => i).sort((x, y) => s[y]! - s[x]! || x - y).slice(0, n));
  const ta = top(a);
  let shared = 0;
  for (const c of top(b)) if (ta.has(c)) shared++;
  return shared / n;
}
