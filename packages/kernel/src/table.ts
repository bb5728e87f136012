/**
 * Everything per candidate that scoring reads (spec §5), laid out so that one product
 * U · rowsᵀ yields each user's 2k+1 dot products per candidate side by side.
 */
export interface KernelTable {
  /** Candidates (slots), in row order. */
  readonly count: number;
  /** Clusters per candidate (slots per candidate; absent ones are masked). */
  readonly k: number;
  /** Look-alike embedding dimension. */
  readonly h: number;
  /**
   * count × (2k+1) × h, row-major. Per candidate: P_0..P_{k-1} (P = E_s W_l), then
   * E_0..E_{k-1} (the clusters in look-alike space), then ĝ (unit global vector, or the
   * unit size-weighted mean under average pooling). Rows of absent clusters are zero.
   */
  readonly rows: Float32Array;
  /** count × k × k: G = E_s E_sᵀ per candidate. */
  readonly gram: Float32Array;
  /** count × k: 1 for a real cluster, 0 for an absent one. */
  readonly mask: Uint8Array;
  /** Average pooling: score = (α + β)·cos(e_u, ĝ); P, E and G are not read. */
  readonly average: boolean;
}

/** Rows per candidate in `KernelTable.rows`. */
export const rowsPerCandidate = (k: number) => 2 * k + 1;

/** An all-zero table of `count` slots (every cluster masked, so every score is 0 until written). */
export function createKernelTable(count: number, k: number, h: number, average: boolean): KernelTable {
  for (const [name, v] of [['count', count], ['k', k], ['h', h]] as const) {
    if (!Number.isInteger(v) || v < (name === 'count' ? 0 : 1)) throw new RangeError(`createKernelTable: ${name} must be a ${name === 'count' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  return {
    count,
    k,
    h,
    rows: new Float32Array(count * rowsPerCandidate(k) * h),
    gram: new Float32Array(count * k * k),
    mask: new Uint8Array(count * k),
    average,
  };
}

/**
 * Writes candidate `c`'s slot in place (the service updates candidates one at a time).
 * es, projected: k × h; gram: k × k; globalUnit: h; mask: k (non-zero = real cluster).
 * Rows of masked clusters are written as zero whatever `es` and `projected` hold there.
 */
export function writeSlot(table: KernelTable, c: number, es: ArrayLike<number>, projected: ArrayLike<number>, gram: ArrayLike<number>, globalUnit: ArrayLike<number>, mask: ArrayLike<number>): void {
  const { k, h } = table;
  if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`writeSlot: candidate ${c} outside 0..${table.count - 1}`);
  const sizes: Array<[string, ArrayLike<number>, number]> = [['es', es, k * h], ['projected', projected, k * h], ['gram', gram, k * k], ['globalUnit', globalUnit, h], ['mask', mask, k]];
  for (const [name, a, n] of sizes) if (a.length !== n) throw new RangeError(`writeSlot: ${name} has length ${a.length}, expected ${n}`);
  const base = c * rowsPerCandidate(k) * h;
  for (let j = 0; j < k; j++) {
    const real = mask[j] !== 0;
    table.mask[c * k + j] = real ? 1 : 0;
    for (let t = 0; t < h; t++) {
      table.rows[base + j * h + t] = real ? projected[j * h + t]! : 0;
      table.rows[base + (k + j) * h + t] = real ? es[j * h + t]! : 0;
    }
    for (let i = 0; i < k; i++) table.gram[(c * k + j) * k + i] = real && mask[i] !== 0 ? gram[j * k + i]! : 0;
  }
  for (let t = 0; t < h; t++) table.rows[base + 2 * k * h + t] = globalUnit[t]!;
}

/** Empties slot `c`: no real cluster and a zero ĝ, so it scores 0 for every user. */
export function clearSlot(table: KernelTable, c: number): void {
  if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`clearSlot: candidate ${c} outside 0..${table.count - 1}`);
  const n = rowsPerCandidate(table.k) * table.h;
  table.rows.fill(0, c * n, (c + 1) * n);
  table.gram.fill(0, c * table.k * table.k, (c + 1) * table.k * table.k);
  table.mask.fill(0, c * table.k, (c + 1) * table.k);
}

/** Views of candidate `c`'s parts, in `writeSlot`'s argument order (what a slot of another table is written from). */
export function slotParts(table: KernelTable, c: number): { es: Float32Array; projected: Float32Array; gram: Float32Array; globalUnit: Float32Array; mask: Uint8Array } {
  const { k, h } = table;
  if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`slotParts: candidate ${c} outside 0..${table.count - 1}`);
  const base = c * rowsPerCandidate(k) * h;
  return {
    projected: table.rows.subarray(base, base + k * h),
    es: table.rows.subarray(base + k * h, base + 2 * k * h),
    globalUnit: table.rows.subarray(base + 2 * k * h, base + (2 * k + 1) * h),
    gram: table.gram.subarray(c * k * k, (c + 1) * k * k),
    mask: table.mask.subarray(c * k, (c + 1) * k),
  };
}

/** Throws unless the table's arrays agree with count, k and h (kernels call it once per call). */
export function checkTable(table: KernelTable): void {
  const { count, k, h } = table;
  if (table.rows.length !== count * rowsPerCandidate(k) * h || table.gram.length !== count * k * k || table.mask.length !== count * k) {
    throw new RangeError(`KernelTable: arrays disagree with count ${count}, k ${k}, h ${h}`);
  }
}
