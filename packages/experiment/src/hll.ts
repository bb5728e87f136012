/**
 * HyperLogLog (Flajolet et al. 2007) over 2^p one-byte registers, read with Ertl's improved
 * estimator. Sketches of the same precision merge by register-wise
 * max, which is exactly the sketch of the union: the sliding day keeps one sketch per hour
 * and merges the last 24 when asked, so expiring an hour costs nothing.
 * Relative standard error ≈ 1.04 / √(2^p): 0.8 % at the default p = 14 (16 KiB).
 */
import { hash64 } from './hash';

/** Bits of the hash the rank is read from: ranks are 1 … RANK_BITS, or RANK_BITS + 1 when all are 0. */
const RANK_BITS = 32;
const ALPHA_INF = 1 / (2 * Math.LN2);

/** σ(x) = x + Σ_{k≥1} x^(2^k) · 2^(k−1), for x in [0, 1]. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (let previous = -1; z !== previous; ) {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  }
  return z;
}

/** τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² · 2^−k) / 3, for x in [0, 1]. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (let previous = -1; z !== previous; ) {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  }
  return z / 3;
}

export class HyperLogLog {
  readonly registers: Uint8Array;
  private readonly p: number;

  constructor(precision = 14) {
    if (!Number.isInteger(precision) || precision < 4 || precision > 18) throw new RangeError(`HyperLogLog precision must be an integer in [4, 18], got ${precision}`);
    this.p = precision;
    this.registers = new Uint8Array(1 << precision);
  }

  add(key: string): void {
    const [hi, lo] = hash64(key);
    const index = hi >>> (32 - this.p);
    // Rank = position of the first 1 bit in the 32 bits not used for the index; 33 when none.
    const rank = lo === 0 ? RANK_BITS + 1 : Math.clz32(lo) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  /** Folds `other` in: afterwards this estimates the union. */
  merge(other: HyperLogLog): void {
    if (other.registers.length !== this.registers.length) throw new RangeError('HyperLogLog.merge: precisions differ');
    const a = this.registers;
    const b = other.registers;
    for (let i = 0; i < a.length; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
  }

  clear(): void {
    this.registers.fill(0);
  }

  /**
   * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
   * sketches", 2017): one formula over the register histogram, unbiased across the whole
   * range. The classic raw estimate with a switch to linear counting at 2.5·m is biased by
   * up to +3 % just above the switch (about 41,000 distinct keys at p = 14), which would
   * show as a false lift between two arms on either side of it.
   */
  estimate(): number {
    const m = this.registers.length;
    const q = RANK_BITS;
    const counts = new Float64Array(q + 2);
    for (let i = 0; i < m; i++) counts[this.registers[i]!]!++;
    let z = m * tau(1 - counts[q + 1]! / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + counts[k]!);
    z += m * sigma(counts[0]! / m);
    return (ALPHA_INF * m * m) / z;
  }
}
