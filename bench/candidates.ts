import { writeSlot, type KernelTable } from '@ralm/kernel';
import type { Rng } from '@ralm/model/rng';

/**
 * Writes a random candidate into slot c of `table` (every cluster real), shaped as the
 * service meets them: ReLU-like (non-negative) clusters E, P = E W_l with a random W_l (signed,
 * scaled so z = P·e_u is of order 1 for ReLU users), G = E Eᵀ, ĝ the unit mean of E.
 */
export function writeRandomCandidate(table: KernelTable, c: number, rng: Rng): void {
  const { k, h } = table;
  const es = Float32Array.from({ length: k * h }, () => Math.max(0, rng.normal()));
  const projected = Float32Array.from({ length: k * h }, () => rng.normal() * 0.02);
  const gram = new Float32Array(k * k);
  const mean = new Float64Array(h);
  for (let i = 0; i < k; i++) {
    for (let t = 0; t < h; t++) mean[t] += es[i * h + t]!;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < h; t++) s += es[i * h + t]! * es[j * h + t]!;
      gram[i * k + j] = s;
    }
  }
  const norm = Math.hypot(...mean);
  writeSlot(table, c, es, projected, gram, Float32Array.from(mean, (x) => x / norm), new Float32Array(k).fill(1));
}
