import { Rng } from '@ralm/model/rng';
import { createKernelTable, writeSlot, type Float32Table, type Int8Table, type KernelTable, type TablePrecision } from '../src';

/**
 * Bulk values from a xorshift32 seeded by `rng`: approximately normal (Irwin–Hall of four
 * uniforms, unit variance), or its ReLU. Integer arithmetic only, because Math.* calls run
 * ~60× slower inside jest's vm context on Node 20, and a 1,000-candidate table at k = 20,
 * h = 128 needs five million values.
 */
export function bulkValues(rng: Rng, values: 'relu' | 'normal'): () => number {
  let x = (rng.int(2 ** 31) | 1) >>> 0;
  const uniform = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  return () => {
    const v = (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508075688772;
    return values === 'relu' && v < 0 ? 0 : v;
  };
}

export interface RandomTableOptions {
  /** 'relu': non-negative, ReLU-like rows (what trained towers give); 'normal': signed. */
  values: 'relu' | 'normal';
  average?: boolean;
  /** Row storage (float32 by default). */
  precision?: TablePrecision;
}

/**
 * A table of random candidates with the shapes the service meets: candidate 0 has a single
 * cluster, candidate 1 (when k > 1) every cluster, the rest a random subset of slots (holes
 * included, and now and then none), cluster norms spread over three orders of magnitude,
 * G computed from E as the service does and ĝ a unit vector.
 */
export function randomTable(rng: Rng, count: number, k: number, h: number, options: RandomTableOptions & { precision?: 'float32' }): Float32Table;
export function randomTable(rng: Rng, count: number, k: number, h: number, options: RandomTableOptions & { precision: 'int8' }): Int8Table;
export function randomTable(rng: Rng, count: number, k: number, h: number, options: RandomTableOptions): KernelTable;
export function randomTable(rng: Rng, count: number, k: number, h: number, options: RandomTableOptions): KernelTable {
  const table = createKernelTable(count, k, h, options.average ?? false, options.precision ?? 'float32');
  const value = bulkValues(rng, options.values);
  for (let c = 0; c < count; c++) {
    const mask = new Float32Array(k);
    if (c === 0) mask[rng.int(k)] = 1;
    else if (c === 1) mask.fill(1);
    else if (rng.next() < 0.03) mask.fill(0);
    else for (let j = 0; j < k; j++) mask[j] = rng.next() < 0.6 ? 1 : 0;
    const es = new Float32Array(k * h);
    const projected = new Float32Array(k * h);
    for (let j = 0; j < k; j++) {
      const scale = 10 ** (rng.next() * 3 - 1.5);
      for (let t = 0; t < h; t++) {
        es[j * h + t] = scale * value();
        projected[j * h + t] = value() * 0.3;
      }
    }
    const gram = new Float32Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < h; t++) s += es[i * h + t]! * es[j * h + t]!;
        gram[i * k + j] = s;
      }
    }
    const g = Float32Array.from({ length: h }, value);
    const n = Math.hypot(...g) || 1;
    writeSlot(table, c, es, projected, gram, g.map((x) => x / n), mask);
  }
  return table;
}

/** batch × h user vectors; user 1 (when batch > 1) is all zero. */
export function randomUsers(rng: Rng, batch: number, h: number, values: 'relu' | 'normal'): Float32Array {
  const eu = Float32Array.from({ length: batch * h }, bulkValues(rng, values));
  if (batch > 1) eu.fill(0, h, 2 * h);
  return eu;
}

/** Largest |a − b|, or Infinity when any value is not finite. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!) || !Number.isFinite(b[i]!)) return Infinity;
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
  }
  return d;
}

/**
 * How far a kernel's scores may sit from the reference's on the same table: float rounding
 * (1e-5), except where the native kernel multiplies an int8 table in integers (any batch,
 * h ≤ 512, on x86-64 with AVX2) and rounds each user to int16 first: a relative 2⁻¹⁶ a
 * component, ~1.5e-5 on a score measured; 5e-5 leaves room and still catches any slip, whose
 * errors are of the order of the scores.
 */
export function tolerance(kernel: string, precision: 'float32' | 'int8'): number {
  return kernel === 'native-openblas' && precision === 'int8' ? 5e-5 : 1e-5;
}
